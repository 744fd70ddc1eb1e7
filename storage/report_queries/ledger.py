"""The ledger's (台账) summary; its rows are storage.ledger_queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ledger_rows import LedgerSummary, TeamSummaryRow
from storage.models import (
    STAGES,
)
from storage.report_queries.counts import StageTally, year_team_tallies
from storage.report_queries.teams import targets_for_year, team_names


async def ledger_summary(
    session: AsyncSession,
    *,
    year: int,
    as_of: date,
    schedule_pct: float,
    require_verification: bool,
    order: Sequence[int] = (),
) -> LedgerSummary:
    """The ledger's 汇总 sheet: the district's and every team's counts against targets for the year.

    `order` lists team ids in ranking order (handlers.reports): the squads come in it, any others after,
    by name."""
    tallies = await year_team_tallies(session, year=year, require_verification=require_verification)
    names = await team_names(session)
    targets = await targets_for_year(session, year=year)
    district_targets, _ = targets.district_or_sum()
    district = StageTally()
    for tally in tallies.values():
        district.add(tally)
    teams = []
    place = {team_id: index for index, team_id in enumerate(order)}
    for team_id, name in sorted(names.items(), key=lambda item: (place.get(item[0], len(place)), item[1])):
        tally = tallies.get(team_id, StageTally())
        own = targets.teams.get(team_id, {})
        teams.append(TeamSummaryRow(
            name=name,
            counts={stage: tally.count(stage) for stage in STAGES},
            targets={stage: own.get(stage) for stage in STAGES},
            signed_amount_yuan=tally.signed_amount,
            landed_amount_yuan=tally.landed_amount,
        ))
    return LedgerSummary(
        as_of=as_of,
        schedule_pct=schedule_pct,
        district=[(stage, district.count(stage), district_targets.get(stage)) for stage in STAGES],
        teams=teams,
        require_verification=require_verification,
    )

