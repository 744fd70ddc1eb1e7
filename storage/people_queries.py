"""Who sends a message: members, their identities and squads (the sender's lookup, joining, merging
identities, the squad held while a project is created)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

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
    Team,
)

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
