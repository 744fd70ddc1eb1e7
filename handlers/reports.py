"""Report builders: 排行 (比学赶超), 进度, 问题清单, project lights, forecast, 待核实, weekly summary, ledger.

Platform-free: each takes an open session, the settings and the moment `now` (aware), reads the SQL
aggregations of storage.report_queries and returns a Reply (plain text that stands on its own, a
markdown twin with ** bold only, and a PNG where a picture says it better). Charts and the Excel
writer are CPU-bound, so they run in a worker thread (asyncio.to_thread).
"""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import ledger
from handlers.chart_data import FunnelStage, RankBar
from handlers.commands import Lang
from handlers.format import clip, format_amount, stage_name
from handlers.messages import OutgoingFile, Reply
from handlers.ports import Charts
from handlers.schedule import (
    STALE_STAGES,
    ceil_share,
    local_day,
    range_bounds_utc,
    schedule_share,
    squad_light,
    stale_cutoffs,
    stale_limits,
    year_bounds_utc,
)
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

LIGHT_EMOJI: dict[str, str] = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
STALE_EMOJI: dict[str, str] = {"yellow": "🟡", "red": "🔴", "remove": "⛔"}
_SHORT_ZH: dict[str, str] = {"planned": "谋", "attracting": "招", "signed": "签", "landed": "落"}
_SHORT_EN: dict[str, str] = {"planned": "P", "attracting": "A", "signed": "S", "landed": "L"}
_WEEKDAYS_ZH = "一二三四五六日"

# How much a phone screen should show before a list says "… and N more".
RANK_ROWS_ALL = 30  # up to this many squads every one is listed ...
RANK_ROWS_TOP, RANK_ROWS_BOTTOM = 20, 5  # ... beyond it, the top 20 and the bottom 5
LIST_LIMIT = 30
CATCH_UP_LIMIT = 15
BREAKDOWN_LIMIT = 10


