"""The WeCom adapter end to end: signed, encrypted callbacks posted to the running aiohttp server, and
the replies it sends observed at a local fake WeCom API."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.wecom_adapter import WeComAdapter
from bot.wecom_api import WeComClient
from bot.wecom_crypto import WeComCrypto
from handlers.messages import Incoming, IncomingFile, LinkButton, OutgoingFile, Reply
from tests.fakes.wecom_api import (
    AGENT_ID,
    CORP_ID,
    SECRET,
    FakeWeComApi,
    build_callback,
    event_xml,
    image_message_xml,
    text_message_xml,
)

TOKEN = "cb-token-Qx7"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
SEND = "/cgi-bin/message/send"


@dataclass
class FakeCore:
    """Stands in for the core: records what it was handed and answers a fixed reply, once per id."""

    reply: Reply = field(default_factory=lambda: Reply(text="已记录：比亚迪 签约"))
    seen: list[Incoming] = field(default_factory=list)
    stored: set[str] = field(default_factory=set)
    fail: bool = False

    async def __call__(self, incoming: Incoming) -> Reply:
        if self.fail:
            raise RuntimeError("database down")
        self.seen.append(incoming)
        if incoming.message_id is not None:
            self.stored.add(incoming.message_id)  # the core's dedup: a redelivery stores nothing new
        return self.reply


@dataclass
class Harness:
    http: TestClient
    fake: FakeWeComApi
    core: FakeCore
    adapter: WeComAdapter
    crypto: WeComCrypto

    async def post(self, inner_xml: str, crypto: WeComCrypto | None = None) -> aiohttp.ClientResponse:
        query, body = build_callback(crypto or self.crypto, inner_xml)
        return await self.http.post("/wecom/callback", params=query, data=body)

    async def settled(self) -> None:
        await self.adapter.aclose()


def make_settings(api_url: str, **overrides: str) -> Settings:
    values = {
        "wecom_corp_id": CORP_ID, "wecom_agent_id": str(AGENT_ID), "wecom_secret": SECRET,
        "wecom_token": TOKEN, "wecom_aes_key": AES_KEY, "wecom_api_url": api_url, **overrides,
    }
    return Settings.model_validate(values)  # model_validate reads no environment or .env file


async def _no_wait(seconds: float) -> None:
    """Backoff without waiting (the retry policy itself is tested in test_wecom_api)."""


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with FakeWeComApi() as fake, aiohttp.ClientSession() as session:
        settings = make_settings(fake.url)
        client = WeComClient(
            session, api_url=settings.wecom_api_url, corp_id=settings.wecom_corp_id,
            secret=settings.wecom_secret.get_secret_value(), agent_id=settings.wecom_agent_id, sleep=_no_wait,
        )
        core = FakeCore()
        adapter = WeComAdapter(settings, core, client)
        app = web.Application()
        app.add_routes(adapter.routes())
        async with TestClient(TestServer(app, host="127.0.0.1")) as http:
            yield Harness(http, fake, core, adapter, WeComCrypto(TOKEN, AES_KEY, CORP_ID))
            await adapter.aclose()


# ---- URL verification ------------------------------------------------------------------------------
async def test_url_verification_answers_the_plaintext(harness: Harness) -> None:
    echostr = harness.crypto.encrypt("5927456367485160241")
    query = {
        "msg_signature": harness.crypto.signature("1700000000", "42", echostr),
        "timestamp": "1700000000", "nonce": "42", "echostr": echostr,
    }
    response = await harness.http.get("/wecom/callback", params=query)
    assert response.status == 200
    assert await response.text() == "5927456367485160241"


async def test_url_verification_with_tencents_sample_request() -> None:
    """The sample GET from WXBizMsgCrypt, URL-encoded exactly as WeCom sends it."""
    async with FakeWeComApi() as fake, aiohttp.ClientSession() as session:
        settings = make_settings(
            fake.url, wecom_token="QDG6eK", wecom_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            wecom_corp_id="wx5823bf96d3bd56c7",
        )
        client = WeComClient(session, api_url=fake.url, corp_id="x", secret="y", agent_id=1)
        app = web.Application()
        app.add_routes(WeComAdapter(settings, FakeCore(), client).routes())
        async with TestClient(TestServer(app, host="127.0.0.1")) as http:
            response = await http.get(
                "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589"
                "&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp"
                "%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
            )
            assert response.status == 200
            assert await response.text() == "1616140317555161061"


async def test_url_verification_refuses_bad_signature_and_missing_parameters(harness: Harness) -> None:
    echostr = harness.crypto.encrypt("123")
    query = {"msg_signature": "0" * 40, "timestamp": "1700000000", "nonce": "42", "echostr": echostr}
    response = await harness.http.get("/wecom/callback", params=query)
    assert response.status == 403
    assert "123" not in await response.text()
    response = await harness.http.get("/wecom/callback", params={"timestamp": "1", "nonce": "2"})
    assert response.status == 400


# ---- messages ----------------------------------------------------------------------------------------
async def test_text_message_reaches_the_core_and_the_reply_goes_out(harness: Harness) -> None:
    response = await harness.post(
        text_message_xml(from_user="zhangsan", content="签约 #12", msg_id="7001", create_time=1_700_000_123)
    )
    assert response.status == 200
    assert await response.text() == ""  # no passive reply: WeCom will not retry
    assert harness.core.seen == [
        Incoming(
            platform="wecom", user_id="zhangsan", text="签约 #12", chat_id="zhangsan", chat_kind="private",
            display_name="zhangsan", message_id="7001",
            sent_at=datetime.fromtimestamp(1_700_000_123, tz=UTC),
        )
    ]
    assert harness.core.seen[0].identity == "wecom:zhangsan"
    await harness.settled()
    (send,) = harness.fake.calls(SEND)
    assert send.json == {
        "touser": "zhangsan", "msgtype": "text", "agentid": AGENT_ID,
        "text": {"content": "已记录：比亚迪 签约"}, "safe": 0,
    }


async def test_acknowledged_before_the_reply_is_delivered(harness: Harness) -> None:
    harness.fake.gate = asyncio.Event()  # WeCom's send API hangs
    response = await asyncio.wait_for(
        harness.post(text_message_xml(from_user="zhangsan", content="排行", msg_id="7002")), timeout=5
    )
    assert response.status == 200 and harness.core.seen  # committed, acknowledged...
    await asyncio.sleep(0.05)
    assert len(harness.fake.calls(SEND)) == 1  # ...while the reply is still on its way
    harness.fake.gate.set()
    await harness.settled()


async def test_redelivered_message_is_answered_once(harness: Harness) -> None:
    """WeCom retries when it did not see our 200 in time: the retries are acknowledged and not run again
    (not even a read-only question, which has no inbox row of its own)."""
    for msg_id, content in (("7003", "签约 #12"), ("7013", "排行")):
        inner = text_message_xml(from_user="zhangsan", content=content, msg_id=msg_id)
        for _ in range(3):
            assert (await harness.post(inner)).status == 200
    await harness.settled()
    assert [i.message_id for i in harness.core.seen] == ["7003", "7013"]
    assert harness.core.stored == {"7003", "7013"}
    assert len(harness.fake.calls(SEND)) == 2


async def test_markdown_long_text_image_and_file_replies(harness: Harness) -> None:
    board = "\n".join(f"{i}. 德化街" for i in range(400))
    harness.core.reply = Reply(text="plain", markdown="**排行**\n" + board)
    await harness.post(text_message_xml(from_user="lisi", content="排行", msg_id="7004"))
    await harness.settled()
    sends = harness.fake.calls(SEND)
    assert len(sends) > 1 and {s.json["msgtype"] for s in sends} == {"markdown"}
    assert all(len(s.json["markdown"]["content"].encode()) <= 2048 for s in sends)

    harness.fake.requests.clear()
    ledger = OutgoingFile("台账.xlsx", b"PK\x03\x04 ledger")
    harness.core.reply = Reply(text="台账", image=b"\x89PNG fake chart", file=ledger)
    await harness.post(text_message_xml(from_user="lisi", content="导出", msg_id="7005"))
    await harness.settled()
    assert [s.json["msgtype"] for s in harness.fake.calls(SEND)] == ["text", "image", "file"]
    assert [u.query["type"] for u in harness.fake.calls("/cgi-bin/media/upload")] == ["image", "file"]


async def test_a_link_reply_is_a_text_card_that_opens_it(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """The 驾驶舱 link goes as a 文本卡片 (title, description, url, button); member text in it is escaped."""
    url = "https://zsbot.example.gov.cn/dash/open?t=abc.def"
    harness.core.reply = Reply(text=f"📊 驾驶舱（德化街<a href=x>）：\n{url}\n链接 12月01日 18:00 前有效",
                               link=LinkButton("打开驾驶舱", url))
    await harness.post(text_message_xml(from_user="lisi", content="看板", msg_id="7010"))
    await harness.settled()
    [sent] = harness.fake.calls(SEND)
    card = sent.json["textcard"]
    assert sent.json["msgtype"] == "textcard"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # the fake accepted the card
    assert card["url"] == url and card["btntxt"] == "打开"
    assert card["title"] == "📊 驾驶舱（德化街＜a href=x＞）：" and "<" not in card["description"]
    assert "12月01日" in card["description"] and url not in card["description"]


async def test_image_message_becomes_an_incoming_file(harness: Harness) -> None:
    await harness.post(image_message_xml(from_user="zhangsan", media_id="MEDIA-1", msg_id="7006"))
    (incoming,) = harness.core.seen
    assert incoming.text == ""
    assert incoming.files == (IncomingFile(kind="photo", file_ref="MEDIA-1", mime_type="image/jpeg"),)


async def test_events_are_acknowledged_and_ignored(harness: Harness) -> None:
    for event in ("enter_agent", "subscribe"):
        response = await harness.post(event_xml(from_user="zhangsan", event=event))
        assert response.status == 200 and await response.text() == ""
    assert harness.core.seen == []


async def test_message_for_another_agent_is_ignored(harness: Harness) -> None:
    response = await harness.post(text_message_xml(from_user="z", content="hi", msg_id="1", agent_id=42))
    assert response.status == 200 and harness.core.seen == []


# ---- forged and malformed callbacks ------------------------------------------------------------------
async def test_forged_signature_is_refused(harness: Harness) -> None:
    query, body = build_callback(harness.crypto, text_message_xml(from_user="z", content="签约", msg_id="8"))
    query["msg_signature"] = "f" * 40
    response = await harness.http.post("/wecom/callback", params=query, data=body)
    assert response.status == 403
    forger = WeComCrypto("guessed-token", AES_KEY, CORP_ID)  # right key, wrong token
    response = await harness.post(text_message_xml(from_user="z", content="签约", msg_id="9"), forger)
    assert response.status == 403
    await harness.settled()
    assert harness.core.seen == [] and harness.fake.requests == []


async def test_wrong_corp_id_is_refused(harness: Harness) -> None:
    other_corp = WeComCrypto(TOKEN, AES_KEY, "wwanothercorp0000")
    response = await harness.post(text_message_xml(from_user="z", content="签约", msg_id="10"), other_corp)
    assert response.status == 403
    assert harness.core.seen == []


async def test_malformed_callbacks_are_bad_requests(harness: Harness) -> None:
    sign = harness.crypto.signature
    cases: list[tuple[dict[str, str], bytes]] = []
    # Not XML at all.
    cases.append(({"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"}, b"hello"))
    # Correctly signed, but the ciphertext is not base64.
    cases.append((
        {"msg_signature": sign("1", "2", "!!notbase64!!"), "timestamp": "1", "nonce": "2"},
        b"<xml><Encrypt><![CDATA[!!notbase64!!]]></Encrypt></xml>",
    ))
    # Correctly signed and encrypted, but the message inside is not XML.
    cases.append(build_callback(harness.crypto, "not xml <at all"))
    # A DOCTYPE (entity expansion attack) before anything is checked.
    cases.append((
        {"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"},
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
    ))
    # Too large.
    cases.append(({"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"}, b"<xml>" + b"A" * 100_000))
    # No signature parameters.
    cases.append(({}, build_callback(harness.crypto, "<xml/>")[1]))
    for query, body in cases:
        response = await harness.http.post("/wecom/callback", params=query, data=body)
        assert response.status == 400, body[:40]
    assert harness.core.seen == [] and harness.fake.requests == []


async def test_core_failure_makes_wecom_retry(harness: Harness) -> None:
    harness.core.fail = True
    response = await harness.post(text_message_xml(from_user="z", content="签约", msg_id="11"))
    assert response.status == 500
    await harness.settled()
    assert harness.fake.requests == []


async def test_undeliverable_reply_is_logged_and_retried_on_redelivery(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    inner = text_message_xml(from_user="z", content="签约", msg_id="12")
    harness.fake.fail_next(-1, times=4)  # every attempt of the first delivery: transient failure
    await harness.post(inner)
    await harness.settled()
    assert "not delivered" in caplog.text
    await harness.post(inner)  # WeCom's retry: the reply is tried again and now goes out
    await harness.settled()
    sends = harness.fake.calls(SEND)
    assert len(sends) == 5 and sends[-1].json["text"]["content"] == "已记录：比亚迪 签约"


async def test_secrets_never_reach_the_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.post(text_message_xml(from_user="zhangsan", content="签约", msg_id="13"))
    await harness.settled()
    harness.fake.expire_tokens()
    await harness.post(text_message_xml(from_user="zhangsan", content="签约", msg_id="14"))
    query, body = build_callback(harness.crypto, text_message_xml(from_user="z", content="x", msg_id="15"))
    query["msg_signature"] = "0" * 40
    await harness.http.post("/wecom/callback", params=query, data=body)
    await harness.settled()
    assert len(harness.fake.calls(SEND)) == 3  # 2 replies, the second retried after a 42001
    assert "refused" in caplog.text
    for secret in [SECRET, TOKEN, AES_KEY, *harness.fake.tokens_issued]:
        assert secret not in caplog.text
