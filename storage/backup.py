"""A consistent, portable copy of the whole database (`zsbot backup` / `zsbot restore`, bot.backup).

The backup is a gzip'd JSON document with every table's rows, read inside one snapshot transaction
(REPEATABLE READ on PostgreSQL; a single read transaction on SQLite in WAL mode), so it is consistent while
the bot keeps writing. Being logical rather than a file copy, it restores into either backend: a district
can move from SQLite to PostgreSQL with backup + restore.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage import activity_tallies, company_names, name_index, report_weeks, tallies
from storage.db import create_engine, follow_explicit_ids, migrate
from storage.limits import violations

FORMAT = "zsbot-backup/1"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = getattr(column.type, "impl", column.type)  # SQLModel's UTCDateTime decorates DateTime
    if isinstance(kind, DateTime) or kind is DateTime:
        return datetime.fromisoformat(value)
    if isinstance(kind, Date) or kind is Date:
        return date.fromisoformat(value)
    return value


# Derived from the projects (storage.tallies, storage.name_index): not backed up; the restore rebuilds them.
DERIVED_TABLES = frozenset({"team_year_tally", "breakdown_year_tally", "activity_tally", "activity_rollup", "ledger_meta", "project_key", "project_gram"})


def _ledger_tables() -> list[Table]:
    return [table for table in SQLModel.metadata.sorted_tables if table.name not in DERIVED_TABLES]


async def dump(connection: AsyncConnection) -> dict[str, Any]:
    """Every table's rows, read on `connection` (the caller holds the snapshot transaction)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _ledger_tables():
        result = await connection.execute(select(table).order_by(*table.primary_key.columns))
        tables[table.name] = [{key: _encode(value) for key, value in row.items()}
                              for row in result.mappings()]
    revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return {"format": FORMAT, "revision": revision, "tables": tables}


async def backup_to(url: str, path: Path) -> dict[str, int]:
    """Write a consistent backup of the database at `url`; returns row counts per table."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # One snapshot for every table: rows written while we read are all in or all out.
                await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with connection.begin():
                if engine.dialect.name == "sqlite":
                    # The sqlite3 driver opens a transaction only before a write, so each SELECT of the
                    # dump would read its own moment (events of projects the dump has not got, which the
                    # restore then refuses); an explicit BEGIN makes them one WAL snapshot.
                    await connection.exec_driver_sql("BEGIN")
                data = await dump(connection)
    finally:
        await engine.dispose()
    payload = json.dumps(data, ensure_ascii=False).encode()
    await asyncio.to_thread(path.write_bytes, gzip.compress(payload))
    return {name: len(rows) for name, rows in data["tables"].items()}


async def restore_from(url: str, path: Path, *, tz: tzinfo) -> dict[str, int]:
    """Load a backup into the (migrated, empty) database at `url`; all or nothing.

    The year counters (local to `tz`) and the name index are rebuilt from the restored projects in the
    same transaction.
    """
    try:
        raw = await asyncio.to_thread(path.read_bytes)
        data = json.loads(gzip.decompress(raw))
    except OSError as error:  # missing, unreadable, or not gzip (gzip.BadGzipFile is an OSError)
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError):
        raise ValueError(f"{path} is not a zsbot backup (damaged or another format)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("tables"), dict):
        raise ValueError(f"{path} is not a zsbot backup")
    too_long = [found for table in _ledger_tables()
                for found in violations(table.name, data["tables"].get(table.name, []),
                                        key=[column.name for column in table.primary_key.columns])]
    if too_long:  # checked before anything is written: every offending row, then nothing
        lines = "\n  ".join(str(found) for found in too_long)
        raise ValueError(f"{len(too_long)} values are longer than their fields allow:\n  {lines}")
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            for table in _ledger_tables():
                count = (await connection.execute(select(func.count()).select_from(table))).scalar()
                if count:
                    raise ValueError(f"the target database is not empty (table {table.name} has {count} rows)")
            for table in _ledger_tables():
                rows = data["tables"].get(table.name, [])
                if rows:
                    columns = table.columns
                    decoded = [{k: _decode(columns[k], v) for k, v in row.items() if k in columns} for row in rows]
                    await connection.execute(insert(table), decoded)
                if "id" in table.columns:  # restored ids do not move the sequences; new rows must not collide
                    await follow_explicit_ids(connection, table.name)
            await connection.run_sync(tallies.rebuild, tz)
            await connection.run_sync(activity_tallies.rebuild, tz)
            await connection.run_sync(report_weeks.rebuild, tz)
            await connection.run_sync(name_index.rebuild)
            await connection.run_sync(company_names.rebuild)  # a backup from before 0013 has no keys
    finally:
        await engine.dispose()
    return {name: len(rows) for name, rows in data["tables"].items()}
