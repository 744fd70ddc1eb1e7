"""Scheduled posts end to end: the real core builds the data, the real scheduler ticks on a moved clock,
and the real adapters deliver to the local fake Telegram and WeCom servers (loopback only).

Covers the schedule across a holiday and a make-up workday, an away member, mentions off, two schedulers
on one database, a kill mid-fan-out and its resumption, a missed morning caught up (and a stale day not),
and failing chats among healthy ones.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import chinese_calendar
import pytest
from sqlmodel import select

from bot.app import ZsBot
from bot.settings import Settings
from bot.telegram_adapter import TelegramAdapter, TelegramLimits
from bot.wecom_messengers import RobotMessenger
from handlers.messages import Incoming, Reply
from handlers.ports import Messenger
from jobs.scheduler import HELD, JobScheduler, Outcome
from storage import job_runs as runs
from storage.models import JobRun, Member, Problem, RankSnapshot
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wecom_api import FakeWeComApi
from tests.helpers import MovableClock

# PTB 22 itself warns inside RetryAfter() that retry_after will become a timedelta in v23.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "123456:TEST-token"
ADMIN_TG = "9000"  # the admin's Telegram user id
FAST = TelegramLimits(overall=(1000, 1.0), group=(1000, 1.0), max_retries_429=2, send_retries=1,
                      backoff=0.01, poll_timeout=1)
SQUAD_GROUP, LEADERS_GROUP, OTHER_GROUP = -1001, -1009, -1002
_MESSAGE_IDS = itertools.count(1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An aware UTC moment from a local (Asia/Shanghai) wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def robot_key() -> str:
    return str(uuid.uuid4())


async def no_sleep(_seconds: float) -> None:
    return None


@dataclass
class World:
    """A started bot on the test database, its clock, the fake platforms and the scheduler."""

    bot: ZsBot
    clock: MovableClock
    tg: FakeBotApi
    wecom: FakeWeComApi
    http: aiohttp.ClientSession
    telegram: TelegramAdapter
    scheduler: JobScheduler
    keys: dict[str, str] = field(default_factory=dict)  # name → robot key
    codes: dict[str, str] = field(default_factory=dict)  # squad → invite code

    async def say(self, platform: str, user: str, text: str, *, name: str = "", chat: str = "",
                  group: bool = False) -> Reply:
        """One message through the real core."""
        incoming = Incoming(platform=platform, user_id=user, display_name=name or user, text=text,
                            chat_id=chat or f"{platform}:{user}", chat_kind="group" if group else "private",
                            message_id=f"t{next(_MESSAGE_IDS)}")
        reply = await self.bot.core.handle(incoming)
        assert reply.ok, f"{text!r} refused: {reply.text}"
        return reply

    async def squad(self, team: str) -> str:
        reply = await self.say("telegram", ADMIN_TG, f"建队 {team}")
        self.codes[team] = reply.text.split("邀请码：")[1].split()[0]
        return self.codes[team]

    async def join(self, platform: str, user: str, name: str, team: str) -> None:
        await self.say(platform, user, f"加入 {self.codes[team]}", name=name)

    async def bind_telegram(self, chat: int, team: str) -> None:
        await self.say("telegram", ADMIN_TG, f"绑定 {team}", chat=str(chat), group=True)

    async def bind_robot(self, team: str, key: str | None = None) -> str:
        key = key or robot_key()
        self.wecom.robot_keys.add(key)
        self.keys[team] = key
        await self.say("telegram", ADMIN_TG, f"绑定 {team} robot:{key}")
        return key

    def telegram_texts(self, chat: int) -> list[str]:
        """What a Telegram group received: message texts and photo captions."""
        return [m.get("text") or m.get("caption") or "" for m in self.tg.sent_messages(chat)]

    def robot_posts(self, key: str, msgtype: str = "markdown") -> list[dict]:
        """What a WeCom group robot received, of one message type."""
        return [
            r.json for r in self.wecom.calls("/cgi-bin/webhook/send")
            if r.query.get("key") == key and isinstance(r.json, dict) and r.json.get("msgtype") == msgtype
        ]

    def robot_texts(self, key: str) -> list[str]:
        return [post["markdown"]["content"] for post in self.robot_posts(key)]

    async def ledger(self, job: str) -> list[JobRun]:
        """The job's ledger rows, every chat and period."""
        async with self.bot.sessions() as session:
            return list((await session.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.id))).all())

    def new_scheduler(self, messengers: dict[str, Messenger] | None = None, **options: object) -> JobScheduler:
        return JobScheduler(settings=self.bot.settings, sessions=self.bot.sessions,
                            messengers=messengers if messengers is not None else self.bot.messengers,
                            clock=self.clock, **options)  # type: ignore[arg-type]


