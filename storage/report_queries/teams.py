"""Squads and their targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    STAGES,
    Target,
    Team,
)


async def team_names(session: AsyncSession) -> dict[int, str]:
    """Every team's id and name."""
    rows = (await run_select(session, select(col(Team.id), col(Team.name)))).all()
    return {int(team_id): name for team_id, name in rows}


@dataclass
class Targets:
    """One year's targets: the district's and each team's, per stage."""

    district: dict[str, int] = field(default_factory=dict)
    teams: dict[int, dict[str, int]] = field(default_factory=dict)


    def district_or_sum(self) -> tuple[dict[str, int], bool]:
        """The district's targets; a stage without one takes the sum of the teams' (flag: any summed)."""
        own = {s: n for s, n in self.district.items() if n > 0 and s in STAGES}
        summed = False
        for stage in STAGES:
            if stage not in own:
                total = sum(t.get(stage, 0) for t in self.teams.values())
                if total > 0:
                    own[stage] = total
                    summed = True
        return own, summed


async def targets_for_year(session: AsyncSession, *, year: int) -> Targets:
    """The district and team targets set for `year` (stages without a target are absent).

    Pivoted in SQL, one row per team (and one for the district) instead of one per team and stage: a
    third of the rows to fetch and fold for the leaderboard (bench/README.md, Reports).
    """
    team_id = col(Target.team_id)
    numbers = [
        func.max(case((col(Target.stage) == stage, col(Target.number)), else_=None)).label(stage)
        for stage in STAGES
    ]
    # Grouped by scope ("district" or "team:<id>", in the unique key's order) and the team id it names.
    query = (
        select(col(Target.scope), team_id, *numbers)
        .where(col(Target.year) == year)
        .group_by(col(Target.scope), team_id)
    )
    targets = Targets()
    for scope, tid, *values in (await run_select(session, query)).all():
        own = {stage: int(n) for stage, n in zip(STAGES, values, strict=True) if n is not None}
        if scope == "district":
            targets.district.update(own)
        elif tid is not None and own:
            targets.teams.setdefault(int(tid), {}).update(own)
    return targets
