"""First-contact ownership (首谈负责制): which live projects may court the same company, and the clashes
(撞单) recorded when a second squad turns up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, and_, bindparam, func, or_, true
from sqlalchemy import select as columns_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OwnershipClash, Project
from storage.name_lookup import fuzzy_candidates


class Courted(NamedTuple):
    """A live project another squad holds, with what ownership compares of it."""

    id: int
    name: str
    name_key: str
    company: str
    company_key: str
    team_id: int
    created_at: datetime


_COLUMNS = (col(Project.id), col(Project.name), col(Project.name_key), col(Project.company),
            col(Project.company_key), col(Project.team_id), col(Project.created_at))
_LIVE = (col(Project.removed).is_not(true()), col(Project.stage) != "dropped")
# Keys equal to one of the key's prefixes (比亚迪 for 比亚迪汽车), or starting with its first two characters
# (比亚迪汽车 for 比亚迪): index probes and one index range on either backend, where a LIKE would scan. The range
# is by code point (SQLite's BINARY, PostgreSQL's C-like order of Han characters); the caller confirms.
_BY_COMPANY = (
    columns_select(*_COLUMNS)
    .where(or_(col(Project.company_key).in_(bindparam("prefixes", expanding=True)),
               and_(col(Project.company_key) >= bindparam("low", type_=String),
                    col(Project.company_key) < bindparam("high", type_=String))),
           col(Project.team_id) != bindparam("team"), *_LIVE)
    .order_by(col(Project.created_at)).limit(bindparam("limit"))
)
_BY_IDS = (
    columns_select(*_COLUMNS)
    .where(col(Project.id).in_(bindparam("ids", expanding=True)), col(Project.team_id) != bindparam("team"), *_LIVE)
)


async def courted_elsewhere(
    session: AsyncSession, *, company_key: str, name_keys: Iterable[str], team_id: int, limit: int = 200,
) -> list[Courted]:
    """Other squads' live projects that may court the same company: those whose company key starts like this
    one (an index range on the first two characters), and those whose name contains one of `name_keys`
    (the project name index, storage.name_index). The caller scores them; this only narrows them down."""
    found: dict[int, Courted] = {}
    connection = await session.connection()
    if len(company_key) >= 2:
        low = company_key[:2]
        high = low[:-1] + chr(ord(low[-1]) + 1)
        prefixes = [company_key[:n] for n in range(2, len(company_key) + 1)]
        params = {"prefixes": prefixes, "low": low, "high": high, "team": team_id, "limit": limit}
        for courted in map(Courted._make, (await connection.execute(_BY_COMPANY, params)).all()):
            found[courted.id] = courted
    ids: set[int] = set()
    for key in {k for k in name_keys if len(k) >= 2}:
        found_by_name = await fuzzy_candidates(session, key=key, team_id=None, limit=limit, scan_common=False)
        ids |= {c.id for c in found_by_name if c.team_id != team_id}
    ids -= found.keys()
    if ids:
        rows = (await connection.execute(_BY_IDS, {"ids": sorted(ids), "team": team_id})).all()
        found.update({courted.id: courted for courted in map(Courted._make, rows)})
    return list(found.values())


async def open_clash(
    session: AsyncSession, *, first_project_id: int, second_team_id: int,
) -> OwnershipClash | None:
    """The open clash already recorded between this project and that squad (a second report is not new)."""
    statement = select(OwnershipClash).where(
        col(OwnershipClash.first_project_id) == first_project_id,
        col(OwnershipClash.second_team_id) == second_team_id,
        col(OwnershipClash.resolved_at).is_(None),
    )
    return (await session.exec(statement)).first()


async def clashes(session: AsyncSession, *, include_resolved: bool, limit: int = 50) -> Sequence[OwnershipClash]:
    """The clashes, newest first: the open ones, or all."""
    statement = select(OwnershipClash)
    if not include_resolved:
        statement = statement.where(col(OwnershipClash.resolved_at).is_(None))
    return (await session.exec(statement.order_by(col(OwnershipClash.created_at).desc(),
                                                  col(OwnershipClash.id).desc()).limit(limit))).all()


async def count_open_clashes(session: AsyncSession) -> int:
    """How many clashes wait for a leader."""
    statement = select(func.count()).select_from(OwnershipClash).where(col(OwnershipClash.resolved_at).is_(None))
    return int((await session.exec(statement)).one())


async def open_clashes_of_project(session: AsyncSession, *, project_id: int) -> Sequence[OwnershipClash]:
    """Open clashes a project is in, first or second."""
    statement = select(OwnershipClash).where(
        or_(col(OwnershipClash.first_project_id) == project_id, col(OwnershipClash.second_project_id) == project_id),
        col(OwnershipClash.resolved_at).is_(None),
    )
    return (await session.exec(statement)).all()


async def clashes_resolved_by(session: AsyncSession, *, event_id: int) -> Sequence[OwnershipClash]:
    """Clashes a transfer or a drop settled (its undo opens them again)."""
    statement = select(OwnershipClash).where(
        col(OwnershipClash.resolution).in_([f"transfer:{event_id}", f"dropped:{event_id}"]))
    return (await session.exec(statement)).all()


async def clashes_of_event(session: AsyncSession, *, event_id: int) -> Sequence[OwnershipClash]:
    """Clashes a report recorded (its undo withdraws them)."""
    statement = select(OwnershipClash).where(col(OwnershipClash.event_id) == event_id,
                                             col(OwnershipClash.resolved_at).is_(None))
    return (await session.exec(statement)).all()


