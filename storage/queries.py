"""Keyword-only queries the command handlers use (reports have their own, in report_queries.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    exists,
    func,
    update,
)
from sqlalchemy import select as columns_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Event,
    Identity,
    Member,
    Problem,
    Project,
    Target,
    Team,
)

# The undo events joined against the events they reverse. Built once: a select over a fresh alias is several
# times dearer for SQLAlchemy to build, on every 查 and 撤销 (bench/README.md, ingest, first round).
_UNDO = aliased(Event, name="undo")



# --- people and squads ----------------------------------------------------------------------------

# Every message asks, so the statement is built (and its cache key computed) once, with a bound parameter.
_MEMBER_AND_TEAM = (
    select(Member, Team)
    .join(Identity, col(Identity.member_id) == col(Member.id))
    .join(Team, col(Team.id) == col(Member.team_id), isouter=True)
    .where(col(Identity.identity) == bindparam("identity"))
)


async def member_and_team(session: AsyncSession, *, identity: str) -> tuple[Member | None, Team | None]:
    """The member a platform identity belongs to and their team, in one query (every message asks)."""
    row = (await session.exec(_MEMBER_AND_TEAM, params={"identity": identity})).first()
    return (row[0], row[1]) if row is not None else (None, None)


_SIBLING = aliased(Identity, name="sibling")


def _granted(names: str) -> Any:
    """Whether any identity of the member is in the list bound as `names` (a role from the settings)."""
    return exists().where(col(_SIBLING.member_id) == col(Member.id),
                          col(_SIBLING.identity).in_(bindparam(names, expanding=True)))


# The sender, their squad, and whether any of the person's identities is in ZSBOT_ADMINS / ZSBOT_LEADERS: a
# linked identity is the same person with the same roles, read from the settings on every message.
_MEMBER_TEAM_ROLES = (
    select(Member, Team, _granted("admins"), _granted("leaders"))
    .join(Identity, col(Identity.member_id) == col(Member.id))
    .join(Team, col(Team.id) == col(Member.team_id), isouter=True)
    .where(col(Identity.identity) == bindparam("identity"))
)


async def member_team_roles(
    session: AsyncSession, *, identity: str, admins: Sequence[str], leaders: Sequence[str],
) -> tuple[Member | None, Team | None, bool, bool]:
    """The member an identity belongs to, their team, and whether the person is an admin or a leader by the
    settings (any of their identities listed), in one query."""
    params = {"identity": identity, "admins": list(admins), "leaders": list(leaders)}
    row = (await session.exec(_MEMBER_TEAM_ROLES, params=params)).first()
    if row is None:
        return None, None, False, False
    return row[0], row[1], bool(row[2]), bool(row[3])


async def add_member(
    session: AsyncSession, *, identity: str, name: str, now: datetime, team_id: int | None = None,
    role: str = "member",
) -> Member:
    """Create a member with its first identity."""
    member = Member(name=name or identity, team_id=team_id, role=role, created_at=now)
    session.add(member)
    await session.flush()
    assert member.id is not None
    session.add(Identity(identity=identity, member_id=member.id, display_name=name, created_at=now))
    await session.flush()
    return member


async def add_identity(session: AsyncSession, *, identity: str, member_id: int, name: str, now: datetime) -> None:
    """Link one more platform identity to an existing member."""
    session.add(Identity(identity=identity, member_id=member_id, display_name=name, created_at=now))
    await session.flush()


async def member_has_history(session: AsyncSession, *, member_id: int) -> bool:
    """Whether a member has any event of their own (then merging them away would lose attribution)."""
    return (await session.exec(select(Event.id).where(Event.member_id == member_id).limit(1))).first() is not None


async def move_identities(session: AsyncSession, *, from_member: int, to_member: int) -> None:
    """Re-point every identity of one member at another."""
    for row in (await session.exec(select(Identity).where(Identity.member_id == from_member))).all():
        row.member_id = to_member
        session.add(row)
    await session.flush()


async def team_by_id(session: AsyncSession, *, team_id: int) -> Team | None:
    """A team by its id."""
    return await session.get(Team, team_id)


# SQLite has no row lock: a no-op write takes the database's write lock, the whole hold there (FOR UPDATE is
# not rendered on SQLite), so no second statement. Built once, like the project's below.
_SQLITE_TEAM_WRITE_LOCK = update(Team).where(col(Team.id) == bindparam("team_id")).values(name=Team.name)
# FOR NO KEY UPDATE, not FOR UPDATE: every row that references the squad (a project, an event, a 撞单 row
# naming another squad) takes a KEY SHARE lock on it, which FOR UPDATE blocks. Two squads creating the same
# company at once each held their own squad and waited for the other's to write the clash row: a deadlock.
_LOCKED_TEAM = (columns_select(col(Team.id)).where(col(Team.id) == bindparam("team_id"))
                .with_for_update(key_share=True))


async def lock_team(session: AsyncSession, *, team_id: int) -> None:
    """Hold a squad for the rest of the transaction (as locked_project holds a project)."""
    connection = await session.connection()
    sqlite = connection.dialect.name == "sqlite"
    await connection.execute(_SQLITE_TEAM_WRITE_LOCK if sqlite else _LOCKED_TEAM, {"team_id": team_id})


_TEAM_NAMES = columns_select(col(Team.id), col(Team.name)).where(col(Team.id).in_(bindparam("ids", expanding=True)))


async def team_names_by_id(session: AsyncSession, *, team_ids: Collection[int]) -> dict[int, str]:
    """The names of these teams, in one query (a "which one?" question lists projects of several squads)."""
    connection = await session.connection()
    rows = await connection.execute(_TEAM_NAMES, {"ids": list(team_ids)})
    return {team_id: name for team_id, name in rows if team_id is not None}


async def team_by_name(session: AsyncSession, *, name: str) -> Team | None:
    """A team by its exact name (case-insensitive for Latin names)."""
    statement = select(Team).where(func.lower(Team.name) == name.strip().lower())
    return (await session.exec(statement)).first()


async def team_by_invite(session: AsyncSession, *, code: str) -> Team | None:
    """The team whose invite code this is (codes are case-insensitive to be phone-friendly)."""
    statement = select(Team).where(func.lower(Team.invite_code) == code.strip().lower())
    return (await session.exec(statement)).first()


async def team_names(session: AsyncSession) -> list[str]:
    """All team names, alphabetically (for suggestions in refusals)."""
    return list((await session.exec(select(Team.name).order_by(Team.name))).all())


# --- projects -------------------------------------------------------------------------------------

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
