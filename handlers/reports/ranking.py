"""比: the squad ranking and the 比学赶超 leaderboard (排行), with 学 (yesterday's movers) and 赶 (who lags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.chart_data import RankBar
from handlers.commands import Lang
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.ports import Charts
from handlers.report_calendar import range_bounds_utc
from handlers.reports.activity_index import activity_ranking
from handlers.reports.assessment import assess_all, points_text
from handlers.reports.common import (
    CATCH_UP_LIMIT,
    LIGHT_EMOJI,
    RANK_ROWS_ALL,
    RANK_ROWS_BOTTOM,
    RANK_ROWS_TOP,
    Doc,
    ReportPeriod,
    counts_line,
    day_text,
    light_for,
    paren,
    percent,
    report_period,
    short_day,
    stage_letter,
)
from handlers.reports.scores import (
    composite_completion,
    district_targets_or_sum,
    funnel_stages,
    lack_text,
    stage_lacks,
    stage_weights,
    sum_tallies,
    weighted_score,
)
from handlers.score_periods import period_of
from handlers.wording import say
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from handlers.rules import Rules




@dataclass(frozen=True)
class RankRow:
    """One team's place in the 比学赶超 ranking for the year so far.

    With targets set for the team, `score` is its composite completion in percent (the stage weights
    averaging count/target over the stages with a target) and `light` its light against 序时进度;
    without targets, `score` is the weighted stage score and `light` is None.
    """

    team_id: int
    team_name: str
    rank: int
    score: float
    completion_pct: float | None
    light: str | None
    tally: rq.StageTally
    targets: dict[str, int]
    amount_yuan: int  # signed + landed investment counted this year (the tie-breaker)
    prev_rank: int | None = None  # rank in yesterday's snapshot
    # What `score` is and the ranking orders by (ZSBOT_RANKING_BY): pools (completion, or the weighted stage
    # score without targets), assessment (考核 points for the year so far) or activity (活跃指数, the year so far).
    by: str = "pools"

    @property
    def has_targets(self) -> bool:
        """The team is measured against its own targets."""
        return self.completion_pct is not None

    @property
    def delta(self) -> int | None:
        """Places gained since yesterday (+2 = two up), None without yesterday's rank."""
        return None if self.prev_rank is None else self.prev_rank - self.rank


def _rank_key(row: RankRow) -> tuple[int, float, int]:
    # Teams with targets first (by completion), then those without (by weighted score); ties on the
    # score go to the larger signed + landed investment (DESIGN §5). Ranked by assessment points or the
    # activity index, every squad is on one scale.
    first = 0 if row.has_targets or row.by != "pools" else 1
    return (first, -round(row.score, 6), -row.amount_yuan)


async def _other_scores(session: AsyncSession, settings: Rules, period: ReportPeriod) -> dict[int, float] | None:
    """Per team, the assessment points or activity index for the year so far (None: ranking by pools)."""
    if settings.ranking_by == "pools":
        return None
    year = period_of("year", period.today)
    if settings.ranking_by == "assessment":
        scores = await assess_all(session, settings=settings, period=year, today=period.today)
        return {score.team_id: score.total for score in scores}
    return {row.team_id: row.index for row in await activity_ranking(session, settings=settings, period=year)}


async def compute_ranking(session: AsyncSession, *, settings: Rules, now: datetime) -> list[RankRow]:
    """Every team ranked for the year of `now` (best first), with yesterday's rank for ↑↓.

    Teams with their own targets are ranked by composite completion; teams without follow, ranked by the
    weighted stage score. Equal score and equal investment share a rank. The daily job saves this list
    with storage.report_queries.save_rank_snapshot.
    """
    rows, _ = await ranking_with_targets(session, settings, report_period(settings, now))
    return rows


async def ranking_with_targets(session: AsyncSession, settings: Rules, period: ReportPeriod) -> tuple[list[RankRow], rq.Targets]:
    """compute_ranking, also handing back the year's targets (the reports need them too)."""
    weights = stage_weights(settings)
    names = await rq.team_names(session)
    tallies = await rq.year_team_tallies(
        session, year=period.year, require_verification=settings.require_verification
    )
    targets = await rq.targets_for_year(session, year=period.year)
    previous = await rq.rank_snapshot(session, day=period.today - timedelta(days=1))
    other = await _other_scores(session, settings, period)

    unranked: list[RankRow] = []
    for team_id, name in names.items():
        tally = tallies.get(team_id, rq.StageTally())
        own = {s: n for s, n in targets.teams.get(team_id, {}).items() if n > 0 and s in STAGES}
        amount = tally.signed_amount + tally.landed_amount
        if own:
            completion = composite_completion(tally, own, weights)
            score, light = completion, light_for(settings, completion, period.pct)
        else:
            completion, light, score = None, None, weighted_score(tally, weights)
        if other is not None:
            score = other.get(team_id, 0.0)
        unranked.append(RankRow(team_id, name, 0, score, completion, light, tally, own, amount,
                                by=settings.ranking_by))
    unranked.sort(key=lambda r: (*_rank_key(r), r.team_name))

    ranked: list[RankRow] = []
    for position, row in enumerate(unranked, start=1):
        rank = ranked[-1].rank if ranked and _rank_key(ranked[-1]) == _rank_key(row) else position
        prev = previous.get(row.team_id)
        ranked.append(
            RankRow(row.team_id, row.team_name, rank, row.score, row.completion_pct, row.light, row.tally,
                    row.targets, row.amount_yuan, prev[0] if prev else None, row.by)
        )
    return ranked, targets


