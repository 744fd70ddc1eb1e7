"""The 驾驶舱's routes under /dash/: read-only pages for the holder of a valid link, nothing for anyone else.

The link `看板` gives is /dash/open?t=TOKEN. That page checks the token and trades it for an HttpOnly cookie
scoped to /dash/ (SameSite=Lax, Secure on https), then redirects to the overview, so the token leaves the
address bar, the history and any screenshot of the page; every response also says Referrer-Policy:
no-referrer, so no address is ever sent on to anyone. Each request reads the viewer afresh from the
database (handlers.dashboard.viewer): a revoked link, a member who left, a demoted captain lose what they
no longer may see at once. A missing, wrong or expired token gets one plain Chinese page saying how to get
a new link, and nothing else.

Inside Telegram the same pages open as a Mini App (/dash/tg): Telegram hands the page its signed launch
data, checked with the bot's token (bot.dashboard.telegram_app) and traded for the same cookie.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dashboard.render import Renderer
from bot.dashboard.telegram_app import telegram_user_id
from bot.settings import Settings
from handlers.context import Clock
from handlers.dashboard import pages
from handlers.dashboard.tokens import MAX_TOKEN_LENGTH, TokenError, sign_token
from handlers.dashboard.viewer import Viewer, viewer_for
from handlers.rules import Rules
from storage import people_queries
from storage.db import SessionFactory

log = logging.getLogger(__name__)

COOKIE = "zsdash"
STATIC = Path(__file__).with_name("static")
# Every page: scripts, styles, images and fonts from this server only (nothing is fetched from the internet,
# and an injected tag could not load anything either); no framing; no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

Build = Callable[[AsyncSession, Viewer, web.Request, datetime], Awaitable[tuple[str, dict[str, Any]] | None]]


class DashboardWeb:
    """The dashboard's aiohttp routes on the bot's sessions, rules and clock."""

    def __init__(self, *, settings: Settings, rules: Rules, sessions: SessionFactory, clock: Clock) -> None:
        self._secret = settings.dash_secret.get_secret_value()
        self._secure = settings.public_url.startswith("https://")
        self._origin = "/".join(settings.public_url.split("/")[:3])  # scheme://host[:port]
        self._telegram_token = settings.telegram_token.get_secret_value()
        self._ttl = int(settings.dash_ttl_hours * 3600)
        self._refresh = settings.dash_screen_refresh_seconds
        self._rules = rules
        self._sessions = sessions
        self._clock = clock
        self._render = Renderer()

    def routes(self) -> list[web.RouteDef]:
        """GET routes of every page, the link's landing page and the stylesheet."""
        page = self._page
        return [
            web.get("/dash/open", self._open),
            web.get("/dash/static/dash.css", self._css),
            web.get("/dash/static/tg.js", self._js),
            web.get("/dash/tg", self._mini_app),
            web.post("/dash/tg/open", self._mini_app_open),
            web.get("/dash/", page("overview", self._overview)),
            web.get("/dash/rank", page("rank", self._ranking)),
            web.get("/dash/squad/{team_id:\\d{1,9}}", page("squad", self._squad)),
            web.get("/dash/squad", page("squad", self._own_squad)),
            web.get("/dash/problems", page("problems", self._problems)),
            web.get("/dash/forecast", page("forecast", self._forecast)),
            web.get("/dash/movers", page("movers", self._movers)),
            web.get("/dash/breakdowns", page("breakdowns", self._breakdowns)),
            web.get("/dash/screen", page("screen", self._screen)),
        ]

    # --- the gate -------------------------------------------------------------------------------------

    def _html(self, body: str, *, status: int = 200, started: float | None = None) -> web.Response:
        response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
        response.headers.update(SECURITY_HEADERS)
        if started is not None:  # server time, for bench/dashboard.py and the browser's dev tools
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def _denied(self) -> web.Response:
        response = self._html(self._render.page("denied.html"), status=403)
        response.del_cookie(COOKIE, path="/dash/")
        return response

    async def _viewer(self, session: AsyncSession, token: str, now: datetime) -> Viewer | None:
        if not self._secret or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            return await viewer_for(session, secret=self._secret, token=token, settings=self._rules, now=now)
        except TokenError as error:
            log.info("dashboard: a %s link was refused", error.reason)
            return None

    async def _open(self, request: web.Request) -> web.StreamResponse:
        """The link's landing: a valid token becomes a cookie and the browser goes on to the overview."""
        token = request.query.get("t", "")
        now = self._clock()
        async with self._sessions() as session:
            viewer = await self._viewer(session, token, now)
        if viewer is None:
            return self._denied()
        target = "/dash/screen" if request.query.get("to") == "screen" and viewer.may("screen") else "/dash/"
        response = web.Response(status=303, headers={"Location": target, **SECURITY_HEADERS})
        response.set_cookie(COOKIE, token, path="/dash/", httponly=True, samesite="Lax", secure=self._secure)
        return response

    def _page(self, name: str, build: Build) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            now = self._clock()
            async with self._sessions() as session:
                viewer = await self._viewer(session, request.cookies.get(COOKIE, ""), now)
                if viewer is None:
                    return self._denied()
                if not viewer.may(name, team_id=viewer.team_id) and not viewer.may(name):
                    return self._forbidden(viewer)
                built = await build(session, viewer, request, now)
            if built is None:
                return self._forbidden(viewer)
            template, data = built
            body = self._render.page(template, viewer=viewer, page=name, refresh=self._refresh, **data)
            return self._html(body, started=started)

        return handler

    def _forbidden(self, viewer: Viewer) -> web.Response:
        return self._html(self._render.page("forbidden.html", viewer=viewer, page=""), status=403)

    async def _css(self, request: web.Request) -> web.StreamResponse:
        return self._static("dash.css", "text/css")

    async def _js(self, request: web.Request) -> web.StreamResponse:
        return self._static("tg.js", "text/javascript")

    def _static(self, name: str, content_type: str) -> web.Response:
        response = web.Response(body=(STATIC / name).read_bytes(), content_type=content_type, charset="utf-8")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    # --- the Telegram Mini App ------------------------------------------------------------------------

    async def _mini_app(self, request: web.Request) -> web.StreamResponse:
        """The Mini App's first page: its script sends Telegram's launch data to _mini_app_open."""
        if not self._telegram_token:
            raise web.HTTPNotFound()
        return self._html(self._render.page("tg.html"))

    async def _mini_app_open(self, request: web.Request) -> web.StreamResponse:
        """Telegram's signed launch data for the same cookie a link gives (204), or 403."""
        origin = request.headers.get("Origin")
        if not self._telegram_token or (origin is not None and origin != self._origin):
            return web.Response(status=403, headers=SECURITY_HEADERS)
        now = self._clock()
        try:
            user_id = telegram_user_id(self._telegram_token, await request.text(), now=now,
                                       max_age=timedelta(seconds=self._ttl))
        except TokenError as error:
            log.info("dashboard: a %s Mini App launch was refused", error.reason)
            return web.Response(status=403, headers=SECURITY_HEADERS)
        identity = f"telegram:{user_id}"
        async with self._sessions() as session:
            member, _, _, _ = await people_queries.member_team_roles(session, identity=identity, admins=self._rules.admins,
                                                             leaders=self._rules.leaders)
            token = "" if member is None or member.id is None else sign_token(
                self._secret, member_id=member.id, identity=identity, now=now, ttl_seconds=self._ttl)
            viewer = await self._viewer(session, token, now)
        if viewer is None:
            return web.Response(status=403, headers=SECURITY_HEADERS)
        response = web.Response(status=204, headers=SECURITY_HEADERS)
        response.set_cookie(COOKIE, token, path="/dash/", httponly=True, samesite="Lax", secure=self._secure)
        return response

    # --- the pages ------------------------------------------------------------------------------------

    async def _overview(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                        now: datetime) -> tuple[str, dict[str, Any]]:
        data = await pages.overview(session, settings=self._rules, now=now, own_team=viewer.team_id)
        return "overview.html", {"data": data}

    async def _ranking(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                       now: datetime) -> tuple[str, dict[str, Any]]:
        data = await pages.ranking(session, settings=self._rules, now=now, own_team=viewer.team_id)
        return "rank.html", {"data": data}

    async def _squad(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                     now: datetime) -> tuple[str, dict[str, Any]] | None:
        return await self._squad_page(session, viewer, int(request.match_info["team_id"]), now)

    async def _own_squad(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                         now: datetime) -> tuple[str, dict[str, Any]] | None:
        return None if viewer.team_id is None else await self._squad_page(session, viewer, viewer.team_id, now)

    async def _squad_page(self, session: AsyncSession, viewer: Viewer, team_id: int,
                          now: datetime) -> tuple[str, dict[str, Any]] | None:
        if not viewer.may("squad", team_id=team_id):
            return None  # another squad: the same page as any refusal, saying nothing of it
        data = await pages.squad(session, settings=self._rules, now=now, team_id=team_id)
        return None if data is None else ("squad.html", {"data": data})

    async def _problems(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                        now: datetime) -> tuple[str, dict[str, Any]]:
        team_id = None if viewer.scope("problems") == "any" else viewer.team_id
        data = await pages.problem_board(session, settings=self._rules, now=now, team_id=team_id)
        return "problems.html", {"data": data, "squad_only": team_id is not None}

    async def _forecast(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                        now: datetime) -> tuple[str, dict[str, Any]]:
        return "forecast.html", {"data": await pages.forecast(session, settings=self._rules, now=now)}

    async def _movers(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                      now: datetime) -> tuple[str, dict[str, Any]]:
        return "movers.html", {"data": await pages.movers(session, settings=self._rules, now=now)}

    async def _breakdowns(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                          now: datetime) -> tuple[str, dict[str, Any]]:
        return "breakdowns.html", {"data": await pages.breakdowns(session, settings=self._rules, now=now)}

    async def _screen(self, session: AsyncSession, viewer: Viewer, request: web.Request,
                      now: datetime) -> tuple[str, dict[str, Any]]:
        overview, ranking, moves = await pages.screen(session, settings=self._rules, now=now)
        return "screen.html", {"data": overview, "ranking": ranking, "moves": moves}
