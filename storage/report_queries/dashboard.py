"""What the 驾驶舱 (dashboard) reads beyond the chat reports: rank history for the trends, a squad's live
projects with their lights, and the per-member revocation of dashboard links."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import Member, Project, RankSnapshot
from storage.report_queries.common import live_projects
from storage.report_queries.stale import _stale_light_expr


@dataclass(frozen=True)
class SquadProject:
    """A live project of one squad, with its light ('' when it is fresh)."""

    id: int
    name: str
    stage: str
    amount_yuan: int | None
    last_event_at: datetime
    light: str


async def rank_history(
    session: AsyncSession, *, start: date, end: date, team_ids: Collection[int] | None = None
) -> dict[int, list[tuple[date, int]]]:
    """The stored ranks of the days in [start, end], per team (oldest first), for the trend lines."""
    query = (
        select(col(RankSnapshot.team_id), col(RankSnapshot.day), col(RankSnapshot.rank))
        .where(col(RankSnapshot.day) >= start, col(RankSnapshot.day) <= end)
        .order_by(col(RankSnapshot.team_id), col(RankSnapshot.day))
    )
    if team_ids is not None:
        query = query.where(col(RankSnapshot.team_id).in_(list(team_ids)))
    history: dict[int, list[tuple[date, int]]] = {}
    for team_id, day, rank in (await run_select(session, query)).all():
        history.setdefault(int(team_id), []).append((day, int(rank)))
    return history


async def squad_projects(
    session: AsyncSession, *, team_id: int, cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
) -> list[SquadProject]:
    """A squad's live projects (not dropped, not removed) with their stale lights, newest activity first."""
    light, _ = _stale_light_expr(cutoffs)
    query = (
        select(col(Project.id), col(Project.name), col(Project.stage), col(Project.amount_yuan),
               col(Project.last_event_at), light)
        .where(live_projects(), col(Project.team_id) == team_id)
        .order_by(col(Project.last_event_at).desc(), col(Project.id))
    )
    rows = (await run_select(session, query)).all()
    return [SquadProject(int(i), name, stage, amount, last, lit or "") for i, name, stage, amount, last, lit in rows]


async def dash_revoked_at(session: AsyncSession, *, member_id: int) -> tuple[bool, datetime | None]:
    """Whether the member exists, and the moment before which their dashboard links are void."""
    row = (await run_select(session, select(col(Member.dash_revoked_at)).where(col(Member.id) == member_id))).first()
    return (row is not None, row[0] if row is not None else None)


async def revoke_dash_links(session: AsyncSession, *, member_id: int, at: datetime) -> None:
    """Void every dashboard link issued to the member up to `at`."""
    await session.exec(update(Member).where(col(Member.id) == member_id).values(dash_revoked_at=at))
