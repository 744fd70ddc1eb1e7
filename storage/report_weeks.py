"""Keeps `report_week` (storage.models.ReportWeek): per squad and local week, its reports not undone.

考核 deducts points for a week in which no member of a squad reported anything. Probing the events for
every squad and week costs 2,000 × 52 index probes for a year (half a second on PostgreSQL); this counter
answers with one range over a few rows per squad. It is kept by storage.event_queries.add_event: +1 when a
report (SQUAD_REPORT_KINDS) is appended for a squad, −1 when one is undone (same squad and week). Writes
that bypass it (backup restore, a bulk load) and a change of time zone call `rebuild`.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counter_writes
from storage.models import Event, ReportWeek
from storage.moments import local_day
from storage.report_queries.common import REPORT_KINDS

if TYPE_CHECKING:
    from storage.event_queries import Undone

# What counts as a squad's report: its own updates of every kind (not a leader's 核实 or 转交, not an undo,
# not the administration events).
SQUAD_REPORT_KINDS: tuple[str, ...] = tuple(dict.fromkeys(
    (*REPORT_KINDS, "funds", "reception", "promo", "lead", "publicity")))
TABLE: Table = SQLModel.metadata.tables[ReportWeek.__tablename__]


def week_of(moment: datetime, tz: tzinfo) -> date:
    """The local Monday of the week `moment` falls in (a naive moment is UTC, as SQLite returns it raw)."""
    day = local_day(moment, tz)
    return day - timedelta(days=day.weekday())


@functools.cache
def _upsert(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(TABLE)
    return statement.on_conflict_do_update(
        index_elements=["team_id", "week"], set_={"reports": TABLE.c.reports + statement.excluded.reports})


def count_report(
    session: AsyncSession, *, kind: str, team_id: int | None, created_at: datetime, undone: Undone | None,
) -> None:
    """Count an event just appended: +1 for a squad's report, −1 for the undo of one (same squad and week),
    written when the transaction commits (storage.counter_writes)."""
    if kind in SQUAD_REPORT_KINDS and team_id is not None:
        _bump(session, team_id, created_at, +1)
    elif undone is not None and undone.kind in SQUAD_REPORT_KINDS and undone.team_id is not None:
        _bump(session, undone.team_id, undone.created_at, -1)


def _bump(session: AsyncSession, team_id: int, created_at: datetime, by: int) -> None:
    tz = session.info.get("tz")
    if tz is None:
        raise RuntimeError("a session that writes events needs info['tz'] (storage.db.session_factory)")
    deltas = counter_writes.pending(session.sync_session, "report_week")
    key = (team_id, week_of(created_at, tz))
    deltas[key] = deltas.get(key, 0) + by


def _write(connection: Connection, deltas: dict[tuple[int, date], int]) -> None:
    rows = [{"team_id": team_id, "week": week, "reports": n} for (team_id, week), n in sorted(deltas.items()) if n]
    if rows:  # sorted keys: concurrent writers lock rows in the same order
        connection.execute(_upsert(connection.dialect.name), rows)


counter_writes.register("report_week", order=40, writer=_write)


def rebuild(connection: Connection, tz: tzinfo) -> None:
    """Recompute report_week from the events not undone (sync: run it via run_sync)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE report_week IN EXCLUSIVE MODE"))
    connection.execute(delete(TABLE))
    undo = aliased(Event, name="undo")
    events = connection.execute(
        select(col(Event.team_id), col(Event.created_at))
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(col(Event.kind).in_(SQUAD_REPORT_KINDS), col(Event.team_id).is_not(None), col(undo.id).is_(None))
        .execution_options(yield_per=10000)
    )
    counts: Counter[tuple[int, date]] = Counter()
    for team_id, created_at in events:
        counts[(int(team_id or 0), week_of(created_at, tz))] += 1  # team_id IS NOT NULL above
    rows = [{"team_id": t, "week": w, "reports": n} for (t, w), n in sorted(counts.items())]
    if rows:
        connection.execute(_upsert(connection.dialect.name), rows)
