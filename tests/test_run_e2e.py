"""`zsbot run` as composed by the one composition root: both platforms, the web server and the scheduler,
against the fake Telegram Bot API and the fake WeCom API, with the real core on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import func, select

from bot.app import ZsBot
from bot.runner import build_web_app
from bot.settings import Settings
from bot.wecom_crypto import WeComCrypto
from storage.models import Event, Project
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi, build_callback, text_message_xml
from tests.helpers import MovableClock

WECOM_TOKEN = "cb-token-Qx7"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
SECRET_TOKEN = "hook-secret_1"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.fixture
async def running(db_url: str) -> AsyncIterator[tuple[str, FakeBotApi, FakeWeComApi, ZsBot]]:
    async with FakeBotApi() as telegram, FakeWeComApi() as wecom:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=db_url, host="127.0.0.1", port=0,
            admins=["telegram:42", "console:admin"],
            telegram_token=telegram.token, telegram_api_url=telegram.url,
            telegram_webhook_url="https://bot.example.invalid/telegram/webhook",
            telegram_webhook_secret=SECRET_TOKEN,
            wecom_corp_id=CORP_ID, wecom_agent_id=str(AGENT_ID), wecom_secret=SECRET, wecom_token=WECOM_TOKEN,
            wecom_aes_key=AES_KEY, wecom_api_url=wecom.url,
        )
        async with ZsBot(settings, clock=MovableClock(NOW)) as bot:
            runner = web.AppRunner(build_web_app(bot))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            try:
                yield f"http://127.0.0.1:{port}", telegram, wecom, bot
            finally:
                await runner.cleanup()


async def test_one_process_serves_telegram_wecom_health_and_the_scheduler(running) -> None:
    base, telegram, wecom, bot = running
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200 and (await response.json())["ok"] is True

        # Telegram webhook mode: setWebhook was called with our secret; a wrong secret is refused.
        hook = telegram.calls_to("setWebhook")[-1].params
        assert hook["secret_token"] == SECRET_TOKEN
        assert telegram.calls_to("setMyCommands")
        update = telegram.message_update(42, 42, "建队 德化街")
        assert await telegram.post_update(f"{base}/telegram/webhook", update, "wrong") == 403
        assert await telegram.post_update(f"{base}/telegram/webhook", update, SECRET_TOKEN) == 200
        sent = await telegram.wait_for("sendMessage")
        assert "德化街" in sent[0].params["text"]
        code = sent[0].params["text"].split("邀请码：")[1].split()[0]

        # WeCom: a member joins and reports through the encrypted callback; the reply goes out by the API.
        crypto = WeComCrypto(WECOM_TOKEN, AES_KEY, CORP_ID)
        for msg_id, text in (("9001", f"加入 {code}"), ("9002", "签约 杉杉奥特莱斯 20亿")):
            query, body = build_callback(crypto, text_message_xml(from_user="zhangwei", content=text, msg_id=msg_id))
            async with http.post(f"{base}/wecom/callback", params=query, data=body) as response:
                assert response.status == 200
        # A forged callback is refused and stores nothing.
        query, body = build_callback(WeComCrypto(WECOM_TOKEN, AES_KEY, CORP_ID),
                                     text_message_xml(from_user="zhangwei", content="签约 假项目", msg_id="9003"))
        query["msg_signature"] = "0" * 40
        async with http.post(f"{base}/wecom/callback", params=query, data=body) as response:
            assert response.status == 403

    for _ in range(100):
        if len(wecom.calls("/cgi-bin/message/send")) >= 2:
            break
        await asyncio.sleep(0.05)
    texts = [call.json["text"]["content"] if "text" in call.json else call.json["markdown"]["content"]
             for call in wecom.calls("/cgi-bin/message/send")]
    assert any("杉杉奥特莱斯" in text for text in texts)
    async with bot.sessions() as session:
        assert (await session.exec(select(Project.name))).all() == ["杉杉奥特莱斯"]
        assert (await session.exec(select(func.count()).select_from(Event))).one() == 1
    assert "wecom-robot" in bot.messengers and "telegram" in bot.messengers and "wecom" in bot.messengers
