"""One project at a time, for the command handlers: by id, held for a change, its history and open
problems (reports have their own queries, in storage/report_queries/); and a target row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    bindparam,
    func,
    update,
)
from sqlalchemy import select as columns_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Event,
    Member,
    Problem,
    Project,
    Target,
)

# The undo events joined against the events they reverse. Built once: a select over a fresh alias is several
# times dearer for SQLAlchemy to build, on every 查 and 撤销 (bench/README.md, ingest, first round).
_UNDO = aliased(Event, name="undo")



async def project_by_id(session: AsyncSession, *, project_id: int) -> Project | None:
    """A project by id, unless its creation was undone."""
    project = await session.get(Project, project_id)
    return None if project is None or project.removed else project


_LOCKED_PROJECT = (
    select(Project).where(col(Project.id) == bindparam("project_id")).with_for_update(key_share=True)
    .execution_options(populate_existing=True)  # NO KEY UPDATE: rows referencing it need not wait (see above)
)
# SQLite has no row lock: a no-op write takes the database's write lock instead (see lock_project), and
# its RETURNING reads the row under it, in the same statement.
_SQLITE_LOCKED_PROJECT = (
    update(Project).where(col(Project.id) == bindparam("project_id")).values(updated_at=Project.updated_at)
    .returning(Project).execution_options(populate_existing=True, synchronize_session=False)
)


async def locked_project(session: AsyncSession, *, project_id: int) -> Project | None:
    """A project by id, held for the rest of the transaction and read after taking the hold (None if
    missing). One read where looking it up and then locking it took two (see handlers.projects.lock_project)."""
    bind = session.bind
    params = {"project_id": project_id}
    if bind is not None and bind.dialect.name == "sqlite":
        project: Project | None = (await session.exec(_SQLITE_LOCKED_PROJECT, params=params)).scalars().first()
        return project
    return (await session.exec(_LOCKED_PROJECT, params=params)).first()


async def team_projects(session: AsyncSession, *, team_id: int) -> Sequence[Project]:
    """A team's live projects (not removed), by stage order then id."""
    statement = select(Project).where(Project.team_id == team_id, col(Project.removed).is_(False)).order_by(
        col(Project.id)
    )
    return (await session.exec(statement)).all()


class HistoryLine(NamedTuple):
    """One event as a project's history shows it: who did what, and whether it was undone."""

    id: int
    member_id: int | None
    kind: str
    to_stage: str
    text: str
    created_at: datetime
    actor: str
    undone: bool


# Every 查 asks, so built once, as columns: fifteen Event objects cost more than reading them.
_PROJECT_EVENTS = (
    columns_select(col(Event.id), col(Event.member_id), col(Event.kind), col(Event.to_stage), col(Event.text),
                   col(Event.created_at), func.coalesce(col(Member.name), ""), col(_UNDO.id).is_not(None))
    .join(Member, col(Member.id) == col(Event.member_id), isouter=True)
    .join(_UNDO, col(_UNDO.undoes_event_id) == col(Event.id), isouter=True)
    .where(col(Event.project_id) == bindparam("project_id"), col(Event.kind) != "undo")
    .order_by(col(Event.created_at).desc(), col(Event.id).desc())
    .limit(bindparam("limit"))
)


async def project_events(session: AsyncSession, *, project_id: int, limit: int = 15) -> list[HistoryLine]:
    """A project's latest events, newest first, with the actor's name and whether it was undone."""
    connection = await session.connection()
    rows = await connection.execute(_PROJECT_EVENTS, {"project_id": project_id, "limit": limit})
    return [HistoryLine(id=int(row[0] or 0), member_id=row[1], kind=row[2], to_stage=row[3], text=row[4], created_at=row[5],
                        actor=row[6], undone=bool(row[7])) for row in rows]


async def later_events(session: AsyncSession, *, project_id: int, after_id: int) -> list[tuple[Event, str]]:
    """A project's events after `after_id` that still stand (not undone, not undos), oldest first, each with
    its actor's name: what an undo of the earlier event would pull the ground from under."""
    undo = _UNDO
    statement = (
        select(Event, func.coalesce(col(Member.name), ""))
        .join(Member, col(Member.id) == col(Event.member_id), isouter=True)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(col(Event.project_id) == project_id, col(Event.id) > after_id, col(Event.kind) != "undo",
               col(undo.id).is_(None))
        .order_by(col(Event.id))
    )
    return [(event, name) for event, name in (await session.exec(statement)).all()]


_OPEN_PROBLEMS = select(Problem).where(
    col(Problem.project_id) == bindparam("project_id"), col(Problem.resolved_at).is_(None),
    col(Problem.withdrawn).is_(False),
).order_by(col(Problem.opened_at), col(Problem.id))


async def open_problems(session: AsyncSession, *, project_id: int) -> Sequence[Problem]:
    """A project's open problems, oldest first."""
    return (await session.exec(_OPEN_PROBLEMS, params={"project_id": project_id})).all()


async def target_row(session: AsyncSession, *, year: int, scope: str, stage: str) -> Target | None:
    """One stored target (a year's number for the district or a squad, for one stage), if set."""
    statement = select(Target).where(col(Target.year) == year, col(Target.scope) == scope, col(Target.stage) == stage)
    return (await session.exec(statement)).first()
