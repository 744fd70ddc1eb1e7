"""How many projects reached a pool in a period: 本月新增签约多少, 今年落地了几个, 本周新增多少项目.

The counting rule is the reports' (a project counts toward a pool when it first reached it, or a later
one, in the period), from the same query as the leaderboard's tallies.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.report_calendar import range_bounds_utc
from handlers.reports.common import short_day
from handlers.score_periods import PERIOD_KEYS, period_of
from handlers.wording import key, say
from storage import report_queries as rq
from storage.models import STAGES
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules

# What each period is called in a reply's heading (its message key).
PERIOD_NAMES = {
    "day": key("period.day"), "yesterday": key("period.yesterday"), "week": key("period.week"),
    "last_week": key("period.last_week"), "month": key("period.month"), "last_month": key("period.last_month"),
    "year": key("period.year"),
}


def period_days(period: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period around today (weeks start on Monday)."""
    if period == "day":
        return today, today
    if period == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    named = period_of(period if period in PERIOD_KEYS else "year", today)  # the same calendar as 考核
    return named.first, named.last


async def period_count(
    session: AsyncSession, *, settings: Rules, now: datetime, period: str, stage: str,
    viewer_team_id: int | None, lang: Lang = "zh",
) -> Reply:
    """The count (and amount) of projects that reached a pool in the period, district and own squad."""
    today = local_day(now, settings.tz)
    first, last = period_days(period, today)
    start, end = range_bounds_utc(first, last, settings.tz)
    tallies = await rq.stage_tallies(session, start=start, end=end,
                                     require_verification=settings.require_verification)
    district = rq.StageTally()
    for tally in tallies.values():
        district.add(tally)
    mine = tallies.get(viewer_team_id) if viewer_team_id is not None else None
    name = say(lang, PERIOD_NAMES.get(period, PERIOD_NAMES["year"]))
    lines = [say(lang, "period.title", name=name, first=short_day(first, lang), last=short_day(last, lang))]
    stages = [stage] if stage else list(STAGES)
    names = {team_id: name for team_id, name in (await rq.team_names(session)).items()}
    for pool in stages:
        count = getattr(district, pool)
        amount = getattr(district, f"{pool}_amount")
        line = say(lang, "period.district", stage=stage_name(pool, lang), count=count,
                   amount=format_amount(amount, lang))
        if mine is not None and viewer_team_id is not None:
            line += say(lang, "period.own_squad", squad=names.get(viewer_team_id, ""), count=getattr(mine, pool))
        elif viewer_team_id is not None:
            line += say(lang, "period.own_squad_none")
        lines.append(line)
    if settings.require_verification and any(pool in ("signed", "landed") for pool in stages):
        pending = sum(district.pending(pool) for pool in stages if pool in ("signed", "landed"))
        if pending:
            lines.append(say(lang, "period.pending", pending=pending))
    lines.append(say(lang, "period.how_counted"))
    return Reply(text="\n".join(lines))
