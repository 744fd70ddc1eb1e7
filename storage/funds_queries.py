"""Funds in place (到位资金): the arrivals recorded with `到位`, summed per squad, project and district."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import false, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FundsArrival


async def funds_in_place_by_team(session: AsyncSession, *, since: date, until: date) -> dict[int, int]:
    """Yuan in place per team id: arrivals not undone with since <= arrived_on < until (teams with none absent)."""
    statement = (
        select(col(FundsArrival.team_id), func.sum(col(FundsArrival.amount_yuan)))
        .where(col(FundsArrival.arrived_on) >= since, col(FundsArrival.arrived_on) < until,
               col(FundsArrival.removed) == false())
        .group_by(col(FundsArrival.team_id))
    )
    return {int(team_id): int(total) for team_id, total in (await session.exec(statement)).all()}


async def funds_in_place_district(session: AsyncSession, *, since: date, until: date) -> int:
    """Yuan in place in the whole district: arrivals not undone with since <= arrived_on < until."""
    statement = select(func.coalesce(func.sum(col(FundsArrival.amount_yuan)), 0)).where(
        col(FundsArrival.arrived_on) >= since, col(FundsArrival.arrived_on) < until,
        col(FundsArrival.removed) == false())
    return int((await session.exec(statement)).one())


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
