"""SQLite through aiosqlite with one trip to its thread per statement: a DB-API shim for SQLAlchemy.

SQLAlchemy's aiosqlite adapter makes four trips to the connection's thread for every statement (open a
cursor, execute, fetch, close), each a queue hand-off, a GIL switch and a wake-up of the event loop. A
primary-key select through the ORM cost 316 µs of CPU that way, 159 µs in one trip, and 60 µs on plain
sqlite3 without the thread (a new-project 签约 runs 13 statements). No library offers a cheaper bridge
that keeps SQLite off the event loop, so this shim does the whole statement in one trip: execute, read the
description, the rows, the row count and the last row id, close the cursor, and serve the rows from
memory. Everything else (connections, transactions, errors, the pool) stays SQLAlchemy's aiosqlite
dialect: storage.db gives the engine this shim (`create_async_engine(..., module=one_trip_dbapi())`).

The thread is still aiosqlite's, reached through `Connection._execute` (private, as is the queue
SQLAlchemy's own adapter uses to set the isolation level); pyproject.toml pins the versions this was
written against and tests/test_sqlite_driver.py checks the one trip and the answers.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """Runs in aiosqlite's thread: the whole statement, results included."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """A DB-API cursor whose statement ran in one trip; results are served from memory."""

    server_side = False
    __slots__ = ("_adapt_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, adapt_connection: OneTripConnection) -> None:
        self._adapt_connection = adapt_connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _perform(self, operation: str, parameters: Any, many: bool) -> None:
        adapt = self._adapt_connection
        try:
            outcome: _Outcome = await_(adapt._connection._execute(_run, adapt._connection._conn, operation,
                                                                  parameters, many))
        except Exception as error:
            adapt._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        """Run one statement."""
        self._perform(operation, parameters, many=False)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        """Run one statement for each set of parameters."""
        self._perform(operation, seq_of_parameters, many=True)

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` rows."""
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def close(self) -> None:
        """Drop unread rows (the sqlite3 cursor was closed in its thread)."""
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's async result hook: the cursor is already closed and its rows are in memory."""

    def setinputsizes(self, *sizes: Any) -> None:
        """Nothing to do (DB-API)."""

    def nextset(self) -> None:
        """SQLite has one result set per statement (DB-API)."""


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, with one-trip cursors (server-side ones unchanged)."""

    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # duck-typed DB-API cursor

    def _in_transaction(self) -> bool:
        # sqlite3 begins a transaction at the first write, so a message that only read has none; reading
        # the flag from this thread is safe while no statement of this connection is in flight, which is
        # whenever SQLAlchemy commits, rolls back or returns the connection to the pool.
        raw = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        """Commit, without a trip to the thread when nothing was written."""
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        """Roll back, without a trip when nothing was written (the pool rolls back every returned connection)."""
        if self._in_transaction():
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DB-API shim, handing out OneTripConnection."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        """Open an aiosqlite connection wrapped in the one-trip adapter."""
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """The DB-API module to give `create_async_engine(..., module=...)` for a `sqlite+aiosqlite` URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