def delta_text(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    """A row's move since yesterday: ↑2, ↓1, –, 新 (not ranked yesterday), or nothing without a snapshot."""
    if not has_snapshot:
        return ""
    if row.delta is None:
        return say(lang, "ranking.new")
    if row.delta > 0:
        return f"↑{row.delta}"
    if row.delta < 0:
        return f"↓{-row.delta}"
    return "–"


def _rank_line(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    delta = delta_text(row, has_snapshot, lang)
    if row.by == "assessment":
        body = f"{row.rank}. {row.team_name} {say(lang, 'ranking.points', points=points_text(row.score))}"
    elif row.by == "activity":
        body = f"{row.rank}. {row.team_name} {row.score:.1f}"
    elif row.completion_pct is not None and row.light is not None:
        body = f"{row.rank}. {row.team_name} {LIGHT_EMOJI[row.light]} {percent(row.completion_pct)}"
    else:
        points = say(lang, "ranking.points", points=f"{row.score:g}") + paren(counts_line(row.tally, lang), lang)
        body = f"{row.rank}. {row.team_name} {points}"
    return f"{body} {delta}".rstrip()


def ranking_excerpt(rows: Sequence[RankRow]) -> tuple[list[RankRow], list[RankRow], int]:
    """What fits on a phone: all rows, or the top and the bottom with how many were left out."""
    if len(rows) <= RANK_ROWS_ALL:
        return list(rows), [], 0
    hidden = len(rows) - RANK_ROWS_TOP - RANK_ROWS_BOTTOM
    return list(rows[:RANK_ROWS_TOP]), list(rows[-RANK_ROWS_BOTTOM:]), hidden


@dataclass
class _Lack:
    """How far a team (or the district) is from 序时进度, per stage."""

    name: str
    light: str | None
    gap_points: float
    lacking: dict[str, int] = field(default_factory=dict)


def _rank_bars(rows: Sequence[RankRow]) -> list[RankBar]:
    return [
        RankBar(row.team_name, round(row.completion_pct, 1), row.light, row.delta, row.rank)
        for row in rows
        if row.completion_pct is not None and row.light is not None
    ]


async def leaderboard(
    session: AsyncSession, *, settings: Rules, now: datetime, lang: Lang = "zh", charts: Charts | None = None
) -> Reply:
    """The 比学赶超 post: 比 (ranking with ↑↓ and lights), 学 (yesterday's movers), 赶 (what each lags by)."""
    period = report_period(settings, now)
    rows, targets = await ranking_with_targets(session, settings, period)
    has_snapshot = any(row.prev_rank is not None for row in rows)

    doc = Doc()
    doc.title(say(lang, "ranking.title", day=day_text(period.today, lang)))
    doc.line(say(lang, "report.schedule", pct=percent(period.pct)))

    # 比
    doc.blank()
    targeted = [row for row in rows if row.has_targets]
    if settings.ranking_by == "assessment":
        doc.title(say(lang, "ranking.by_assessment"))
    elif settings.ranking_by == "activity":
        doc.title(say(lang, "ranking.by_activity"))
    elif targeted:
        doc.title(say(lang, "ranking.by_completion"))
    else:
        doc.title(say(lang, "ranking.by_weighted_score"))
        weights = stage_weights(settings)
        formula = " + ".join(f"{stage_letter(s, lang)}×{weights[s]:g}" for s in STAGES)
        doc.line(say(lang, "ranking.weighted_formula", formula=formula))
    if not rows:
        doc.line(say(lang, "report.no_squads"))
    top, bottom, hidden = ranking_excerpt(rows)
    heading_done = False
    for row in top:
        if targeted and not row.has_targets and not heading_done and settings.ranking_by == "pools":
            doc.line(say(lang, "ranking.without_targets"))
            heading_done = True
        doc.line(_rank_line(row, has_snapshot, lang))
    if hidden:
        doc.line(say(lang, "report.rows_hidden", hidden=hidden))
        for row in bottom:
            doc.line(_rank_line(row, has_snapshot, lang))

    # 学
    doc.blank()
    yesterday = period.today - timedelta(days=1)
    y_start, y_end = range_bounds_utc(yesterday, yesterday, settings.tz)
    doc.title(say(lang, "ranking.learn", day=short_day(yesterday, lang)))
    await _learn_section(doc, session, settings=settings, start=y_start, end=y_end, lang=lang)

    # 赶
    doc.blank()
    doc.title(say(lang, "ranking.catch_up"))
    district_targets, _ = district_targets_or_sum(targets)
    district = sum_tallies([row.tally for row in rows])
    lacks = [
        _Lack(row.team_name, row.light, period.pct - (row.completion_pct or 0.0),
              stage_lacks(row.tally, row.targets, period.share))
        for row in targeted
        if (row.completion_pct or 0.0) < period.pct
    ]
    lacks = [lack for lack in lacks if lack.lacking]
    lacks.sort(key=lambda lack: (-lack.gap_points, lack.name))
    if not targeted and not district_targets:
        doc.line(say(lang, "ranking.no_targets"))
    elif targeted and not lacks:
        doc.line(say(lang, "ranking.all_on_schedule"))
    for lack in lacks[:CATCH_UP_LIMIT]:
        emoji = LIGHT_EMOJI.get(lack.light or "", "")
        doc.line(say(lang, "ranking.lack_line", light=emoji, name=lack.name,
                     lacks=lack_text(lack.lacking, lang)).lstrip())
    if len(lacks) > CATCH_UP_LIMIT:
        doc.line(say(lang, "ranking.more_behind", more=len(lacks) - CATCH_UP_LIMIT))
    if district_targets:
        district_lack = stage_lacks(district, district_targets, period.share)
        if district_lack:
            doc.line(say(lang, "ranking.district_lack", lacks=lack_text(district_lack, lang)))
        else:
            doc.line(say(lang, "ranking.district_on_schedule"))

    image = None
    if charts is not None:
        funnel = funnel_stages(district, district_targets, lang)
        bars = _rank_bars(rows) if settings.ranking_by == "pools" else []  # chart bars are completion
        funnel_title = say(lang, "report.district_pools", year=period.year)
        if bars:
            image = await charts.ranking_and_funnel(
                bars, funnel,
                ranking_title=say(lang, "ranking.chart_title", day=short_day(period.today, lang)),
                funnel_title=funnel_title, schedule_pct=period.pct, lang=lang,
            )
        else:
            image = await charts.funnel(funnel, title=funnel_title, schedule_pct=period.pct, lang=lang)
    return doc.reply(image=image, image_name="leaderboard.png")


def _move_line(move: rq.Move, settings: Rules, lang: Lang) -> str:
    pending = (
        say(lang, "ranking.to_verify")
        if settings.require_verification and move.to_stage in ("signed", "landed") and not move.verified
        else ""
    )
    amount = f" {format_amount(move.amount_yuan, lang)}" if move.amount_yuan else ""
    return f"#{move.project_id} {move.name}{amount}{paren(move.team_name, lang)}{pending}"


async def _learn_section(
    doc: Doc, session: AsyncSession, *, settings: Rules, start: datetime, end: datetime, lang: Lang
) -> None:
    moves = await rq.stage_moves(session, start=start, end=end, stages=("signed", "landed"), limit=60)
    # A project that signed and landed on the same day is listed once, at its furthest stage.
    best: dict[int, rq.Move] = {}
    for move in moves:
        kept = best.get(move.project_id)
        if kept is None or STAGES.index(move.to_stage) > STAGES.index(kept.to_stage):
            best[move.project_id] = move
    shown = [m for m in moves if best.get(m.project_id) is m]
    for move in shown[:10]:
        doc.line(f"🎉 {stage_name(move.to_stage, lang)} {_move_line(move, settings, lang)}")
    if len(shown) > 10:
        doc.line(say(lang, "ranking.more_moves", count=len(shown)))
    if not shown:
        doc.line(say(lang, "ranking.no_moves"))
    # The largest of yesterday's other moves (new 谋划/招引 projects): the 签约/落地 are listed above.
    listed = {m.project_id for m in shown[:10]}
    others = await rq.stage_moves(session, start=start, end=end, limit=3 + len(listed))
    biggest = [m for m in others if m.amount_yuan and m.project_id not in listed][:3]
    if biggest:
        doc.line(say(lang, "ranking.largest_new", projects=say(lang, "report.semicolon").join(
            f"{m.name} {format_amount(m.amount_yuan, lang)}"
            + paren(f"{m.team_name}·{stage_name(m.to_stage, lang)}", lang)
            for m in biggest
        )))
    reporters = await rq.reports_by_team(session, start=start, end=end, limit=3)
    if reporters:
        doc.line(say(lang, "ranking.most_reports", teams=say(lang, "list.separator").join(
            say(lang, "ranking.report_count", name=name, count=n) for _, name, n in reporters
        )))
    else:
        doc.line(say(lang, "ranking.no_reports"))
