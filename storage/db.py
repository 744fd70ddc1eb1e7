"""Engine and session factory, and the Alembic upgrade that `migrate`, `run`, `console` and `demo` call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# company_names and activity_tallies also register their flush hooks
from storage import activity_tallies, company_names, name_index, report_weeks, tallies
from storage.counter_writes import LedgerSession

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = async_sessionmaker[AsyncSession]

MAX_POOL = 16  # PostgreSQL connections kept open


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (reports) run while a writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for `url` (SQLite via aiosqlite, PostgreSQL via asyncpg)."""
    if url.startswith("sqlite"):
        # SQLAlchemy's own aiosqlite dialect: each statement runs in the connection's thread, off the loop.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=MAX_POOL)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: on asyncpg it is three round trips (BEGIN, ";", ROLLBACK) on every checkout, a
    # quarter of a message's database time. A connection the server dropped fails at its first statement
    # instead; SQLAlchemy then invalidates the whole pool (every older connection is replaced) and
    # Core.handle runs the message once more on a fresh one.
    # pool_size covers Core's MAX_CONCURRENT_MESSAGES plus scheduled jobs, so a burst of webhooks does
    # not open and close overflow connections (each a new server process) on every message.
    return create_async_engine(url, echo=echo, pool_size=MAX_POOL, max_overflow=20)


def session_factory(engine: AsyncEngine, *, tz: tzinfo) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (replies are built after committing).

    Their flushes keep the yearly stage counters (storage.tallies) in step, with years local to `tz`.
    """
    return async_sessionmaker(
        engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=LedgerSession, info={"tz": tz}
    )


def session_zone(sessions: SessionFactory) -> tzinfo | None:
    """The zone the factory's sessions bucket local years and days in (session_factory's `tz`; None: not set)."""
    # Read from a session's public `info` (a session connects only when first used, so this one never does);
    # the factory's own keyword store is not documented API.
    zone = sessions().info.get("tz")
    return zone if isinstance(zone, tzinfo) else None


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query (the /healthz check)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def follow_explicit_ids(db: AsyncConnection | AsyncSession, table: str) -> None:
    """After rows were inserted with explicit ids: move PostgreSQL's id sequence of `table` past them."""
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    if connection.dialect.name != "postgresql":
        return  # SQLite's next rowid is always past the largest one stored
    # is_called=false: the next id is exactly MAX(id) + 1, so 1 on an empty table.
    quoted = connection.dialect.identifier_preparer.quote(table)
    await connection.execute(text(
        f"SELECT setval(pg_get_serial_sequence(:table, 'id'), COALESCE((SELECT MAX(id) FROM {quoted}), 0) + 1, false)"
    ), {"table": quoted})


# deadlock_detected, serialization_failure: PostgreSQL aborted the transaction to let another one through.
_LOST_RACE_STATES = frozenset({"40P01", "40001"})


def lost_a_race(error: DBAPIError) -> bool:
    """Whether PostgreSQL aborted the transaction to break a deadlock (nothing of it was stored: running it
    again is safe). `sqlstate` is the public attribute of SQLAlchemy's asyncpg errors."""
    return getattr(error.orig, "sqlstate", None) in _LOST_RACE_STATES


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls back on any exception."""
    async with factory() as session, session.begin():
        yield session


def alembic_config() -> Config:
    """The Alembic configuration, pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic, on the engine's own connection; async-safe)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


def _ensure_derived(connection: Connection, tz: tzinfo, force: bool) -> list[str]:
    rebuilt = []
    if force:
        tallies.rebuild(connection, tz)
        activity_tallies.rebuild(connection, tz)
        report_weeks.rebuild(connection, tz)
        name_index.rebuild(connection)
        company_names.rebuild(connection)
        return ["tallies", "name_index", "company_keys"]  # "tallies": the year and the activity counters
    if tallies.ensure_zone(connection, tz):  # the activity days and report weeks are local to the same zone
        activity_tallies.rebuild(connection, tz)
        report_weeks.rebuild(connection, tz)
        rebuilt.append("tallies")
    if name_index.ensure_current(connection):
        rebuilt.append("name_index")
    return rebuilt


async def wipe(engine: AsyncEngine) -> None:
    """Delete every row of every table (the schema stays), ids starting over: `zsbot demo --fresh`."""
    tables = SQLModel.metadata.sorted_tables
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            await connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            return
        for table in reversed(tables):
            await connection.execute(table.delete())
        if (await connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None:
            await connection.exec_driver_sql("DELETE FROM sqlite_sequence")


async def ensure_derived(engine: AsyncEngine, *, tz: tzinfo, force: bool = False) -> list[str]:
    """Bring the tables derived from the projects up to date; returns the names of those rebuilt.

    The year counters (storage.tallies) are rebuilt when built for another zone or never; the name
    index (storage.name_index) when built by another version or never; `force` rebuilds both, for
    writes that bypassed the ORM (a bulk load).
    """
    async with engine.begin() as connection:
        return await connection.run_sync(_ensure_derived, tz, force)
