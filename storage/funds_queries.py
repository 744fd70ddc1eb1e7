"""Funds in place (到位资金): the arrivals recorded with `到位`, summed per squad, project and district."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import false, func, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FundsArrival, Project, Target


async def funds_in_place_by_team(session: AsyncSession, *, since: date, until: date) -> dict[int, int]:
    """Yuan in place per team id: arrivals not undone with since <= arrived_on < until (teams with none absent)."""
    statement = (
        select(col(FundsArrival.team_id), func.sum(col(FundsArrival.amount_yuan)))
        .where(col(FundsArrival.arrived_on) >= since, col(FundsArrival.arrived_on) < until,
               col(FundsArrival.removed) == false())
        .group_by(col(FundsArrival.team_id))
    )
    return {int(team_id): int(total) for team_id, total in (await session.exec(statement)).all()}


async def funds_in_place_by_project(
    session: AsyncSession, *, project_ids: Iterable[int] | None = None, until: date | None = None,
) -> dict[int, int]:
    """Yuan in place per project id, all time (before `until` when given); only `project_ids` when given."""
    statement = (
        select(col(FundsArrival.project_id), func.sum(col(FundsArrival.amount_yuan)))
        .where(col(FundsArrival.removed) == false())
        .group_by(col(FundsArrival.project_id))
    )
    if project_ids is not None:
        ids = list(project_ids)
        if not ids:
            return {}
        statement = statement.where(col(FundsArrival.project_id).in_(ids))
    if until is not None:
        statement = statement.where(col(FundsArrival.arrived_on) < until)
    return {int(pid): int(total) for pid, total in (await session.exec(statement)).all()}


async def project_arrivals(session: AsyncSession, *, project_id: int) -> Sequence[FundsArrival]:
    """The project's arrivals not undone, oldest first (the card's 到位 lines)."""
    statement = (
        select(FundsArrival)
        .where(col(FundsArrival.project_id) == project_id, col(FundsArrival.removed) == false())
        .order_by(col(FundsArrival.arrived_on), col(FundsArrival.id))
    )
    return (await session.exec(statement)).all()


async def arrival_of_event(session: AsyncSession, *, event_id: int) -> FundsArrival | None:
    """The arrival a 'funds' event recorded (undo marks it removed)."""
    statement = select(FundsArrival).where(col(FundsArrival.event_id) == event_id)
    return (await session.exec(statement)).first()


async def move_arrivals(session: AsyncSession, *, project_id: int, team_id: int) -> int:
    """Give a project's arrivals to the squad it now belongs to (转交, or its undo); returns how many."""
    statement = (
        update(FundsArrival).where(col(FundsArrival.project_id) == project_id).values(team_id=team_id)
    )
    result = await session.exec(statement)
    return int(result.rowcount or 0)


class FundsRate(NamedTuple):
    """The squad's (or district's) signed projects: yuan in place for them, all time, and their signed amount."""

    in_place: int
    signed: int


_SIGNED_LIVE = (col(Project.stage).in_(("signed", "landed")), col(Project.removed).is_not(true()),
                col(Project.amount_yuan).is_not(None))


async def funds_rate_by_team(session: AsyncSession) -> dict[int, FundsRate]:
    """到位率's two sides per team: the live signed and landed projects with an amount, their signed amount
    and the funds in place for them (all time, not undone). Teams without such projects are absent."""
    per_project = (
        select(col(FundsArrival.project_id).label("project_id"),
               func.sum(col(FundsArrival.amount_yuan)).label("in_place"))
        .where(col(FundsArrival.removed) == false())
        .group_by(col(FundsArrival.project_id))
        .subquery()
    )
    statement = (
        select(col(Project.team_id), func.sum(func.coalesce(per_project.c.in_place, 0)),
               func.sum(col(Project.amount_yuan)))
        .select_from(Project)
        .outerjoin(per_project, per_project.c.project_id == col(Project.id))
        .where(*_SIGNED_LIVE)
        .group_by(col(Project.team_id))
    )
    return {int(team_id): FundsRate(int(in_place or 0), int(signed or 0))
            for team_id, in_place, signed in (await session.exec(statement)).all()}


async def funds_targets(session: AsyncSession, *, year: int) -> tuple[int | None, dict[int, int]]:
    """The year's funds-in-place targets (目标 到位 20亿), in yuan: the district's (None: not set) and per team."""
    statement = select(col(Target.team_id), col(Target.number)).where(
        col(Target.year) == year, col(Target.stage) == "funds")
    district: int | None = None
    teams: dict[int, int] = {}
    for team_id, number in (await session.exec(statement)).all():
        if team_id is None:
            district = int(number)
        else:
            teams[int(team_id)] = int(number)
    return district, teams
