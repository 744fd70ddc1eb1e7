"""Movers and reporting activity, from the event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    case,
    func,
    select,
    true,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    STAGES,
    Event,
    Project,
    Team,
)
from storage.report_queries.common import REPORT_KINDS, _kind_in, _not_undone, live_projects, within


@dataclass(frozen=True)
class Move:
    """A project's move into a pool (a create or stage event that was not undone)."""

    event_id: int
    project_id: int
    name: str
    team_id: int | None
    team_name: str
    to_stage: str
    amount_yuan: int | None
    at: datetime
    verified: bool  # for 签约/落地: a leader has confirmed it (核实)


async def stage_moves(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    stages: Sequence[str] = STAGES,
    team_id: int | None = None,
    limit: int | None = None,
) -> list[Move]:
    """Moves into `stages` in [start, end), largest amount first; undone and undo events excluded.

    Only live projects (not removed, not dropped since) are listed.
    """
    verified = case(
        (col(Event.to_stage) == "signed", col(Project.signed_verified_at).is_not(None)),
        (col(Event.to_stage) == "landed", col(Project.landed_verified_at).is_not(None)),
        else_=true(),
    )
    query = (
        select(
            col(Event.id), col(Project.id), col(Project.name), col(Event.team_id),
            func.coalesce(col(Team.name), ""), col(Event.to_stage), col(Project.amount_yuan),
            col(Event.created_at), verified,
        )
        .join(Project, col(Project.id) == col(Event.project_id))
        .outerjoin(Team, col(Team.id) == col(Event.team_id))
        .where(
            within(col(Event.created_at), start, end),
            _kind_in(("create", "stage")),
            col(Event.to_stage).in_(tuple(stages)),
            _not_undone(),
            live_projects(),
        )
        .order_by(func.coalesce(col(Project.amount_yuan), 0).desc(), col(Event.created_at), col(Event.id))
    )
    if team_id is not None:
        query = query.where(col(Event.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    rows = (await run_select(session, query)).all()
    return [
        Move(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))
        for r in rows
    ]


async def reports_by_team(
    session: AsyncSession, *, start: datetime, end: datetime, limit: int | None = None
) -> list[tuple[int, str, int]]:
    """(team id, name, number of reports) in [start, end), most first; undone and undo events excluded."""
    count = func.count(col(Event.id))
    query = (
        select(col(Event.team_id), col(Team.name), count)
        .join(Team, col(Team.id) == col(Event.team_id))
        .where(
            within(col(Event.created_at), start, end),
            _kind_in(REPORT_KINDS),
            _not_undone(),
        )
        .group_by(col(Event.team_id), col(Team.name))
        .order_by(count.desc(), col(Team.name))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await run_select(session, query)).all()
    return [(int(team_id), name, int(n)) for team_id, name, n in rows]