def make_settings(db_url: str, tg: FakeBotApi, wecom: FakeWeComApi, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url, admins=[f"telegram:{ADMIN_TG}"], telegram_token=TOKEN,
        telegram_api_url=tg.url, wecom_api_url=wecom.url, files_dir=str(tmp_path / "files"),
    )


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = MovableClock(local(2026, 11, 24, 7, 0))  # a Tuesday
    async with AsyncExitStack() as stack:
        tg = await stack.enter_async_context(FakeBotApi(TOKEN))
        wecom = await stack.enter_async_context(FakeWeComApi(robot_keys=()))
        settings = make_settings(db_url, tg, wecom, tmp_path)
        bot = await stack.enter_async_context(ZsBot(settings, clock=clock))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        bot.messengers["wecom-robot"] = RobotMessenger(http, api_url=wecom.url, sleep=no_sleep, base_delay=0,
                                                       max_attempts=2)
        telegram = TelegramAdapter(settings, bot.core.handle, limits=FAST)
        await telegram.start()
        stack.push_async_callback(telegram.stop)
        bot.messengers["telegram"] = telegram
        scheduler = bot.scheduler(charts=False)
        yield World(bot, clock, tg, wecom, http, telegram, scheduler)


async def district(world: World) -> None:
    """Two squads (one on Telegram, one on a WeCom robot) and the leaders' Telegram group."""
    await world.squad("德化街")
    await world.squad("长江路")
    await world.join("telegram", "1001", "张伟", "德化街")
    await world.join("telegram", "1002", "李娜", "德化街")
    await world.join("telegram", "1003", "王芳", "德化街")
    await world.join("wecom", "zhaolei", "赵磊", "长江路")
    await world.join("wecom", "liuyang", "刘洋", "长江路")
    await world.bind_telegram(SQUAD_GROUP, "德化街")
    await world.bind_robot("长江路")
    await world.bind_telegram(LEADERS_GROUP, "领导")


def statuses(outcomes: list[Outcome], job: str) -> list[str]:
    return sorted(o.status for o in outcomes if o.job == job)


# --------------------------------------------------------------------------------------------------
# daily_rank


async def test_daily_rank_goes_to_every_group_once_with_chart_and_stores_snapshot(world: World) -> None:
    await district(world)
    await world.say("telegram", "1001", "签约 比亚迪河南体验中心 2亿 汽车")
    world.scheduler.charts = world.bot.charts
    world.clock.now = local(2026, 11, 24, 8, 29)
    assert await world.scheduler.tick() == []  # not yet
    world.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_rank") == ["sent"] * 3

    for chat in (SQUAD_GROUP, LEADERS_GROUP):
        messages = world.tg.sent_messages(chat)
        assert any("photo" in m for m in messages), "the chart went out"
        assert any("比学赶超" in text for text in world.telegram_texts(chat))
    key = world.keys["长江路"]
    assert any("比学赶超" in text for text in world.robot_texts(key))
    assert len(world.robot_posts(key, "image")) == 1

    # A later tick (and a second one in the same minute) posts nothing more.
    before = len(world.tg.calls)
    world.clock.advance(minutes=1)
    again = await world.scheduler.tick()
    assert statuses(again, "daily_rank") == ["done"] * 3
    assert len([c for c in world.tg.calls[before:] if c.method.startswith("send")]) == 0
    assert len(world.robot_posts(key, "image")) == 1

    async with world.bot.sessions() as session:
        snapshot = (await session.exec(select(RankSnapshot).where(RankSnapshot.day == date(2026, 11, 24)))).all()
    assert {row.rank for row in snapshot} == {1, 2} and len(snapshot) == 2
    ledger = await world.ledger("daily_rank")
    assert {row.state for row in ledger} == {"sent"} and len(ledger) == 3
    assert all(row.period == "2026-11-24" for row in ledger)
    # The ledger names chats by binding, never by robot key.
    assert not any(key in row.chat_key for row in ledger)


