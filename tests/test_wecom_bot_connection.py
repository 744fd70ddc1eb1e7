"""The 智能机器人's long connection against the local fake server (loopback WebSocket, the documented frames):
subscription, heartbeat, reconnection whatever closed it, one connection per bot, refused frames."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode

from bot.wecom_bot import frames
from bot.wecom_bot.connection import BotApiError, BotConnection
from tests.fakes.wecom_aibot_server import BOT_ID, SECRET, FakeAiBotServer, eventually

FAST = {"heartbeat": 0.1, "ack_timeout": 0.3, "backoff": (0.02, 0.2), "kicked_pause": (0.3, 0.3),
        "auth_pause": (0.05, 0.2)}


class Inbox:
    """What the connection handed on."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def msgids(self) -> list[str]:
        return [f["body"]["msgid"] for f in self.frames]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiBotServer]:
    async with FakeAiBotServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def connect(http: aiohttp.ClientSession, fake: FakeAiBotServer, inbox: Inbox, **options: Any) -> BotConnection:
    settings = {**FAST, **options}
    return BotConnection(http, url=fake.ws_url, bot_id=settings.pop("bot_id", BOT_ID),
                         secret=settings.pop("secret", SECRET), on_frame=inbox, **settings)


async def until(predicate: Any, seconds: float = 5.0) -> None:
    await eventually(predicate, seconds)


async def test_subscribes_with_id_and_secret_and_keeps_the_heartbeat(fake, http) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox)
    await connection.start()
    try:
        assert await connection.wait_connected(5)
        subscribe = fake.frames(frames.SUBSCRIBE)[0]
        assert subscribe.body == {"bot_id": BOT_ID, "secret": SECRET}
        await until(lambda: len(fake.frames(frames.PING)) >= 3)
        assert all(r.body is None for r in fake.frames(frames.PING))  # {cmd: ping, headers: {req_id}}
        delivery = await fake.deliver(fake.message("zhangwei", "签约 #1"))
        await until(lambda: inbox.frames)
        assert inbox.frames[0]["headers"]["req_id"] == delivery.req_id
        assert inbox.frames[0]["body"]["text"]["content"] == "签约 #1"
    finally:
        await connection.stop()
    assert fake.subscribe_attempts == 1 and "secret" not in repr(connection).lower()


@pytest.mark.parametrize("how", ["close-1000", "close-1001", "close-1011", "reset"])
async def test_reconnects_and_resubscribes_whatever_closed_it(fake, http, how: str) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox)
    await connection.start()
    try:
        assert await connection.wait_connected(5)
        for round_ in range(3):
            codes = {"close-1000": WSCloseCode.OK, "close-1001": WSCloseCode.GOING_AWAY,
                     "close-1011": WSCloseCode.INTERNAL_ERROR, "reset": None}
            await fake.drop(code=codes[how])
            # Users keep writing while it is down: WeCom holds the messages for the next connection.
            await fake.deliver(fake.message("zhangwei", f"进展 #1 第{round_}次", msgid=f"DOWN{round_}"))
            await until(lambda r=round_: connection.subscriptions == r + 2 and f"DOWN{r}" in inbox.msgids())
    finally:
        await connection.stop()
    # Nothing lost (a message never answered comes again after each drop: the core deduplicates it).
    assert set(inbox.msgids()) == {"DOWN0", "DOWN1", "DOWN2"}
    assert len(fake.frames(frames.SUBSCRIBE)) == 4


async def test_a_dead_heartbeat_reconnects(fake, http, caplog) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox)
    await connection.start()
    try:
        assert await connection.wait_connected(5)
        fake.answer_pings = False
        with caplog.at_level(logging.WARNING, logger="bot.wecom_bot.connection"):
            await until(lambda: fake.subscribe_attempts >= 2)
        fake.answer_pings = True
        assert await connection.wait_connected(5)
        assert "heartbeats unanswered" in caplog.text
        await fake.deliver(fake.message("zhangwei", "进展 #1 还在"))
        await until(lambda: len(inbox.frames) == 1)
    finally:
        await connection.stop()


async def test_backoff_grows_while_wecom_is_unreachable(http) -> None:
    async with FakeAiBotServer() as gone:
        url = gone.ws_url  # the server is gone after this block: connections are refused
    connection = BotConnection(http, url=url, bot_id=BOT_ID, secret=SECRET, on_frame=Inbox(),
                               backoff=(0.01, 0.08))
    await connection.start()
    try:
        await until(lambda: len(connection.pauses) >= 6)
    finally:
        await connection.stop()
    pauses = list(connection.pauses)
    assert not connection.connected
    assert pauses[0] <= 0.012 and max(pauses) <= 0.08 * 1.2 + 1e-9
    assert pauses[3] > pauses[0] * 4  # doubling (with ±20% jitter) up to the cap


