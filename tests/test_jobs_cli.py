"""`zsbot jobs list` and `zsbot jobs run`, and the schedule arithmetic behind "next run"."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import ZsBot
from bot.cli import main
from bot.jobs_cli import list_jobs, run_job
from bot.settings import Settings
from handlers.messages import Incoming
from jobs.posts import JOBS
from jobs.timing import is_due, next_run
from storage.models import ChatBinding, JobRun
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wecom_api import FakeWeComApi

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "123456:TEST-token"
ADMIN = "9000"
SQUAD_GROUP, LEADERS_GROUP = -1001, -1009
_IDS = itertools.count(1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@dataclass
class Platforms:
    tg: FakeBotApi
    wecom: FakeWeComApi
    settings: Settings
    key: str


@pytest.fixture
async def platforms(db_url: str, tmp_path: Path) -> AsyncIterator[Platforms]:
    key = str(uuid.uuid4())
    async with FakeBotApi(TOKEN) as tg, FakeWeComApi(robot_keys=[key]) as wecom:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url, admins=[f"telegram:{ADMIN}"], telegram_token=TOKEN, telegram_api_url=tg.url,
            wecom_api_url=wecom.url, files_dir=str(tmp_path / "files"),
        )
        yield Platforms(tg, wecom, settings, key)


async def say(bot: ZsBot, user: str, text: str, *, name: str = "", chat: str = "", group: bool = False,
              platform: str = "telegram") -> str:
    reply = await bot.core.handle(Incoming(
        platform=platform, user_id=user, display_name=name or user, text=text,
        chat_id=chat or f"{platform}:{user}", chat_kind="group" if group else "private",
        message_id=f"cli{next(_IDS)}",
    ))
    assert reply.ok, reply.text
    return reply.text


async def bind_district(settings: Settings, key: str) -> dict[str, int]:
    """Two squads (Telegram group, WeCom robot), the leaders' group; returns binding ids by audience."""
    async with ZsBot(settings) as bot:
        code = (await say(bot, ADMIN, "建队 德化街")).split("邀请码：")[1].split()[0]
        await say(bot, ADMIN, "建队 长江路")
        await say(bot, "1001", f"加入 {code}", name="张伟")
        await say(bot, ADMIN, "绑定 德化街", chat=str(SQUAD_GROUP), group=True)
        await say(bot, ADMIN, f"绑定 长江路 robot:{key}")
        await say(bot, ADMIN, "绑定 领导", chat=str(LEADERS_GROUP), group=True)
        await say(bot, ADMIN, "设置 提醒 关", chat=str(LEADERS_GROUP), group=True)  # not its post anyway
        async with bot.sessions() as session:
            bindings = (await session.exec(select(ChatBinding))).all()
    return {("领导" if b.is_leaders else str(b.team_id)): b.id for b in bindings if b.id is not None}


async def ledger(settings: Settings) -> list[JobRun]:
    async with ZsBot(settings) as bot, bot.sessions() as session:
        return list((await session.exec(select(JobRun))).all())


def sends(platforms: Platforms) -> int:
    telegram = [c for c in platforms.tg.calls if c.method.startswith("send")]
    return len(telegram) + len(platforms.wecom.calls("/cgi-bin/webhook/send"))


async def test_dry_run_prints_every_card_and_sends_nothing(platforms: Platforms) -> None:
    await bind_district(platforms.settings, platforms.key)
    lines: list[str] = []
    assert await run_job(platforms.settings, "daily_remind", dry_run=True, out=lines.append) == 0
    output = "\n".join(lines)
    assert output.count("===== daily_remind →") == 2  # the two squads' groups, not the leaders'
    assert "（无内容，不会发送）" in output  # 长江路 has nobody to remind
    assert "报送提醒" in output and "张伟" in output and "[提及 / mentions] 1001:张伟" in output
    assert platforms.key not in output and platforms.key[:4] + "****" in output
    assert sends(platforms) == 0 and await ledger(platforms.settings) == []

    lines.clear()
    assert await run_job(platforms.settings, "排行", dry_run=True, out=lines.append) == 0  # Chinese name
    output = "\n".join(lines)
    assert output.count("比学赶超") == 3 and "[图片 / image] leaderboard.png" in output
    assert sends(platforms) == 0 and await ledger(platforms.settings) == []


async def test_dry_run_out_writes_every_card_and_image_without_overwriting(platforms: Platforms,
                                                                            tmp_path: Path) -> None:
    bindings = await bind_district(platforms.settings, platforms.key)
    out_dir = tmp_path / "preview" / "today"  # created as needed
    lines: list[str] = []
    assert await run_job(platforms.settings, "daily_rank", dry_run=True, out=lines.append, out_dir=out_dir) == 0
    texts = sorted(out_dir.glob("*.txt"))
    images = sorted(out_dir.glob("*.png"))
    assert len(texts) == len(images) == 3  # two squads' groups and the leaders'
    names = {path.name for path in texts}
    assert f"daily_rank-telegram-binding{bindings['领导']}.txt" in names
    assert all(platforms.key not in name for name in names)  # a robot key never lands in a file name
    assert all("比学赶超" in path.read_text(encoding="utf-8") for path in texts)
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in images)
    assert sum("[已保存 / saved]" in line for line in lines) == 6
    assert sends(platforms) == 0 and await ledger(platforms.settings) == []
    # A second preview keeps the first.
    assert await run_job(platforms.settings, "daily_rank", dry_run=True, out=lines.append, out_dir=out_dir) == 0
    assert len(list(out_dir.glob("*.txt"))) == 6 and len(list(out_dir.glob("*-2.png"))) == 3


