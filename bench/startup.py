"""Start-up and chart benchmark (issue 18): how fast `zsbot --help` answers, and a console 排行 with its chart.

    python -m bench.startup [--backend sqlite|postgres|both] [--quick] [--runs 10] [--asks 20]

1. `zsbot --help` (as `python -m bot.cli --help`), median wall time of --runs starts; baselines in the same
   run: the bare interpreter (`python -c pass`) and importing what the CLI used to import before its
   commands loaded lazily (the bot, its reports and matplotlib). Goal: under 0.5 s.
2. 排行 asked by a leader through the core (as the console does) at the largest district (2,000 squads /
   200,000 projects; --quick: 20 / 2,000), after the day's first draw: p50/p95 of --asks answers with the
   chart port's cache, against the same answers drawing every chart (the baseline, no cache). Goal: p95
   under 0.3 s.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence
from itertools import count
from typing import Any

from bench import common
from bench.datagen import SIZES, Spec, ensure
from bot.app import ZsBot
from bot.chart_drawer import ChartDrawer
from bot.settings import Settings
from handlers.messages import Incoming

HELP_GOAL_S = 0.5
RANK_GOAL_MS = 300.0
LEADER = "console:bench-leader"
_IDS = count(1)


def _wall(command: Sequence[str], runs: int) -> list[float]:
    """Wall seconds of each of `runs` starts of `command` (blocking: a benchmark script)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=common.ROOT)
        times.append(time.perf_counter() - started)
    return times


def time_help(runs: int) -> list[dict[str, Any]]:
    """`zsbot --help` against the bare interpreter and the old eager imports."""
    python = sys.executable
    cases = {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "eager imports (before)": [python, "-c", "import bot.app, handlers.reports, bot.charts, jobs.scheduler"],
        "zsbot --help": [python, "-m", "bot.cli", "--help"],
    }
    medians = {name: common.median(_wall(command, runs)) for name, command in cases.items()}
    base = medians["python -c pass (baseline)"]
    print(f"\n== start-up (median of {runs} starts, s)")
    print(common.table(["command", "median s", "× bare python"],
                       [[name, value, f"×{value / base:.2f}"] for name, value in medians.items()]))
    verdict = "met" if medians["zsbot --help"] < HELP_GOAL_S else "MISSED"
    print(f"zsbot --help under {HELP_GOAL_S} s: {verdict}")
    return [{"case": name, "median_s": value} for name, value in medians.items()]


async def _ask(bot: ZsBot) -> float:
    started = time.perf_counter()
    reply = await bot.core.handle(Incoming(platform="console", user_id="bench-leader", text="排行",
                                           chat_id="console:bench-leader", display_name="领导",
                                           message_id=f"bench-rank-{next(_IDS)}"))
    elapsed = (time.perf_counter() - started) * 1000
    assert reply.ok and reply.image is not None, reply.text[:200]
    return elapsed


async def time_rank(backend: str, size: str, asks: int) -> dict[str, Any]:
    """A leader's 排行 with its chart: cached after the first draw, against drawing every time."""
    squads, projects = SIZES[size]
    data = await ensure(backend, Spec(squads, projects))
    # A private copy: the leader's first message adds them as a member, and the cached district stays as made.
    async with common.scratch_copy(backend, data.name, f"{data.name}_startup") as url:
        settings = Settings(_env_file=None, database_url=url, leaders=[LEADER])  # type: ignore[call-arg]
        return await _time_asks(settings, data.now, asks, backend, squads, projects)


async def _time_asks(settings: Settings, now: Any, asks: int, backend: str, squads: int,
                     projects: int) -> dict[str, Any]:
    async with ZsBot(settings, clock=lambda: now) as bot:
        first = await _ask(bot)  # the day's first draw (and warm connections)
        cached = [await _ask(bot) for _ in range(asks)]
        bot.core.charts = ChartDrawer(cache_size=0)  # the baseline: every answer draws its chart
        drawn = [await _ask(bot) for _ in range(asks)]
    row = {"backend": backend, "squads": squads, "projects": projects, "first_ms": first,
           "cached_p50": common.median(cached), "cached_p95": common.percentile(cached, 95),
           "drawn_p50": common.median(drawn), "drawn_p95": common.percentile(drawn, 95)}
    return row


async def run(backend_choice: str, *, quick: bool, runs: int, asks: int) -> list[dict[str, Any]]:
    """Both measurements; prints the tables."""
    results = time_help(runs)
    size = "s" if quick else "l"
    rows = [await time_rank(backend, size, asks) for backend in common.backends(backend_choice)]
    print(f"\n== 排行 with its chart, a leader through the core ({asks} asks each, ms)")
    print(common.table(
        ["backend", "squads/projects", "first", "cached p50", "cached p95", "drawn p50 (baseline)",
         "drawn p95", "p95 ratio"],
        [[r["backend"], f"{r['squads']}/{r['projects']}", r["first_ms"], r["cached_p50"], r["cached_p95"],
          r["drawn_p50"], r["drawn_p95"], f"×{r['cached_p95'] / r['drawn_p95']:.2f}"] for r in rows]))
    for r in rows:
        verdict = "met" if r["cached_p95"] < RANK_GOAL_MS else "MISSED"
        print(f"{r['backend']}: p95 under {RANK_GOAL_MS:.0f} ms after the first draw: {verdict}")
    print(common.machine_line())
    return [*results, *rows]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.startup`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--runs", type=int, default=10, help="starts of each command")
        parser.add_argument("--asks", type=int, default=20, help="排行 answers timed per case")

    args = common.parse_args("time zsbot --help and a console 排行 with its chart", argv, extra)
    asyncio.run(run(args.backend, quick=args.quick, runs=args.runs, asks=args.asks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