async def test_snapshot_makes_tomorrows_arrows(world: World) -> None:
    await district(world)
    await world.say("telegram", "1001", "签约 比亚迪河南体验中心 2亿 汽车")
    world.clock.now = local(2026, 11, 24, 8, 30)
    await world.scheduler.tick()
    # Overnight 长江路 overtakes 德化街: tomorrow's card shows the move.
    world.clock.now = local(2026, 11, 24, 20, 0)
    await world.say("wecom", "zhaolei", "落地 华润万象城二期 5亿 现代商贸")
    await world.say("wecom", "liuyang", "签约 仲景医药健康产业园 3亿 生物医药")
    world.clock.now = local(2026, 11, 25, 8, 30)
    await world.scheduler.tick()
    latest = world.telegram_texts(LEADERS_GROUP)[-1]
    assert "↑" in latest and "↓" in latest


# --------------------------------------------------------------------------------------------------
# daily_remind


async def test_reminder_names_only_those_who_have_not_reported(world: World) -> None:
    await district(world)
    world.clock.now = local(2026, 11, 24, 10, 0)
    await world.say("telegram", "1001", "谋划 新项目甲 汽车", name="张伟")  # reported today
    await world.say("telegram", "1002", "请假 至12月5日", name="李娜")  # away
    await world.say("wecom", "zhaolei", "洽谈 项目乙 @上海")
    world.clock.now = local(2026, 11, 24, 17, 30)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_remind") == ["sent", "sent"]

    (text,) = [t for t in world.telegram_texts(SQUAD_GROUP) if "报送提醒" in t]
    assert "王芳" in text and "张伟" not in text and "李娜" not in text
    assert "1 位队员" in text
    sent = [c for c in world.tg.calls_to("sendMessage", ok_only=True) if c.params["chat_id"] == str(SQUAD_GROUP)]
    assert 'href="tg://user?id=1003"' in sent[-1].params["text"]  # 王芳 is @-mentioned
    (robot,) = [t for t in world.robot_texts(world.keys["长江路"]) if "报送提醒" in t]
    assert "刘洋" in robot and "赵磊" not in robot and "<@liuyang>" in robot
    assert not [t for t in world.telegram_texts(LEADERS_GROUP) if "报送提醒" in t]  # squads only


async def test_reminder_after_an_undone_report_and_nothing_when_all_reported(world: World) -> None:
    await world.squad("五里堡")
    await world.join("telegram", "2001", "陈静", "五里堡")
    await world.join("telegram", "2002", "周强", "五里堡")
    await world.bind_telegram(OTHER_GROUP, "五里堡")
    world.clock.now = local(2026, 11, 24, 11, 0)
    await world.say("telegram", "2001", "谋划 项目丙")
    await world.say("telegram", "2002", "谋划 项目丁")
    await world.say("telegram", "2002", "撤销")  # an undone report is no report
    world.clock.now = local(2026, 11, 24, 17, 30)
    await world.scheduler.tick()
    (text,) = [t for t in world.telegram_texts(OTHER_GROUP) if "报送提醒" in t]
    assert "周强" in text and "陈静" not in text

    world.clock.now = local(2026, 11, 25, 9, 0)
    await world.say("telegram", "2001", "进展 项目丙 二次洽谈")
    await world.say("telegram", "2002", "谋划 项目戊")
    world.clock.now = local(2026, 11, 25, 17, 30)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_remind") == ["skipped"]
    assert len([t for t in world.telegram_texts(OTHER_GROUP) if "报送提醒" in t]) == 1


