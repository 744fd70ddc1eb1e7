"""The web server and the WeCom callback as attackers and clocks would have them (issue 16), over real HTTP
on a loopback port, on SQLite and PostgreSQL:

- slow clients: a connection dribbling its headers or its body is closed at the read deadlines, and one
  address holds at most the per-peer number of connections;
- WeCom callbacks signed correctly but dated outside the window are refused; within it, a replay (or
  WeCom's own retry while the first attempt is still running) is acknowledged and not run again, even a
  read-only question;
- WeCom XML in another encoding (a UTF-16 entity bomb) is refused before any parsing;
- secrets never show in repr(settings).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.runner import WECOM_ADAPTER_KEY
from bot.settings import Settings
from bot.workers import settings_from_line, settings_line
from storage.models import Project
from tests.fakes.wecom_api import CORP_ID, build_callback, text_message_xml
from tests.live_rig import Live, live_bot
from tests.reliability_support import AES_KEY, CRYPTO, WEBHOOK_SECRET, WECOM_TOKEN, encrypt_bytes

SEND = "/cgi-bin/message/send"
WECOM_MEMBER = "zhangwei"


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The bot with short read deadlines and a small per-address cap, and a WeCom member in a squad."""
    async with live_bot(db_url, tmp_path, http_header_timeout=1.0, http_body_timeout=1.0,
                        http_max_connections_per_peer=4) as running:
        code = await running.squad("德化街")
        assert await running.wecom_says(WECOM_MEMBER, f"加入 {code}") == 200
        await running.settle()
        yield running


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bytes, float]:
    """Read until the server closes the connection; (what it sent, seconds it took)."""
    start = time.monotonic()
    received = b""
    async with asyncio.timeout(seconds):
        while chunk := await reader.read(4096):
            received += chunk
    return received, time.monotonic() - start


async def _dribble(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    """Send `data` a byte at a time (a slowloris), until the server closes the connection."""
    for byte in data:
        if writer.is_closing():
            return
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionError, OSError):
            return
        await asyncio.sleep(every)


