"""`zsbot run` in-process for the issue 16 reliability tests: the web app served through bot.web_guard on a
loopback port, Telegram in webhook mode and the WeCom app against their fakes, the scheduler on a clock the
test moves. Everything an update does goes over real HTTP: Telegram's webhook POSTs (whose answer method
the fake Bot API runs, as Telegram does), WeCom's signed callbacks, the bot's sends to both fakes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot.app import ZsBot
from bot.runner import WECOM_ADAPTER_KEY, build_web_app
from bot.settings import Settings
from bot.telegram_adapter import WEBHOOK_PATH
from bot.web_guard import GuardedServer, runner_for
from handlers.messages import Incoming, Reply
from jobs.scheduler import JobScheduler
from tests.fakes.telegram_api import FakeBotApi, visible_text
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi, build_callback, text_message_xml
from tests.helpers import MovableClock
from tests.reliability_support import AES_KEY, CRYPTO, WEBHOOK_SECRET, WECOM_TOKEN

TZ = ZoneInfo("Asia/Shanghai")
ADMIN_TG = 9000  # the admin's Telegram user id (and private chat)
ADMIN_WECOM = "boss"  # the admin's WeCom userid
_IDS = itertools.count(1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An aware moment from a local (Asia/Shanghai) wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Live:
    """The running bot, its fakes and its clock."""

    bot: ZsBot
    clock: MovableClock
    tg: FakeBotApi
    wecom: FakeWeComApi
    base: str
    server: GuardedServer
    http: aiohttp.ClientSession
    files_dir: Path

    @property
    def scheduler(self) -> JobScheduler:
        """A scheduler on the bot (charts off: they cost a second each and say nothing here)."""
        return self.bot.scheduler(charts=False)

    async def telegram(self, update: dict[str, Any]) -> int:
        """POST one update to the webhook as Telegram does; the HTTP status."""
        return await self.tg.post_update(self.base + WEBHOOK_PATH, update, WEBHOOK_SECRET)

    async def tg_says(self, chat: int, user: int, text: str, **options: Any) -> list[str]:
        """A Telegram message; the texts the bot sent anywhere in answer (visible, after HTML)."""
        before = len(self.tg.calls)
        assert await self.telegram(self.tg.message_update(chat, user, text, **options)) == 200
        await self.settle()
        return [visible_text(str(call.params.get("text", "")), call.params.get("parse_mode"))
                for call in self.tg.calls[before:] if call.method == "sendMessage"]

    async def wecom_says(self, user: str, text: str, *, timestamp: str | None = None) -> int:
        """A WeCom app message (signed and encrypted); the HTTP status. Replies go out in the background."""
        query, body = build_callback(CRYPTO, text_message_xml(from_user=user, content=text,
                                                              msg_id=str(next(_IDS) + 10**9)), timestamp=timestamp)
        return await self.wecom_post(query, body)

    async def wecom_post(self, query: dict[str, str], body: bytes) -> int:
        """POST a WeCom callback; the HTTP status."""
        async with self.http.post(self.base + "/wecom/callback", params=query, data=body) as response:
            await response.read()
            return response.status

    async def settle(self) -> None:
        """Wait until the WeCom replies and both platforms' downloads under way in the background are done."""
        adapter = self.runner_app[WECOM_ADAPTER_KEY]
        await asyncio.wait_for(adapter.aclose(), 20)
        await asyncio.wait_for(self.bot.messengers["telegram"].downloads_done(), 20)  # type: ignore[attr-defined]

    async def core(self, user: str, text: str, *, platform: str = "console", chat: str = "",
                   group: bool = False, name: str = "") -> Reply:
        """A message straight to the core (for setting the district up quickly)."""
        incoming = Incoming(platform=platform, user_id=user, text=text, display_name=name or user,
                            chat_id=chat or f"{platform}:{user}", chat_kind="group" if group else "private",
                            message_id=f"live{next(_IDS)}", addressed=True)
        return await self.bot.core.handle(incoming)

    async def ok(self, user: str, text: str, **options: Any) -> Reply:
        """`core`, asserting it was accepted."""
        reply = await self.core(user, text, **options)
        assert reply.ok, f"{text!r} refused: {reply.text}"
        return reply

    async def squad(self, name: str) -> str:
        """A squad created by the console admin; its invite code."""
        reply = await self.ok("admin", f"建队 {name}")
        return reply.text.split("邀请码：")[1].split()[0]

    runner_app: Any = None


@asynccontextmanager
async def live_bot(db_url: str, tmp_path: Path, *, now: datetime | None = None,
                   **overrides: Any) -> AsyncIterator[Live]:
    """The bot serving on a loopback port against both fakes; settings `overrides` on top of the defaults."""
    clock = MovableClock((now or local(2026, 11, 24, 7, 0)).astimezone(ZoneInfo("UTC")))
    async with FakeBotApi() as tg, FakeWeComApi() as wecom:
        values: dict[str, Any] = {
            "database_url": db_url, "host": "127.0.0.1", "port": 0,
            "admins": ["console:admin", f"telegram:{ADMIN_TG}", f"wecom:{ADMIN_WECOM}"],
            "telegram_token": tg.token, "telegram_api_url": tg.url,
            "telegram_webhook_url": "https://bot.example.invalid/telegram/webhook",
            "telegram_webhook_secret": WEBHOOK_SECRET, "wecom_corp_id": CORP_ID, "wecom_agent_id": str(AGENT_ID),
            "wecom_secret": SECRET, "wecom_token": WECOM_TOKEN, "wecom_aes_key": AES_KEY, "wecom_api_url": wecom.url,
            "files_dir": str(tmp_path / "files"), **overrides,
        }
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        async with ZsBot(settings, clock=clock) as bot:
            app = build_web_app(bot, start_scheduler=False)
            runner = runner_for(app, header_timeout=settings.http_header_timeout)
            await runner.setup()
            server = GuardedServer(runner, "127.0.0.1", 0, max_per_peer=settings.http_max_connections_per_peer,
                                   header_timeout=settings.http_header_timeout)
            await server.start()
            try:
                # A new connection per request: the tests count connections per address, and a kept-alive one
                # may be closed by the server's keep-alive timeout just as it is reused.
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                                 connector=aiohttp.TCPConnector(force_close=True)) as http:
                    live = Live(bot, clock, tg, wecom, f"http://127.0.0.1:{server.port}", server, http,
                                tmp_path / "files")
                    live.runner_app = app
                    yield live
            finally:
                await server.stop()
                await runner.cleanup()