async def test_mentions_off_posts_a_count_without_names(world: World) -> None:
    await district(world)
    await world.say("telegram", ADMIN_TG, "设置 点名 关", chat=str(SQUAD_GROUP), group=True)
    world.clock.now = local(2026, 11, 24, 17, 30)
    await world.scheduler.tick()
    (text,) = [t for t in world.telegram_texts(SQUAD_GROUP) if "报送提醒" in t]
    assert "3 位队员" in text
    assert not any(name in text for name in ("张伟", "李娜", "王芳"))
    sent = [c for c in world.tg.calls_to("sendMessage", ok_only=True) if c.params["chat_id"] == str(SQUAD_GROUP)]
    assert "tg://user" not in sent[-1].params["text"]
    # The robot group kept mentions on.
    (robot,) = [t for t in world.robot_texts(world.keys["长江路"]) if "报送提醒" in t]
    assert "<@zhaolei>" in robot and "<@liuyang>" in robot


async def test_reminder_follows_the_chinese_calendar(world: World) -> None:
    national_day, makeup_saturday, ordinary_sunday = date(2026, 10, 1), date(2026, 10, 10), date(2026, 10, 11)
    assert not chinese_calendar.is_workday(national_day)
    assert chinese_calendar.is_workday(makeup_saturday) and makeup_saturday.weekday() == 5  # 调休
    assert not chinese_calendar.is_workday(ordinary_sunday)
    world.clock.now = local(2026, 9, 30, 9, 0)
    await district(world)

    for day in (national_day, makeup_saturday, ordinary_sunday, date(2026, 10, 12)):
        world.clock.now = local(day.year, day.month, day.day, 17, 30)
        await world.scheduler.tick()
    reminders = [t for t in world.telegram_texts(SQUAD_GROUP) if "报送提醒" in t]
    assert [t.split("\n")[0] for t in reminders] == ["📝 报送提醒 · 10月10日（周六）", "📝 报送提醒 · 10月12日（周一）"]
    assert len(await world.ledger("daily_remind")) == 4  # two days × two squads; holidays leave no rows


async def test_a_chat_can_switch_a_post_off_and_move_its_time(world: World) -> None:
    await district(world)
    await world.say("telegram", ADMIN_TG, "设置 提醒 关", chat=str(SQUAD_GROUP), group=True)
    await world.say("telegram", ADMIN_TG, "设置 排行 07:15", chat=str(LEADERS_GROUP), group=True)
    world.clock.now = local(2026, 11, 24, 7, 15)
    outcomes = await world.scheduler.tick()
    assert [(o.job, o.target.chat_key) for o in outcomes if o.status == "sent"] == [
        ("daily_rank", f"telegram:{_binding_id(outcomes, LEADERS_GROUP)}")
    ]
    world.clock.now = local(2026, 11, 24, 17, 30)
    outcomes = await world.scheduler.tick()
    assert {o.target.audience for o in outcomes if o.job == "daily_remind"} == {"长江路"}
    assert not [t for t in world.telegram_texts(SQUAD_GROUP) if "报送提醒" in t]


def _binding_id(outcomes: list[Outcome], chat: int) -> int | None:
    for outcome in outcomes:
        if outcome.target.chat_id == str(chat):
            return outcome.target.binding_id
    return None


# --------------------------------------------------------------------------------------------------
# Catching up, and never a stale day


async def test_a_missed_morning_is_caught_up_within_grace_but_never_later(world: World) -> None:
    await district(world)
    # Down at 08:30, up at 10:00: the leaderboard still goes out today.
    world.clock.now = local(2026, 11, 24, 10, 0)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_rank") == ["sent"] * 3
    assert statuses(outcomes, "stale_projects") == ["skipped"] * 3  # 09:00 posts, nothing stale

    # Down all morning the next day: past 08:30 + 180 minutes it is not posted any more.
    world.clock.now = local(2026, 11, 25, 11, 31)
    outcomes = await world.scheduler.tick()
    assert "daily_rank" not in {o.job for o in outcomes}
    # And just after midnight, yesterday's post is not sent either.
    world.clock.now = local(2026, 11, 26, 0, 5)
    assert await world.scheduler.tick() == []
    ledger = await world.ledger("daily_rank")
    assert {row.period for row in ledger} == {"2026-11-24"}
    assert sum("比学赶超" in t for t in world.telegram_texts(LEADERS_GROUP)) == 1
    # The next morning's post is on time and once.
    world.clock.now = local(2026, 11, 26, 8, 30)
    await world.scheduler.tick()
    await world.scheduler.tick()
    assert sum("比学赶超" in t for t in world.telegram_texts(LEADERS_GROUP)) == 2


