"""到位资金 and 到位率 in the reports (进度): the year's funds in place against the 到位 target and 序时进度,
and the share of the signed amount that has arrived.

到位资金 is the money that arrived this (local) year, what a 到位 target measures. 到位率 is, over the live
signed and landed projects with an amount, the funds in place for them (all time) ÷ their signed amount:
how much of what was signed has actually come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.format import format_amount
from handlers.reports.common import LIGHT_EMOJI, ReportPeriod, light_for, percent
from handlers.wording import say
from storage import funds_queries
from storage.funds_queries import FundsRate

if TYPE_CHECKING:
    from handlers.rules import Rules


@dataclass
class FundsFigures:
    """One year's funds figures for the whole district, read once per report."""

    year_by_team: dict[int, int] = field(default_factory=dict)
    rates: dict[int, FundsRate] = field(default_factory=dict)
    district_target: int | None = None
    team_targets: dict[int, int] = field(default_factory=dict)

    def in_place(self, team_id: int | None) -> int:
        """Yuan in place this year: one team's, or the district's (None)."""
        if team_id is None:
            return sum(self.year_by_team.values())
        return self.year_by_team.get(team_id, 0)

    def target(self, team_id: int | None) -> int:
        """The 到位 target in yuan (0: none); the district's is the sum of the squads' when not set."""
        if team_id is not None:
            return self.team_targets.get(team_id, 0)
        return self.district_target if self.district_target is not None else sum(self.team_targets.values())

    def rate(self, team_id: int | None) -> FundsRate:
        """到位率's two sides: one team's, or the district's (None)."""
        if team_id is not None:
            return self.rates.get(team_id, FundsRate(0, 0))
        return FundsRate(sum(r.in_place for r in self.rates.values()), sum(r.signed for r in self.rates.values()))


async def funds_figures(session: AsyncSession, *, year: int) -> FundsFigures:
    """The district's funds figures for a local year."""
    district_target, team_targets = await funds_queries.funds_targets(session, year=year)
    return FundsFigures(
        year_by_team=await funds_queries.funds_in_place_by_team(session, since=date(year, 1, 1),
                                                                 until=date(year + 1, 1, 1)),
        rates=await funds_queries.funds_rate_by_team(session),
        district_target=district_target, team_targets=team_targets,
    )


def funds_line(figures: FundsFigures, team_id: int | None, period: ReportPeriod, settings: Rules, lang: Lang) -> str:
    """`到位资金 1.5亿元/20亿元 7.5% 🔴 · 到位率 37.5%`, or "" when there is nothing to say yet."""
    in_place, target, rate = figures.in_place(team_id), figures.target(team_id), figures.rate(team_id)
    if not (in_place or target or rate.signed):
        return ""
    line = say(lang, "funds.in_place", amount=format_amount(in_place, lang))
    if target:
        done = in_place / target * 100
        line += f"/{format_amount(target, lang)} {percent(done)} {LIGHT_EMOJI[light_for(settings, done, period.pct)]}"
    if rate.signed:
        line += say(lang, "funds.rate", pct=percent(rate.in_place / rate.signed * 100))
    return line
