"""The weekly summary (每周小结): last Monday to Sunday against the weekly pace."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.ports import Charts
from handlers.report_calendar import (
    ceil_share,
    range_bounds_utc,
)
from handlers.reports.common import LIST_LIMIT, Doc, counts_line
from handlers.reports.scores import district_targets_or_sum, funnel_stages, stage_weights, sum_tallies, weighted_score
from storage import report_queries as rq
from storage.models import STAGES
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules




def last_week(today: date) -> tuple[date, date]:
    """The last complete Monday–Sunday week before `today`."""
    sunday = today - timedelta(days=today.weekday() + 1)
    return sunday - timedelta(days=6), sunday


async def weekly_summary(session: AsyncSession, *, settings: Rules, now: datetime,
                         charts: Charts | None = None) -> Reply:
    """Last Monday–Sunday: projects newly counted per pool, district and per squad, with a funnel chart.

    The week's numbers follow the counting rule (a project signed that week counts as 签约, and also as
    谋划/招引 if it skipped them that week), so they add up to the yearly ones.
    """
    today = local_day(now, settings.tz)
    monday, sunday = last_week(today)
    start, end = range_bounds_utc(monday, sunday, settings.tz)
    verification = settings.require_verification
    per_team = await rq.stage_tallies(session, start=start, end=end, require_verification=verification)
    names = await rq.team_names(session)
    reports = {tid: n for tid, _, n in await rq.reports_by_team(session, start=start, end=end)}
    week = sum_tallies(list(per_team.values()))
    weights = stage_weights(settings)

    doc = Doc()
    doc.title(f"🗓 周报 · {monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日")
    doc.line("本周新增：" + "，".join(f"{stage_name(s)} {week.count(s)}" for s in STAGES))
    money = week.signed_amount + week.landed_amount
    if money:
        doc.line(f"签约金额 {format_amount(week.signed_amount)}"
                 f" · 落地金额 {format_amount(week.landed_amount)}")
    doc.blank()
    doc.title("各小分队")
    def moved(tid: int) -> bool:
        tally = per_team.get(tid)
        return tally is not None and any(tally.count(stage) for stage in STAGES)

    active = sorted(
        (tid for tid in names if moved(tid) or reports.get(tid)),
        key=lambda tid: (-weighted_score(per_team.get(tid, rq.StageTally()), weights), -reports.get(tid, 0),
                         names[tid]),
    )
    for tid in active[:LIST_LIMIT]:
        tally = per_team.get(tid, rq.StageTally())
        doc.line(f"{names[tid]} {counts_line(tally, 'zh')} · 报送{reports.get(tid, 0)}条")
    if len(active) > LIST_LIMIT:
        doc.line(f"…… 另有 {len(active) - LIST_LIMIT} 队有进展")
    quiet = len(names) - len(active)
    if quiet:
        doc.line(f"本周无进展、无报送：{quiet} 队")

    year_targets, _ = district_targets_or_sum(await rq.targets_for_year(session, year=sunday.year))
    days_in_year = 366 if calendar.isleap(sunday.year) else 365
    # The weekly pace a yearly target implies, rounded up: the bar each pool should reach in a week.
    pace = {stage: ceil_share(n, 7 / days_in_year) for stage, n in year_targets.items()}
    image = await charts.funnel(
        funnel_stages(week, pace, "zh"),
        title=f"上周新增（周均目标）{monday.month}/{monday.day}–{sunday.month}/{sunday.day}",
        schedule_pct=None, lang="zh",
    ) if charts is not None else None
    return doc.reply(image=image, image_name="weekly.png")