# --------------------------------------------------------------------------------------------------
# Exactly once: two schedulers, and a kill mid-fan-out


async def test_two_schedulers_on_one_database_post_each_message_once(world: World, tmp_path: Path) -> None:
    await district(world)
    for index in range(6):
        team = f"小分队{index}"
        await world.squad(team)
        await world.bind_robot(team)
    # A second `zsbot run` on the same database with its own connections and HTTP clients.
    async with AsyncExitStack() as stack:
        other = await stack.enter_async_context(ZsBot(world.bot.settings, clock=world.clock))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        messengers: dict[str, Messenger] = {
            "telegram": world.telegram,
            "wecom-robot": RobotMessenger(http, api_url=world.wecom.url, sleep=no_sleep),
        }
        second = JobScheduler(settings=other.settings, sessions=other.sessions, messengers=messengers,
                              clock=world.clock)
        for moment in (local(2026, 11, 24, 8, 30), local(2026, 11, 24, 8, 31), local(2026, 11, 24, 17, 30)):
            world.clock.now = moment
            first_outcomes, second_outcomes = await asyncio.gather(world.scheduler.tick(), second.tick())
            sent_first = {(o.job, o.target.chat_key) for o in first_outcomes if o.status == "sent"}
            sent_second = {(o.job, o.target.chat_key) for o in second_outcomes if o.status == "sent"}
            assert not sent_first & sent_second

    for team, key in world.keys.items():
        texts = world.robot_texts(key)
        assert sum("比学赶超" in t for t in texts) == 1, team
    for chat in (SQUAD_GROUP, LEADERS_GROUP):
        assert sum("比学赶超" in t for t in world.telegram_texts(chat)) == 1
    assert sum("报送提醒" in t for t in world.telegram_texts(SQUAD_GROUP)) == 1
    assert sum("报送提醒" in t for t in world.robot_texts(world.keys["长江路"])) == 1
    ledger = await world.ledger("daily_rank")
    assert len(ledger) == 9 and {row.state for row in ledger} == {"sent"}


class Gate:
    """A messenger in front of a real one that lets `allow` posts through, then hangs (a process dying)."""

    platform = "wecom-robot"

    def __init__(self, inner: Messenger, allow: int, workers: int) -> None:
        self.inner = inner
        self.allow = allow
        self.workers = workers
        self.passed = 0
        self.hanging = 0
        self.all_stuck = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> None:
        if self.passed >= self.allow:
            self.hanging += 1
            if self.hanging == self.workers:
                self.all_stuck.set()
            await asyncio.Event().wait()  # forever: the task is cancelled here
        self.passed += 1
        await self.inner.send(chat_id, reply)


async def test_a_fan_out_killed_midway_resumes_only_the_unsent_chats(world: World) -> None:
    keys = []
    for index in range(8):
        team = f"小分队{index}"
        await world.squad(team)
        keys.append(await world.bind_robot(team))
    gate = Gate(world.bot.messengers["wecom-robot"], allow=3, workers=4)
    dying = world.new_scheduler({"wecom-robot": gate}, concurrency=4)
    world.clock.now = local(2026, 11, 24, 8, 30)
    task = asyncio.create_task(dying.tick())
    # Every worker at the gate means each finished (and recorded) its earlier chat: no send is half-done
    # when the process dies, whatever the machine's load.
    await asyncio.wait_for(gate.all_stuck.wait(), 10)
    task.cancel()  # the process is killed
    with pytest.raises(asyncio.CancelledError):
        await task
    ledger = await world.ledger("daily_rank")
    states = sorted(row.state for row in ledger)
    assert states.count("sent") == 3 and states.count("claimed") == gate.hanging >= 1
    assert len(ledger) < 8  # some chats were never claimed

    # Restarted a minute later: the unclaimed chats go out; the dead process's claims wait for the lease.
    restarted = world.new_scheduler()
    world.clock.now = local(2026, 11, 24, 8, 31)
    outcomes = await restarted.tick()
    assert statuses(outcomes, "daily_rank").count(HELD) == gate.hanging
    # After the lease they are taken over and sent.
    world.clock.now = local(2026, 11, 24, 8, 37)
    outcomes = await restarted.tick()
    assert statuses(outcomes, "daily_rank").count("sent") == gate.hanging
    for key in keys:
        assert sum("比学赶超" in t for t in world.robot_texts(key)) == 1
    ledger = await world.ledger("daily_rank")
    assert {row.state for row in ledger} == {"sent"} and len(ledger) == 8
    taken_over = [row for row in ledger if row.attempts == 2]
    assert len(taken_over) == gate.hanging and all(row.owner == restarted.owner for row in taken_over)


