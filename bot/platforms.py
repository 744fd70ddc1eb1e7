"""Starting and stopping the chat platforms whose settings are present (Telegram, the WeCom app and group
robots): `zsbot run` receives on them, `zsbot jobs run` only sends through them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp

from bot.wecom_adapter import WeComAdapter
from bot.wecom_api import WeComClient
from bot.wecom_messengers import RobotMessenger, WeComAppMessenger

if TYPE_CHECKING:
    from bot.app import ZsBot
    from bot.telegram_adapter import TelegramAdapter


@contextlib.asynccontextmanager
async def open_platforms(
    bot: ZsBot, http: aiohttp.ClientSession, *, receive: bool, telegram: TelegramAdapter | None = None,
    register: bool = True,
) -> AsyncIterator[WeComAdapter | None]:
    """Start every configured platform; each tells the bot it is up (`ZsBot.platform_started`).

    With `receive=False` the platforms only send (`zsbot jobs run` beside a running `zsbot run`: Telegram
    allows one getUpdates consumer and the webhook belongs to the server). With `register=False` they
    receive on routes another process registered (a secondary worker). Yields the WeCom adapter when
    receiving on WeCom, for the callback route.
    """
    settings = bot.settings
    bot.platform_started("wecom-robot", RobotMessenger(http, api_url=settings.wecom_api_url))
    wecom_adapter: WeComAdapter | None = None
    if settings.wecom_enabled:
        client = WeComClient(http, api_url=settings.wecom_api_url, corp_id=settings.wecom_corp_id,
                             secret=settings.wecom_secret.get_secret_value(), agent_id=settings.wecom_agent_id)
        bot.platform_started("wecom", WeComAppMessenger(client))
        if receive:
            wecom_adapter = WeComAdapter(settings, bot.core.handle, client, replays=bot.replays, files=bot.evidence)
            if register:  # the primary: what a restart left undownloaded
                wecom_adapter.start()
    if settings.telegram_enabled and telegram is None:
        from bot.telegram_adapter import TelegramAdapter

        telegram = TelegramAdapter(settings, bot.core.handle, events=bot.chat_events, files=bot.evidence)
    if telegram is not None:
        await telegram.start(receive=receive, register=register)
        # Its username, so "@zs_bot 签约 #12" parses in groups.
        bot.platform_started("telegram", telegram, username=telegram.username or "")
    try:
        yield wecom_adapter
    finally:
        if telegram is not None:
            await telegram.stop()
        if wecom_adapter is not None:
            await wecom_adapter.aclose()
