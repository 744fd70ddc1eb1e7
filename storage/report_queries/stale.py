"""Stale projects (the project lights)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    select,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    Project,
    Team,
)
from storage.report_queries.common import _not_removed, _sum


@dataclass(frozen=True)
class StaleProject:
    """A project without events for longer than its stage's limit, and its light."""

    id: int
    name: str
    team_id: int
    team_name: str
    stage: str
    last_event_at: datetime
    light: str  # "yellow", "red", "remove"


def _stale_light_expr(
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
) -> tuple[Any, ColumnElement[bool]]:
    """A CASE giving each project's light, and the condition that it has one at all."""
    whens: list[tuple[ColumnElement[bool], Any]] = []
    last = col(Project.last_event_at)
    stage = col(Project.stage)
    for level, light in ((2, "remove"), (1, "red"), (0, "yellow")):
        for stage_key, cuts in cutoffs.items():
            whens.append((and_(stage == stage_key, last < cuts[level]), literal(light)))
    if not whens:
        return literal(""), false()
    light_expr = case(*whens, else_=literal(""))
    # Only the plain range on last_event_at is index-friendly here (the stage tests sit inside the
    # CASE), so the planner finds the few silent projects through that index, and a list ordered by
    # last_event_at stops after its limit, instead of walking every project of three whole pools.
    latest_cut = max(cuts[0] for cuts in cutoffs.values())
    return light_expr, and_(last < latest_cut, light_expr != "")


async def stale_projects(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
    lights: Sequence[str] = ("yellow", "red", "remove"),
    limit: int | None = None,
) -> list[StaleProject]:
    """Stale live projects, longest silent first.

    `cutoffs` maps a stage to the last-event moments before which it is yellow, red and flagged for
    removal (handlers.report_calendar.stale_cutoffs); stages absent from it never go stale.
    """
    light, is_stale = _stale_light_expr(cutoffs)
    query = (
        select(
            col(Project.id), col(Project.name), col(Project.team_id), col(Team.name), col(Project.stage),
            col(Project.last_event_at), light,
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(_not_removed(), is_stale, light.in_(tuple(lights)))
        .order_by(col(Project.last_event_at), col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    rows = (await run_select(session, query)).all()
    return [StaleProject(*row) for row in rows]


async def stale_counts(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
) -> dict[int, dict[str, int]]:
    """Per team: how many live projects are yellow, red and flagged for removal."""
    light, is_stale = _stale_light_expr(cutoffs)
    query = (
        select(col(Project.team_id), light.label("light"), func.count())
        .where(_not_removed(), is_stale)
        .group_by(col(Project.team_id), light)
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    counts: dict[int, dict[str, int]] = {}
    for tid, light_name, n in (await run_select(session, query)).all():
        counts.setdefault(int(tid), {})[light_name] = int(n)
    return counts


async def stale_totals(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
) -> dict[str, int]:
    """How many live projects are yellow, red and flagged for removal (district-wide or one team).

    Summed with CASE rather than grouped, so SQLite needs no sort however many projects are silent.
    """
    light, is_stale = _stale_light_expr(cutoffs)
    names = ("yellow", "red", "remove")
    query = select(*(_sum(light == name).label(name) for name in names)).where(_not_removed(), is_stale)
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    row = (await run_select(session, query)).one()._mapping
    return {name: int(row[name]) for name in names}
