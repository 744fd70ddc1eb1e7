"""Reports benchmark: 排行 (leaderboard), 进度 (status, as a leader sees it) and 问题清单 (problem list) on
generated districts of three sizes; time per report (median of 5 warm runs) and how it grows against the
data.

    python -m bench.reports [--backend sqlite|postgres|both] [--quick] [--repeat 5] [--charts]

Each report is built the way the bot builds it (handlers.reports, one session, the dataset's own
"now"). Charts are off by default: they are rendered in a worker thread after the SQL and cost the same
at every size (a fixed number of bars), so they would only blur the growth; --charts includes them.
The baseline is the data itself: the growth ratio of each report's time between sizes is printed
beside the growth of the data (10× per step).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench import common
from bench.datagen import SIZES, Dataset, Spec, ensure
from bot.chart_drawer import ChartDrawer
from bot.settings import Settings
from handlers import reports
from handlers.messages import Reply
from storage.db import create_engine, session_factory

GOAL_MS = 200.0

Report = Callable[[Any, Settings, Any, bool], Awaitable[Reply]]


def _charts(charts: bool) -> ChartDrawer | None:
    # No cache: every run draws, so the figures include the drawing (a warm cache would hide it).
    return ChartDrawer(cache_size=0) if charts else None


async def _leaderboard(session: Any, settings: Settings, now: Any, charts: bool) -> Reply:
    return await reports.leaderboard(session, settings=settings, now=now, charts=_charts(charts))


async def _status(session: Any, settings: Settings, now: Any, charts: bool) -> Reply:
    return await reports.status_report(session, settings=settings, now=now, viewer_team_id=None, is_leader=True,
                                       charts=_charts(charts))


async def _problems(session: Any, settings: Settings, now: Any, charts: bool) -> Reply:
    return await reports.problem_list(session, settings=settings, now=now)


REPORTS: dict[str, Report] = {"leaderboard": _leaderboard, "status": _status, "problems": _problems}


async def time_reports(data: Dataset, *, repeat: int, charts: bool) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU milliseconds of each report, `repeat` warm runs (one warm-up first), each in a fresh session.

    CPU is this process's (every thread: on SQLite it includes the database's work, on PostgreSQL not
    the server's); it moves less than wall time when other work shares the machine.
    """
    settings = Settings(_env_file=None, database_url=data.url)  # type: ignore[call-arg]
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine, tz=settings.tz)
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    # As `zsbot run` does once it has started (bot/runner.py): what is loaded so far stays out of the
    # collector's full passes, which would otherwise land inside a timed report (50-100 ms each).
    gc.freeze()
    try:
        for name, report in REPORTS.items():
            async with sessions() as session:  # warm-up: connections, statement caches, page cache
                reply = await report(session, settings, data.now, charts)
                assert reply.text, name
            runs, used = [], []
            for _ in range(repeat):
                async with sessions() as session:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    await report(session, settings, data.now, charts)
                    runs.append((time.perf_counter() - started) * 1000)
                    used.append((time.process_time() - cpu_started) * 1000)
            timings[name] = runs
            cpu[name] = used
    finally:
        await engine.dispose()
    return timings, cpu


async def run(backend_choice: str, *, quick: bool, repeat: int, charts: bool) -> list[dict[str, Any]]:
    """Generate (or find) the datasets, time the reports, print the table; returns the result rows."""
    sizes = ["s"] if quick else list(SIZES)
    results: list[dict[str, Any]] = []
    for backend in common.backends(backend_choice):
        medians: dict[str, dict[str, float]] = {}
        cpu_medians: dict[str, dict[str, float]] = {}
        for size in sizes:
            squads, projects = SIZES[size]
            data = await ensure(backend, Spec(squads, projects))
            timings, cpu = await time_reports(data, repeat=repeat, charts=charts)
            medians[size] = {name: common.median(values) for name, values in timings.items()}
            cpu_medians[size] = {name: common.median(values) for name, values in cpu.items()}
            for name, values in timings.items():
                results.append({"backend": backend, "size": size, "squads": squads, "projects": projects,
                                "events": data.counts.get("event", 0), "report": name,
                                "median_ms": common.median(values), "max_ms": max(values),
                                "cpu_ms": common.median(cpu[name])})
        print(f"\n== reports on {backend} (median of {repeat} warm runs, ms; charts {'on' if charts else 'off'})")
        rows: list[Sequence[Any]] = []
        for name in REPORTS:
            row: list[Any] = [name]
            for index, size in enumerate(sizes):
                row.append(medians[size][name])
                if index:
                    previous = medians[sizes[index - 1]][name]
                    row.append(f"×{medians[size][name] / previous:.2f}" if previous else "-")
            largest = medians[sizes[-1]][name]
            row.append(cpu_medians[sizes[-1]][name])
            row.append("yes" if largest < GOAL_MS else "NO")
            rows.append(row)
        headers: list[str] = ["report"]
        for index, size in enumerate(sizes):
            squads, projects = SIZES[size]
            headers.append(f"{squads}/{projects}")
            if index:
                headers.append("growth (data ×10)")
        headers.append("CPU ms at largest")
        headers.append(f"< {GOAL_MS:.0f} ms at largest")
        print(common.table(headers, rows))
    print(common.machine_line())
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.reports`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--charts", action="store_true", help="include chart rendering")

    args = common.parse_args("time the leaderboard, status and problem list at three data sizes", argv, extra)
    asyncio.run(run(args.backend, quick=args.quick, repeat=args.repeat, charts=args.charts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
