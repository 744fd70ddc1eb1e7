"""The one composition root: settings → engine → sessions → core → adapters → web server → scheduler.

Nothing here runs at import time. `ZsBot` owns the database engine for its lifetime (`async with`); the
web application owns the shared aiohttp ClientSession, the platform adapters and the scheduler through
its cleanup_ctx. Tests swap parts by passing them in (a clock, platform API URLs pointing at fakes).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chart_drawer import ChartDrawer
from bot.dashboard.links import SignedLinks
from bot.evidence import EvidenceFiles
from bot.replays import DatabaseReplayGuard
from bot.settings import Settings
from bot.web_guard import body_deadline
from handlers.catalog import Catalog, load_catalog
from handlers.context import Clock, utc_now
from handlers.dispatch import Core
from handlers.messages import Reply
from handlers.ports import DeliveryError, Messenger
from jobs.bindings import ChatLifecycle
from jobs.scheduler import JobScheduler
from storage import replays
from storage.db import SessionFactory, create_engine, ensure_derived, migrate, ping, session_factory, transaction

log = logging.getLogger(__name__)


class ZsBot:
    """Everything a running bot needs, built from one Settings."""

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.rules = settings.rules()  # what the core and the posts read: no token, URL or port in it
        self.clock = clock
        self._engine: AsyncEngine | None = None
        self._sessions: SessionFactory | None = None
        self._core: Core | None = None
        self.catalog: Catalog = load_catalog(settings.industries_path())
        self.messengers: dict[str, Messenger] = {}
        self._chat_events: ChatLifecycle | None = None
        self._evidence: EvidenceFiles | None = None
        self._replays: DatabaseReplayGuard | None = None
        self._charts: ChartDrawer | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The database engine (after start)."""
        if self._engine is None:
            raise RuntimeError("ZsBot is not started")
        return self._engine

    @property
    def sessions(self) -> SessionFactory:
        """The session factory (after start)."""
        if self._sessions is None:
            raise RuntimeError("ZsBot is not started")
        return self._sessions

    @property
    def charts(self) -> ChartDrawer:
        """The report charts, drawn with matplotlib on first use and cached (after start)."""
        if self._charts is None:
            raise RuntimeError("ZsBot is not started")
        return self._charts

    def scheduler(self, *, charts: bool = True, **options: Any) -> JobScheduler:
        """The scheduled posts on this bot's settings, sessions, messengers, clock, charts and bindings
        (`charts=False`: posts without their charts); `options` go to JobScheduler."""
        options.setdefault("messengers", self.messengers)
        options.setdefault("chat_events", self.chat_events)
        options.setdefault("housekeeping", self.housekeeping)
        return JobScheduler(settings=self.rules, sessions=self.sessions, clock=self.clock,
                            charts=self.charts if charts else None, **options)

    @property
    def core(self) -> Core:
        """The message handler every adapter calls (after start)."""
        if self._core is None:
            raise RuntimeError("ZsBot is not started")
        return self._core

    @property
    def chat_events(self) -> ChatLifecycle:
        """Bound chats that move or go away (after start): adapters and the scheduler report to it."""
        if self._chat_events is None:
            raise RuntimeError("ZsBot is not started")
        return self._chat_events

    @property
    def evidence(self) -> EvidenceFiles:
        """Evidence copies on disk (after start): adapters download through it once the core stored a row."""
        if self._evidence is None:
            raise RuntimeError("ZsBot is not started")
        return self._evidence

    @property
    def replays(self) -> DatabaseReplayGuard:
        """Callbacks already run (after start), shared by every web worker."""
        if self._replays is None:
            raise RuntimeError("ZsBot is not started")
        return self._replays

    async def housekeeping(self) -> None:
        """The daily clean-up: evidence files (bot.evidence.prune) and callbacks too old to be replayed."""
        report = await self.evidence.prune()
        async with transaction(self.sessions) as session:
            forgotten = await replays.forget_expired(session, now=self.clock())
        log.info("housekeeping: %s; %d old callback ids forgotten", report, forgotten)

    async def start(self, *, run_migrations: bool = True) -> None:
        """Open the database (migrating it to the latest schema) and build the core."""
        self._engine = create_engine(self.settings.database_url)
        if run_migrations:
            await migrate(self._engine)
        # Derived tables built for another zone or version (or never, right after the migration that
        # added them) are rebuilt first.
        await ensure_derived(self._engine, tz=self.settings.tz)
        self._sessions = session_factory(self._engine, tz=self.settings.tz)
        self._charts = ChartDrawer()
        self._core = Core(settings=self.rules, sessions=self._sessions, catalog=self.catalog, clock=self.clock,
                          notifier=self.notify, charts=self._charts, dash=SignedLinks(self.settings))
        self._chat_events = ChatLifecycle(settings=self.rules, sessions=self._sessions, messengers=self.messengers,
                                          clock=self.clock)
        self._evidence = EvidenceFiles(self._sessions, files_dir=self.settings.files_dir,
                                       max_bytes=self.settings.files_max_bytes,
                                       retention_days=self.settings.files_retention_days, clock=self.clock)
        self._replays = DatabaseReplayGuard(self._sessions)

    def platform_started(self, name: str, messenger: Messenger, *, username: str = "") -> None:
        """A platform is up: notices and scheduled posts reach its chats through `messenger`, and its bot's
        `username` (Telegram's, known once it started) is one more name people @ in a group."""
        self.messengers[name] = messenger
        if username:
            self.core.bot_names.add(username)

    async def notify(self, identity: str, reply: Reply) -> bool:
        """Tell one identity something in a private chat, through its platform's messenger (the Notifier
        port): False when that platform is not running here or refused it."""
        platform, _, user = identity.partition(":")
        messenger = self.messengers.get(platform)
        if messenger is None or not user:
            return False
        try:
            await messenger.send(user, reply)
        except DeliveryError as error:
            log.warning("a notice to a %s user was not delivered: %s", platform, error)
            return False
        return True

    async def stop(self) -> None:
        """Close the database connections."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def __aenter__(self) -> ZsBot:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def web_app(self, *, worker: int = 0) -> web.Application:
        """The aiohttp application: health check, the dashboard (when configured), platform webhooks; adapters
        live in its cleanup_ctx.

        `worker` is the process's number under ZSBOT_WORKERS (0: the primary), shown by /healthz.
        """
        # Every request body is read whole, within the deadline, before a handler runs (bot.web_guard).
        app = web.Application(client_max_size=2 * 1024 * 1024,
                              middlewares=[body_deadline(self.settings.http_body_timeout)])

        async def healthz(request: web.Request) -> web.Response:
            """Healthy when the database answers."""
            try:
                await ping(self.engine)
            except Exception as exc:  # report, don't crash: a load balancer polls this
                return web.json_response({"ok": False, "error": type(exc).__name__, "worker": worker}, status=503)
            return web.json_response({"ok": True, "worker": worker})

        app.router.add_get("/healthz", healthz)
        if self.settings.dash_enabled:  # the 驾驶舱 (bot/dashboard): read-only pages for valid links only
            from bot.dashboard.web import DashboardWeb

            app.router.add_routes(DashboardWeb(settings=self.settings, rules=self.rules, sessions=self.sessions,
                                               clock=self.clock).routes())
        return app
