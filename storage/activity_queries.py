"""Activity per squad and day (the activity index and 考核 read it): the counters and the events behind them.

Seven kinds are counted in `activity_tally` (storage.activity_tallies keeps it): "sign" and "land" (a live
project that reached 签约/落地 that local day, in its current squad: the year counters' rule, except that a
move awaiting a leader's 核实 counts too: the counter has no verified column),
and the events "visit" (拜访), "reception" (接待), "promo" (活动, e.g. 推介会), "lead" (线索) and "publicity"
(宣传), counted on the local day they were reported, in the squad the event names, until undone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, false, func
from sqlalchemy import select as core_select  # sqlmodel's select types at most four columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counter_writes
from storage.models import ActivityRollup, ActivityTally, Event, Project

ACTIVITY_KINDS: tuple[str, ...] = ("sign", "land", "visit", "reception", "promo", "lead", "publicity")
EVENT_ACTIVITY_KINDS: tuple[str, ...] = ("visit", "reception", "promo", "lead", "publicity")  # one event each
STAGE_ACTIVITY: dict[str, str] = {"signed": "sign", "landed": "land"}  # project stage → activity kind
_ACTIVITY_STAGE = {kind: stage for stage, kind in STAGE_ACTIVITY.items()}

TALLY_TABLE: Table = SQLModel.metadata.tables[ActivityTally.__tablename__]
ROLLUP_TABLE: Table = SQLModel.metadata.tables[ActivityRollup.__tablename__]
_UNDO = aliased(Event, name="undo")


@dataclass(frozen=True)
class ActivityItem:
    """One counted activity, for the explanation lines (`考核 德化街 本季度`).

    For the event kinds: the event. For "sign"/"land": the project that reached the stage, with
    created_at the moment it reached it, text its name, event_id the stage event when there is one
    (an imported project has none) and data its amount and current stage.
    """

    event_id: int | None
    kind: str
    created_at: datetime
    project_id: int | None
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@functools.cache
def tally_upsert(dialect_name: str) -> Any:
    """INSERT … ON CONFLICT (team, kind, day) DO UPDATE adding the new row's count to the stored one."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(TALLY_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["team_id", "kind", "day"],
        set_={"count": TALLY_TABLE.c["count"] + statement.excluded["count"]},
    )


@functools.cache
def rollup_upsert(dialect_name: str) -> Any:
    """The same upsert on the monthly and yearly roll-ups (span, first day, team, kind)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(ROLLUP_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["span", "first", "team_id", "kind"],
        set_={"count": ROLLUP_TABLE.c["count"] + statement.excluded["count"]},
    )


def rollup_rows(day_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roll-ups' deltas (its month and its year) for these (team, kind, day, count) deltas, sorted."""
    sums: dict[tuple[str, date, int, str], int] = {}
    for row in day_rows:
        day = row["day"]
        for key in (("m", day.replace(day=1), row["team_id"], row["kind"]),
                    ("y", day.replace(month=1, day=1), row["team_id"], row["kind"])):
            sums[key] = sums.get(key, 0) + row["count"]
    return [{"span": s, "first": f, "team_id": t, "kind": k, "count": n} for (s, f, t, k), n in sorted(sums.items()) if n]


def bump_activity(session: AsyncSession, *, team_id: int, kind: str, day: date, by: int = 1) -> None:
    """Add `by` (negative to take away) to a squad's count of `kind` on a local day, in the session's
    transaction (written when it commits: storage.counter_writes)."""
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"not an activity kind: {kind!r}")
    deltas = counter_writes.pending(session.sync_session, "activity")
    deltas[(team_id, kind, day)] = deltas.get((team_id, kind, day), 0) + by


async def activity_counts(session: AsyncSession, *, start: date, end: date) -> dict[int, dict[str, int]]:
    """team id → kind → count over the local days start..end inclusive (only non-zero counts)."""
    await counter_writes.settle_async(session)
    total = func.sum(col(ActivityTally.count))
    statement = (
        select(col(ActivityTally.team_id), col(ActivityTally.kind), total)
        .where(col(ActivityTally.day) >= start, col(ActivityTally.day) <= end)
        .group_by(col(ActivityTally.team_id), col(ActivityTally.kind))
    )
    counts: dict[int, dict[str, int]] = {}
    for team_id, kind, number in (await session.exec(statement)).all():
        if number:
            counts.setdefault(int(team_id), {})[str(kind)] = int(number)
    return counts


async def activity_items(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime, kinds: Sequence[str],
) -> list[ActivityItem]:
    """A squad's counted activities of `kinds` with start <= moment < end (aware datetimes), oldest first.

    The same rule as the counters: summing these per local day gives activity_tally's counts.
    """
    unknown = set(kinds) - set(ACTIVITY_KINDS)
    if unknown:
        raise ValueError(f"not activity kinds: {sorted(unknown)}")
    items = await _event_items(session, team_id, start, end, [k for k in kinds if k in EVENT_ACTIVITY_KINDS])
    for kind in kinds:
        if kind in _ACTIVITY_STAGE:
            items += await _stage_items(session, team_id, start, end, kind)
    items.sort(key=lambda item: (item.created_at, item.event_id or 0, item.project_id or 0))
    return items


async def _rows(session: AsyncSession, statement: Any) -> list[Any]:
    connection = await session.connection()
    return list((await connection.execute(statement)).all())


async def _event_items(
    session: AsyncSession, team_id: int, start: datetime, end: datetime, kinds: list[str],
) -> list[ActivityItem]:
    if not kinds:
        return []
    undo = _UNDO
    statement = (
        core_select(col(Event.id), col(Event.kind), col(Event.created_at), col(Event.project_id), col(Event.text),
               col(Event.data))
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(col(Event.team_id) == team_id, col(Event.kind).in_(kinds), col(Event.created_at) >= start,
               col(Event.created_at) < end, col(undo.id).is_(None))
    )
    return [
        ActivityItem(event_id=event_id, kind=kind, created_at=created_at, project_id=project_id, text=text,
                     data=json.loads(data or "{}"))
        for event_id, kind, created_at, project_id, text, data in (await _rows(session, statement))
    ]


async def _stage_items(session: AsyncSession, team_id: int, start: datetime, end: datetime,
                       kind: str) -> list[ActivityItem]:
    stage = _ACTIVITY_STAGE[kind]
    reached = col(getattr(Project, f"{stage}_at"))
    stage_event = (
        select(func.max(col(Event.id)))
        .where(and_(col(Event.project_id) == col(Project.id), col(Event.to_stage) == stage,
                    col(Event.kind).in_(("stage", "create"))))
        .correlate(Project)
        .scalar_subquery()
    )
    statement = (
        core_select(col(Project.id), col(Project.name), reached, col(Project.amount_yuan), col(Project.stage), stage_event)
        .where(col(Project.team_id) == team_id, col(Project.removed) == false(), col(Project.stage) != "dropped",
               reached >= start, reached < end)
    )
    return [
        ActivityItem(event_id=event_id, kind=kind, created_at=moment, project_id=project_id, text=name,
                     data={"amount_yuan": amount, "stage": current})
        for project_id, name, moment, amount, current, event_id in (await _rows(session, statement))
    ]
