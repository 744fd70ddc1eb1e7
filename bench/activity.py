"""Issue 20: `activity_counts` (the activity index's and 考核's read) over a quarter at 2,000 squads.

`python -m bench.activity [--backend sqlite|postgres|both] [--quick] [--repeat 7] [--density 0.2]`

Builds a scratch database with 2,000 squads (`--quick`: 20) and a year of activity_tally rows (each squad,
kind and day present with probability `--density`), then times storage.activity_queries.activity_counts
for one quarter and for the whole year, median of `--repeat`. Baseline, same run and data: the same
queries with the covering index ix_activity_tally_day dropped (what the primary key alone gives).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import backends, database_url, drop_database, machine_line, median, parse_args, pg_admin, table
from storage.activity_queries import ACTIVITY_KINDS, TALLY_TABLE, activity_counts
from storage.db import create_engine, migrate, session_factory
from storage.models import Team

TZ_NAME = "Asia/Shanghai"
YEAR = 2026
QUARTER = (date(YEAR, 7, 1), date(YEAR, 9, 30))
CHUNK = 20_000


async def _load(url: str, squads: int, density: float) -> int:
    engine = create_engine(url)
    try:
        await migrate(engine)
        now = datetime(YEAR, 1, 1, tzinfo=UTC)
        async with engine.begin() as connection:
            await connection.execute(insert(Team.__table__), [  # type: ignore[attr-defined]
                {"id": i, "name": f"队{i}", "kind": "squad", "invite_code": f"C{i}", "created_at": now}
                for i in range(1, squads + 1)])
        rng = random.Random(20)
        rows: list[dict[str, object]] = []
        total = 0
        start = date(YEAR, 1, 1)
        for team_id in range(1, squads + 1):
            for kind in ACTIVITY_KINDS:
                for offset in range(365):
                    if rng.random() < density:
                        rows.append({"team_id": team_id, "kind": kind, "day": start + timedelta(days=offset),
                                     "count": rng.randint(1, 3)})
            if len(rows) >= CHUNK or team_id == squads:
                async with engine.begin() as connection:
                    await connection.execute(insert(TALLY_TABLE), rows)
                total += len(rows)
                rows = []
        await _analyze(engine)
        return total
    finally:
        await engine.dispose()


async def _analyze(engine: AsyncEngine) -> None:
    """Fresh statistics (and on PostgreSQL a vacuumed visibility map, as autovacuum keeps it, so the covering
    index is read alone)."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        vacuum = "VACUUM ANALYZE activity_tally" if engine.dialect.name == "postgresql" else "ANALYZE"
        await autocommit.execute(text(vacuum))


async def _time(url: str, repeat: int) -> tuple[float, float]:
    engine = create_engine(url)
    sessions = session_factory(engine, tz=ZoneInfo(TZ_NAME))
    try:
        results: list[tuple[float, float]] = []
        for _ in range(repeat):
            timings = []
            for first, last in (QUARTER, (date(YEAR, 1, 1), date(YEAR, 12, 31))):
                began = time.perf_counter()
                async with sessions() as session:
                    found = await activity_counts(session, start=first, end=last)
                timings.append(time.perf_counter() - began)
                assert found
            results.append((timings[0], timings[1]))
        return median(r[0] for r in results) * 1000, median(r[1] for r in results) * 1000
    finally:
        await engine.dispose()


async def _drop_index(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX ix_activity_tally_day"))
        await _analyze(engine)
    finally:
        await engine.dispose()


async def run(backend: str, squads: int, density: float, repeat: int) -> list[object]:
    """One backend: rows, then quarter and year times with the index and without (ms)."""
    name = "zsbot_bench_activity"
    await drop_database(backend, name)
    if backend == "postgres":
        await pg_admin(f'CREATE DATABASE "{name}"')
    url = database_url(backend, name)
    try:
        rows = await _load(url, squads, density)
        quarter, year = await _time(url, repeat)
        await _drop_index(url)
        base_quarter, base_year = await _time(url, repeat)
    finally:
        await drop_database(backend, name)
    return [backend, squads, rows, f"{quarter:.1f}", f"{base_quarter:.1f}", f"{base_quarter / quarter:.1f}×",
            f"{year:.1f}", f"{base_year:.1f}", f"{base_year / year:.1f}×"]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table of figures for each backend."""
    args = parse_args(__doc__ or "", argv, extra=lambda p: (
        p.add_argument("--repeat", type=int, default=7), p.add_argument("--density", type=float, default=0.2)))
    squads = 20 if args.quick else 2000
    print(machine_line())
    rows = [asyncio.run(run(backend, squads, args.density, args.repeat)) for backend in backends(args.backend)]
    print(table(["backend", "squads", "tally rows", "quarter ms", "no index ms", "ratio", "year ms",
                 "no index ms", "ratio"], rows))


if __name__ == "__main__":
    main()
