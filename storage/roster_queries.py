"""The queries behind running the district from the chat: members by name, roles, bindings, code attempts,
and the CLI's lists of members and squads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, or_, update
from sqlalchemy import select as columns_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatBinding, CodeAttempt, Identity, Member, Target, Team


async def members_named(session: AsyncSession, *, name: str, team_id: int | None = None) -> Sequence[Member]:
    """Members whose name (or one identity's display name) is `name`, in a squad when given."""
    by_identity = select(Identity.member_id).where(col(Identity.display_name) == name)
    statement = select(Member).where(or_(col(Member.name) == name, col(Member.id).in_(by_identity)))
    if team_id is not None:
        statement = statement.where(col(Member.team_id) == team_id)
    return (await session.exec(statement.order_by(col(Member.id)))).all()


async def member_by_id(session: AsyncSession, *, member_id: int) -> Member | None:
    """A member by id."""
    return await session.get(Member, member_id)


async def member_by_link_code(session: AsyncSession, *, code: str) -> Member | None:
    """The member holding this link code (expired or not), if any."""
    return (await session.exec(select(Member).where(col(Member.link_code) == code))).first()


async def identities_of(session: AsyncSession, *, member_id: int) -> list[str]:
    """A person's platform identities, oldest first (where to tell them something)."""
    statement = select(Identity.identity).where(col(Identity.member_id) == member_id).order_by(col(Identity.id))
    return list((await session.exec(statement)).all())


async def captains_of(session: AsyncSession, *, team_id: int) -> Sequence[Member]:
    """A squad's captains."""
    statement = select(Member).where(col(Member.team_id) == team_id, col(Member.role) == "captain")
    return (await session.exec(statement.order_by(col(Member.id)))).all()


async def rename_team(session: AsyncSession, *, team: Team, name: str) -> None:
    """Give a squad a new name."""
    team.name = name
    session.add(team)
    await session.flush()


async def bindings(session: AsyncSession, *, team_id: int | None = None,
                   leaders: bool = False) -> Sequence[ChatBinding]:
    """The bindings of a squad, of the leaders (leaders=True), or all (neither given)."""
    statement = select(ChatBinding)
    if team_id is not None:
        statement = statement.where(col(ChatBinding.team_id) == team_id)
    elif leaders:
        statement = statement.where(col(ChatBinding.is_leaders).is_(True))
    return (await session.exec(statement.order_by(col(ChatBinding.id)))).all()


async def delete_binding(session: AsyncSession, *, binding_id: int) -> None:
    """Remove a binding (its job ledger rows stay, as history)."""
    connection = await session.connection()
    await connection.execute(delete(ChatBinding).where(col(ChatBinding.id) == binding_id))


async def add_code_attempt(session: AsyncSession, *, identity: str, kind: str, now: datetime,
                           message_id: str = "") -> None:
    """Count one wrong invite or link code."""
    session.add(CodeAttempt(identity=identity, kind=kind, created_at=now, message_id=message_id))
    await session.flush()


async def code_attempt_counted(session: AsyncSession, *, identity: str, message_id: str) -> bool:
    """Whether this platform message's guess was counted already (it is being redelivered)."""
    statement = select(CodeAttempt.id).where(col(CodeAttempt.identity) == identity,
                                             col(CodeAttempt.message_id) == message_id)
    return (await session.exec(statement)).first() is not None


async def code_attempts(session: AsyncSession, *, kind: str, since: datetime, identity: str | None = None) -> int:
    """Wrong codes of a kind since a moment, by one identity or district-wide."""
    statement = select(func.count()).select_from(CodeAttempt).where(
        col(CodeAttempt.kind) == kind, col(CodeAttempt.created_at) >= since)
    if identity is not None:
        statement = statement.where(col(CodeAttempt.identity) == identity)
    return int((await session.exec(statement)).one())


async def prune_code_attempts(session: AsyncSession, *, before: datetime) -> None:
    """Forget wrong codes older than any window counts."""
    connection = await session.connection()
    await connection.execute(delete(CodeAttempt).where(col(CodeAttempt.created_at) < before))


async def members_of_identities(session: AsyncSession, *, identities: Sequence[str]) -> list[int]:
    """The member ids the given identities belong to (unknown identities skipped)."""
    if not identities:
        return []
    rows = await session.exec(select(Identity.member_id).where(col(Identity.identity).in_(list(identities))))
    return sorted({member_id for member_id in rows.all() if member_id is not None})


async def void_link_codes(session: AsyncSession) -> list[int]:
    """Take back every outstanding link code; returns their owners' ids."""
    owners = list((await session.exec(select(Member.id).where(col(Member.link_code).is_not(None)))).all())
    if owners:
        connection = await session.connection()
        await connection.execute(update(Member).where(col(Member.id).in_(owners))
                                 .values(link_code=None, link_code_until=None))
    return [owner for owner in owners if owner is not None]


class MemberLine(NamedTuple):
    """One member as `zsbot members` lists them."""

    id: int
    name: str
    team: str
    role: str
    identities: str


async def member_lines(session: AsyncSession) -> list[MemberLine]:
    """Every member with their squad, stored role and identities, by squad then name."""
    identities = (
        select(col(Identity.member_id), func.count().label("n")).group_by(col(Identity.member_id)).subquery()
    )
    statement = (
        columns_select(col(Member.id), col(Member.name), func.coalesce(col(Team.name), ""), col(Member.role),
                       func.coalesce(identities.c.n, 0))
        .join(Team, col(Team.id) == col(Member.team_id), isouter=True)
        .join(identities, identities.c.member_id == col(Member.id), isouter=True)
        .order_by(func.coalesce(col(Team.name), ""), col(Member.name))
    )
    connection = await session.connection()
    rows = (await connection.execute(statement)).all()
    names: dict[int, list[str]] = {}
    for member_id, identity in (await session.exec(select(Identity.member_id, Identity.identity))).all():
        names.setdefault(member_id, []).append(identity)
    return [MemberLine(int(r[0]), r[1], r[2], r[3], ", ".join(sorted(names.get(int(r[0]), [])))) for r in rows]


class TeamLine(NamedTuple):
    """One squad as `zsbot teams` lists it."""

    id: int
    name: str
    kind: str
    members: int
    captains: str
    bound_chats: int


async def team_lines(session: AsyncSession) -> list[TeamLine]:
    """Every squad with its member count, captains and bound chats, by name."""
    teams = (await session.exec(select(Team).order_by(col(Team.name)))).all()
    connection = await session.connection()
    counts = {team_id: n for team_id, n in (await connection.execute(
        columns_select(col(Member.team_id), func.count()).group_by(col(Member.team_id)))).all()}
    chats = {team_id: n for team_id, n in (await connection.execute(
        columns_select(col(ChatBinding.team_id), func.count()).group_by(col(ChatBinding.team_id)))).all()}
    captains: dict[int, list[str]] = {}
    for team_id, name in (await session.exec(select(Member.team_id, Member.name).where(
            col(Member.role) == "captain"))).all():
        if team_id is not None:
            captains.setdefault(team_id, []).append(name)
    return [TeamLine(team.id or 0, team.name, team.kind, int(counts.get(team.id, 0)),
                     "、".join(captains.get(team.id or 0, [])), int(chats.get(team.id, 0))) for team in teams]


async def member_count(session: AsyncSession) -> int:
    """How many people the bot knows."""
    return int((await session.exec(select(func.count()).select_from(Member))).one())


async def target_count(session: AsyncSession) -> int:
    """How many targets are set (all years and scopes)."""
    return int((await session.exec(select(func.count()).select_from(Target))).one())
