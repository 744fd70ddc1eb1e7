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
from handlers.schedule import local_day, range_bounds_utc
from handlers.score_periods import PERIOD_KEYS, period_of
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from handlers.rules import Rules

PERIOD_NAMES = {
    "day": ("今天", "today"), "yesterday": ("昨天", "yesterday"), "week": ("本周", "this week"),
    "last_week": ("上周", "last week"), "month": ("本月", "this month"), "last_month": ("上月", "last month"),
    "year": ("今年", "this year"),
}


def period_days(period: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period around today (weeks start on Monday)."""
    if period == "day":
        return today, today
    if period == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    named = period_of(period if period in PERIOD_KEYS else "year", today)  # the same calendar as 考核
    return named.first, named.last


def _t(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


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
    zh_name, en_name = PERIOD_NAMES.get(period, PERIOD_NAMES["year"])
    span = f"{first:%m月%d日}–{last:%m月%d日}" if lang == "zh" else f"{first} – {last}"
    lines = [_t(lang, f"📈 {zh_name}（{span}）", f"📈 {en_name} ({span})")]
    stages = [stage] if stage else list(STAGES)
    names = {team_id: name for team_id, name in (await rq.team_names(session)).items()}
    for key in stages:
        count = getattr(district, key)
        amount = getattr(district, f"{key}_amount")
        line = _t(lang, f"新增{stage_name(key)}：全区 {count} 个，{format_amount(amount, lang)}",
                  f"newly {stage_name(key, lang)}: district {count}, {format_amount(amount, lang)}")
        if mine is not None and viewer_team_id is not None:
            line += _t(lang, f"；本队（{names.get(viewer_team_id, '')}）{getattr(mine, key)} 个",
                       f"; your squad {getattr(mine, key)}")
        elif viewer_team_id is not None:
            line += _t(lang, "；本队 0 个", "; your squad 0")
        lines.append(line)
    if settings.require_verification and any(key in ("signed", "landed") for key in stages):
        pending = sum(district.pending(key) for key in stages if key in ("signed", "landed"))
        if pending:
            lines.append(_t(lang, f"（另有待核实 {pending} 个，核实后计入）", f"(+{pending} awaiting verification)"))
    lines.append(_t(lang, "按项目第一次进入该库（或更后的库）的时间统计。",
                    "Counted by when a project first reached the pool (or a later one)."))
    return Reply(text="\n".join(lines))
