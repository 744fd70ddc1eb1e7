"""Wiring the 智能机器人 into `zsbot run` and `zsbot jobs run` (called from bot.runner and bot.jobs_cli).

- `zsbot run`'s primary holds the long connection (ZSBOT_WECOM_BOT_ID and _SECRET), answers what comes
  down it, posts the scheduled cards through it and serves the relay for `zsbot jobs run`. The other
  workers (ZSBOT_WORKERS) never connect: WeCom allows one connection per bot.
- Every worker serves callback mode's route when ZSBOT_WECOM_BOT_TOKEN and _AES_KEY are set.
- `zsbot jobs run` posts through the running bot's relay, or, when none runs, over a connection of its own
  for the run (answering what arrives meanwhile, so nothing sent to the bot then is lost).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.wecom_bot import relay
from bot.wecom_bot.adapter import BotAdapter
from bot.wecom_bot.callback import PATH, CallbackHandler
from bot.wecom_bot.connection import BotConnection
from bot.wecom_bot.messenger import PLATFORM, BotMessenger, CallbackOnlyMessenger
from bot.wecom_bot.sender import BotSender
from handlers.ports import Messenger

if TYPE_CHECKING:
    from bot.app import ZsBot

log = logging.getLogger(__name__)

CALLBACK_KEY: web.AppKey[CallbackHandler] = web.AppKey("wecom_bot_callback")


def add_callback_routes(app: web.Application) -> None:
    """Callback mode's routes, bound at request time to the handler `open_wecom_bot` builds later.

    aiohttp freezes the router before cleanup contexts run, and the handler needs their ClientSession.
    """

    async def verify(request: web.Request) -> web.Response:
        handler = app.get(CALLBACK_KEY)
        return await handler.verify_url(request) if handler else web.Response(status=503, text="starting")

    async def receive(request: web.Request) -> web.Response:
        handler = app.get(CALLBACK_KEY)
        return await handler.receive(request) if handler else web.Response(status=503, text="starting")

    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)


def _connection(bot: ZsBot, http: aiohttp.ClientSession, adapter: BotAdapter) -> BotConnection:
    settings = bot.settings
    connection = BotConnection(http, url=settings.wecom_bot_ws_url, bot_id=settings.wecom_bot_id,
                               secret=settings.wecom_bot_secret, on_frame=adapter.on_frame)
    adapter.sender = BotSender(connection)
    return connection


@contextlib.asynccontextmanager
async def open_wecom_bot(bot: ZsBot, http: aiohttp.ClientSession, *, receive: bool,
                         register: bool = True) -> AsyncIterator[CallbackHandler | None]:
    """Start the AI bot as configured and register its messenger (`wecom-bot`) in `bot.messengers`.

    `receive=False` is `zsbot jobs run`; `register=False` a secondary worker. Yields callback mode's
    handler when its route should answer here.
    """
    settings = bot.settings
    if not (settings.wecom_bot_enabled or settings.wecom_bot_callback_enabled):
        yield None
        return
    adapter = BotAdapter(bot.core.handle, http, files_dir=Path(settings.files_dir) / "wecom-bot",
                         bot_id=settings.wecom_bot_id, media_key=settings.wecom_bot_aes_key)
    callback = None
    if receive and settings.wecom_bot_callback_enabled:
        callback = CallbackHandler(settings.wecom_bot_token, settings.wecom_bot_aes_key, adapter)
    async with contextlib.AsyncExitStack() as stack:
        if callback is not None:
            stack.push_async_callback(callback.aclose)
        if not settings.wecom_bot_enabled:
            bot.platform_started(PLATFORM, CallbackOnlyMessenger())
        elif receive and register and await relay.answering(relay.socket_path(settings)):
            # Another `zsbot run` on this host holds the bot already: a second connection would only take
            # it over (and back, and over). This one posts through it, as `zsbot jobs run` does.
            log.error("WeCom AI bot: another zsbot run holds this bot's connection on this host; this one "
                      "will not connect (run one zsbot run per bot)")
            bot.platform_started(PLATFORM, relay.RelayMessenger(relay.socket_path(settings),
                                                                _own_connection(bot, http, adapter, stack)))
        elif receive and register:
            connection = _connection(bot, http, adapter)
            await connection.start()
            stack.push_async_callback(connection.stop)
            assert adapter.sender is not None
            messenger = BotMessenger(adapter.sender)
            bot.platform_started(PLATFORM, messenger)
            runner = await relay.serve(relay.socket_path(settings), messenger)
            if runner is not None:
                stack.push_async_callback(runner.cleanup)
        elif not receive:
            bot.platform_started(PLATFORM, relay.RelayMessenger(relay.socket_path(settings),
                                                                _own_connection(bot, http, adapter, stack)))
        yield callback


def _own_connection(bot: ZsBot, http: aiohttp.ClientSession, adapter: BotAdapter,
                    stack: contextlib.AsyncExitStack) -> Callable[[], Awaitable[Messenger]]:
    """Opens this process's own connection when first asked (no running bot answered the relay)."""

    async def open_it() -> Messenger:
        connection = _connection(bot, http, adapter)
        await connection.start()
        stack.push_async_callback(connection.stop)
        assert adapter.sender is not None
        return BotMessenger(adapter.sender)

    return open_it
