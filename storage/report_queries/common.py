"""What the report queries share: the report event kinds, stage columns and filters (live, not undone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    true,
)
from sqlalchemy import cast as sql_cast  # typing.cast is `cast` here
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.models import (
    Event,
    Project,
)

GroupBy = Literal["team", "wheel", "industry", "zone"]

# Event kinds that are a squad's own report (a leader's 核实 and an undo are not).
REPORT_KINDS: tuple[str, ...] = (
    "create", "stage", "note", "visit", "problem", "resolve", "edit", "drop", "expect", "evidence",
)

_STAGE_COLUMNS = {
    "planned": col(Project.planned_at),
    "attracting": col(Project.attracting_at),
    "signed": col(Project.signed_at),
    "landed": col(Project.landed_at),
}
_VERIFIED_COLUMNS = {
    "signed": col(Project.signed_verified_at),
    "landed": col(Project.landed_verified_at),
}


def _sum(condition: ColumnElement[bool], value: Any = 1) -> Any:
    # Cast: PostgreSQL sums BIGINT into NUMERIC, which asyncpg decodes into Decimal (a third of a
    # 2,000-team tally's client time); the amounts fit BIGINT by far.
    return sql_cast(func.coalesce(func.sum(case((condition, value), else_=0)), 0), BigInteger)


def within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    """`start <= column < end`."""
    return and_(column >= start, column < end)


def _not_removed() -> ColumnElement[bool]:
    """Projects whose creation was not undone.

    Written as IS NOT TRUE rather than = false on purpose: almost every project matches, and SQLite's
    planner would otherwise walk the `removed` index row by row instead of scanning the table.
    """
    return col(Project.removed).is_not(true())


def live_projects() -> ColumnElement[bool]:
    """Projects in the funnel: not removed (creation undone), not dropped."""
    return and_(_not_removed(), col(Project.stage) != "dropped")


def _kind_in(kinds: Sequence[str]) -> ColumnElement[bool]:
    """`event.kind IN kinds`, written so no planner answers it from the `kind` index.

    Nearly every event has one of these kinds, and the queries using this also bound `created_at` to a
    day or a week: that range is the selective part. Without statistics SQLite prefers the equality
    test on the kind index and walks millions of events (bench/README.md, Reports); `kind || ''` is the
    same value, but no index covers it.
    """
    return col(Event.kind).concat("").in_(tuple(kinds))


_UNDO = aliased(Event, name="undo")  # built once: statements over a fresh alias are slow to build


def _not_undone() -> ColumnElement[bool]:
    """Events that are not undo events and were not undone by a later one."""
    undo = _UNDO
    return and_(
        col(Event.kind) != "undo",
        ~exists().where(col(undo.undoes_event_id) == col(Event.id)),
    )