def _t(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _day_text(day: date, lang: Lang) -> str:
    if lang == "en":
        return day.isoformat()
    return f"{day.year}年{day.month}月{day.day}日（周{_WEEKDAYS_ZH[day.weekday()]}）"


def _short_day(day: date, lang: Lang) -> str:
    return day.isoformat() if lang == "en" else f"{day.month}月{day.day}日"


def _short(stage: str, lang: Lang) -> str:
    return (_SHORT_EN if lang == "en" else _SHORT_ZH)[stage]


def _counts_line(tally: rq.StageTally, lang: Lang) -> str:
    return " ".join(f"{_short(stage, lang)}{tally.count(stage)}" for stage in STAGES)


def _paren(text: str, lang: Lang) -> str:
    return f" ({text}) " if lang == "en" else f"（{text}）"


# Lines carry names and problem texts members typed, and the markdown twin has no escape syntax: Telegram
# turns ** into bold, WeCom renders **, [text](url) links, <font>, <@userid> mentions and `code`. So in
# the markdown copy only, the characters that open markup become their full-width look-alikes.
MARKDOWN_SAFE = str.maketrans({"*": "＊", "[": "［", "]": "］", "<": "＜", ">": "＞", "`": "｀"})


class _Doc:
    """A reply being written twice at once: plain text, and markdown with ** for headings."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.marked: list[str] = []

    def title(self, text: str) -> None:
        self.plain.append(text)
        self.marked.append(f"**{text.translate(MARKDOWN_SAFE)}**")

    def line(self, text: str) -> None:
        text = text.rstrip()
        self.plain.append(text)
        self.marked.append(text.translate(MARKDOWN_SAFE))

    def blank(self) -> None:
        if self.plain and self.plain[-1] != "":
            self.line("")

    def reply(self, *, image: bytes | None = None, image_name: str = "chart.png", ok: bool = True) -> Reply:
        # A heading with nothing under it (a section that turned out empty) is dropped, not shown bare.
        keep = [index for index in range(len(self.plain))
                if not (self.marked[index].startswith("**") and index > 0
                        and (index + 1 == len(self.plain) or self.plain[index + 1] == ""
                             or self.marked[index + 1].startswith("**")))]
        self.plain = [self.plain[i] for i in keep]
        self.marked = [self.marked[i] for i in keep]
        while self.plain and self.plain[-1] == "":
            self.plain.pop()
            self.marked.pop()
        return Reply(
            text="\n".join(self.plain), markdown="\n".join(self.marked), image=image,
            image_name=image_name, ok=ok,
        )


@dataclass(frozen=True)
class _Period:
    today: date
    year: int
    start: datetime
    end: datetime
    share: float  # 序时进度 as 0..1

    @property
    def pct(self) -> float:
        return self.share * 100


def _period(settings: Settings, now: datetime) -> _Period:
    today = local_day(now, settings.tz)
    start, end = year_bounds_utc(today.year, settings.tz)
    return _Period(today, today.year, start, end, schedule_share(today))


def _light(settings: Settings, completion_pct: float, schedule_pct: float) -> str:
    return squad_light(completion_pct, schedule_pct, yellow=settings.schedule_yellow_points,
                       red=settings.schedule_red_points)


def _weights(settings: Settings) -> dict[str, float]:
    return {stage: float(settings.stage_weights.get(stage, 0)) for stage in STAGES}


# --------------------------------------------------------------------------------------------------
# 比: the ranking


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

    @property
    def has_targets(self) -> bool:
        """The team is measured against its own targets."""
        return self.completion_pct is not None

    @property
    def delta(self) -> int | None:
        """Places gained since yesterday (+2 = two up), None without yesterday's rank."""
        return None if self.prev_rank is None else self.prev_rank - self.rank


def composite_completion(tally: rq.StageTally, targets: dict[str, int], weights: dict[str, float]) -> float:
    """Weighted mean of count/target over the stages with a target, in percent (may exceed 100)."""
    total_weight = sum(weights[stage] for stage in targets)
    if total_weight <= 0:  # every targeted stage weighs 0: fall back to an unweighted mean
        return sum(tally.count(s) / n for s, n in targets.items()) / len(targets) * 100
    return sum(weights[s] * tally.count(s) / n for s, n in targets.items()) / total_weight * 100


def weighted_score(tally: rq.StageTally, weights: dict[str, float]) -> float:
    """The weighted stage score: Σ weight × projects counted toward the stage."""
    return sum(weights[stage] * tally.count(stage) for stage in STAGES)


def _rank_key(row: RankRow) -> tuple[int, float, int]:
    # Teams with targets first (by completion), then those without (by weighted score); ties on the
    # score go to the larger signed + landed investment (DESIGN §5).
    return (0 if row.has_targets else 1, -round(row.score, 6), -row.amount_yuan)


async def compute_ranking(session: AsyncSession, *, settings: Settings, now: datetime) -> list[RankRow]:
    """Every team ranked for the year of `now` (best first), with yesterday's rank for ↑↓.

    Teams with their own targets are ranked by composite completion; teams without follow, ranked by the
    weighted stage score. Equal score and equal investment share a rank. The daily job saves this list
    with storage.report_queries.save_rank_snapshot.
    """
    rows, _ = await _ranking(session, settings, _period(settings, now))
    return rows


async def _ranking(session: AsyncSession, settings: Settings, period: _Period) -> tuple[list[RankRow], rq.Targets]:
    """compute_ranking, also handing back the year's targets (the reports need them too)."""
    weights = _weights(settings)
    names = await rq.team_names(session)
    tallies = await rq.year_team_tallies(
        session, year=period.year, require_verification=settings.require_verification
    )
    targets = await rq.targets_for_year(session, year=period.year)
    previous = await rq.rank_snapshot(session, day=period.today - timedelta(days=1))

    unranked: list[RankRow] = []
    for team_id, name in names.items():
        tally = tallies.get(team_id, rq.StageTally())
        own = {s: n for s, n in targets.teams.get(team_id, {}).items() if n > 0 and s in STAGES}
        amount = tally.signed_amount + tally.landed_amount
        if own:
            completion = composite_completion(tally, own, weights)
            score, light = completion, _light(settings, completion, period.pct)
        else:
            completion, light, score = None, None, weighted_score(tally, weights)
        unranked.append(RankRow(team_id, name, 0, score, completion, light, tally, own, amount))
    unranked.sort(key=lambda r: (*_rank_key(r), r.team_name))

    ranked: list[RankRow] = []
    for position, row in enumerate(unranked, start=1):
        rank = ranked[-1].rank if ranked and _rank_key(ranked[-1]) == _rank_key(row) else position
        prev = previous.get(row.team_id)
        ranked.append(
            RankRow(row.team_id, row.team_name, rank, row.score, row.completion_pct, row.light, row.tally,
                    row.targets, row.amount_yuan, prev[0] if prev else None)
        )
    return ranked, targets


def _delta_text(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    if not has_snapshot:
        return ""
    if row.delta is None:
        return _t(lang, "新", "new")
    if row.delta > 0:
        return f"↑{row.delta}"
    if row.delta < 0:
        return f"↓{-row.delta}"
    return "–"


def _rank_line(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    delta = _delta_text(row, has_snapshot, lang)
    if row.completion_pct is not None and row.light is not None:
        body = f"{row.rank}. {row.team_name} {LIGHT_EMOJI[row.light]} {_pct(row.completion_pct)}"
    else:
        points = _t(lang, "分", " pts") + _paren(_counts_line(row.tally, lang), lang)
        body = f"{row.rank}. {row.team_name} {row.score:g}{points}"
    return f"{body} {delta}".rstrip()


def _ranking_excerpt(rows: Sequence[RankRow]) -> tuple[list[RankRow], list[RankRow], int]:
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


def stage_lacks(tally: rq.StageTally, targets: dict[str, int], share: float) -> dict[str, int]:
    """Per stage, how many more projects are needed to be on 序时进度 (target × share, rounded up)."""
    lacking: dict[str, int] = {}
    for stage in STAGES:
        target = targets.get(stage, 0)
        if target > 0:
            missing = ceil_share(target, share) - tally.count(stage)
            if missing > 0:
                lacking[stage] = missing
    return lacking


def _lack_text(lacking: dict[str, int], lang: Lang) -> str:
    if lang == "en":
        return ", ".join(f"{n} {stage_name(stage, lang)}" for stage, n in lacking.items())
    return "，".join(f"{stage_name(stage)} {n} 个" for stage, n in lacking.items())


def _district_targets(targets: rq.Targets) -> tuple[dict[str, int], bool]:
    """The district's targets; with none set for a stage, the sum of the teams' (flag says so)."""
    return targets.district_or_sum()


def _funnel(tally: rq.StageTally, targets: dict[str, int], lang: Lang) -> list[FunnelStage]:
    return [
        FunnelStage(
            stage_name(stage, lang), tally.count(stage), targets.get(stage), tally.amount(stage)
        )
        for stage in STAGES
    ]


def _rank_bars(rows: Sequence[RankRow]) -> list[RankBar]:
    return [
        RankBar(row.team_name, round(row.completion_pct, 1), row.light, row.delta, row.rank)
        for row in rows
        if row.completion_pct is not None and row.light is not None
    ]


def _sum_tallies(tallies: Sequence[rq.StageTally]) -> rq.StageTally:
    total = rq.StageTally()
    for tally in tallies:
        total.add(tally)
    return total


async def leaderboard(
    session: AsyncSession, *, settings: Settings, now: datetime, lang: Lang = "zh", charts: Charts | None = None
) -> Reply:
    """The 比学赶超 post: 比 (ranking with ↑↓ and lights), 学 (yesterday's movers), 赶 (what each lags by)."""
    period = _period(settings, now)
    rows, targets = await _ranking(session, settings, period)
    has_snapshot = any(row.prev_rank is not None for row in rows)

    doc = _Doc()
    doc.title(_t(lang, "🏆 比学赶超", "🏆 Leaderboard") + f" · {_day_text(period.today, lang)}")
    doc.line(_t(lang, "序时进度 ", "Schedule ") + _pct(period.pct))

    # 比
    doc.blank()
    targeted = [row for row in rows if row.has_targets]
    if targeted:
        doc.title(_t(lang, "【比】目标完成率排名", "Compare: completion of targets"))
    else:
        doc.title(_t(lang, "【比】加权积分排名", "Compare: weighted stage score"))
        weights = _weights(settings)
        doc.line(_t(lang, "（未设小分队目标；积分=", "(no squad targets; score = ")
                 + " + ".join(f"{_short(s, lang)}×{weights[s]:g}" for s in STAGES)
                 + _t(lang, "）", ")"))
    if not rows:
        doc.line(_t(lang, "还没有小分队。", "No squads yet."))
    top, bottom, hidden = _ranking_excerpt(rows)
    heading_done = False
    for row in top:
        if targeted and not row.has_targets and not heading_done:
            doc.line(_t(lang, "未设目标（按加权积分）：", "Without targets (weighted score):"))
            heading_done = True
        doc.line(_rank_line(row, has_snapshot, lang))
    if hidden:
        doc.line(_t(lang, f"…… 中间 {hidden} 队略", f"… {hidden} squads not shown"))
        for row in bottom:
            doc.line(_rank_line(row, has_snapshot, lang))

    # 学
    doc.blank()
    yesterday = period.today - timedelta(days=1)
    y_start, y_end = range_bounds_utc(yesterday, yesterday, settings.tz)
    doc.title(_t(lang, f"【学】昨日（{_short_day(yesterday, lang)}）", f"Learn: yesterday ({yesterday})"))
    await _learn_section(doc, session, settings=settings, start=y_start, end=y_end, lang=lang)

    # 赶
    doc.blank()
    doc.title(_t(lang, "【赶】距序时进度还差", "Catch up: behind schedule by"))
    district_targets, _ = _district_targets(targets)
    district = _sum_tallies([row.tally for row in rows])
    lacks = [
        _Lack(row.team_name, row.light, period.pct - (row.completion_pct or 0.0),
              stage_lacks(row.tally, row.targets, period.share))
        for row in targeted
        if (row.completion_pct or 0.0) < period.pct
    ]
    lacks = [lack for lack in lacks if lack.lacking]
    lacks.sort(key=lambda lack: (-lack.gap_points, lack.name))
    if not targeted and not district_targets:
        doc.line(_t(lang, "尚未设置年度目标，无法计算差距。领导可用「目标」命令设置。",
                    "No targets set for the year yet: a leader can set them with the target command."))
    elif targeted and not lacks:
        doc.line(_t(lang, "各小分队均达到序时进度 👍", "Every squad is on schedule 👍"))
    for lack in lacks[:CATCH_UP_LIMIT]:
        emoji = LIGHT_EMOJI.get(lack.light or "", "")
        doc.line(f"{emoji} {lack.name}{_t(lang, '：', ': ')}{_lack_text(lack.lacking, lang)}".lstrip())
    if len(lacks) > CATCH_UP_LIMIT:
        doc.line(_t(lang, f"另有 {len(lacks) - CATCH_UP_LIMIT} 队落后于序时进度",
                    f"{len(lacks) - CATCH_UP_LIMIT} more squads behind schedule"))
    if district_targets:
        district_lack = stage_lacks(district, district_targets, period.share)
        if district_lack:
            doc.line(_t(lang, "全区：", "District: ") + _lack_text(district_lack, lang))
        else:
            doc.line(_t(lang, "全区各库均达到序时进度 👍", "District: every pool on schedule 👍"))

    image = None
    if charts is not None:
        funnel = _funnel(district, district_targets, lang)
        bars = _rank_bars(rows)
        funnel_title = _t(lang, f"全区四库 {period.year}", f"District pools {period.year}")
        if bars:
            image = await charts.ranking_and_funnel(
                bars, funnel,
                ranking_title=_t(lang, f"比学赶超 {_short_day(period.today, lang)}",
                                 f"Ranking {period.today}"),
                funnel_title=funnel_title, schedule_pct=period.pct, lang=lang,
            )
        else:
            image = await charts.funnel(funnel, title=funnel_title, schedule_pct=period.pct, lang=lang)
    return doc.reply(image=image, image_name="leaderboard.png")


def _move_line(move: rq.Move, settings: Settings, lang: Lang) -> str:
    pending = (
        _t(lang, "（待核实）", " (to verify)")
        if settings.require_verification and move.to_stage in ("signed", "landed") and not move.verified
        else ""
    )
    amount = f" {format_amount(move.amount_yuan, lang)}" if move.amount_yuan else ""
    return f"#{move.project_id} {move.name}{amount}{_paren(move.team_name, lang)}{pending}"


async def _learn_section(
    doc: _Doc, session: AsyncSession, *, settings: Settings, start: datetime, end: datetime, lang: Lang
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
        doc.line(_t(lang, f"…… 共 {len(shown)} 个签约/落地", f"… {len(shown)} signed/landed in all"))
    if not shown:
        doc.line(_t(lang, "昨日暂无签约、落地。", "No projects signed or landed yesterday."))
    # The largest of yesterday's other moves (new 谋划/招引 projects): the 签约/落地 are listed above.
    listed = {m.project_id for m in shown[:10]}
    others = await rq.stage_moves(session, start=start, end=end, limit=3 + len(listed))
    biggest = [m for m in others if m.amount_yuan and m.project_id not in listed][:3]
    if biggest:
        doc.line(_t(lang, "💰 新进大项目：", "💰 Largest new: ") + _t(lang, "；", "; ").join(
            f"{m.name} {format_amount(m.amount_yuan, lang)}"
            + _paren(f"{m.team_name}·{stage_name(m.to_stage, lang)}", lang)
            for m in biggest
        ))
    reporters = await rq.reports_by_team(session, start=start, end=end, limit=3)
    if reporters:
        doc.line(_t(lang, "📣 报送最多：", "📣 Most reports: ") + _t(lang, "、", ", ").join(
            f"{name} {n}{_t(lang, '条', '')}" for _, name, n in reporters
        ))
    else:
        doc.line(_t(lang, "📣 昨日无人报送。", "📣 No reports yesterday."))


# --------------------------------------------------------------------------------------------------
# 进度: status against targets


def _stage_lines(
    doc: _Doc, tally: rq.StageTally, targets: dict[str, int], period: _Period, settings: Settings, lang: Lang
) -> None:
    lacking = stage_lacks(tally, targets, period.share)
    for stage in STAGES:
        count, target = tally.count(stage), targets.get(stage, 0)
        line = f"{stage_name(stage, lang)} {count}"
        if target:
            done = count / target * 100
            line += f"/{target} {_pct(done)} {LIGHT_EMOJI[_light(settings, done, period.pct)]}"
            if stage in lacking:
                line += _t(lang, f" 差{lacking[stage]}", f" short {lacking[stage]}")
        # Unverified moves are news only where verification is required: with the setting off nobody
        # verifies, and "待核实" on every line would be noise (the 待核实 list still shows them).
        pending = tally.pending(stage)
        if pending and settings.require_verification:
            line += _t(lang, f"（另有待核实 {pending}）", f" (+{pending} to verify)")
        doc.line(line)
    doc.line(
        _t(lang, "签约金额 ", "Signed ") + format_amount(tally.signed_amount, lang)
        + _t(lang, " · 落地金额 ", " · landed ") + format_amount(tally.landed_amount, lang)
    )


def _breakdown(
    doc: _Doc, title: str, groups: dict[Any, rq.StageTally], lang: Lang, *, order: Sequence[str] = ()
) -> None:
    if not groups:
        return
    doc.title(title)

    def weight(item: tuple[Any, rq.StageTally]) -> tuple[int, int, int, str]:
        key, tally = item
        # Fixed keys first (服务业, 工业), then by signed + landed, with "未填" (no value) always last.
        fixed = order.index(key) if key in order else len(order) + (1 if not key else 0)
        return (fixed, -tally.signed - tally.landed, -tally.planned, str(key))

    items = sorted(groups.items(), key=weight)
    for key, tally in items[:BREAKDOWN_LIMIT]:
        label = key or _t(lang, "未填", "unset")
        counts = " ".join(f"{stage_name(stage, lang)}{tally.count(stage)}" for stage in STAGES)
        amount = tally.signed_amount + tally.landed_amount
        money = _t(lang, f"，签约+落地 {format_amount(amount, lang)}", f", signed+landed {format_amount(amount, lang)}") \
            if amount else ""
        doc.line(f"{label}{_t(lang, '：', ': ')}{counts}{money}")
    if len(items) > BREAKDOWN_LIMIT:
        more = len(items) - BREAKDOWN_LIMIT
        doc.line(_t(lang, f"…… 另有 {more} 项", f"… {more} more"))


def close_names(query: str, names: Sequence[str], *, threshold: float, limit: int = 5) -> list[str]:
    """Team names that look like `query`: containing it (or contained in it), then fuzzy matches."""
    folded = query.casefold()
    contained = [n for n in names if folded in n.casefold() or n.casefold() in folded]
    fuzzy = [
        name for name, _score, _ in process.extract(
            query, list(names), scorer=fuzz.WRatio, limit=limit, score_cutoff=threshold
        )
    ]
    ordered = list(dict.fromkeys([*contained, *fuzzy]))
    return ordered[:limit]


def resolve_team(query: str, names: dict[int, str], *, threshold: float) -> tuple[int | None, list[str]]:
    """A team id for a typed name: exact (ignoring case and spaces) or the only name containing it.

    Returns (team id, []) when found, else (None, close names to offer).
    """
    wanted = "".join(query.split()).casefold()
    for team_id, name in names.items():
        if "".join(name.split()).casefold() == wanted:
            return team_id, []
    containing = [tid for tid, name in names.items() if wanted and wanted in "".join(name.split()).casefold()]
    if len(containing) == 1:
        return containing[0], []
    return None, close_names(query, list(names.values()), threshold=threshold)


async def status_report(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    viewer_team_id: int | None,
    is_leader: bool,
    team_name: str | None = None,
    lang: Lang = "zh",
    view: str | None = None,
    charts: Charts | None = None,
) -> Reply:
    """进度: the district's counts per pool against targets and 序时进度, and squad detail.

    A member sees the district lines and their own squad. A leader sees a short summary (the pools, the
    squads' lights, who lags most) and asks for the breakdowns by `view`: "wheel", "industry", "zone",
    "squads" or "all" (进度 按产业, 进度 详细); or one squad by naming it (进度 德化街).
    """
    period = _period(settings, now)
    names = await rq.team_names(session)

    focus: int | None = None
    if team_name:
        found, close = resolve_team(team_name, names, threshold=settings.fuzzy_threshold)
        if found is None:
            doc = _Doc()
            doc.line(_t(lang, f"没有名为「{team_name}」的小分队。",
                        f"There is no squad named “{team_name}”."))
            if close:
                doc.line(_t(lang, "相近的有：", "Did you mean: ") + _t(lang, "、", ", ").join(close))
            doc.line(_t(lang, "用法：进度 队名（如：进度 ", "Usage: status <squad> (e.g. status ")
                     + (close[0] if close else next(iter(names.values()), "德化街")) + _t(lang, "）", ")"))
            return doc.reply(ok=False)
        focus = found  # whether the viewer may see it is the caller's to decide (handlers.access)

    rows, targets = await _ranking(session, settings, period)
    by_team = {row.team_id: row for row in rows}
    district_targets, summed = _district_targets(targets)
    district = _sum_tallies([row.tally for row in rows])

    doc = _Doc()
    if focus is not None:
        row = by_team[focus]
        doc.title(_t(lang, "📊 ", "📊 ") + f"{row.team_name} · {_day_text(period.today, lang)}")
        doc.line(_t(lang, "序时进度 ", "Schedule ") + _pct(period.pct))
        await _team_section(doc, session, row, len(rows), period, settings, lang, now)
        image = await charts.funnel(
            _funnel(row.tally, row.targets, lang),
            title=f"{row.team_name} {period.year}", schedule_pct=period.pct if row.targets else None, lang=lang,
        ) if charts is not None else None
        return doc.reply(image=image, image_name="status.png")

    doc.title(_t(lang, "📊 全区进度", "📊 District progress") + f" · {_day_text(period.today, lang)}")
    doc.line(_t(lang, "序时进度 ", "Schedule ") + _pct(period.pct))
    if summed:
        doc.line(_t(lang, "（全区目标按各队目标合计）", "(district targets: sum of squad targets)"))
    _stage_lines(doc, district, district_targets, period, settings, lang)

    if is_leader:
        views = {"wheel", "industry", "zone", "squads"} if view == "all" else {view}
        if views & {"wheel", "industry", "zone"}:
            groups = await rq.year_breakdowns(session, year=period.year,
                                              require_verification=settings.require_verification)
            if "wheel" in views:
                doc.blank()
                _breakdown(doc, _t(lang, "按服务业 / 工业", "By sector"), groups.wheel, lang, order=("服务业", "工业"))
            if "industry" in views:
                doc.blank()
                _breakdown(doc, _t(lang, "按产业", "By industry"), groups.industry, lang)
            if "zone" in views:
                doc.blank()
                _breakdown(doc, _t(lang, "按区域", "By zone"), groups.zone, lang)
        if "squads" in views:
            doc.blank()
            doc.title(_t(lang, "按小分队", "By squad"))
            has_snapshot = any(row.prev_rank is not None for row in rows)
            top, bottom, hidden = _ranking_excerpt(rows)
            for row in top:
                doc.line(_squad_status_line(row, has_snapshot, lang))
            if hidden:
                doc.line(_t(lang, f"…… 中间 {hidden} 队略", f"… {hidden} squads not shown"))
                for row in bottom:
                    doc.line(_squad_status_line(row, has_snapshot, lang))
        if view is None:
            _squads_summary(doc, rows, lang)
        doc.blank()
        doc.line(_t(lang, "更多：进度 按产业 / 按区域 / 按服务业 / 按小分队，全部：进度 详细；单队：进度 队名。",
                    "More: status by industry / zone / sector / squad, everything: status all; one squad: "
                    "status <squad>."))
    elif viewer_team_id is not None and viewer_team_id in by_team:
        doc.blank()
        row = by_team[viewer_team_id]
        doc.title(_t(lang, f"🚩 本队：{row.team_name}", f"🚩 Your squad: {row.team_name}"))
        await _team_section(doc, session, row, len(rows), period, settings, lang, now)

    image = await charts.funnel(
        _funnel(district, district_targets, lang),
        title=_t(lang, f"全区四库 {period.year}", f"District pools {period.year}"),
        schedule_pct=period.pct if district_targets else None, lang=lang,
    ) if charts is not None else None
    return doc.reply(image=image, image_name="status.png")


def _squads_summary(doc: _Doc, rows: Sequence[RankRow], lang: Lang) -> None:
    """The squads in two lines: how many in each light, and who lags most."""
    lit = [row for row in rows if row.light is not None]
    if not lit:
        return
    doc.blank()
    counts = {light: sum(1 for row in lit if row.light == light) for light in ("green", "yellow", "red")}
    doc.line(_t(lang, "小分队：", "Squads: ") + _t(lang, "，", ", ").join(
        f"{LIGHT_EMOJI[light]} {n}" + _t(lang, " 个", "") for light, n in counts.items() if n))
    behind = [row.team_name for row in sorted(lit, key=lambda r: r.completion_pct or 0.0)
              if row.light == "red"][:3]
    if behind:
        doc.line(_t(lang, "落后最多：", "Furthest behind: ") + _t(lang, "、", ", ").join(behind))


def _squad_status_line(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    delta = _delta_text(row, has_snapshot, lang)
    if row.completion_pct is not None and row.light is not None:
        head = f"{row.rank}. {row.team_name} {LIGHT_EMOJI[row.light]} {_pct(row.completion_pct)}"
    else:
        head = f"{row.rank}. {row.team_name}"
    return f"{head} {_counts_line(row.tally, lang)} {delta}".rstrip()


async def _team_section(
    doc: _Doc, session: AsyncSession, row: RankRow, team_count: int, period: _Period, settings: Settings,
    lang: Lang, now: datetime,
) -> None:
    if row.completion_pct is not None and row.light is not None:
        doc.line(_t(lang, f"排名 {row.rank}/{team_count} · 完成率 ", f"Rank {row.rank}/{team_count} · ")
                 + f"{_pct(row.completion_pct)} {LIGHT_EMOJI[row.light]}")
    else:
        doc.line(_t(lang, f"排名 {row.rank}/{team_count} · 积分 {row.score:g}（未设目标）",
                    f"Rank {row.rank}/{team_count} · score {row.score:g} (no targets)"))
    _stage_lines(doc, row.tally, row.targets, period, settings, lang)
    older = now - timedelta(days=settings.problem_escalation_days)
    problems = await rq.open_problem_counts(session, older_than=older, team_id=row.team_id)
    open_total = sum(total for total, _ in problems.values())
    cutoffs = _stale_cutoffs(settings, now)
    stale = (await rq.stale_counts(session, cutoffs=cutoffs, team_id=row.team_id)).get(row.team_id, {})
    extras = [_t(lang, f"未解决问题 {open_total} 个", f"{open_total} open problems")]
    warn = " ".join(
        f"{STALE_EMOJI[light]}{stale[light]}" for light in ("yellow", "red", "remove") if stale.get(light)
    )
    if warn:
        extras.append(_t(lang, "预警项目 ", "stale projects ") + warn)
    doc.line(" · ".join(extras))


# --------------------------------------------------------------------------------------------------
# 问题清单


async def problem_list(
    session: AsyncSession, *, settings: Settings, now: datetime, team_id: int | None = None, lang: Lang = "zh"
) -> Reply:
    """问题清单: open problems by category and age, oldest first, with the responsible squad."""
    today = local_day(now, settings.tz)
    limit_days = settings.problem_escalation_days
    older = now - timedelta(days=limit_days)
    counts = await rq.open_problem_counts(session, older_than=older, team_id=team_id)
    total = sum(n for n, _ in counts.values())
    overdue = sum(old for _, old in counts.values())

    doc = _Doc()
    doc.title(_t(lang, "🧩 问题清单", "🧩 Open problems") + f" · {_day_text(today, lang)}")
    if total == 0:
        doc.line(_t(lang, "✅ 暂无未解决的问题。", "✅ No open problems."))
        return doc.reply()
    doc.line(_t(lang, f"未解决 {total} 个 · 超过{limit_days}天 {overdue} 个",
                f"{total} open · {overdue} older than {limit_days} days"))
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    doc.line(" · ".join(f"{category} {n}" for category, (n, _) in ordered))
    doc.blank()
    problems = await rq.open_problems(session, team_id=team_id, limit=LIST_LIMIT)
    for index, problem in enumerate(problems, start=1):
        age = (today - local_day(problem.opened_at, settings.tz)).days
        age_text = _t(lang, f"{age}天", f"{age}d") if age else _t(lang, "今天", "today")
        flag = " ⚠️" if age > limit_days else ""
        if problem.escalated_at is not None:
            flag += _t(lang, "（已报领导）", " (escalated)")
        doc.line(f"{index}. 【{problem.category}】#{problem.project_id} {problem.project_name}"
                 f"{_paren(problem.team_name, lang)}{age_text}{flag}")
        if problem.text.strip():
            doc.line(f"    {clip(problem.text, 40)}")
    if total > len(problems):
        doc.line(_t(lang, f"…… 另有 {total - len(problems)} 个，请导出台账查看",
                    f"… {total - len(problems)} more: export the ledger for all"))
    return doc.reply()


# --------------------------------------------------------------------------------------------------
# Project lights


def _stale_cutoffs(settings: Settings, now: datetime) -> dict[str, tuple[datetime, datetime, datetime]]:
    months = settings.stale_months
    cutoffs: dict[str, tuple[datetime, datetime, datetime]] = {}
    for stage in STALE_STAGES:
        cut = stale_cutoffs(now, stage, months)
        if cut is not None:
            cutoffs[stage] = cut
    return cutoffs


async def stale_report(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    team_id: int | None = None,
    reds_only: bool = False,
) -> Reply | None:
    """Projects without news for too long (🟡/🔴/⛔ per DESIGN §5b), or None when there are none.

    A squad's group gets all its lights; the leaders' group gets the reds (`reds_only`, which includes
    the projects flagged for removal).
    """
    today = local_day(now, settings.tz)
    cutoffs = _stale_cutoffs(settings, now)
    if not cutoffs:
        return None
    lights = ("red", "remove") if reds_only else ("yellow", "red", "remove")
    every = await rq.stale_totals(session, cutoffs=cutoffs, team_id=team_id)
    totals = {light: every[light] for light in lights}
    if not any(totals.values()):
        return None
    projects = await rq.stale_projects(session, cutoffs=cutoffs, team_id=team_id, lights=lights,
                                       limit=LIST_LIMIT)
    limits = stale_limits("planned", settings.stale_months) or (0, 0, 0)
    label = {
        "yellow": f"超{limits[0]}个月未更新",
        "red": f"超{limits[1]}个月未更新",
        "remove": f"超{limits[2]}个月，建议出库",
    }

    doc = _Doc()
    doc.title(f"⏰ 项目预警 · {_day_text(today, 'zh')}")
    doc.line(" · ".join(f"{STALE_EMOJI[light]}{label[light]} {totals[light]} 个" for light in lights
                        if totals[light]))
    doc.blank()
    severity = {"remove": 0, "red": 1, "yellow": 2}
    for project in sorted(projects, key=lambda p: (severity[p.light], p.last_event_at)):
        days = (today - local_day(project.last_event_at, settings.tz)).days
        where = stage_name(project.stage) if team_id is not None else f"{project.team_name}·{stage_name(project.stage)}"
        doc.line(f"{STALE_EMOJI[project.light]} #{project.id} {project.name}（{where}）{days}天未更新")
    shown_total = sum(totals.values())
    if shown_total > len(projects):
        doc.line(f"…… 另有 {shown_total - len(projects)} 个")
    doc.blank()
    doc.line("请尽快跟进，发送「进展 项目名 内容」更新。")
    return doc.reply()


# --------------------------------------------------------------------------------------------------
# Forecast and verification


async def forecast_report(
    session: AsyncSession, *, settings: Settings, now: datetime, lang: Lang = "zh"
) -> Reply:
    """The year-end projection per stage (counted + 待核实 + expected by 31 Dec) and the slipping projects."""
    period = _period(settings, now)
    tally = await rq.year_district_tally(
        session, year=period.year, require_verification=settings.require_verification
    )
    targets, _ = _district_targets(await rq.targets_for_year(session, year=period.year))
    inputs = await rq.forecast_inputs(session, today=period.today, year_end=date(period.year, 12, 31))
    slipped = await rq.slipped_projects(session, min_slips=3, limit=LIST_LIMIT)

    doc = _Doc()
    doc.title(_t(lang, f"📈 {period.year}年底预测", f"📈 Year-end forecast {period.year}")
              + f" · {_short_day(period.today, lang)}")
    doc.line(_t(lang, "序时进度 ", "Schedule ") + _pct(period.pct))
    for stage in STAGES:
        counted = tally.count(stage)
        pending = tally.pending(stage) if settings.require_verification else 0
        projected = counted + pending + inputs.expected[stage]
        target = targets.get(stage, 0)
        # One plain sentence per pool: 签约：已 35，预计年底 52，目标 80，差 28.
        parts = [_t(lang, f"已 {counted}", f"{counted} so far")]
        if pending:
            parts.append(_t(lang, f"待核实 {pending}", f"{pending} to verify"))
        parts.append(_t(lang, f"预计年底 {projected}", f"{projected} expected by year-end"))
        if target:
            parts.append(_t(lang, f"目标 {target}", f"target {target}"))
            gap = target - projected
            parts.append(_t(lang, f"差 {gap}", f"short by {gap}") if gap > 0
                         else _t(lang, "可完成 ✅", "on track ✅"))
        sep = _t(lang, "，", ", ")
        doc.line(f"{stage_name(stage, lang)}{_t(lang, '：', ': ')}{sep.join(parts)}")
    overdue = {stage: n for stage, n in inputs.overdue.items() if n}
    if overdue:
        doc.line(_t(lang, "⚠️ 预计日期已过仍未达到：", "⚠️ Expected date passed, not reached: ")
                 + _lack_text(overdue, lang))
    doc.blank()
    doc.title(_t(lang, "🔁 预计日期推迟3次及以上", "🔁 Expected date slipped 3+ times"))
    if not slipped:
        doc.line(_t(lang, "暂无。", "None."))
    for project in slipped:
        when = project.expected_date.strftime("%Y-%m-%d") if project.expected_date else "-"
        doc.line(_t(
            lang,
            f"#{project.id} {project.name}（{project.team_name}）预计{stage_name(project.expected_stage)} "
            f"{when} · 推迟{project.slips}次",
            f"#{project.id} {project.name} ({project.team_name}) expects "
            f"{stage_name(project.expected_stage, lang)} {when} · slipped {project.slips}×",
        ))
    return doc.reply()


async def pending_verification(
    session: AsyncSession, *, settings: Settings, team_id: int | None = None, now: datetime | None = None
) -> Reply:
    """待核实: 签约/落地 moves no leader has confirmed yet, oldest first, with how long each has waited."""
    moves, total = await rq.pending_verifications(session, team_id=team_id, limit=LIST_LIMIT)
    doc = _Doc()
    doc.title(f"🔍 待核实 {total} 个")
    if settings.require_verification:
        doc.line("签约、落地经领导核实后才计入统计。")
    else:
        doc.line("当前设置：未核实的签约、落地也计入统计。")
    if not moves:
        doc.line("✅ 没有待核实的签约、落地。")
        return doc.reply()
    for index, move in enumerate(moves, start=1):
        when = move.reached_at.astimezone(settings.tz).strftime("%Y-%m-%d")
        days = (now - move.reached_at).days if now is not None else None
        waited = "（今天）" if days == 0 else (f"（等了 {days} 天）" if days is not None else "")
        amount = f" {format_amount(move.amount_yuan)}" if move.amount_yuan else ""
        doc.line(f"{index}. #{move.project_id} {move.name}（{move.team_name}）"
                 f"{stage_name(move.stage)}{amount} · {when}{waited}")
    if total > len(moves):
        doc.line(f"…… 另有 {total - len(moves)} 个")
    doc.line(f"发送「核实 #{moves[0].project_id}」确认一个，「核实 全部」或「核实 队名」确认整批（先列出再确认）。")
    return doc.reply()


# --------------------------------------------------------------------------------------------------
# Weekly summary


def last_week(today: date) -> tuple[date, date]:
    """The last complete Monday–Sunday week before `today`."""
    sunday = today - timedelta(days=today.weekday() + 1)
    return sunday - timedelta(days=6), sunday


async def weekly_summary(session: AsyncSession, *, settings: Settings, now: datetime,
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
    week = _sum_tallies(list(per_team.values()))
    weights = _weights(settings)

    doc = _Doc()
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
        doc.line(f"{names[tid]} {_counts_line(tally, 'zh')} · 报送{reports.get(tid, 0)}条")
    if len(active) > LIST_LIMIT:
        doc.line(f"…… 另有 {len(active) - LIST_LIMIT} 队有进展")
    quiet = len(names) - len(active)
    if quiet:
        doc.line(f"本周无进展、无报送：{quiet} 队")

    year_targets, _ = _district_targets(await rq.targets_for_year(session, year=sunday.year))
    days_in_year = 366 if calendar.isleap(sunday.year) else 365
    # The weekly pace a yearly target implies, rounded up: the bar each pool should reach in a week.
    pace = {stage: ceil_share(n, 7 / days_in_year) for stage, n in year_targets.items()}
    image = await charts.funnel(
        _funnel(week, pace, "zh"),
        title=f"上周新增（周均目标）{monday.month}/{monday.day}–{sunday.month}/{sunday.day}",
        schedule_pct=None, lang="zh",
    ) if charts is not None else None
    return doc.reply(image=image, image_name="weekly.png")


# --------------------------------------------------------------------------------------------------
# Ledger


async def ledger_summary(session: AsyncSession, *, settings: Settings, now: datetime) -> ledger.LedgerSummary:
    """The 汇总 of the ledger on the day of `now`: squads in the order of the 排行 (compute_ranking)."""
    period = _period(settings, now)
    ranking, _ = await _ranking(session, settings, period)
    return await rq.ledger_summary(
        session, year=period.year, as_of=period.today, schedule_pct=period.pct,
        require_verification=settings.require_verification, order=[row.team_id for row in ranking],
    )


async def ledger_export(session: AsyncSession, *, settings: Settings, now: datetime,
                        team_id: int | None = None) -> OutgoingFile:
    """导出/台账: every project (a sheet per pool, 汇总 first) as .xlsx, written in a worker thread; with
    `team_id`, that squad's projects only (a captain's export; the 汇总 is the district's, as 排行 is)."""
    rows = await rq.ledger_rows(session, tz=settings.tz, team_id=team_id)
    summary = await ledger_summary(session, settings=settings, now=now)
    content = await asyncio.to_thread(ledger.write_xlsx, rows, summary, tz=settings.tz)
    return OutgoingFile(
        name=f"招商台账-{summary.as_of.isoformat()}.xlsx",
        content=content,
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
