"""First-contact ownership (首谈负责制): which live projects may court the same company, and the clashes
(撞单) recorded when a second squad turns up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, and_, bindparam, or_, true
from sqlalchemy import select as columns_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CompanyContact, OwnershipClash, Project
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


class Contacted(NamedTuple):
    """A contact another squad recorded with a company before any project (a lead, a visit, a reception)."""

    id: int
    company: str
    company_key: str
    kind: str
    team_id: int
    created_at: datetime
    event_id: int


_CONTACT_COLUMNS = (col(CompanyContact.id), col(CompanyContact.company), col(CompanyContact.company_key),
                    col(CompanyContact.kind), col(CompanyContact.team_id), col(CompanyContact.created_at),
                    col(CompanyContact.event_id))
# The same prefix probes and index range as _BY_COMPANY, on the contacts' own key index.
_CONTACTS_BY_COMPANY = (
    columns_select(*_CONTACT_COLUMNS)
    .where(or_(col(CompanyContact.company_key).in_(bindparam("prefixes", expanding=True)),
               and_(col(CompanyContact.company_key) >= bindparam("low", type_=String),
                    col(CompanyContact.company_key) < bindparam("high", type_=String))),
           col(CompanyContact.team_id) != bindparam("team"), col(CompanyContact.removed).is_not(true()))
    .order_by(col(CompanyContact.created_at)).limit(bindparam("limit"))
)


async def contacted_elsewhere(
    session: AsyncSession, *, company_key: str, team_id: int, limit: int = 200,
) -> list[Contacted]:
    """Other squads' live contacts whose company key starts like this one (the caller scores them)."""
    if len(company_key) < 2:
        return []
    low = company_key[:2]
    params = {"prefixes": [company_key[:n] for n in range(2, len(company_key) + 1)], "low": low,
              "high": low[:-1] + chr(ord(low[-1]) + 1), "team": team_id, "limit": limit}
    connection = await session.connection()
    return [Contacted._make(row) for row in (await connection.execute(_CONTACTS_BY_COMPANY, params)).all()]


async def add_contact(session: AsyncSession, *, team_id: int, company: str, company_key: str, kind: str,
                      event_id: int, at: datetime) -> None:
    """Record a squad's contact with a company (a lead, a visit, a reception without a project)."""
    session.add(CompanyContact(team_id=team_id, company=company[:200], company_key=company_key[:200], kind=kind,
                               event_id=event_id, created_at=at))


async def remove_contacts_of_event(session: AsyncSession, *, event_id: int) -> None:
    """An undone report's contact no longer courts the company."""
    statement = select(CompanyContact).where(col(CompanyContact.event_id) == event_id)
    for contact in (await session.exec(statement)).all():
        contact.removed = True
        session.add(contact)


async def open_clash(
    session: AsyncSession, *, first_project_id: int | None, second_team_id: int, first_team_id: int = 0,
    company: str = "",
) -> OwnershipClash | None:
    """The open clash already recorded between this project (or, without one, that squad's contact with this
    company) and that squad: a second report is not new."""
    first = (col(OwnershipClash.first_project_id) == first_project_id if first_project_id is not None
             else and_(col(OwnershipClash.first_project_id).is_(None),
                       col(OwnershipClash.first_team_id) == first_team_id, col(OwnershipClash.company) == company))
    statement = select(OwnershipClash).where(
        first, col(OwnershipClash.second_team_id) == second_team_id, col(OwnershipClash.resolved_at).is_(None))
    return (await session.exec(statement)).first()


async def clashes(session: AsyncSession, *, include_resolved: bool, limit: int = 50) -> Sequence[OwnershipClash]:
    """The clashes, newest first: the open ones, or all."""
    statement = select(OwnershipClash)
    if not include_resolved:
        statement = statement.where(col(OwnershipClash.resolved_at).is_(None))
    return (await session.exec(statement.order_by(col(OwnershipClash.created_at).desc(),
                                                  col(OwnershipClash.id).desc()).limit(limit))).all()


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


