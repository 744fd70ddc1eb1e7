"""Keeps `activity_tally` (storage.activity_queries) in step with the projects and the events.

- "sign"/"land": every ORM flush of a session from storage.db.session_factory subtracts a changed project's
  old contribution and adds its new one, like the year counters (storage.tallies), so every path that moves
  a stage (a command, a confirmed reading, the import, 撤销, 放弃, 转交) keeps them right. A project
  contributes one to (its squad, "sign", the local day of signed_at) and likewise for landed_at, while it
  is live (not removed, not dropped).
- The event kinds: storage.event_queries.add_event counts each activity event as it appends it (+1 on
  the local day of its created_at, for its team) and each undo of one (−1 on the same day and team).
- Both wait in the session and are written just before the transaction commits (storage.counter_writes).
- Writes that bypass both (backup restore, a bulk load) and a change of time zone call `rebuild`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session, col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counter_writes
from storage.activity_queries import (
    EVENT_ACTIVITY_KINDS,
    ROLLUP_TABLE,
    STAGE_ACTIVITY,
    TALLY_TABLE,
    bump_activity,
    rollup_rows,
    rollup_upsert,
    tally_upsert,
)
from storage.counter_writes import LedgerSession
from storage.models import Event, Project
from storage.moments import local_day
from storage.tallies import flush_zone, project_changes

if TYPE_CHECKING:
    from storage.event_queries import Undone

TRACKED: tuple[str, ...] = ("team_id", "stage", "removed", "signed_at", "landed_at")
Key = tuple[int, str, date]  # team id, kind, local day


def contribution(values: Mapping[str, Any], tz: tzinfo) -> Iterator[Key]:
    """The (team, kind, day) counts a project with these field values adds: its 签约 and 落地 days."""
    if values["removed"] or values["stage"] == "dropped":
        return
    for stage, kind in STAGE_ACTIVITY.items():
        moment = values[f"{stage}_at"]
        if moment is not None:
            yield int(values["team_id"]), kind, local_day(moment, tz)


def _apply(connection: Connection, deltas: Mapping[Key, int]) -> None:
    rows = [{"team_id": team_id, "kind": kind, "day": day, "count": n}
            for (team_id, kind, day), n in sorted(deltas.items()) if n]
    if rows:  # sorted keys: concurrent writers lock rows in the same order
        connection.execute(tally_upsert(connection.dialect.name), rows)
        if rollups := rollup_rows(rows):
            connection.execute(rollup_upsert(connection.dialect.name), rollups)


@event.listens_for(LedgerSession, "before_flush")
def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    changes = project_changes(session, TRACKED)
    if not changes:
        return
    tz = flush_zone(session)
    deltas = counter_writes.pending(session, "activity")
    for values, sign in changes:
        for key in contribution(values, tz):
            deltas[key] = deltas.get(key, 0) + sign


counter_writes.register("activity", order=30, writer=_apply)


def count_event(
    session: AsyncSession, *, kind: str, team_id: int | None, created_at: datetime, undone: Undone | None,
) -> None:
    """Count an event just appended: +1 for an activity event, −1 for the undo of one (same team and day),
    written when the transaction commits (storage.counter_writes)."""
    if kind in EVENT_ACTIVITY_KINDS and team_id is not None:
        kind_day = (team_id, kind, created_at)
    elif undone is not None and undone.kind in EVENT_ACTIVITY_KINDS and undone.team_id is not None:
        kind_day = (undone.team_id, undone.kind, undone.created_at)
    else:
        return
    tz = session.info.get("tz")
    if tz is None:
        raise RuntimeError("a session that writes events needs info['tz'] (storage.db.session_factory)")
    by = 1 if undone is None else -1
    bump_activity(session, team_id=kind_day[0], kind=kind_day[1], day=local_day(kind_day[2], tz), by=by)


def tally_projects(counts: Counter[Key], projects: Iterable[Mapping[str, Any]], tz: tzinfo) -> None:
    """Add these projects' (TRACKED fields) 签约/落地 days to `counts`."""
    for values in projects:
        for key in contribution(values, tz):
            counts[key] += 1


def tally_events(counts: Counter[Key], events: Iterable[Mapping[str, Any]], tz: tzinfo) -> None:
    """Add these live activity events (team_id, kind, created_at) to `counts`."""
    for row in events:
        counts[(int(row["team_id"]), str(row["kind"]), local_day(row["created_at"], tz))] += 1


def rebuild(connection: Connection, tz: tzinfo) -> None:
    """Recompute activity_tally from the projects and the events not undone (sync: run it via run_sync)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE activity_tally, activity_rollup IN EXCLUSIVE MODE"))
    connection.execute(delete(TALLY_TABLE))
    connection.execute(delete(ROLLUP_TABLE))
    counts: Counter[Key] = Counter()
    projects = connection.execute(
        select(*(getattr(Project, name) for name in TRACKED))
        .where(col(Project.removed).is_not(True), col(Project.stage) != "dropped")
        .execution_options(yield_per=5000)
    )
    tally_projects(counts, (dict(row) for row in projects.mappings()), tz)
    undo = aliased(Event, name="undo")
    events = connection.execute(
        select(col(Event.team_id), col(Event.kind), col(Event.created_at))
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(col(Event.kind).in_(EVENT_ACTIVITY_KINDS), col(Event.team_id).is_not(None), col(undo.id).is_(None))
        .execution_options(yield_per=5000)
    )
    tally_events(counts, (dict(row) for row in events.mappings()), tz)
    _apply(connection, counts)
