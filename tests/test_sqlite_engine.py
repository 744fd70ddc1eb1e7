"""storage.db's SQLite engine: SQLAlchemy's public aiosqlite dialect, with the pragmas on every connection."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh SQLite file with a parent and a child table, through storage.db's engine."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        await connection.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                                         "parent_id INTEGER NOT NULL REFERENCES parent (id))")
    yield engine
    await engine.dispose()


async def test_every_pooled_connection_has_the_pragmas(engine: AsyncEngine) -> None:
    async with engine.connect() as first, engine.connect() as second:  # two connections of the pool
        for connection in (first, second):
            pragmas = [(await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                       for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")]
            assert pragmas == [1, "wal", 1, 10000]


async def test_foreign_keys_are_enforced_and_a_failed_block_keeps_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO parent (name) VALUES ('甲')"))
            await connection.execute(text("INSERT INTO child (parent_id) VALUES (99)"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM parent"))).scalar_one() == 0


async def test_statements_run_off_the_event_loop_thread(engine: AsyncEngine) -> None:
    threads: list[int] = []
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.create_function(  # type: ignore[union-attr]  # aiosqlite's connection
            "where_am_i", 0, lambda: threads.append(threading.get_ident()) or 0)
        assert (await connection.execute(text("SELECT where_am_i()"))).scalar_one() == 0
    assert threads and threads[0] != threading.get_ident()  # sqlite3 ran in aiosqlite's thread