# --------------------------------------------------------------------------------------------------
# Failing chats


async def test_failing_chats_do_not_stop_the_others_and_are_reported_once(world: World) -> None:
    await district(world)
    await world.squad("五里堡")
    await world.squad("大学路")
    await world.bind_telegram(OTHER_GROUP, "五里堡")
    # Refusals of the post, not losses of the chat (those pause the binding: test_reliability_platforms).
    world.tg.rejected_chats[str(OTHER_GROUP)] = "Bad Request: not enough rights to send text messages to the chat"
    bad_key = robot_key()
    await world.bind_robot("大学路", bad_key)
    world.wecom.refused_keys[bad_key] = 40058  # invalid parameter

    world.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await world.scheduler.tick()
    by_audience = {o.target.audience: o for o in outcomes if o.job == "daily_rank"}
    assert {a: o.status for a, o in by_audience.items()} == {
        "德化街": "sent", "长江路": "sent", "领导群": "sent", "五里堡": "failed", "大学路": "failed",
    }
    assert "rights" in by_audience["五里堡"].error
    assert bad_key not in by_audience["大学路"].error
    notices = [t for t in world.telegram_texts(LEADERS_GROUP) if "定时推送失败" in t]
    assert len(notices) == 1
    assert len([t for t in world.telegram_texts(ADMIN_TG) if "定时推送失败" in t]) == 1  # the admin, directly
    assert "五里堡" in notices[0] and "大学路" in notices[0] and bad_key not in notices[0]

    world.clock.now = local(2026, 11, 24, 8, 45)
    await world.scheduler.tick()
    assert len([t for t in world.telegram_texts(LEADERS_GROUP) if "定时推送失败" in t]) == 1
    ledger = await world.ledger("daily_rank")
    failed = [row for row in ledger if row.state == "failed"]
    assert len(failed) == 2 and all(row.error for row in failed)


async def test_a_transient_failure_is_retried_on_a_later_tick(world: World) -> None:
    await world.squad("五里堡")
    key = await world.bind_robot("五里堡")
    world.wecom.fail_next(-1, times=2)  # system busy: the messenger's two attempts both fail
    world.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_rank") == ["retry"]
    assert len(world.robot_texts(key)) == 2  # both refused by the fake
    world.clock.now = local(2026, 11, 24, 8, 31)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "daily_rank") == ["sent"]
    assert len(world.robot_texts(key)) == 3  # the third request was accepted
    (row,) = await world.ledger("daily_rank")
    assert row.state == "sent" and row.attempts == 2


async def test_retries_give_up_after_the_last_attempt(world: World) -> None:
    await world.squad("五里堡")
    key = await world.bind_robot("五里堡")
    await world.bind_telegram(LEADERS_GROUP, "领导")
    world.wecom.fail_next(-1, times=6, path="/cgi-bin/webhook/send")
    for minute in (30, 31, 32, 33):
        world.clock.now = local(2026, 11, 24, 8, minute)
        await world.scheduler.tick()
    (row,) = [r for r in await world.ledger("daily_rank") if r.chat_key.startswith("wecom-robot:")]
    assert row.state == "failed" and row.attempts == runs.Policy().max_attempts
    assert len(world.robot_texts(key)) == 6  # three attempts of two requests each, all refused; no fourth
    assert len([t for t in world.telegram_texts(LEADERS_GROUP) if "定时推送失败" in t]) == 1


# --------------------------------------------------------------------------------------------------
# Stale projects, problem escalation, weekly summary


