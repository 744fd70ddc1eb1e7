"""活跃 and the weekly 赛马榜: the 招商活跃指数 per squad and period (after Chongqing's).

Six sub-indices from the activity counters (storage.activity_queries): signings (签约 reports), starts (落地),
outbound visits (拜访), companies received (接待), promotion events (活动) and publicity (宣传). Each is
normalised against the best squad of the period: the squad's count ÷ the best count × 100 (the best squad
scores 100; every squad scores 0 when none has any). The index is the weighted mean of the sub-indices
with the weights of the scheme's [activity_index] table. Against the best rather than the mean: the index
then stays within 0-100 and a squad sees how far it is from the leader, as the published 赛马榜 reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.assessment_scheme import INDEX_KINDS
from handlers.commands import Lang
from handlers.messages import Reply
from handlers.reports.common import RANK_ROWS_ALL, RANK_ROWS_BOTTOM, RANK_ROWS_TOP, Doc
from handlers.score_periods import Period, period_of
from handlers.wording import key, say
from storage import assessment_queries as aq
from storage import report_queries as rq
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules

_SUB_KEYS = {"signings": key("activity.sub_signings"), "starts": key("activity.sub_starts"),
             "visits": key("activity.sub_visits"), "receptions": key("activity.sub_receptions"),
             "promotions": key("activity.sub_promotions"), "publicity": key("activity.sub_publicity")}


@dataclass
class IndexRow:
    """A squad's activity index for a period, its sub-indices (0-100) and the counts behind them."""

    team_id: int
    team_name: str
    index: float
    subs: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rank: int = 0


def index_rows(names: Mapping[int, str], counts: Mapping[int, Mapping[str, int]],
               weights: Mapping[str, float]) -> list[IndexRow]:
    """Every squad's index from its counts, ranked best first (equal indices share a rank)."""
    best = {sub: max((counts.get(tid, {}).get(kind, 0) for tid in names), default=0)
            for sub, kind in INDEX_KINDS.items()}
    total_weight = sum(weights[sub] for sub in INDEX_KINDS)
    rows: list[IndexRow] = []
    for tid, name in names.items():
        own = {sub: int(counts.get(tid, {}).get(kind, 0)) for sub, kind in INDEX_KINDS.items()}
        subs = {sub: (own[sub] / best[sub] * 100 if best[sub] else 0.0) for sub in INDEX_KINDS}
        index = sum(weights[sub] * subs[sub] for sub in INDEX_KINDS) / total_weight
        rows.append(IndexRow(tid, name, round(index, 1), subs, own))
    rows.sort(key=lambda r: (-r.index, r.team_name))
    for position, row in enumerate(rows, start=1):
        row.rank = rows[position - 2].rank if position > 1 and rows[position - 2].index == row.index else position
    return rows


async def activity_ranking(session: AsyncSession, *, settings: Rules, period: Period) -> list[IndexRow]:
    """The activity index of every squad for the period, ranked."""
    names = await rq.team_names(session)
    counts = await aq.activity_totals(session, start=period.first, end=period.last)
    return index_rows(names, counts, settings.scheme.index_weights)


def _counts_text(row: IndexRow, lang: Lang) -> str:
    return say(lang, "activity.sep").join(
        f"{say(lang, _SUB_KEYS[sub])}{row.counts[sub]}" for sub in INDEX_KINDS if row.counts[sub])


def activity_reply(rows: Sequence[IndexRow], period: Period, weights: Mapping[str, float], lang: Lang,
                   *, title_key: str = key("activity.title")) -> Doc:
    """活跃 (or the 赛马榜): the index per squad, best first, with the counts behind it."""
    doc = Doc()
    doc.title(say(lang, title_key, period=period.label(lang)))
    doc.line(say(lang, "activity.weights", weights=say(lang, "activity.sep").join(
        f"{say(lang, _SUB_KEYS[sub])}×{weights[sub]:g}" for sub in INDEX_KINDS)))
    if not rows:
        doc.line(say(lang, "report.no_squads"))
    shown = list(rows) if len(rows) <= RANK_ROWS_ALL else list(rows[:RANK_ROWS_TOP])
    tail = [] if len(rows) <= RANK_ROWS_ALL else list(rows[-RANK_ROWS_BOTTOM:])
    for row in shown:
        doc.line(_row_line(row, lang))
    if tail:
        doc.line(say(lang, "report.rows_hidden", hidden=len(rows) - RANK_ROWS_TOP - RANK_ROWS_BOTTOM))
        for row in tail:
            doc.line(_row_line(row, lang))
    doc.line(say(lang, "activity.how"))
    return doc


def _row_line(row: IndexRow, lang: Lang) -> str:
    counts = _counts_text(row, lang)
    return say(lang, "activity.line", rank=row.rank, team=row.team_name, index=f"{row.index:.1f}",
               counts=say(lang, "activity.counts", counts=counts) if counts else "")


async def weekly_race(session: AsyncSession, *, settings: Rules, now: datetime) -> Reply:
    """The 赛马榜 for the leaders' group: last week's (Monday to Sunday) index of every squad, best first."""
    period = period_of("last_week", local_day(now, settings.tz))
    rows = await activity_ranking(session, settings=settings, period=period)
    return activity_reply(rows, period, settings.scheme.index_weights, "zh",
                          title_key=key("activity.race_title")).reply()
