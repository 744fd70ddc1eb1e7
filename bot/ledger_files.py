"""`zsbot export`: the ledger (台账) from the database into .xlsx/.csv/.json (import: bot.ledger_load)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import ZsBot
from bot.ledger_load import ImportReport, import_ledger
from handlers import ledger, reports
from handlers.ledger import LedgerFormatError
from storage import ledger_queries as lq

SUFFIXES = (".xlsx", ".csv", ".json")
__all__ = ["SUFFIXES", "ImportReport", "export_ledger", "import_ledger"]


def check_target(path: Path) -> None:
    """Refuse, before any work, a file the export could not write: unknown suffix, missing folder."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LedgerFormatError([f"不支持的文件类型 {suffix or '(无)'}：请用 .xlsx、.csv 或 .json / "
                                 f"unsupported file type {suffix or '(none)'}: use .xlsx, .csv or .json"])
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LedgerFormatError([f"目录不存在：{parent} / no such directory: {parent}"])


async def export_ledger(bot: ZsBot, path: Path) -> int:
    """Write every live project to `path` in the format its suffix names; returns the project count."""
    await asyncio.to_thread(check_target, path)
    suffix = path.suffix.lower()
    now = bot.clock()
    async with bot.sessions() as session:
        rows = await lq.ledger_rows(session, tz=bot.settings.tz)
        if suffix == ".xlsx":
            summary = await reports.ledger_summary(session, settings=bot.rules, now=now)
            content = await asyncio.to_thread(ledger.write_xlsx, rows, summary, tz=bot.settings.tz)
        elif suffix == ".csv":
            content = await asyncio.to_thread(ledger.write_csv, rows, tz=bot.settings.tz)
        else:
            content = await asyncio.to_thread(ledger.write_json, rows, tz=bot.settings.tz)
    await asyncio.to_thread(path.write_bytes, content)
    return len(rows)
