"""Dashboard benchmark (issue 19): server time of every 驾驶舱 page as a leader sees it, at the largest
district (2,000 squads, 200,000 projects, 2,000,000 events; `--quick`: 20 / 2,000), with 30 days of rank
snapshots for the trends.

    python -m bench.dashboard [--backend sqlite|postgres|both] [--quick] [--repeat 7]

Each page is fetched over loopback HTTP from the real aiohttp app (`ZsBot.web_app`, the routes `zsbot run`
serves) with a leader's signed cookie. The figure is the server's own time, from the request reaching the
page's handler to the HTML built (its `Server-Timing` header: token check, the viewer's role, the queries and
the template), median of `--repeat` warm runs, with the client's wall time beside it. The baseline, measured
in the same run, is the chat report each page mirrors, built directly by handlers.reports (no HTTP, no
chart) on the same data: the ratio says what the page adds (its extra queries, the HTML) to the chat's.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bench import common
from bench.datagen import SIZES, Spec, ensure
from bot.app import ZsBot
from bot.settings import Settings
from handlers import reports
from handlers.dashboard.tokens import sign_token
from handlers.messages import Reply
from storage.db import transaction
from storage.moments import local_day
from storage.report_queries import save_rank_snapshot

GOAL_MS = 200.0
SECRET = "bench-dashboard-secret"


class _Snap:
    def __init__(self, team_id: int, rank: int) -> None:
        self.team_id, self.rank, self.score = team_id, rank, float(-rank)


async def _history(bot: ZsBot, days: int = 30) -> None:
    """30 days of daily snapshots (the generator stores yesterday's only): ranks wandering a little a day."""
    rng = random.Random(19)
    today = local_day(bot.clock(), bot.settings.tz)
    async with bot.sessions() as session:
        rows = await reports.compute_ranking(session, settings=bot.rules, now=bot.clock())
    order = [row.team_id for row in rows]
    for back in range(days, 1, -1):
        for _ in range(len(order) // 10):
            i = rng.randrange(len(order) - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        async with transaction(bot.sessions) as session:
            await save_rank_snapshot(session, day=today - timedelta(days=back),
                                     rows=[_Snap(team, rank) for rank, team in enumerate(order, start=1)])


Chat = Callable[[Any, ZsBot, int], Awaitable[Reply]]


def _baselines() -> dict[str, Chat]:
    async def status(session: Any, bot: ZsBot, team: int) -> Reply:
        return await reports.status_report(session, settings=bot.rules, now=bot.clock(), viewer_team_id=None,
                                           is_leader=True)

    async def board(session: Any, bot: ZsBot, team: int) -> Reply:
        return await reports.leaderboard(session, settings=bot.rules, now=bot.clock())

    async def squad(session: Any, bot: ZsBot, team: int) -> Reply:
        names = await reports.compute_ranking(session, settings=bot.rules, now=bot.clock())
        name = next(row.team_name for row in names if row.team_id == team)
        return await reports.status_report(session, settings=bot.rules, now=bot.clock(), viewer_team_id=None,
                                           is_leader=True, team_name=name)

    async def problems(session: Any, bot: ZsBot, team: int) -> Reply:
        return await reports.problem_list(session, settings=bot.rules, now=bot.clock())

    async def forecast(session: Any, bot: ZsBot, team: int) -> Reply:
        return await reports.forecast_report(session, settings=bot.rules, now=bot.clock())

    async def breakdowns(session: Any, bot: ZsBot, team: int) -> Reply:
        return await reports.status_report(session, settings=bot.rules, now=bot.clock(), viewer_team_id=None,
                                           is_leader=True, view="all")

    return {"overview": status, "rank": board, "squad": squad, "problems": problems, "forecast": forecast,
            "movers": board, "breakdowns": breakdowns, "screen": board}


BASELINE_NAMES = {"overview": "进度", "rank": "排行", "squad": "进度 队名", "problems": "问题清单", "forecast": "预计",
                  "movers": "排行 (学)", "breakdowns": "进度 详细", "screen": "排行"}


async def measure(url: str, now: Any, *, repeat: int) -> list[dict[str, Any]]:
    """Time every page and its chat baseline on the database at `url`."""
    settings = Settings(_env_file=None, database_url=url, dash_secret=SECRET,  # type: ignore[call-arg]
                        public_url="http://127.0.0.1")
    bot = ZsBot(settings, clock=lambda: now)
    await bot.start(run_migrations=False)
    try:
        await _history(bot)
        async with bot.engine.connect() as connection:
            member_id, identity = (await connection.execute(text(
                "SELECT member.id, identity.identity FROM member JOIN identity ON identity.member_id = member.id "
                "WHERE member.team_id IS NOT NULL ORDER BY member.id LIMIT 1"))).one()
            team = int((await connection.execute(text(
                "SELECT team_id FROM project GROUP BY team_id ORDER BY count(*) DESC LIMIT 1"))).scalar_one())
        # The leader is named in the settings, as ZSBOT_LEADERS would.
        bot.rules = settings.model_copy(update={"leaders": [identity]}).rules()
        token = sign_token(SECRET, member_id=int(member_id), identity=identity, now=now, ttl_seconds=3600)
        paths = {"overview": "/dash/", "rank": "/dash/rank", "squad": f"/dash/squad/{team}",
                 "problems": "/dash/problems", "forecast": "/dash/forecast", "movers": "/dash/movers",
                 "breakdowns": "/dash/breakdowns", "screen": "/dash/screen"}
        baselines = _baselines()
        gc.freeze()  # as `zsbot run` does after start-up (bot/runner.py)
        results = []
        async with TestClient(TestServer(bot.web_app(), host="127.0.0.1")) as http:
            http.session.cookie_jar.update_cookies({"zsdash": token})
            for page, path in paths.items():
                server, wall, base = [], [], []
                for attempt in range(repeat + 1):
                    started = time.perf_counter()
                    response = await http.get(path)
                    body = await response.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status == 200 and body, (page, response.status)
                    timing = response.headers["Server-Timing"].split("dur=")[1]
                    async with bot.sessions() as session:
                        chat_started = time.perf_counter()
                        await baselines[page](session, bot, team)
                        chat_ms = (time.perf_counter() - chat_started) * 1000
                    if attempt:  # the first is the warm-up
                        server.append(float(timing))
                        wall.append(elapsed)
                        base.append(chat_ms)
                results.append({"page": page, "server_ms": common.median(server), "max_ms": max(server),
                                "wall_ms": common.median(wall), "chat_ms": common.median(base),
                                "bytes": len(body)})
        return results
    finally:
        await bot.stop()


async def run(backend_choice: str, *, quick: bool, repeat: int) -> list[dict[str, Any]]:
    """Generate (or find) the district, copy it, time the pages, print the table."""
    squads, projects = SIZES["s" if quick else "l"]
    everything = []
    for backend in common.backends(backend_choice):
        data = await ensure(backend, Spec(squads, projects))
        async with common.scratch_copy(backend, data.name, f"{data.name}_dash") as url:
            results = await measure(url, data.now, repeat=repeat)
        print(f"\n== dashboard on {backend}, {squads} squads / {projects} projects (median of {repeat} warm runs, ms)")
        rows: list[Sequence[Any]] = [
            (r["page"], r["server_ms"], r["max_ms"], r["wall_ms"], BASELINE_NAMES[r["page"]], r["chat_ms"],
             f"×{r['server_ms'] / r['chat_ms']:.2f}" if r["chat_ms"] else "-", r["bytes"],
             "yes" if r["max_ms"] < GOAL_MS else "NO")
            for r in results
        ]
        print(common.table(["page", "server", "server max", "client wall", "chat report", "chat", "page/chat",
                            "HTML bytes", f"< {GOAL_MS:.0f} ms"], rows))
        everything.extend({"backend": backend, **r} for r in results)
    print(common.machine_line())
    return everything


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.dashboard`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--repeat", type=int, default=7)

    args = common.parse_args("time every dashboard page at the largest district", argv, extra)
    asyncio.run(run(args.backend, quick=args.quick, repeat=args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