async def test_stale_projects_escalation_and_weekly_summary(world: World) -> None:
    await district(world)
    world.clock.now = local(2026, 7, 1, 10, 0)
    await world.say("telegram", "1001", "洽谈 比亚迪体验中心 1亿 汽车")  # 4+ months silent by November: red
    world.clock.now = local(2026, 9, 1, 10, 0)
    await world.say("telegram", "1002", "谋划 仲景产业园 5000万 汽车")  # 2+ months: yellow
    world.clock.now = local(2026, 11, 1, 10, 0)
    await world.say("wecom", "zhaolei", "洽谈 杉杉奥特莱斯 2亿 现代商贸")
    await world.say("wecom", "zhaolei", "问题 杉杉奥特莱斯 土地 用地指标未批")  # open 22 days by 11-23
    world.clock.now = local(2026, 11, 20, 10, 0)
    await world.say("wecom", "liuyang", "签约 华润万象城二期 3亿 现代商贸")  # last week's move

    world.clock.now = local(2026, 11, 23, 9, 0)  # a Monday
    outcomes = await world.scheduler.tick()
    squad = [t for t in world.telegram_texts(SQUAD_GROUP) if "项目预警" in t]
    assert len(squad) == 1 and "比亚迪体验中心" in squad[0] and "仲景产业园" in squad[0]
    leaders = world.telegram_texts(LEADERS_GROUP)
    (red,) = [t for t in leaders if "项目预警" in t]
    assert "比亚迪体验中心" in red and "仲景产业园" not in red
    (escalated,) = [t for t in leaders if "问题督办" in t]
    assert "杉杉奥特莱斯" in escalated and "用地指标未批" in escalated and "长江路" in escalated
    (weekly,) = [t for t in leaders if "周报" in t]
    assert "长江路" in weekly
    assert statuses(outcomes, "weekly_summary") == ["sent"]
    assert not [t for t in world.robot_texts(world.keys["长江路"]) if "问题督办" in t or "周报" in t]
    async with world.bot.sessions() as session:
        problem = (await session.exec(select(Problem))).one()
    assert problem.escalated_at == world.clock.now

    # The next workday: the same problem is not escalated again; the weekly summary waits for Monday.
    world.clock.now = local(2026, 11, 24, 9, 0)
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "problem_escalation") == ["skipped"]
    assert "weekly_summary" not in {o.job for o in outcomes}
    assert len([t for t in world.telegram_texts(LEADERS_GROUP) if "问题督办" in t]) == 1


async def test_away_member_is_left_out_until_the_day_after(world: World) -> None:
    await world.squad("五里堡")
    await world.join("telegram", "2001", "陈静", "五里堡")
    await world.bind_telegram(OTHER_GROUP, "五里堡")
    world.clock.now = local(2026, 11, 24, 9, 0)
    await world.say("telegram", "2001", "请假 至11月25日")
    async with world.bot.sessions() as session:
        member = (await session.exec(select(Member).where(Member.name == "陈静"))).one()
    assert member.away_until == date(2026, 11, 25)
    for day in (24, 25, 26):
        world.clock.now = local(2026, 11, day, 17, 30)
        await world.scheduler.tick()
    reminders = [t for t in world.telegram_texts(OTHER_GROUP) if "报送提醒" in t]
    assert len(reminders) == 1 and "11月26日" in reminders[0] and "陈静" in reminders[0]


# --------------------------------------------------------------------------------------------------
# APScheduler wiring


async def test_start_scheduler_ticks_at_start_up_and_shuts_down(world: World) -> None:
    from jobs.ticking import start_scheduler

    await district(world)
    world.clock.now = local(2026, 11, 24, 17, 30)
    handle = await start_scheduler(world.bot.scheduler(charts=False))
    try:
        assert handle.aps.running
        (job,) = handle.aps.get_jobs()
        assert job.max_instances == 1 and job.coalesce
        deadline = asyncio.get_running_loop().time() + 10
        while not [t for t in world.telegram_texts(SQUAD_GROUP) if "报送提醒" in t]:
            assert asyncio.get_running_loop().time() < deadline, "the start-up tick did not post"
            await asyncio.sleep(0.02)
    finally:
        await handle.aclose()
    assert not handle.aps.running
