"""Assessment benchmark: 考核 排行, 考核 one squad, 活跃 and the morning ranking by assessment, at the largest
district (2,000 squads, 200,000 projects, 2,000,000 events), against the 比学赶超 leaderboard by pools timed
in the same run as the baseline.

    python -m bench.assessment [--backend sqlite|postgres|both] [--quick] [--repeat 5]

The cached dataset (bench.datagen) has projects, stage events, notes and visits; a private copy of it gets
what scoring also reads: funds in place for a third of the signed projects, receptions, promotion events,
leads and publicity (one in nine notes turned into one of them), and listed companies (华为, 比亚迪) on one
project in 400; then the activity counters are rebuilt from it, as after any bulk load. Each report is
built as the bot builds it (one session, the dataset's own "now"); time per report is the median of warm
runs. The goal is under 200 ms each at the largest size.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench import common
from bench.datagen import SIZES, TZ, Spec, ensure
from bot.settings import Settings
from handlers.reports import compute_ranking, leaderboard
from handlers.reports.activity_index import activity_ranking, activity_reply
from handlers.reports.assessment import assess_all, assess_team, ranking_reply, team_reply
from handlers.rules import Rules
from handlers.score_periods import period_of
from storage import activity_tallies
from storage.db import create_engine, session_factory
from storage.moments import local_day

GOAL_MS = 200.0
Report = Callable[[Any, Rules, Any], Awaitable[object]]


def _today(now: Any) -> date:
    return local_day(now, TZ)


async def _assess_rank_quarter(session: Any, rules: Rules, now: Any) -> object:
    period = period_of("quarter", _today(now))
    scores = await assess_all(session, settings=rules, period=period, today=_today(now))
    return ranking_reply(scores, period, rules.scheme, "zh").reply()


async def _assess_rank_year(session: Any, rules: Rules, now: Any) -> object:
    period = period_of("year", _today(now))
    scores = await assess_all(session, settings=rules, period=period, today=_today(now))
    return ranking_reply(scores, period, rules.scheme, "zh").reply()


async def _assess_squad(session: Any, rules: Rules, now: Any) -> object:
    period = period_of("quarter", _today(now))
    score = await assess_team(session, settings=rules, period=period, today=_today(now), team_id=7)
    return team_reply(score, period, rules.scheme, "zh").reply()


async def _activity_week(session: Any, rules: Rules, now: Any) -> object:
    period = period_of("week", _today(now))
    rows = await activity_ranking(session, settings=rules, period=period)
    return activity_reply(rows, period, rules.scheme.index_weights, "zh").reply()


async def _activity_year(session: Any, rules: Rules, now: Any) -> object:
    period = period_of("year", _today(now))
    rows = await activity_ranking(session, settings=rules, period=period)
    return activity_reply(rows, period, rules.scheme.index_weights, "zh").reply()


async def _ranking_by_assessment(session: Any, rules: Rules, now: Any) -> object:
    return await compute_ranking(session, settings=_with(rules, "assessment"), now=now)


async def _leaderboard_by_assessment(session: Any, rules: Rules, now: Any) -> object:
    return await leaderboard(session, settings=_with(rules, "assessment"), now=now)


async def _leaderboard_by_pools(session: Any, rules: Rules, now: Any) -> object:
    return await leaderboard(session, settings=rules, now=now)


def _with(rules: Rules, ranking_by: str) -> Rules:
    from dataclasses import replace

    return replace(rules, ranking_by=ranking_by)  # type: ignore[arg-type]


REPORTS: dict[str, Report] = {
    "考核 排行 本季度": _assess_rank_quarter,
    "考核 排行 本年": _assess_rank_year,
    "考核 one squad 本季度": _assess_squad,
    "活跃 本周": _activity_week,
    "活跃 本年": _activity_year,
    "ranking by assessment (year)": _ranking_by_assessment,
    "排行 by assessment (whole card)": _leaderboard_by_assessment,
}
BASELINE = ("排行 by pools (whole card, baseline)", _leaderboard_by_pools)


_FUNDS_SQL = {
    "sqlite": """
        INSERT INTO funds_arrival (project_id, team_id, member_id, event_id, amount_yuan, arrived_on, note,
                                   created_at, removed)
        SELECT id, team_id, created_by, NULL, amount_yuan / 3, date(signed_at, '+20 days'), '', signed_at, 0
        FROM project WHERE signed_at IS NOT NULL AND amount_yuan IS NOT NULL AND id % 3 = 0""",
    "postgres": """
        INSERT INTO funds_arrival (project_id, team_id, member_id, event_id, amount_yuan, arrived_on, note,
                                   created_at, removed)
        SELECT id, team_id, created_by, NULL, amount_yuan / 3, (signed_at + interval '20 days')::date, '',
               signed_at, false
        FROM project WHERE signed_at IS NOT NULL AND amount_yuan IS NOT NULL AND id % 3 = 0""",
}
_ACTIVITY_SQL = """
    UPDATE event SET kind = CASE id % 4 WHEN 0 THEN 'reception' WHEN 1 THEN 'promo' WHEN 2 THEN 'lead'
                                        ELSE 'publicity' END
    WHERE kind = 'note' AND id % 9 = 0"""
_COMPANY_SQL = """
    UPDATE project SET company = CASE id % 800 WHEN 0 THEN '华为技术有限公司' ELSE '比亚迪集团' END,
                       company_key = CASE id % 800 WHEN 0 THEN '华为' ELSE '比亚迪' END
    WHERE id % 400 = 0"""


async def _enrich(url: str, backend: str) -> None:
    """Funds, the other activity kinds and listed companies in the scratch copy; counters rebuilt."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in (_FUNDS_SQL[backend], _ACTIVITY_SQL, _COMPANY_SQL):
                await connection.exec_driver_sql(statement)
            await connection.run_sync(activity_tallies.rebuild, TZ)
            # report_week needs no rebuild: notes and the activity kinds are all reports.
    finally:
        await engine.dispose()
    if backend == "postgres":  # what autovacuum does soon after: statistics and the visibility map
        connection = await asyncpg.connect(common.pg_dsn(url.rsplit("/", 1)[1]))
        try:
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()