async def test_wrong_secret_is_refused_and_tried_again_later(fake, http, caplog) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox, secret="wrong")
    with caplog.at_level(logging.ERROR, logger="bot.wecom_bot.connection"):
        await connection.start()
        await until(lambda: fake.subscribe_attempts >= 2)
        await connection.stop()
    assert not connection.connected and connection.subscriptions == 0
    assert "subscription refused" in caplog.text and "ZSBOT_WECOM_BOT_SECRET" in caplog.text
    assert "wrong" not in caplog.text  # the secret is never logged


async def test_a_second_connection_kicks_the_first_which_waits_before_taking_it_back(fake, http, caplog) -> None:
    first_inbox, second_inbox = Inbox(), Inbox()
    first = connect(http, fake, first_inbox, kicked_pause=(0.6, 0.6))
    second = connect(http, fake, second_inbox)
    await first.start()
    assert await first.wait_connected(5)
    with caplog.at_level(logging.ERROR, logger="bot.wecom_bot.connection"):
        await second.start()
        assert await second.wait_connected(5)
        await until(lambda: first.kicks == 1)
    assert "took over" in caplog.text
    # The kicked one stays away for its pause: messages reach the newer connection meanwhile.
    await fake.deliver(fake.message("zhangwei", "进展 #1 给新连接", msgid="NEW"))
    await until(lambda: second_inbox.msgids() == ["NEW"])
    assert not first.connected and first_inbox.frames == []
    await second.stop()  # the other process ends (a `zsbot jobs run`): the first takes the bot back
    await until(lambda: first.connected, seconds=5)
    await fake.deliver(fake.message("zhangwei", "进展 #1 回到旧连接", msgid="BACK"))
    # It gets what WeCom still owed the other (NEW, never answered) and what comes now.
    await until(lambda: first_inbox.msgids() == ["NEW", "BACK"])
    await first.stop()


async def test_malformed_and_forged_frames_are_refused_and_the_connection_keeps_working(fake, http, caplog) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox)
    await connection.start()
    try:
        assert await connection.wait_connected(5)
        with caplog.at_level(logging.WARNING, logger="bot.wecom_bot.connection"):
            for raw in ("not json", "[]", "1", '"text"', "null", json.dumps({"headers": "x"}),
                        json.dumps({"cmd": "aibot_msg_callback", "headers": {}}),
                        json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": 7}}),
                        json.dumps({"cmd": "something_else", "headers": {"req_id": "r"}, "body": {}}),
                        json.dumps({"headers": {"req_id": "nobody-asked"}, "errcode": 0})):
                await fake.send_raw(raw)
            assert fake._current is not None
            await fake._current.ws.send_bytes(b"\x00\x01")
            await fake.deliver(fake.message("zhangwei", "进展 #1 之后", msgid="AFTER"))
            await until(lambda: inbox.msgids() == ["AFTER"])
        assert "not JSON" in caplog.text and "not a JSON object" in caplog.text and "unknown cmd" in caplog.text
        assert connection.connected and fake.subscribe_attempts == 1
    finally:
        await connection.stop()


async def test_requests_get_acknowledgements_errors_and_timeouts(fake, http) -> None:
    inbox = Inbox()
    connection = connect(http, fake, inbox)
    await connection.start()
    try:
        assert await connection.wait_connected(5)
        fake.fail_next[frames.SEND].append(45009)
        with pytest.raises(BotApiError) as refused:
            await connection.request(frames.SEND, {"chatid": "nobody", "msgtype": "markdown",
                                                   "markdown": {"content": "x"}})
        assert refused.value.errcode == 45009 and refused.value.transient
        with pytest.raises(BotApiError) as unknown_chat:
            await connection.request(frames.SEND, {"chatid": "nobody", "msgtype": "markdown",
                                                   "markdown": {"content": "x"}})
        assert unknown_chat.value.errcode == 40058 and not unknown_chat.value.transient
        fake.answer_pings = False
        with pytest.raises(BotApiError) as silent:
            await connection.request(frames.PING)
        assert silent.value.errcode == -1
    finally:
        await connection.stop()
    with pytest.raises(BotApiError) as closed:
        await connection.request(frames.PING)
    assert closed.value.errcode == -1
