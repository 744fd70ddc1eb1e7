"""The 智能机器人 in callback mode: encrypted JSON callbacks, built with the official algorithm (written
independently in tests/fakes), POSTed to `zsbot run`'s route; answers read back from the encrypted HTTP
answer or at the response_url of the local fake. The real core, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import func, select

from bot.app import ZsBot
from bot.runner import build_web_app
from bot.settings import Settings
from bot.wecom_bot.adapter import BotAdapter
from bot.wecom_bot.callback import PATH, CallbackHandler
from handlers.messages import Incoming, Reply
from storage.models import Event, Project, Team
from tests.fakes.wecom_aibot_crypto import CallbackCrypto
from tests.fakes.wecom_aibot_server import BOT_ID, FakeAiBotServer, eventually
from tests.helpers import MovableClock
from tests.test_wecom_bot_adapter import GROUP, MENTION, local

TOKEN = "aibot-cb-Token9"
AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")


@dataclass
class Site:
    base: str
    bot: ZsBot
    fake: FakeAiBotServer
    http: aiohttp.ClientSession
    crypto: CallbackCrypto
    clock: MovableClock

    async def post(self, body: dict[str, Any], *, crypto: CallbackCrypto | None = None,
                   query: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, str]:
        """POST a callback as WeCom does; returns the status and the response text."""
        built_query, built_body = (crypto or self.crypto).callback(body)
        async with self.http.post(self.base + PATH, params=query or built_query,
                                  data=built_body if raw is None else raw) as response:
            return response.status, await response.text()

    async def say(self, user: str, text: str, *, chat: str | None = None) -> dict[str, Any]:
        """A message; returns the decrypted passive answer."""
        status, answer = await self.post(self.fake.with_response_url(self.fake.message(user, text, chat=chat)))
        assert status == 200 and answer, "no passive answer"
        return self.crypto.open_reply(json.loads(answer))

    async def count(self, model: Any) -> int:
        async with self.bot.sessions() as session:
            return int((await session.exec(select(func.count()).select_from(model))).one())


@pytest.fixture
async def site(db_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    async with FakeAiBotServer() as fake, aiohttp.ClientSession() as http:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=db_url, admins=["wecom:admin"], files_dir=str(tmp_path / "files"),
            wecom_bot_token=TOKEN, wecom_bot_aes_key=AES_KEY,
        )
        clock = MovableClock()
        async with ZsBot(settings, clock=clock) as bot:
            runner = web.AppRunner(build_web_app(bot, start_scheduler=False))
            await runner.setup()
            tcp = web.TCPSite(runner, "127.0.0.1", 0)
            await tcp.start()
            port = runner.addresses[0][1]
            try:
                yield Site(f"http://127.0.0.1:{port}", bot, fake, http, CallbackCrypto(TOKEN, AES_KEY), clock)
            finally:
                await runner.cleanup()


def test_the_fakes_crypto_is_the_official_algorithm() -> None:
    # Tencent's published sample (WXBizMsgCrypt, 加解密方案说明): the fake's own code decrypts it.
    from tests.test_wecom_crypto import AES_KEY as SAMPLE_KEY
    from tests.test_wecom_crypto import CORP_ID, MSG_ENCRYPT, MSG_NONCE, MSG_PLAIN, MSG_SIGNATURE, MSG_TIMESTAMP
    from tests.test_wecom_crypto import TOKEN as SAMPLE_TOKEN

    sample = CallbackCrypto(SAMPLE_TOKEN, SAMPLE_KEY, CORP_ID)
    assert sample.signature(MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT) == MSG_SIGNATURE
    assert sample.decrypt(MSG_ENCRYPT) == MSG_PLAIN


async def test_the_url_is_verified_and_forgeries_refused(site: Site) -> None:
    query = site.crypto.verify_query("echo-1616140317555161061")
    async with site.http.get(site.base + PATH, params=query) as response:
        assert response.status == 200 and await response.text() == "echo-1616140317555161061"
    forged = {**query, "msg_signature": "0" * 40}
    async with site.http.get(site.base + PATH, params=forged) as response:
        assert response.status == 403
    async with site.http.get(site.base + PATH, params={"echostr": "x"}) as response:
        assert response.status == 400


async def test_a_squad_reports_in_its_group_and_the_answer_comes_back_encrypted(site: Site) -> None:
    created = await site.say("admin", "建队 德化街")
    code = created["stream"]["content"].split("邀请码：")[1].split()[0]
    assert "加入" in (await site.say("zhangwei", f"加入 {code}"))["stream"]["content"]
    body = site.fake.with_response_url(site.fake.message("zhangwei", f"{MENTION}签约 杉杉奥特莱斯 20亿", chat=GROUP))
    first_status, first = await site.post(body)
    again_status, again = await site.post(body)  # WeCom retries a callback it got no answer to
    assert first_status == again_status == 200
    answers = [site.crypto.open_reply(json.loads(text)) for text in (first, again)]
    assert answers[0]["msgtype"] == "stream_with_template_card"
    assert answers[0]["stream"]["content"] == answers[1]["stream"]["content"]
    assert "杉杉奥特莱斯" in answers[0]["stream"]["content"]
    assert await site.count(Project) == 1 and await site.count(Event) == 1


async def test_a_card_click_is_answered_by_updating_the_card(site: Site) -> None:
    created = await site.say("admin", "建队 德化街")
    code = created["stream"]["content"].split("邀请码：")[1].split()[0]
    await site.say("zhangwei", f"加入 {code}")
    asked = await site.say("zhangwei", f"{MENTION}今天去中原数据集团拜访了，对方有意向追加投资2个亿", chat=GROUP)
    card = asked["template_card"]
    status, text = await site.post(site.fake.event("zhangwei", "template_card_event", chat=GROUP,
                                                   event_key="zs1|zhangwei|1", task_id=card["task_id"]))
    update = site.crypto.open_reply(json.loads(text))
    assert status == 200 and update["response_type"] == "update_template_card"
    assert update["template_card"]["task_id"] == card["task_id"] and "拜访" in update["template_card"]["main_title"]["title"]
    assert await site.count(Event) == 1


async def test_forged_and_malformed_callbacks_are_refused_and_store_nothing(site: Site) -> None:
    body = site.fake.message("zhangwei", "建队 伪造")
    status, _ = await site.post(body, crypto=CallbackCrypto("another-token", AES_KEY))
    assert status == 403  # signed with another token
    status, _ = await site.post(body, crypto=CallbackCrypto(TOKEN, AES_KEY, receive_id="ww-some-corp"))
    assert status == 403  # an app's callback, not this bot's
    query, _ = site.crypto.callback(body)
    for raw in (b"not json", b"[]", json.dumps({"encrypt": 5}).encode(), b"{}", b"x" * 70_000):
        status, _ = await site.post(body, query=query, raw=raw)
        assert status == 400, raw[:20]
    status, _ = await site.post(body, query={"timestamp": "1", "nonce": "2"})
    assert status == 400
    status, text = await site.post({"msgid": "no-sender", "msgtype": "text", "text": {"content": "建队 无名"}})
    assert (status, text) == (200, "")  # signed, so WeCom's, but not a message: no answer, nothing done
    assert await site.count(Project) == 0 and await site.count(Team) == 0


async def test_callback_mode_cannot_post_on_its_own_and_the_job_says_why(site: Site) -> None:
    await site.say("admin", "建队 德化街")
    bound = await site.say("admin", f"{MENTION}绑定 德化街", chat=GROUP)
    assert "绑定" in bound["stream"]["content"]
    site.clock.now = local(2026, 11, 25, 8, 30)
    outcomes = await site.bot.scheduler().tick()
    rank = [o for o in outcomes if o.job == "daily_rank"]
    assert [o.status for o in rank] == ["failed"] and "回调模式" in (rank[0].error or "")


async def test_an_answer_later_than_the_http_answer_goes_by_the_response_url(tmp_path: Path) -> None:
    async def slow_core(incoming: Incoming) -> Reply:
        await asyncio.sleep(0.4)
        return Reply(text=f"收到：{incoming.text}")

    crypto = CallbackCrypto(TOKEN, AES_KEY)
    async with FakeAiBotServer() as fake, aiohttp.ClientSession() as http:
        adapter = BotAdapter(slow_core, http, files_dir=tmp_path, bot_id=BOT_ID)
        handler = CallbackHandler(TOKEN, AES_KEY, adapter, passive_seconds=0.1)
        app = web.Application()
        app.router.add_post(PATH, handler.receive)
        runner = web.AppRunner(app)
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        port = runner.addresses[0][1]
        query, data = crypto.callback(fake.with_response_url(fake.message("zhangwei", "排行")))
        async with http.post(f"http://127.0.0.1:{port}{PATH}", params=query, data=data) as response:
            assert response.status == 200 and await response.text() == ""
        await eventually(lambda: fake.response_url_posts)
        await handler.aclose()
        await runner.cleanup()
    _, body, errcode = fake.response_url_posts[0]
    assert errcode == 0 and body == {"msgtype": "markdown", "markdown": {"content": "收到：排行"}}