async def time_reports(url: str, now: Any, *, repeat: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Wall milliseconds of each report (and the baseline), `repeat` warm runs each in a fresh session."""
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    rules = settings.rules()
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine, tz=settings.tz)
    timings: dict[str, list[float]] = {}
    samples: dict[str, str] = {}
    gc.freeze()  # as `zsbot run` does after start-up (bench/reports.py)
    try:
        for name, report in [*REPORTS.items(), BASELINE]:
            async with sessions() as session:  # warm-up
                result = await report(session, rules, now)
                samples[name] = str(getattr(result, "text", ""))[:400]
            runs = []
            for _ in range(repeat):
                async with sessions() as session:
                    started = time.perf_counter()
                    await report(session, rules, now)
                    runs.append((time.perf_counter() - started) * 1000)
            timings[name] = runs
    finally:
        await engine.dispose()
    return timings, samples


async def run(backend_choice: str, *, quick: bool, repeat: int, show: bool) -> list[dict[str, Any]]:
    """Build (or find) the dataset, enrich a scratch copy, time the reports, print the table."""
    size = "s" if quick else "l"
    squads, projects = SIZES[size]
    results: list[dict[str, Any]] = []
    for backend in common.backends(backend_choice):
        data = await ensure(backend, Spec(squads, projects))
        scratch = f"zsbench_assess_{size}"  # a short name: PostgreSQL cuts names at 63 bytes
        async with common.scratch_copy(backend, data.name, scratch) as url:
            await _enrich(url, backend)
            timings, samples = await time_reports(url, data.now, repeat=repeat)
        baseline = common.median(timings[BASELINE[0]])
        rows: list[Sequence[Any]] = []
        for name, values in timings.items():
            median = common.median(values)
            rows.append([name, median, max(values), f"×{median / baseline:.2f}" if baseline else "-",
                         "yes" if median < GOAL_MS else "NO"])
            results.append({"backend": backend, "report": name, "median_ms": median, "max_ms": max(values)})
        print(f"\n== assessment on {backend}, {squads} squads / {projects} projects / "
              f"{data.counts.get('event', 0)} events (median of {repeat} warm runs, ms)")
        print(common.table(["report", "median", "max", "vs 排行 by pools", f"< {GOAL_MS:.0f} ms"], rows))
        if show:
            for name, text in samples.items():
                print(f"\n-- {name}\n{text}")
    print(common.machine_line())
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.assessment`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--show", action="store_true", help="print the start of each reply")

    args = common.parse_args("time 考核, 活跃 and the ranking by assessment at the largest district", argv, extra)
    asyncio.run(run(args.backend, quick=args.quick, repeat=args.repeat, show=args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
