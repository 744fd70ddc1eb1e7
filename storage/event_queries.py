"""The event log: appending events, touching their project, and what undo needs (the last undoable event, what came after)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    Table,
    bindparam,
    insert,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import activity_tallies, report_weeks
from storage.limits import clip_to
from storage.models import (
    ADMIN_EVENT_KINDS,
    Event,
    Member,
    Project,
)

# The undo events joined against the events they reverse. Built once: a select over a fresh alias is several
# times dearer for SQLAlchemy to build, on every 查 and 撤销 (bench/README.md, ingest, first round).
_UNDO = aliased(Event, name="undo")
# What 撤销 never takes back: an undo itself, and running the district (roles, roster, squads, bindings).
_NOT_UNDONE = ("undo", *ADMIN_EVENT_KINDS)



# Every change appends an event and stamps its project, and every stored message leaves an inbox row: these
# rows are written as plain statements on the session's connection, not by the ORM's unit of work. Nothing
# reads them back as objects in the same message and no flush hook watches them (the year counters and the
# name index follow the counted fields and names, not the timestamps), and a flush cost a 进展 a third of
# its time. Built once, with bound parameters.
_EVENT_TABLE: Table = Event.__table__  # type: ignore[attr-defined]  # SQLModel adds __table__ at runtime
_PROJECT_TABLE: Table = Project.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id)
_TOUCH_PROJECT = (
    update(_PROJECT_TABLE).where(_PROJECT_TABLE.c.id == bindparam("project"))
    .values(updated_at=bindparam("moment"), last_event_at=bindparam("moment"))
)


class Undone(NamedTuple):
    """The event an undo takes back, as the counters need it: its kind, squad and moment."""

    kind: str
    team_id: int | None
    created_at: datetime


_UNDONE = select(col(Event.kind), col(Event.team_id), col(Event.created_at)).where(col(Event.id) == bindparam("id"))


async def add_event(
    session: AsyncSession, *, project_id: int | None, member_id: int | None, team_id: int | None, kind: str,
    from_stage: str, to_stage: str, text: str, data: str, undoes_event_id: int | None, source_platform: str,
    source_chat: str, source_message_id: str, created_at: datetime,
) -> int:
    """Append one event row and return its id (an activity event, or its undo, is counted in activity_tally)."""
    connection = await session.connection()
    result = await connection.execute(_INSERT_EVENT, {
        "project_id": project_id, "member_id": member_id, "team_id": team_id, "kind": kind,
        "from_stage": from_stage, "to_stage": to_stage, "text": text, "data": data,
        "undoes_event_id": undoes_event_id, "source_platform": source_platform, "source_chat": source_chat,
        "source_message_id": source_message_id, "created_at": created_at,
    })
    event_id = int(result.scalar_one())
    undone: Undone | None = None
    if kind == "undo" and undoes_event_id is not None:  # read once: both counters take the undone event back
        row = (await connection.execute(_UNDONE, {"id": undoes_event_id})).first()
        undone = Undone(str(row[0]), row[1], row[2]) if row is not None else None
    report_weeks.count_report(session, kind=kind, team_id=team_id, created_at=created_at, undone=undone)
    activity_tallies.count_event(session, kind=kind, team_id=team_id, created_at=created_at, undone=undone)
    return event_id


async def touch_project(session: AsyncSession, *, project: Project, now: datetime) -> None:
    """Stamp a project's updated_at and last_event_at, in the database and on the object, without a flush.

    The object's other pending changes (a stage move) are still flushed by the ORM at commit.
    """
    if project.updated_at == now and project.last_event_at == now:  # created in this message
        return
    connection = await session.connection()
    await connection.execute(_TOUCH_PROJECT, {"project": project.id, "moment": now})
    set_committed_value(project, "updated_at", now)
    set_committed_value(project, "last_event_at", now)

async def last_undoable_event(session: AsyncSession, *, member_id: int, since: datetime) -> Event | None:
    """The member's most recent change since `since` that has not been undone yet."""
    undo = _UNDO
    statement = (
        select(Event)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(
            Event.member_id == member_id,
            col(Event.kind).not_in(_NOT_UNDONE),
            col(Event.created_at) >= since,
            col(undo.id).is_(None),
        )
        .order_by(col(Event.created_at).desc(), col(Event.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def undoable_events(session: AsyncSession, *, member_id: int, since: datetime) -> Sequence[Event]:
    """The member's changes since `since` that have not been undone yet, newest first."""
    undo = _UNDO
    statement = (
        select(Event)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(Event.member_id == member_id, col(Event.kind).not_in(_NOT_UNDONE), col(Event.created_at) >= since,
               col(undo.id).is_(None))
        .order_by(col(Event.created_at).desc(), col(Event.id).desc())
    )
    return (await session.exec(statement)).all()


async def mark_unchanged(session: AsyncSession, *, member_id: int, text: str, now: datetime) -> None:
    """Remember that the member's latest update changed nothing (for the next 撤销)."""
    connection = await session.connection()
    await connection.execute(update(Member).where(col(Member.id) == member_id)
                             .values(last_unchanged_at=now, last_unchanged_text=clip_to("member", "last_unchanged_text", text)))


async def is_undone(session: AsyncSession, *, event_id: int) -> bool:
    """Whether an undo event already reverses this event."""
    statement = select(Event.id).where(Event.undoes_event_id == event_id)
    return (await session.exec(statement)).first() is not None
