"""The verification queue and the forecast's inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    STAGE_ORDER,
    STAGES,
    Project,
    Team,
)
from storage.moments import as_utc
from storage.report_queries.common import _STAGE_COLUMNS, _sum, live_projects


@dataclass(frozen=True)
class PendingMove:
    """A 签约/落地 not yet confirmed by a leader (待核实): the highest unverified stage of a project."""

    project_id: int
    name: str
    team_id: int
    team_name: str
    stage: str  # "signed" or "landed"
    reached_at: datetime
    amount_yuan: int | None


def _pending_conditions(team_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        live_projects(),
        or_(
            and_(col(Project.signed_at).is_not(None), col(Project.signed_verified_at).is_(None)),
            and_(col(Project.landed_at).is_not(None), col(Project.landed_verified_at).is_(None)),
        ),
    ]
    if team_id is not None:
        conditions.append(col(Project.team_id) == team_id)
    return conditions


async def pending_verifications(
    session: AsyncSession, *, team_id: int | None = None, limit: int | None = None
) -> tuple[list[PendingMove], int]:
    """Live projects with an unverified 签约 or 落地, oldest first, and how many there are in all."""
    landed_pending = and_(col(Project.landed_at).is_not(None), col(Project.landed_verified_at).is_(None))
    stage = case((landed_pending, literal("landed")), else_=literal("signed"))
    reached = case((landed_pending, col(Project.landed_at)), else_=col(Project.signed_at))
    query = (
        select(
            col(Project.id), col(Project.name), col(Project.team_id), col(Team.name), stage, reached,
            col(Project.amount_yuan),
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(*_pending_conditions(team_id))
        .order_by(reached, col(Project.id))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await run_select(session, query)).all()
    total = (
        await run_select(session, select(func.count()).select_from(Project).where(*_pending_conditions(team_id)))
    ).scalar_one()
    moves = [PendingMove(int(r[0]), r[1], int(r[2]), r[3], r[4], _aware(r[5]), r[6]) for r in rows]
    return moves, int(total)


def _aware(value: Any) -> datetime:
    # A CASE over UTCDateTime columns loses the column type, so SQLite hands back naive text-parsed times.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


@dataclass
class ForecastInputs:
    """What the year-end projection adds to the counts so far, per stage.

    `expected`: live projects that have not reached the stage yet and expect to reach it (or a later
    stage) between today and the year's end. `overdue`: the same with an expected date already past.
    """

    expected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    overdue: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


async def forecast_inputs(
    session: AsyncSession, *, today: date, year_end: date, team_id: int | None = None
) -> ForecastInputs:
    """Per stage, how many projects expect to reach it by `year_end` (and how many are overdue)."""
    columns: list[Any] = []
    expected_order = case(
        *((col(Project.expected_stage) == stage, STAGE_ORDER[stage]) for stage in STAGES), else_=-1
    )
    upcoming = and_(col(Project.expected_date) >= today, col(Project.expected_date) <= year_end)
    overdue = col(Project.expected_date) < today
    for stage, column in _STAGE_COLUMNS.items():
        aims = and_(column.is_(None), expected_order >= STAGE_ORDER[stage])
        columns.append(_sum(and_(aims, upcoming)).label(f"e_{stage}"))
        columns.append(_sum(and_(aims, overdue)).label(f"o_{stage}"))
    query = select(*columns).where(live_projects(), col(Project.expected_date).is_not(None))
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    row = (await run_select(session, query)).one()._mapping
    return ForecastInputs(
        expected={stage: int(row[f"e_{stage}"]) for stage in STAGES},
        overdue={stage: int(row[f"o_{stage}"]) for stage in STAGES},
    )


@dataclass(frozen=True)
class SlippedProject:
    """A project whose expected date moved again and again."""

    id: int
    name: str
    team_name: str
    stage: str
    expected_stage: str
    expected_date: date | None
    slips: int


async def slipped_projects(
    session: AsyncSession, *, min_slips: int = 3, team_id: int | None = None, limit: int | None = None
) -> list[SlippedProject]:
    """Live projects whose expected date slipped `min_slips` times or more, most slips first."""
    query = (
        select(
            col(Project.id), col(Project.name), col(Team.name), col(Project.stage),
            col(Project.expected_stage), col(Project.expected_date), col(Project.expected_slips),
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(live_projects(), col(Project.expected_slips) >= min_slips)
        .order_by(col(Project.expected_slips).desc(), col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    return [SlippedProject(*row) for row in (await run_select(session, query)).all()]