async def test_headers_sent_a_byte_at_a_time_are_cut_off(live: Live) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live.server.port)
    dribbling = asyncio.create_task(_dribble(writer, b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\n" * 10, 0.2))
    received, took = await _closed_within(reader, 10)
    dribbling.cancel()
    writer.close()
    assert received == b"" and 0.9 <= took < 3, took  # closed at the 1 s header deadline, without an answer


async def test_a_body_sent_a_byte_at_a_time_gets_408_and_is_closed(live: Live) -> None:
    query, body = build_callback(CRYPTO, text_message_xml(from_user=WECOM_MEMBER, content="谋划 慢慢来的项目",
                                                          msg_id="slow1"))
    target = "/wecom/callback?" + "&".join(f"{k}={v}" for k, v in query.items())
    reader, writer = await asyncio.open_connection("127.0.0.1", live.server.port)
    writer.write(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    await writer.drain()
    dribbling = asyncio.create_task(_dribble(writer, body, 0.2))
    received, took = await _closed_within(reader, 10)
    dribbling.cancel()
    writer.close()
    assert received.startswith(b"HTTP/1.1 408"), received[:100]
    assert took < 1 + 2 + 1, took  # the body deadline, then at most aiohttp's lingering read (2 s)
    await live.settle()
    assert not [c for c in live.wecom.calls(SEND) if "慢慢来" in json.dumps(c.json, ensure_ascii=False)]


async def test_one_address_holds_at_most_the_cap(live: Live) -> None:
    held = [await asyncio.open_connection("127.0.0.1", live.server.port) for _ in range(4)]
    reader, writer = await asyncio.open_connection("127.0.0.1", live.server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        received, _ = await _closed_within(reader, 5)
    except ConnectionResetError:
        received = b""
    writer.close()
    assert received == b"" and live.server.cap.refused >= 1  # the fifth was closed unanswered
    for _, held_writer in held[:1]:
        held_writer.close()
    await asyncio.sleep(0.1)
    async with live.http.get(live.base + "/healthz") as response:
        assert response.status == 200  # a slot came free
    for _, held_writer in held[1:]:
        held_writer.close()


async def test_wecom_callbacks_outside_the_window_are_refused(live: Live) -> None:
    now = int(time.time())
    window = live.bot.settings.wecom_callback_window_seconds
    cases = {"30 days old": now - 30 * 86_400, "in 2100": 4_102_444_800, "just outside": now - window - 60}
    for label, stamp in cases.items():
        assert await live.wecom_says(WECOM_MEMBER, f"谋划 郑州航空物流港{label}", timestamp=str(stamp)) == 403, label
    assert await live.wecom_says(WECOM_MEMBER, "谋划 郑州航空物流港", timestamp=str(now - window + 60)) == 200
    await live.settle()
    async with live.bot.sessions() as session:
        names = {project.name for project in (await session.exec(select(Project))).all()}
    assert names == {"郑州航空物流港"}


async def test_a_replayed_callback_runs_once_even_a_question(live: Live) -> None:
    """The same signed envelope three times: the update is stored once, the read-only question (which has no
    inbox row) is answered once; each replay is acknowledged 200 so WeCom stops retrying."""
    for content, msg_id in (("谋划 重放项目", "r1"), ("查 重放项目", "r2"), ("排行", "r3")):
        query, body = build_callback(CRYPTO, text_message_xml(from_user=WECOM_MEMBER, content=content, msg_id=msg_id))
        for _ in range(3):
            assert await live.wecom_post(query, body) == 200
    await live.settle()
    replies = [c.json for c in live.wecom.calls(SEND)
               if c.json.get("touser") == WECOM_MEMBER and c.json["msgtype"] in ("text", "markdown")]
    assert len(replies) == 1 + 3  # the join, then one answer each (the leaderboard's chart aside)


async def test_wecoms_retry_while_the_first_attempt_is_slow_waits_for_it(live: Live) -> None:
    """WeCom gives up on an answer after five seconds and sends the same envelope again; here the core takes
    longer than the client waits. The retry waits for the first attempt and is acknowledged: one run."""
    original = live.bot.core.handle
    runs: list[str] = []

    async def slow(incoming):  # type: ignore[no-untyped-def]
        runs.append(incoming.text)
        await asyncio.sleep(0.6)
        return await original(incoming)

    query, body = build_callback(CRYPTO, text_message_xml(from_user=WECOM_MEMBER, content="排行", msg_id="slow-r"))
    # The adapter holds the core's handle from start-up: it is slowed down where it is held.
    live.runner_app[WECOM_ADAPTER_KEY]._handle = slow
    first = asyncio.create_task(live.wecom_post(query, body))
    await asyncio.sleep(0.2)
    retries = await asyncio.gather(live.wecom_post(query, body), live.wecom_post(query, body))
    assert await first == 200 and retries == [200, 200]
    await live.settle()
    assert runs == ["排行"]


async def test_wecom_xml_in_another_encoding_is_refused_before_parsing(live: Live) -> None:
    bomb = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            '<xml><ToUserName>x</ToUserName><FromUserName>zhangwei</FromUserName><MsgType>text</MsgType>'
            '<Content>&c;</Content><MsgId>utf16</MsgId></xml>')
    stamp, nonce = str(int(time.time())), "42"
    encrypted = encrypt_bytes(bomb.encode("utf-16"))  # the inner message, signed and encrypted properly
    query = {"msg_signature": CRYPTO.signature(stamp, nonce, encrypted), "timestamp": stamp, "nonce": nonce}
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert await live.wecom_post(query, body.encode()) == 400
    outer = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "a">]>'
             '<xml><Encrypt>&a;</Encrypt></xml>').encode("utf-16")
    assert await live.wecom_post(query, outer) == 400
    assert await live.wecom_post(query, body.encode("utf-16")) == 400  # even a harmless one, in UTF-16


def test_settings_show_no_secret() -> None:
    secrets = {"telegram_token": "123456:AAF-very-secret-token", "telegram_webhook_secret": WEBHOOK_SECRET,
               "wecom_secret": "wecom-app-secret-xyz", "wecom_token": WECOM_TOKEN, "wecom_aes_key": AES_KEY,
               "database_url": "postgresql://zsbot:db-password-123@db.example/zsbot"}
    settings = Settings(_env_file=None, **secrets)  # type: ignore[call-arg]
    shown = repr(settings) + str(settings) + repr(settings.model_dump(exclude={"database_url"}))
    for name, value in secrets.items():
        assert value.split("//")[-1] not in shown, name
    # A secondary worker still receives them (bot.workers sends the settings on its standard input).
    again = settings_from_line(settings_line(settings))
    assert again.telegram_token.get_secret_value() == secrets["telegram_token"]
    assert again.wecom_aes_key.get_secret_value() == AES_KEY and again.database_url.endswith("db.example/zsbot")
