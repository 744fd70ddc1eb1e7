"""The 智能机器人 end to end over its long connection: the real core on SQLite and PostgreSQL, the real
adapter, sender and messenger as `zsbot run` composes them, against the local fake server (loopback).

Group @-mentions stored once though delivered twice, answers in place, template cards whose buttons only
the sender may press, the welcome, images as evidence, a bound group's scheduled posts, WeCom's pace,
fallbacks when an answer cannot go in place, forged callbacks, and a connection dropped mid-run."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from PIL import Image
from sqlmodel import func, select

from bot.app import ZsBot
from bot.settings import Settings
from bot.wecom_bot import frames
from bot.wecom_bot.connection import BotConnection
from bot.wecom_bot.platform import open_wecom_bot
from bot.wecom_bot.sender import BotSender
from handlers.messages import Incoming
from storage.models import ChatBinding, Event, Evidence, Identity, InboundMessage, Member, Project
from tests.fakes.wecom_aibot_server import BOT_ID, SECRET, Delivery, FakeAiBotServer, eventually
from tests.helpers import MovableClock

TZ = ZoneInfo("Asia/Shanghai")
GROUP = "wrkSFfCgAAx1"  # a group's chatid
MENTION = "@招商小助手\u2005"  # WeCom writes a mention as @name and U+2005


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    bot: ZsBot
    fake: FakeAiBotServer
    clock: MovableClock
    files: Path

    async def deliver(self, body: dict[str, Any]) -> Delivery:
        """Push a body and wait until the core has handled it (its inbox row, or an answer)."""
        delivery = await self.fake.deliver(body)
        await eventually(lambda: delivery.req_id != "", what="delivered")
        return delivery

    async def answer(self, delivery: Delivery, count: int = 1) -> list[dict[str, Any]]:
        """The reply bodies to a message (waits for `count` of them)."""
        await eventually(lambda: len(self.fake.replies_to(delivery)) >= count, what="a reply in place")
        return self.fake.replies_to(delivery)

    async def say(self, user: str, text: str, *, chat: str | None = None, **fields: Any) -> str:
        """A message; returns the text of its answer in place."""
        delivery = await self.deliver(self.fake.message(user, text, chat=chat, **fields))
        return (await self.answer(delivery))[-1]["stream"]["content"]

    async def squad(self, name: str, *members: str) -> str:
        """A squad made by the admin in the direct chat, the members joined; returns the invite code."""
        created = await self.say("admin", f"建队 {name}")
        code = created.split("邀请码：")[1].split()[0]
        for member in members:
            assert "加入" in await self.say(member, f"加入 {code}")
        return code

    async def count(self, model: Any) -> int:
        async with self.bot.sessions() as session:
            return int((await session.exec(select(func.count()).select_from(model))).one())


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with FakeAiBotServer() as fake, aiohttp.ClientSession() as http:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=db_url, admins=["wecom:admin"], files_dir=str(tmp_path / "files"),
            wecom_bot_id=BOT_ID, wecom_bot_secret=SECRET, wecom_bot_ws_url=fake.ws_url,
            dash_secret="dash-secret-for-tests-0123456789abcdef", public_url="https://zsbot.example.gov.cn",
        )
        clock = MovableClock()
        async with ZsBot(settings, clock=clock) as bot, open_wecom_bot(bot, http, receive=True) as callback:
            assert callback is None  # no Token and EncodingAESKey: no callback route
            await eventually(lambda: fake.live, what="subscribed")
            yield World(bot, fake, clock, tmp_path / "files" / "wecom-bot")


async def test_a_group_mention_is_stored_once_though_delivered_twice_and_answered_in_place(world: World) -> None:
    await world.squad("德化街", "zhangwei")
    body = world.fake.message("zhangwei", f"{MENTION}签约 杉杉奥特莱斯 20亿", chat=GROUP, msgid="CAIQmention1")
    first = await world.deliver(body)
    replies = await world.answer(first)
    again = await world.deliver(body)  # WeCom delivers it again
    await eventually(lambda: world.fake.frames(frames.RESPOND, ok_only=False) and again.req_id != "")
    await asyncio.sleep(0.2)
    assert await world.count(Project) == 1 and await world.count(Event) == 1
    assert len(world.fake.replies_to(first)) == 1  # answered once: the redelivery stored and said nothing new
    reply = replies[0]
    assert reply["msgtype"] == "stream_with_template_card"
    assert reply["stream"]["finish"] is True and "杉杉奥特莱斯" in reply["stream"]["content"]
    card = reply["template_card"]
    assert card["card_type"] == "button_interaction"
    assert [b["key"].rsplit(":", 1)[0] for b in card["button_list"]] == ["zs1|zhangwei|撤销 event"]
    async with world.bot.sessions() as session:
        event = (await session.exec(select(Event))).one()
        inbox = (await session.exec(select(InboundMessage))).all()
    assert (event.source_platform, event.source_chat) == ("wecom", GROUP)
    assert {row.message_id for row in inbox} >= {"aibot:CAIQmention1"}
    assert any(row.identity == "wecom:zhangwei" for row in inbox)


async def test_a_proposal_is_a_card_only_its_sender_may_press_and_the_card_shows_the_outcome(world: World) -> None:
    await world.squad("德化街", "zhangwei", "lisi")
    asked = await world.deliver(world.fake.message(
        "zhangwei", f"{MENTION}今天去中原数据集团拜访了，对方有意向追加投资2个亿", chat=GROUP))
    reply = (await world.answer(asked))[0]
    assert reply["msgtype"] == "stream_with_template_card" and "尚未保存" in reply["stream"]["content"]
    card = reply["template_card"]
    keys = {b["key"].split("|")[2]: b["key"] for b in card["button_list"]}
    assert keys["1"] == "zs1|zhangwei|1" and keys["0"] == "zs1|zhangwei|0"
    events_before = await world.count(Event)

    # Someone else presses "1": only their view of the card changes, and nothing is stored.
    other = await world.deliver(world.fake.event("lisi", "template_card_event", chat=GROUP, card_type="button_interaction",
                                                 event_key=keys["1"], task_id=card["task_id"]))
    await eventually(lambda: any(r.req_id == other.req_id for r in world.fake.frames(frames.RESPOND_UPDATE)))
    update = next(r.body for r in world.fake.frames(frames.RESPOND_UPDATE) if r.req_id == other.req_id)
    assert update["userids"] == ["lisi"] and "只有发起人" in update["template_card"]["main_title"]["title"]
    assert await world.count(Event) == events_before

    # The sender presses it: stored, and the card (same task_id) now shows what was stored, with 撤销.
    mine = await world.deliver(world.fake.event("zhangwei", "template_card_event", chat=GROUP,
                                                card_type="button_interaction", event_key=keys["1"],
                                                task_id=card["task_id"]))
    await eventually(lambda: any(r.req_id == mine.req_id for r in world.fake.frames(frames.RESPOND_UPDATE)))
    update = next(r.body for r in world.fake.frames(frames.RESPOND_UPDATE) if r.req_id == mine.req_id)
    assert "userids" not in update and update["template_card"]["task_id"] == card["task_id"]
    assert await world.count(Event) > events_before
    undo_key = next(b["key"] for b in update["template_card"]["button_list"] if "撤销" in b["key"])
    assert undo_key.startswith("zs1|zhangwei|撤销 event:")

    # The same click delivered again stores nothing more; then 撤销 on the card undoes it.
    stored = await world.count(Event)
    await world.deliver(world.fake.event("zhangwei", "template_card_event", chat=GROUP, card_type="button_interaction",
                                         event_key=keys["1"], task_id=card["task_id"]) | {"msgid": mine.body["msgid"]})
    await asyncio.sleep(0.3)
    assert await world.count(Event) == stored
    undo = await world.deliver(world.fake.event("zhangwei", "template_card_event", chat=GROUP,
                                                card_type="button_interaction", event_key=undo_key,
                                                task_id=card["task_id"]))
    await eventually(lambda: any(r.req_id == undo.req_id for r in world.fake.frames(frames.RESPOND_UPDATE)))
    async with world.bot.sessions() as session:
        kinds = [e.kind for e in (await session.exec(select(Event).order_by(Event.id))).all()]
    assert kinds[-1] == "undo"


async def test_entering_the_direct_chat_gets_a_welcome_that_explains_how_to_join(world: World) -> None:
    entered = await world.deliver(world.fake.event("newcomer", "enter_chat"))
    await eventually(lambda: any(r.req_id == entered.req_id for r in world.fake.frames(frames.RESPOND_WELCOME)))
    welcome = next(r.body for r in world.fake.frames(frames.RESPOND_WELCOME) if r.req_id == entered.req_id)
    assert welcome["msgtype"] == "text"
    assert "加入 邀请码" in welcome["text"]["content"] and "@我" in welcome["text"]["content"]


async def test_a_member_who_joined_through_the_app_is_the_same_person_here(world: World) -> None:
    code = await world.squad("德化街")
    # What the self-built app's adapter hands the core for a private message (bot/wecom_adapter.py).
    joined = await world.bot.core.handle(Incoming(platform="wecom", user_id="zhangwei", text=f"加入 {code}",
                                                  chat_id="zhangwei", display_name="zhangwei", message_id="90001"))
    assert joined.ok
    answer = await world.say("zhangwei", f"{MENTION}签约 杉杉奥特莱斯 20亿", chat=GROUP)
    assert "德化街" in answer
    async with world.bot.sessions() as session:
        event = (await session.exec(select(Event))).one()
        member = (await session.exec(select(Member).join(Identity).where(Identity.identity == "wecom:zhangwei"))).one()
    assert event.member_id == member.id and member.team_id is not None


async def test_the_dashboard_link_comes_as_a_card_that_opens_it(world: World) -> None:
    """`看板` in the direct chat: the text with the link, and a text_notice card whose tap opens the 驾驶舱."""
    await world.squad("德化街", "zhangwei")
    delivery = await world.deliver(world.fake.message("zhangwei", "看板"))
    reply = (await world.answer(delivery))[-1]
    assert reply["msgtype"] == "stream_with_template_card"
    url = reply["template_card"]["card_action"]["url"]
    assert reply["template_card"]["card_type"] == "text_notice" and reply["template_card"]["card_action"]["type"] == 1
    assert url.startswith("https://zsbot.example.gov.cn/dash/") and url in reply["stream"]["content"]
    assert reply["template_card"]["jump_list"] == [{"type": 1, "title": "打开驾驶舱", "url": url}]
    assert world.fake.frames(frames.RESPOND)  # the fake accepted the card (a bad one is refused)


async def test_an_unknown_person_is_refused_with_the_way_to_join(world: World) -> None:
    answer = await world.say("stranger", "签约 假项目 1亿")
    assert "加入 邀请码" in answer
    assert await world.count(Project) == 0


async def test_images_in_the_direct_chat_and_in_a_mixed_message_are_evidence(world: World) -> None:
    await world.squad("德化街", "zhangwei")
    picture = png()
    held = await world.say("zhangwei", "", msgtype="image", image=world.fake.host_media(picture))
    assert "📎" in held and "签约 #12" in held
    stored = await world.say("zhangwei", "签约 杉杉奥特莱斯 20亿")
    assert "佐证" in stored
    # A group report with its photo in the same message (图文混排).
    contract = png()[:-1] + b"\x01"  # another file's bytes
    mixed = {"msg_item": [{"msgtype": "text", "text": {"content": f"{MENTION}进展 杉杉奥特莱斯 合同已盖章"}},
                          {"msgtype": "image", "image": world.fake.host_media(contract)}]}
    answer = await world.say("zhangwei", "", chat=GROUP, msgtype="mixed", mixed=mixed)
    assert "佐证" in answer
    async with world.bot.sessions() as session:
        evidence = (await session.exec(select(Evidence).order_by(Evidence.id))).all()
    kept = [await asyncio.to_thread(Path(e.stored_path).read_bytes) for e in evidence]
    assert kept == [picture, contract]
    assert all(e.platform == "wecom" and e.mime_type == "image/png" for e in evidence)
    # Held once, attached once: the next report carries nothing more.
    await world.say("zhangwei", "进展 杉杉奥特莱斯 对方法务在看合同")
    assert await world.count(Evidence) == 2


async def test_a_bound_group_gets_the_morning_ranking_and_reminders_that_mention_people(world: World) -> None:
    await world.squad("德化街", "zhangwei", "lisi")
    bound = await world.say("admin", f"{MENTION}绑定 德化街", chat=GROUP)
    assert "绑定" in bound
    async with world.bot.sessions() as session:
        binding = (await session.exec(select(ChatBinding))).one()
    assert (binding.platform, binding.chat_id) == ("wecom-bot", GROUP)

    scheduler = world.bot.scheduler()
    world.clock.now = local(2026, 11, 25, 8, 30)
    outcomes = await scheduler.tick()
    assert [o.status for o in outcomes if o.job == "daily_rank"] == ["sent"]
    posts = [r.body for r in world.fake.frames(frames.SEND) if r.body["chatid"] == GROUP]
    assert posts[0]["msgtype"] == "markdown" and "比学赶超" in posts[0]["markdown"]["content"]
    image = next(p for p in posts if p["msgtype"] == "image")
    kind, _, content = world.fake.media[image["image"]["media_id"]]
    assert kind == "image" and content.startswith(b"\x89PNG")

    world.clock.now = local(2026, 11, 25, 9, 0)
    await world.say("zhangwei", f"{MENTION}签约 杉杉奥特莱斯 20亿", chat=GROUP)
    world.clock.now = local(2026, 11, 25, 17, 30)
    await scheduler.tick()
    reminder = [r.body for r in world.fake.frames(frames.SEND) if "报送提醒" in r.body.get("markdown", {}).get("content", "")]
    assert reminder and "<@lisi>" in reminder[0]["markdown"]["content"]
    assert "<@zhangwei>" not in reminder[0]["markdown"]["content"]  # he reported today


async def test_an_answer_that_cannot_go_in_place_takes_the_response_url(world: World) -> None:
    world.fake.fail_next[frames.RESPOND].append(40058)
    delivery = await world.deliver(world.fake.message("someone", "帮助"))
    await eventually(lambda: world.fake.response_url_posts)
    code, body, errcode = world.fake.response_url_posts[0]
    assert errcode == 0 and delivery.body["response_url"].endswith(code)
    assert body["msgtype"] == "markdown" and "招商助手" in body["markdown"]["content"]


async def test_forged_and_malformed_callbacks_change_nothing(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await world.squad("德化街", "zhangwei")
    forged = world.fake.message("zhangwei", "签约 伪造项目 9亿", chat=GROUP) | {"aibotid": "someone-elses-bot"}
    nobody = {k: v for k, v in world.fake.message("zhangwei", "签约 无名项目 9亿").items() if k != "from"}
    bad_chat = world.fake.message("zhangwei", "签约 坏群 9亿", chat="has space")
    alien_key = world.fake.event("zhangwei", "template_card_event", event_key="approve", task_id="t1")
    for body in (forged, nobody, bad_chat, alien_key):
        await world.deliver(body)
    await asyncio.sleep(0.3)
    assert await world.count(Project) == 0
    assert "another bot" in caplog.text and "from" in caplog.text and "not one of our buttons" in caplog.text


async def test_the_connection_dropped_mid_run_loses_nothing_and_stores_nothing_twice(world: World) -> None:
    await world.squad("德化街", "zhangwei")
    await world.say("zhangwei", "签约 杉杉奥特莱斯 20亿")
    notes_before = await world.count(Event)
    deliveries = []
    for index in range(12):
        deliveries.append(await world.fake.deliver(world.fake.message(
            "zhangwei", f"{MENTION}进展 杉杉奥特莱斯 第{index}次对接", chat=GROUP, msgid=f"RUN{index:02d}")))
        if index in (4, 8):
            await eventually(lambda: world.fake.live)
            await world.fake.drop()  # the network goes, mid-run
    await eventually(lambda: world.fake.live)

    def answered(delivery: Delivery) -> bool:
        url_code = delivery.body["response_url"].rsplit("=", 1)[1]
        return bool(world.fake.replies_to(delivery)) or any(
            code == url_code and errcode == 0 for code, _, errcode in world.fake.response_url_posts)

    await eventually(lambda: all(answered(d) for d in deliveries), within=15, what="every message answered")
    assert await world.count(Event) == notes_before + 12  # each stored exactly once
    assert all(len(world.fake.replies_to(d)) <= 1 for d in deliveries)  # no message answered twice in place


async def test_replies_and_posts_keep_within_30_a_minute_per_chat() -> None:
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async with FakeAiBotServer(clock=lambda: now[0]) as fake, aiohttp.ClientSession() as http:
        async def ignore(_frame: dict[str, Any]) -> None:
            return None

        connection = BotConnection(http, url=fake.ws_url, bot_id=BOT_ID, secret=SECRET, on_frame=ignore)
        sender = BotSender(connection, clock=lambda: now[0], sleep=sleep)
        await connection.start()
        try:
            assert await connection.wait_connected(5)
            await fake.deliver(fake.message("zhangwei", "hi", chat=GROUP))  # the group has talked to the bot
            for index in range(31):
                await sender.push(GROUP, {"msgtype": "markdown", "markdown": {"content": f"第{index}条"}})
        finally:
            await connection.stop()
    sent = fake.frames(frames.SEND, ok_only=False)
    assert len(sent) == 31 and all(r.errcode == 0 for r in sent)  # never refused with 45009
    assert sum(slept) >= 59  # the 31st waited for the minute to pass
