"""Counter changes kept until the transaction commits, then written in one batch, in one order.

The counters (storage.tallies: team_year_tally, breakdown_year_tally; storage.activity_tallies:
activity_tally, activity_rollup; storage.report_weeks: report_week) are rows many writers share: every
签约 of the year adds to the same district row of breakdown_year_tally, every report of a squad to its
week's row. Written at each flush, a transaction held those rows locked from its first flush to its
commit, and two transactions whose flushes reached the same rows in a different order deadlocked
(PostgreSQL aborted one, and its sender was told of an error: bench/README.md, Deadlocks under load).
Kept here and written just before COMMIT, sorted by counter and key, the rows are held only for the
commit, and every writer takes them in the same order.

A read of a counter inside a transaction that changed it calls `settle_async` first, to see its own changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

Writer = Callable[[Connection, dict[Any, Any]], None]

_PENDING = "pending_counts"
_WRITERS: dict[str, tuple[int, Writer]] = {}


class LedgerSession(Session):
    """The sync session under every AsyncSession of storage.db: keeps the counters with each commit."""


def register(name: str, *, order: int, writer: Writer) -> None:
    """Declare a counter: `writer(connection, deltas)` writes its pending deltas; lower `order` goes first."""
    _WRITERS[name] = (order, writer)


def pending(session: OrmSession, name: str) -> dict[Any, Any]:
    """The counter's deltas not yet written in this transaction (key → delta), for the caller to add to."""
    if name not in _WRITERS:
        raise KeyError(f"no counter named {name!r}")
    counters: dict[str, dict[Any, Any]] = session.info.setdefault(_PENDING, {})
    return counters.setdefault(name, {})


def settle(session: OrmSession) -> None:
    """Write every pending delta now, counter by counter in their order (each writer sorts its keys)."""
    counters: dict[str, dict[Any, Any]] | None = session.info.pop(_PENDING, None)
    if not counters:
        return
    connection = session.connection()
    for name in sorted(counters, key=lambda counter: _WRITERS[counter][0]):
        if counters[name]:
            _WRITERS[name][1](connection, counters[name])


async def settle_async(session: AsyncSession) -> None:
    """`settle` from async code; free when nothing is pending (a report in its own session)."""
    if session.info.get(_PENDING):
        await session.run_sync(settle)


@event.listens_for(LedgerSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    # Flushed here so that the commit's own flush finds nothing left that would add deltas after them.
    session.flush()
    settle(session)


@event.listens_for(LedgerSession, "after_transaction_end")
def _after_transaction_end(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback (a preview, a refusal) forgets what it would have counted
        session.info.pop(_PENDING, None)
