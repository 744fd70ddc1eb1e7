"""Open problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    false,
    func,
    select,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    Problem,
    Project,
    Team,
)
from storage.report_queries.common import _sum, live_projects


@dataclass(frozen=True)
class OpenProblem:
    """An unresolved problem with its project and team."""

    id: int
    project_id: int
    project_name: str
    team_id: int
    team_name: str
    category: str
    text: str
    opened_at: datetime
    escalated_at: datetime | None


def _open_problem_filter(team_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        col(Problem.resolved_at).is_(None),
        col(Problem.withdrawn) == false(),
        live_projects(),
    ]
    if team_id is not None:
        conditions.append(col(Project.team_id) == team_id)
    return conditions


async def open_problems(
    session: AsyncSession, *, team_id: int | None = None, limit: int | None = None
) -> list[OpenProblem]:
    """Open problems of live projects, oldest first (withdrawn, resolved, dropped and removed excluded)."""
    query = (
        select(
            col(Problem.id), col(Project.id), col(Project.name), col(Team.id), col(Team.name),
            col(Problem.category), col(Problem.text), col(Problem.opened_at), col(Problem.escalated_at),
        )
        .join(Project, col(Project.id) == col(Problem.project_id))
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(*_open_problem_filter(team_id))
        .order_by(col(Problem.opened_at), col(Problem.id))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await run_select(session, query)).all()
    return [OpenProblem(*row) for row in rows]


async def open_problem_counts(
    session: AsyncSession, *, older_than: datetime, team_id: int | None = None
) -> dict[str, tuple[int, int]]:
    """Per category: (open problems, those opened before `older_than`)."""
    query = (
        select(col(Problem.category), func.count(), _sum(col(Problem.opened_at) < older_than))
        .join(Project, col(Project.id) == col(Problem.project_id))
        .where(*_open_problem_filter(team_id))
        .group_by(col(Problem.category))
    )
    rows = (await run_select(session, query)).all()
    return {category: (int(total), int(old)) for category, total, old in rows}
