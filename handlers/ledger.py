"""The ledger (台账): its rows, its columns and the machine formats (CSV, JSON), as plain functions over bytes.

The people's format (.xlsx) is written by handlers.ledger_xlsx and every format is read by
handlers.ledger_read; `write_xlsx` and `read_ledger` here hand over to them.

Formats, decided once:
- CSV and JSON are for machines: English column names (`LEDGER_COLUMNS`, DESIGN §6 order), stage keys
  (`planned` …), ISO 8601 times with their UTC offset. CSV is UTF-8 *with* a BOM: Excel decodes a
  BOM-less CSV in the system code page (GBK on Chinese Windows) and would garble every Chinese name.
  Text cells that Excel would run as a formula (starting with = + - @) get a leading apostrophe in CSV
  (the usual CSV-injection guard); reading removes it again.
- XLSX is for people: a 汇总 summary sheet first, then one sheet per pool (谋划, 招引, 签约, 落地, 已放弃)
  with Chinese headers (`LEDGER_HEADERS_ZH`), Chinese stage names, an extra 投资额(万元) column, and
  times as Excel dates in the district's local time (Excel has no time zones), to the second.
- Reading accepts either form in any of the three formats: English or Chinese headers (and common
  synonyms from districts' own ledgers: 项目名称, 责任单位, 总投资(万元) …), stage keys or Chinese names,
  amounts as numbers or as words such as "2亿" or "5000万元". Unknown columns are ignored. The whole
  file is validated before anything is returned: bad data raises `LedgerFormatError` naming the sheet,
  row and column of every problem found.

All functions are synchronous and CPU-bound (openpyxl): async callers run them via asyncio.to_thread.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from typing import Any

from handlers.ledger_columns import (
    DEFAULT_TZ,
    LEDGER_COLUMNS,
    LEDGER_HEADERS_ZH,
    LedgerFormatError,
    csv_guard,
)
from storage.ledger_rows import LedgerRow, LedgerSummary, TeamSummaryRow
from storage.models import ALL_STAGES

__all__ = [
    "LEDGER_COLUMNS",
    "LEDGER_HEADERS_ZH",
    "LedgerFormatError",
    "LedgerRow",
    "LedgerSummary",
    "TeamSummaryRow",
    "read_ledger",
    "write_csv",
    "write_json",
    "write_xlsx",
]

_TEXT_FIELDS = ("name", "team", "industry", "wheel", "zone", "place", "company", "latest_note", "problems")
_TIME_FIELDS = ("created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at")
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


# --- writing ---------------------------------------------------------------------------------------


def _check_stage(row: LedgerRow) -> None:
    if row.stage not in ALL_STAGES:
        raise ValueError(f"ledger row {row.id}: unknown stage {row.stage!r}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r} in a ledger row: times must be timezone-aware")
    return moment


def _machine_value(row: LedgerRow, column: str, tz: tzinfo | None) -> Any:
    value = getattr(row, column)
    if isinstance(value, datetime):
        value = _aware(value)
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(rows: Iterable[LedgerRow], *, tz: tzinfo | None = None) -> bytes:
    """The ledger as CSV bytes (UTF-8 with BOM, English headers, stage keys); times converted to `tz`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEDGER_COLUMNS)
    for row in rows:
        _check_stage(row)
        out = []
        for column in LEDGER_COLUMNS:
            value = _machine_value(row, column, tz)
            if value is None:
                out.append("")
            elif column in _TEXT_FIELDS:
                out.append(csv_guard(value))
            else:
                out.append(str(value))
        writer.writerow(out)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_json(rows: Iterable[LedgerRow], *, tz: tzinfo | None = None) -> bytes:
    """The ledger as a UTF-8 JSON array of objects keyed by LEDGER_COLUMNS; times converted to `tz`."""
    records = []
    for row in rows:
        _check_stage(row)
        records.append({column: _machine_value(row, column, tz) for column in LEDGER_COLUMNS})
    return json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8")




def write_xlsx(rows: Iterable[LedgerRow], summary: LedgerSummary, *, tz: tzinfo) -> bytes:
    """The ledger as an Excel workbook (handlers.ledger_xlsx). Sync: use asyncio.to_thread."""
    from handlers.ledger_xlsx import write_workbook

    return write_workbook(rows, summary, tz=tz)


def read_ledger(
    content: bytes, filename: str, *, tz: tzinfo = DEFAULT_TZ, usd_rate: float | None = None,
) -> list[LedgerRow]:
    """Rows of an .xlsx/.csv/.json ledger (handlers.ledger_read); raises LedgerFormatError, all or nothing."""
    from handlers.ledger_read import read_rows

    return read_rows(content, filename, tz=tz, usd_rate=usd_rate)
