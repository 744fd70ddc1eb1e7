"""`zsbot run`: the web server, every platform whose settings are present, and the scheduler.

Resources are owned by the aiohttp application's cleanup_ctx, in order: the database (ZsBot), one shared
ClientSession, the platform adapters (which register their messengers), then the scheduler. Shutdown
unwinds them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot import workers
from bot.app import ZsBot
from bot.platforms import open_platforms
from bot.settings import Settings
from bot.web_guard import GuardedServer, runner_for
from bot.wecom_adapter import WeComAdapter
from handlers.context import Clock, utc_now

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)
WECOM_ADAPTER_KEY: web.AppKey[WeComAdapter] = web.AppKey("wecom_adapter")


def build_web_app(bot: ZsBot, *, start_scheduler: bool = True, worker: int = 0) -> web.Application:
    """The aiohttp app with the platforms' routes and every resource in cleanup contexts.

    A secondary worker (`worker` > 0, see bot.workers) serves the same routes but leaves the webhook
    registration and the scheduler to the primary.
    """
    primary = worker == 0
    app = bot.web_app(worker=worker)
    telegram = None
    if bot.settings.telegram_enabled:
        from bot.telegram_adapter import TelegramAdapter

        telegram = TelegramAdapter(bot.settings, bot.core.handle, events=bot.chat_events, files=bot.evidence)
        if bot.settings.telegram_webhook_url:
            app.router.add_routes(telegram.routes())
    if bot.settings.wecom_enabled:
        # The adapter is built in the cleanup context below, once the shared ClientSession exists.
        app.router.add_get("/wecom/callback", _late_route(app, "verify_url"))
        app.router.add_post("/wecom/callback", _late_route(app, "receive"))
    if bot.settings.wecom_bot_callback_enabled:
        from bot.wecom_bot.platform import add_callback_routes

        add_callback_routes(app)

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            app[HTTP_KEY] = session
            yield

    async def platforms(app: web.Application) -> AsyncIterator[None]:
        async with (open_platforms(bot, app[HTTP_KEY], receive=True, telegram=telegram,
                                   register=primary) as wecom_adapter,
                    _wecom_bot(bot, app, register=primary)):
            if wecom_adapter is not None:
                app[WECOM_ADAPTER_KEY] = wecom_adapter
            yield

    async def scheduler(app: web.Application) -> AsyncIterator[None]:
        if not (start_scheduler and primary):
            yield
            return
        from jobs.ticking import start_scheduler as start

        sched = await start(bot.scheduler())
        try:
            yield
        finally:
            sched.shutdown(wait=False)

    app.cleanup_ctx.extend([client_session, platforms, scheduler])
    return app


@contextlib.asynccontextmanager
async def _wecom_bot(bot: ZsBot, app: web.Application, *, register: bool) -> AsyncIterator[None]:
    """The WeCom AI bot (bot.wecom_bot), when configured: only then imported, as its SDK is slow to import
    (bench/README.md)."""
    settings = bot.settings
    if not (settings.wecom_bot_enabled or settings.wecom_bot_callback_enabled):
        yield
        return
    from bot.wecom_bot.platform import CALLBACK_KEY, open_wecom_bot

    async with open_wecom_bot(bot, app[HTTP_KEY], receive=True, register=register) as callback:
        if callback is not None:
            app[CALLBACK_KEY] = callback
        yield


def _late_route(app: web.Application, method: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Route to the WeCom adapter, built in a cleanup context once the shared ClientSession exists.

    aiohttp freezes the router at start-up, before cleanup contexts run, so the route is added early and
    finds its adapter at request time.
    """

    async def route(request: web.Request) -> web.StreamResponse:
        adapter = app.get(WECOM_ADAPTER_KEY)
        if adapter is None:
            return web.Response(status=503, text="starting")
        response: web.StreamResponse = await getattr(adapter, method)(request)
        return response

    return route


async def run_forever(settings: Settings, *, clock: Clock = utc_now, stop: asyncio.Event | None = None,
                      worker: int = 0) -> int:
    """Serve until SIGINT/SIGTERM (or `stop` is set); `worker` > 0 is a secondary (bot.workers)."""
    if settings.workers > 1 and settings.telegram_enabled and not settings.telegram_webhook_url:
        log.error("ZSBOT_WORKERS=%s needs ZSBOT_TELEGRAM_WEBHOOK_URL: Telegram's getUpdates allows one "
                  "consumer, so several workers can only share a webhook", settings.workers)
        return 2
    if settings.workers > 1 and settings.is_sqlite and not worker:
        # Several processes on one SQLite file wait for each other's write lock: little more throughput and
        # a worse p99 (bench/README.md, ingest).
        log.warning("ZSBOT_WORKERS=%s on SQLite: the processes take turns at the database's single write "
                    "lock; PostgreSQL is the backend for several workers", settings.workers)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on the main thread (tests)
            loop.add_signal_handler(sig, stop.set)
    primary_watch = None
    if worker:
        primary_watch = asyncio.create_task(workers.primary_gone(await workers.stdin_reader()))
        primary_watch.add_done_callback(lambda _: stop.set())
    bot = ZsBot(settings, clock=clock)
    await bot.start(run_migrations=not worker)  # the primary migrated before starting its workers
    try:
        app = build_web_app(bot, worker=worker)
        runner = runner_for(app, header_timeout=settings.http_header_timeout)
        await runner.setup()
        # Several workers listen on one port and the kernel spreads the connections over them.
        server = GuardedServer(runner, settings.host, settings.port, reuse_port=settings.workers > 1 or None,
                               max_per_peer=settings.http_max_connections_per_peer,
                               header_timeout=settings.http_header_timeout)
        await server.start()
        # What is loaded by now (modules, settings, the app) lives as long as the process: keep it out of
        # the collector's full passes, which otherwise walk all of it every few thousand messages and show
        # up in the request latency's p99 (bench/README.md, ingest, second round).
        gc.freeze()
        platforms = [name for name, on in (("telegram", settings.telegram_enabled),
                                           ("wecom", settings.wecom_enabled),
                                           ("wecom-bot", settings.wecom_bot_enabled or settings.wecom_bot_callback_enabled)) if on]
        log.info("zsbot %s serving on %s:%s; platforms: %s", f"worker {worker}" if worker else "primary",
                 settings.host, settings.port, ", ".join(platforms) or "none (web only)")
        try:
            async with contextlib.nullcontext() if worker else workers.secondaries(settings):
                await stop.wait()
        finally:
            await server.stop()
            await runner.cleanup()
    finally:
        await bot.stop()
        if primary_watch is not None:
            primary_watch.cancel()
    return 0