async def test_dry_run_without_bound_chats_prints_the_card_itself(platforms: Platforms) -> None:
    async with ZsBot(platforms.settings) as bot:
        code = (await say(bot, ADMIN, "建队 五里堡")).split("邀请码：")[1].split()[0]
        await say(bot, "2001", f"加入 {code}", name="陈静")
    lines: list[str] = []
    assert await run_job(platforms.settings, "daily_remind", dry_run=True, out=lines.append) == 0
    output = "\n".join(lines)
    assert "未绑定群" in output and "五里堡" in output and "陈静" in output and "报送提醒" in output
    lines.clear()
    assert await run_job(platforms.settings, "weekly_summary", dry_run=True, out=lines.append) == 0
    assert "周报" in "\n".join(lines)
    assert sends(platforms) == 0


async def test_run_sends_now_to_one_chat_once_without_polling(platforms: Platforms) -> None:
    ids = await bind_district(platforms.settings, platforms.key)
    squad_binding = next(v for k, v in ids.items() if k != "领导")
    lines: list[str] = []
    code = await run_job(platforms.settings, "daily_rank", chat=str(squad_binding), out=lines.append)
    assert code == 0, lines
    assert "已发送" in lines[0]
    assert platforms.tg.sent_messages(SQUAD_GROUP) and not platforms.tg.sent_messages(LEADERS_GROUP)
    assert not platforms.tg.calls_to("getUpdates")  # a CLI run never competes with `zsbot run`'s polling
    (row,) = [r for r in await ledger(platforms.settings) if r.job == "daily_rank"]
    assert row.state == "sent" and row.chat_key == f"telegram:{squad_binding}"

    # Running it again the same day sends nothing: the ledger has it.
    before = sends(platforms)
    lines.clear()
    assert await run_job(platforms.settings, "daily_rank", chat=str(SQUAD_GROUP), out=lines.append) == 0
    assert "本期已处理" in lines[0] and sends(platforms) == before

    # Now the listing shows the result, the next run, and never the robot key.
    lines.clear()
    assert await list_jobs(platforms.settings, out=lines.append) == 0
    output = "\n".join(lines)
    assert platforms.key not in output and platforms.key[:4] + "****" in output
    rank_lines = [line for line in lines if line.startswith(f"  telegram 绑定#{squad_binding} ")]
    assert any("✅ 已发送" in line for line in rank_lines)
    assert "已关闭" not in output  # the leaders' group switched off a post it never gets
    assert output.count("下次 ") == 11  # rank 3 chats, remind 2, stale 3, escalation 1, weekly 1, race 1
    assert "problem_escalation" in output and "weekly_summary" in output


async def test_run_reports_a_failing_chat(platforms: Platforms) -> None:
    await bind_district(platforms.settings, platforms.key)
    platforms.wecom.refused_keys[platforms.key] = 40058  # refused (a robot removed altogether is paused instead)
    lines: list[str] = []
    assert await run_job(platforms.settings, "daily_rank", out=lines.append) == 1
    output = "\n".join(lines)
    assert "❌ 失败" in output and platforms.key not in output
    notices = [m.get("text", "") for m in platforms.tg.sent_messages(LEADERS_GROUP) if "定时推送失败" in m.get("text", "")]
    assert len(notices) == 1


def test_main_lists_jobs_and_rejects_unknown_names(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ZSBOT_TELEGRAM_TOKEN", "ZSBOT_WECOM_CORP_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZSBOT_DATABASE_URL", db_url)
    assert main(["jobs", "list"]) == 0
    output = capsys.readouterr().out
    assert all(key in output for key in JOBS) and "尚未绑定群" in output
    assert main(["jobs", "run", "nope", "--dry-run"]) == 2
    assert "nope" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# The schedule arithmetic


def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_due_from_the_post_time_until_the_grace_period_ends() -> None:
    rank = JOBS["daily_rank"]
    at = time(8, 30)
    assert not is_due(rank, at, local(2026, 11, 24, 8, 29), settings())
    assert is_due(rank, at, local(2026, 11, 24, 8, 30), settings())
    assert is_due(rank, at, local(2026, 11, 24, 11, 29), settings())
    assert not is_due(rank, at, local(2026, 11, 24, 11, 30), settings())  # 180 minutes later


def test_next_run_skips_holidays_for_workday_posts_and_waits_for_monday() -> None:
    remind, weekly = JOBS["daily_remind"], JOBS["weekly_summary"]
    eve = local(2026, 9, 30, 21, 0)  # the day's reminder is past its grace period
    assert next_run(remind, time(17, 30), eve, settings(), done_today=False) == datetime(
        2026, 10, 8, 17, 30, tzinfo=TZ)  # after the National Day holiday
    assert next_run(weekly, time(9, 0), eve, settings(), done_today=False) == datetime(
        2026, 10, 5, 9, 0, tzinfo=TZ)  # a holiday Monday still gets the weekly summary
    due = local(2026, 10, 12, 17, 40)
    assert next_run(remind, time(17, 30), due, settings(), done_today=False) == due.astimezone(TZ)
    assert next_run(remind, time(17, 30), due, settings(), done_today=True) == datetime(
        2026, 10, 13, 17, 30, tzinfo=TZ)
    assert JOBS["weekly_summary"].period(datetime(2026, 11, 26).date()) == "2026-11-23"
