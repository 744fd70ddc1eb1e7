"""Memory benchmark: peak resident memory of `zsbot run` on the largest district.

    python -m bench.memory [--backend sqlite|postgres|both] [--quick]

`zsbot run` in webhook mode against the fake Bot API (bench.fake_api), on a private copy of the generated
2,000-squad / 200,000-project / 2,000,000-event district (--quick: 200 squads / 20,000 projects). A leader
asks for 排行 (the leaderboard, with its chart), 进度 (status with every breakdown) and 问题清单, then 300
updates of the ingest mix arrive at 50 a second; the scheduler ticks as in production (its start-up tick
saves the day's ranking snapshot). Peak memory is the process's VmHWM (/proc/<pid>/status).

The baseline, measured in the same run, is an idle `zsbot run` on an empty database: the price of the
interpreter, PTB, SQLAlchemy, matplotlib and the rest before any data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bench import common
from bench.datagen import TELEGRAM_UID_BASE, Spec, ensure, roster
from bench.ingest import LoadGen, Outcome, Traffic, fake_api, zsbot

GOAL_MB = 300.0
REPORTS = ("排行", "进度", "问题清单")


async def idle(backend: str) -> tuple[int, int]:
    """(RSS, peak RSS) KiB of `zsbot run` on an empty database, after start-up settles."""
    name = "zsbot_bench_memory_empty"
    await common.drop_database(backend, name)
    if backend == "postgres":
        await common.pg_admin(f'CREATE DATABASE "{name}"')
    try:
        async with fake_api() as fake, zsbot(common.database_url(backend, name), fake.url, name="zsbot_idle") as (child, _):
            await asyncio.sleep(3)
            return common.rss_kib(child.pid)
    finally:
        await common.drop_database(backend, name)


async def loaded(backend: str, spec: Spec, updates: int) -> tuple[int, int, Outcome]:
    """(RSS, peak RSS) KiB of `zsbot run` on the district after reports and ingest, and the ingest outcome."""
    data = await ensure(backend, spec)
    users, projects = await roster(data.url)
    leader = TELEGRAM_UID_BASE + 1  # member 1 leads squad 1 (bench.datagen)
    assert users[0][0] == leader
    async with fake_api() as fake, common.scratch_copy(backend, data.name, f"{data.name}_memory") as url, \
            zsbot(url, fake.url, name="zsbot_memory") as (child, webhook):
        traffic = Traffic(users, projects, seed=5)
        async with LoadGen(webhook, fake, traffic) as gen:
            reports = Outcome()
            for text in REPORTS:
                traffic.free.remove(leader)
                await gen.one(leader, asyncio.get_running_loop().time(), reports, text=text)
            if reports.answered != len(REPORTS):
                raise RuntimeError(f"reports not answered: {reports}\n{child.tail()}")
            outcome = await gen.open_loop(50, updates / 50, child.pid)
        await asyncio.sleep(1)
        rss, peak = common.rss_kib(child.pid)
    return rss, peak, outcome


async def run(backend_choice: str, *, quick: bool) -> list[dict[str, Any]]:
    """Idle and loaded peaks on each backend; print the table."""
    spec = Spec(200, 20_000) if quick else Spec(2_000, 200_000)
    updates = 100 if quick else 300
    results: list[dict[str, Any]] = []
    for backend in common.backends(backend_choice):
        idle_rss, idle_peak = await idle(backend)
        rss, peak, outcome = await loaded(backend, spec, updates)
        results.append({"backend": backend, "idle_peak_mb": idle_peak / 1024, "peak_mb": peak / 1024,
                        "rss_mb": rss / 1024, "idle_rss_mb": idle_rss / 1024, "answered": outcome.answered,
                        "lost": outcome.lost + outcome.errors,
                        "p50": common.percentile(outcome.latencies, 50), "p99": common.percentile(outcome.latencies, 99)})
    print(f"\n== memory of zsbot run: {spec.squads} squads / {spec.projects} projects / "
          f"{spec.projects * spec.events_per_project} events; 排行 + 进度 + 问题清单 + {updates} updates")
    print(common.table(
        ["backend", "idle peak MB (empty DB)", "loaded peak MB", "loaded RSS at end MB", "peak / idle",
         "updates answered", "lost", "ingest p50 ms", "ingest p99 ms", f"< {GOAL_MB:.0f} MB"],
        [[r["backend"], r["idle_peak_mb"], r["peak_mb"], r["rss_mb"], f"{r['peak_mb'] / r['idle_peak_mb']:.2f}",
          r["answered"], r["lost"], r["p50"], r["p99"], "yes" if r["peak_mb"] < GOAL_MB else "NO"] for r in results],
    ))
    print(common.machine_line())
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.memory`."""
    args = common.parse_args("peak memory of zsbot run on the largest district", argv)
    asyncio.run(run(args.backend, quick=args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
