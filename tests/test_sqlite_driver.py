"""The one-trip SQLite adapter (storage.sqlite_driver): same answers as plain sqlite3, one trip each."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.sqlite_driver import OneTripCursor


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh SQLite file with one table, through storage.db's engine."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
    yield engine
    await engine.dispose()


async def test_statements_answer_as_sqlite_does(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": "甲"})
        assert inserted.lastrowid == 1
        many = await connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                                        [{"name": "乙"}, {"name": "丙"}, {"name": "丁"}])
        assert many.rowcount == 3
        updated = await connection.execute(text("UPDATE item SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
        result = await connection.execute(text("SELECT id, name FROM item ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert [tuple(row) for row in result] == [(1, "甲"), (2, "乙"), (3, "丙!"), (4, "丁!")]
        partial = await connection.execute(text("SELECT id FROM item ORDER BY id"))
        assert partial.fetchmany(3) == [(1,), (2,), (3,)]
        assert partial.fetchone() == (4,)
        assert partial.fetchone() is None
        empty = await connection.execute(text("SELECT id FROM item WHERE id < 0"))
        assert empty.first() is None


async def test_errors_are_sqlalchemy_errors_and_roll_back(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('甲')"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('甲')"))
    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar_one() == 0


class Trips(list[str]):
    """The functions handed to aiosqlite's thread, by name, once `start()` is called."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.monkeypatch = monkeypatch

    def start(self) -> None:
        """Record every trip from now on."""
        original = aiosqlite.Connection._execute
        trips = self

        async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            trips.append(getattr(fn, "__name__", repr(fn)))
            return await original(self, fn, *args, **kwargs)

        self.monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Trips:
    """Counts trips to aiosqlite's thread (from `trips.start()` on)."""
    return Trips(monkeypatch)


async def test_one_trip_per_statement_off_the_event_loop(engine: AsyncEngine, trips: Trips) -> None:
    threads: list[int] = []
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)  # type: ignore[union-attr]
        await raw.driver_connection.create_function(  # type: ignore[union-attr]
            "where_am_i", 0, lambda: threads.append(threading.get_ident()) or 0)
        trips.start()
        await connection.execute(text("INSERT INTO item (name) VALUES ('甲')"))
        rows = (await connection.execute(text("SELECT where_am_i(), name FROM item"))).all()
        statement_trips = list(trips)
    assert rows == [(0, "甲")]
    assert statement_trips == ["_run", "_run"]
    assert threads and threads[0] != threading.get_ident()  # sqlite3 ran in aiosqlite's thread


async def test_no_trip_to_commit_or_roll_back_what_only_read(engine: AsyncEngine, trips: Trips) -> None:
    async with engine.connect() as connection:  # a pooled connection, opened before counting
        await connection.execute(text("SELECT 1"))
    trips.start()
    async with engine.begin() as connection:
        await connection.execute(text("SELECT count(*) FROM item"))
    assert trips == ["_run"]  # no COMMIT, and no ROLLBACK when the pool takes the connection back
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('甲')"))
    assert trips == ["_run", "commit"]
    trips.clear()
    with pytest.raises(RuntimeError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('乙')"))
            raise RuntimeError("the handler failed")
    assert trips == ["_run", "rollback"]
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM item"))).scalars().all()
    assert names == ["甲"]  # committed what was committed, rolled back the rest
