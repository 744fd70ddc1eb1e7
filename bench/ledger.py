"""`python -m bench.ledger`: an office 台账 of 2,000 rows imported (`zsbot import`), and 2,000 projects
exported to .xlsx (`zsbot export`), on SQLite and PostgreSQL.

Baselines, same run: for the import, reading the same file alone (`handlers.ledger.read_ledger`: openpyxl
and the cell checks, no database); for the export, writing the same rows' workbook alone
(`handlers.ledger.write_xlsx`, no database).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.common import OUT, backends, database_url, drop_database, machine_line, parse_args, pg_admin, table
from bot.app import ZsBot
from bot.ledger_files import export_ledger
from bot.ledger_load import import_ledger
from bot.settings import Settings
from handlers import ledger, reports
from handlers.messages import Incoming
from storage import ledger_queries as lq
from storage.db import create_engine, migrate

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SQUADS = 20


def office_ledger(path: Path, rows: int) -> None:
    """An office layout: title, 序号, 亿元, 所属产业, 项目进展, 签约时间, 备注, a 合计 row."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["二七区招商引资项目台账"])
    sheet.merge_cells("A1:I1")
    sheet.append(["序号", "项目名称", "投资额（亿元）", "责任单位", "所属产业", "项目进展", "谋划时间", "签约时间", "备注"])
    for n in range(1, rows + 1):
        signed = datetime(2026, 1 + n % 10, 1 + n % 27) if n % 3 == 0 else None
        sheet.append([n, f"基准项目{n:05d}", round(0.1 + n % 50 / 10, 2), f"小分队{n % SQUADS:02d}",
                      ("汽车", "商贸", "文旅", "生物医药")[n % 4], f"第{n}号项目已对接", datetime(2026, 1, 1 + n % 28),
                      signed, "重点" if n % 7 == 0 else None])
    sheet.append(["合计"])
    workbook.save(path)


class Clock:
    """A fixed clock: the import's events and the export's 序时进度 as on one day."""

    def __call__(self) -> datetime:
        return NOW


async def _prepare(url: str) -> Settings:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    settings = Settings(_env_file=None, database_url=url, admins=["console:admin"])  # type: ignore[call-arg]
    async with ZsBot(settings, clock=Clock()) as bot:
        for n in range(SQUADS):
            await bot.core.handle(Incoming(platform="console", user_id="admin", text=f"建队 小分队{n:02d}",
                                           chat_id="c"))
    return settings


async def _one(backend: str, path: Path, rows: int) -> list[list[object]]:
    name = "zsbot_bench_ledger"
    await drop_database(backend, name)
    if backend == "postgres":
        await pg_admin(f'CREATE DATABASE "{name}"')
    url = database_url(backend, name)
    try:
        settings = await _prepare(url)
        content = await asyncio.to_thread(path.read_bytes)
        start = time.perf_counter()
        await asyncio.to_thread(ledger.read_ledger, content, path.name)
        read_s = time.perf_counter() - start
        async with ZsBot(settings, clock=Clock()) as bot:
            start = time.perf_counter()
            report = await import_ledger(bot, path)
            import_s = time.perf_counter() - start
            assert report.created == rows, report.created
            target = OUT / f"bench-ledger-{backend}.xlsx"
            start = time.perf_counter()
            await export_ledger(bot, target)
            export_s = time.perf_counter() - start
            async with bot.sessions() as session:
                exported = await lq.ledger_rows(session, tz=settings.tz)
                summary = await reports.ledger_summary(session, settings=settings, now=NOW)
            start = time.perf_counter()
            await asyncio.to_thread(ledger.write_xlsx, exported, summary, tz=settings.tz)
            write_s = time.perf_counter() - start
            await asyncio.to_thread(target.unlink, missing_ok=True)
    finally:
        await drop_database(backend, name)
    return [
        [backend, f"import {rows} rows", f"{import_s:.2f}", f"{read_s:.2f}", f"{import_s / read_s:.1f}×"],
        [backend, f"export {rows} projects", f"{export_s:.2f}", f"{write_s:.2f}", f"{export_s / write_s:.1f}×"],
    ]


async def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its table."""
    args = parse_args(__doc__ or "", argv)
    rows = 200 if args.quick else 2000
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-office-{rows}.xlsx"
    office_ledger(path, rows)
    results: list[list[object]] = []
    for backend in backends(args.backend):
        results += await _one(backend, path, rows)
    print(machine_line())
    print(table(["backend", "what", "seconds", "baseline s (file only)", "ratio"], results))


if __name__ == "__main__":
    asyncio.run(main())
