"""The data of each dashboard page, from the same builders and queries as the chat reports (handlers.reports,
storage.report_queries), so every figure on a page is the one the chat gives.

Each builder takes an open session, the district's rules and `now`, and returns plain dataclasses with the
figures already formatted the way the chat writes them (percentages, amounts); bot/dashboard renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.format import format_amount, stage_name
from handlers.report_calendar import range_bounds_utc
from handlers.reports.common import ReportPeriod, light_for, percent, report_period
from handlers.reports.funds import funds_figures, funds_line
from handlers.reports.ranking import RankRow, ranking_with_targets
from handlers.reports.scores import district_targets_or_sum, stage_lacks, sum_tallies
from handlers.reports.stale import stage_cutoffs
from storage import report_queries as rq
from storage.models import STAGES
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules

TREND_DAYS = 30
RANK_TOP, RANK_BOTTOM = 20, 5  # the ranking page at a large district: the top, the bottom and one's own
LIST_LIMIT = 100  # problems, moves, slipped projects on one page


@dataclass(frozen=True)
class PoolLine:
    """One pool against its target: the count, target, completion and light, and how many it lacks."""

    stage: str
    name: str
    count: int
    target: int
    done_pct: str  # "" without a target
    done: float
    light: str | None
    lacking: int
    pending: int
    amount: str


@dataclass(frozen=True)
class Pools:
    """The four pools of the district or one squad, with the signed and landed investment."""

    lines: list[PoolLine]
    signed_amount: str
    landed_amount: str
    funds: str = ""  # 到位资金 and 到位率, worded as 进度 words them ("" before any target or arrival)


def _pools(tally: rq.StageTally, targets: dict[str, int], period: ReportPeriod, settings: Rules) -> Pools:
    lacking = stage_lacks(tally, targets, period.share)
    lines = []
    for stage in STAGES:
        count, target = tally.count(stage), targets.get(stage, 0)
        done = count / target * 100 if target else 0.0
        lines.append(PoolLine(
            stage, stage_name(stage), count, target, percent(done) if target else "", done,
            light_for(settings, done, period.pct) if target else None, lacking.get(stage, 0),
            tally.pending(stage) if settings.require_verification else 0, format_amount(tally.amount(stage)),
        ))
    return Pools(lines, format_amount(tally.signed_amount), format_amount(tally.landed_amount))


@dataclass(frozen=True)
class Header:
    """The day and its 序时进度 (every page shows them)."""

    today: date
    year: int
    schedule_pct: str
    schedule: float


def _header(period: ReportPeriod) -> Header:
    return Header(period.today, period.year, percent(period.pct), period.pct)


@dataclass(frozen=True)
class RankLine:
    """A squad's place: rank, name, completion (or weighted score), light, ↑↓ and its 30-day rank trend."""

    team_id: int
    rank: int
    name: str
    completion: str  # "50.0%", or "12分" without targets
    light: str | None
    delta: int | None
    counts: dict[str, int]
    trend: list[tuple[date, int]] = field(default_factory=list)


def _rank_line(row: RankRow) -> RankLine:
    if row.by == "assessment":  # ZSBOT_RANKING_BY: the value the ranking is ordered by
        value = f"{round(row.score, 2):g}分"
    elif row.by == "activity":
        value = f"{row.score:.1f}"
    else:
        value = percent(row.completion_pct) if row.completion_pct is not None else f"{row.score:g}分"
    return RankLine(row.team_id, row.rank, row.team_name, value, row.light, row.delta,
                    {stage: row.tally.count(stage) for stage in STAGES})


@dataclass(frozen=True)
class Overview:
    """The district against its targets and 序时进度, and how many squads in each light."""

    header: Header
    pools: Pools
    summed_targets: bool
    squads: int
    lights: dict[str, int]
    behind: list[str]
    own: RankLine | None


async def overview(session: AsyncSession, *, settings: Rules, now: datetime, own_team: int | None) -> Overview:
    """全区进度: what `进度` says of the district, with the squads' lights (and the viewer's squad's place)."""
    period = report_period(settings, now)
    rows, targets = await ranking_with_targets(session, settings, period)
    page = _overview(rows, targets, period, settings, own_team)
    figures = await funds_figures(session, year=period.year)
    return replace(page, pools=replace(page.pools, funds=funds_line(figures, None, period, settings, "zh")))


def _overview(rows: list[RankRow], targets: rq.Targets, period: ReportPeriod, settings: Rules,
              own_team: int | None) -> Overview:
    district_targets, summed = district_targets_or_sum(targets)
    district = sum_tallies([row.tally for row in rows])
    lit = [row for row in rows if row.light is not None]
    lights = {light: sum(1 for row in lit if row.light == light) for light in ("green", "yellow", "red")}
    behind = [row.team_name for row in sorted(lit, key=lambda r: r.completion_pct or 0.0) if row.light == "red"][:3]
    own = next((_rank_line(row) for row in rows if row.team_id == own_team), None)
    return Overview(_header(period), _pools(district, district_targets, period, settings), summed, len(rows),
                    lights, behind, own)


@dataclass(frozen=True)
class Ranking:
    """比: the ranking (the top, the bottom and the viewer's own row at a large district) with trends."""

    header: Header
    rows: list[RankLine]
    hidden: int
    total: int
    targeted: bool


async def ranking(session: AsyncSession, *, settings: Rules, now: datetime, own_team: int | None) -> Ranking:
    """排行 with each shown squad's rank over the last 30 days (the stored daily snapshots)."""
    period = report_period(settings, now)
    rows, _ = await ranking_with_targets(session, settings, period)
    if len(rows) <= RANK_TOP + RANK_BOTTOM:
        shown = list(rows)
    else:
        shown = rows[:RANK_TOP] + [row for row in rows[RANK_TOP:-RANK_BOTTOM] if row.team_id == own_team] \
            + rows[-RANK_BOTTOM:]
    return await _ranking_page(session, rows, shown, period)


async def _ranking_page(session: AsyncSession, rows: list[RankRow], shown: list[RankRow], period: ReportPeriod) -> Ranking:
    history = await rq.rank_history(session, start=period.today - timedelta(days=TREND_DAYS),
                                    end=period.today, team_ids=[row.team_id for row in shown])
    lines = []
    for row in shown:
        line = _rank_line(row)
        lines.append(RankLine(line.team_id, line.rank, line.name, line.completion, line.light, line.delta,
                              line.counts, history.get(row.team_id, [])))
    return Ranking(_header(period), lines, len(rows) - len(shown), len(rows), any(r.has_targets for r in rows))


SCREEN_ROWS, SCREEN_MOVES = 10, 8


async def screen(session: AsyncSession, *, settings: Rules,
                 now: datetime) -> tuple[Overview, Ranking, list[MoveLine]]:
    """The big screen: the overview, the top of the ranking and yesterday's 签约/落地 (as 学 lists them), from
    one ranking of the squads; what it does not show (reporters, the largest new) is not read."""
    period = report_period(settings, now)
    rows, targets = await ranking_with_targets(session, settings, period)
    yesterday = period.today - timedelta(days=1)
    start, end = range_bounds_utc(yesterday, yesterday, settings.tz)
    moves = _furthest(await rq.stage_moves(session, start=start, end=end, stages=("signed", "landed"),
                                           limit=60))  # as 学 reads them (handlers.reports.ranking)
    return (_overview(rows, targets, period, settings, None),
            await _ranking_page(session, rows, rows[:SCREEN_ROWS], period), _move_lines(moves[:SCREEN_MOVES], settings))


@dataclass(frozen=True)
class ProjectLine:
    """A project on a squad page or a list."""

    id: int
    name: str
    stage: str
    amount: str
    days: int  # since its last event
    light: str  # "", yellow, red, remove


@dataclass(frozen=True)
class ProblemLine:
    """An open problem, its age and the squad responsible."""

    id: int
    category: str
    project_id: int
    project_name: str
    team_id: int
    team_name: str
    text: str
    days: int
    overdue: bool
    escalated: bool


@dataclass(frozen=True)
class MoveLine:
    """A stage move (学: what reached 签约 or 落地)."""

    project_id: int
    name: str
    team_name: str
    stage: str
    amount: str
    day: date
    pending: bool


@dataclass(frozen=True)
class Squad:
    """One squad: its place, its pools, its projects by pool with their lights, problems and recent moves."""

    header: Header
    team_id: int
    name: str
    rank: RankLine
    total: int
    pools: Pools
    projects: dict[str, list[ProjectLine]]
    problems: list[ProblemLine]
    moves: list[MoveLine]


def _problem_lines(problems: list[rq.OpenProblem], settings: Rules, now: datetime) -> list[ProblemLine]:
    today = local_day(now, settings.tz)
    lines = []
    for p in problems:
        age = (today - local_day(p.opened_at, settings.tz)).days
        lines.append(ProblemLine(p.id, p.category, p.project_id, p.project_name, p.team_id, p.team_name, p.text,
                                 age, age > settings.problem_escalation_days, p.escalated_at is not None))
    return lines


def _move_lines(moves: list[rq.Move], settings: Rules) -> list[MoveLine]:
    return [MoveLine(m.project_id, m.name, m.team_name, stage_name(m.to_stage),
                     format_amount(m.amount_yuan) if m.amount_yuan else "", local_day(m.at, settings.tz),
                     settings.require_verification and m.to_stage in ("signed", "landed") and not m.verified)
            for m in moves]


async def squad(session: AsyncSession, *, settings: Rules, now: datetime, team_id: int) -> Squad | None:
    """进度 队名 as a page: the squad's pools and place, every live project by pool, problems, last 30 days' moves."""
    period = report_period(settings, now)
    rows, _ = await ranking_with_targets(session, settings, period)
    row = next((r for r in rows if r.team_id == team_id), None)
    if row is None:
        return None
    today = local_day(now, settings.tz)
    projects: dict[str, list[ProjectLine]] = {stage: [] for stage in STAGES}
    for p in await rq.squad_projects(session, team_id=team_id, cutoffs=stage_cutoffs(settings, now)):
        projects.setdefault(p.stage, []).append(ProjectLine(
            p.id, p.name, p.stage, format_amount(p.amount_yuan) if p.amount_yuan else "",
            (today - local_day(p.last_event_at, settings.tz)).days, p.light))
    problems = await rq.open_problems(session, team_id=team_id, limit=LIST_LIMIT)
    start, end = range_bounds_utc(today - timedelta(days=TREND_DAYS), today, settings.tz)
    # The largest moves of the 30 days (the query's order, as in 学), shown newest first.
    moves = sorted(await rq.stage_moves(session, start=start, end=end, team_id=team_id, limit=LIST_LIMIT),
                   key=lambda move: move.at, reverse=True)
    figures = await funds_figures(session, year=period.year)
    pools = replace(_pools(row.tally, row.targets, period, settings),
                    funds=funds_line(figures, team_id, period, settings, "zh"))
    return Squad(_header(period), team_id, row.team_name, _rank_line(row), len(rows), pools, projects,
                 _problem_lines(problems, settings, now), _move_lines(moves, settings))


@dataclass(frozen=True)
class ProblemBoard:
    """问题清单: open problems by category and age, with the responsible squad."""

    header: Header
    total: int
    overdue: int
    limit_days: int
    categories: list[tuple[str, int, int]]  # category, open, older than the limit
    problems: list[ProblemLine]


async def problem_board(
    session: AsyncSession, *, settings: Rules, now: datetime, team_id: int | None
) -> ProblemBoard:
    """The problem board of the district (team_id None) or one squad."""
    older = now - timedelta(days=settings.problem_escalation_days)
    counts = await rq.open_problem_counts(session, older_than=older, team_id=team_id)
    categories = sorted(((c, n, old) for c, (n, old) in counts.items()), key=lambda item: (-item[1], item[0]))
    problems = await rq.open_problems(session, team_id=team_id, limit=LIST_LIMIT)
    return ProblemBoard(_header(report_period(settings, now)), sum(n for _, n, _ in categories),
                        sum(old for _, _, old in categories), settings.problem_escalation_days, categories,
                        _problem_lines(problems, settings, now))


@dataclass(frozen=True)
class ForecastLine:
    """A pool at year end: counted, awaiting verification, expected by 31 Dec, the projection and the gap."""

    stage: str
    name: str
    counted: int
    pending: int
    expected: int
    projected: int
    target: int
    gap: int
    overdue: int


@dataclass(frozen=True)
class Forecast:
    """预计: the year-end projection per pool and the projects whose expected date slipped three times."""

    header: Header
    lines: list[ForecastLine]
    slipped: list[rq.SlippedProject]


async def forecast(session: AsyncSession, *, settings: Rules, now: datetime) -> Forecast:
    """The same projection as `预计` alone (handlers.reports.forecast_report)."""
    period = report_period(settings, now)
    tally = await rq.year_district_tally(session, year=period.year,
                                         require_verification=settings.require_verification)
    targets, _ = district_targets_or_sum(await rq.targets_for_year(session, year=period.year))
    inputs = await rq.forecast_inputs(session, today=period.today, year_end=date(period.year, 12, 31))
    slipped = await rq.slipped_projects(session, min_slips=3, limit=LIST_LIMIT)
    lines = []
    for stage in STAGES:
        counted = tally.count(stage)
        pending = tally.pending(stage) if settings.require_verification else 0
        projected = counted + pending + inputs.expected[stage]
        target = targets.get(stage, 0)
        lines.append(ForecastLine(stage, stage_name(stage), counted, pending, inputs.expected[stage], projected,
                                  target, max(target - projected, 0) if target else 0, inputs.overdue.get(stage, 0)))
    return Forecast(_header(period), lines, slipped)


@dataclass(frozen=True)
class Movers:
    """学: yesterday's 签约/落地 (as the morning post lists them), today's so far, the largest new, who reported."""

    header: Header
    yesterday: date
    signed_landed: list[MoveLine]
    today: list[MoveLine]
    biggest: list[MoveLine]
    reporters: list[tuple[str, int]]


def _furthest(moves: list[rq.Move]) -> list[rq.Move]:
    """A project that signed and landed the same day, once, at its furthest stage (as in 学)."""
    best: dict[int, rq.Move] = {}
    for move in moves:
        kept = best.get(move.project_id)
        if kept is None or STAGES.index(move.to_stage) > STAGES.index(kept.to_stage):
            best[move.project_id] = move
    return [m for m in moves if best.get(m.project_id) is m]


async def movers(session: AsyncSession, *, settings: Rules, now: datetime) -> Movers:
    """The day's movers, from the same queries as 【学】 in 排行."""
    period = report_period(settings, now)
    yesterday = period.today - timedelta(days=1)
    y_start, y_end = range_bounds_utc(yesterday, yesterday, settings.tz)
    shown = _furthest(await rq.stage_moves(session, start=y_start, end=y_end, stages=("signed", "landed"),
                                           limit=LIST_LIMIT))
    t_start, t_end = range_bounds_utc(period.today, period.today, settings.tz)
    today = _furthest(await rq.stage_moves(session, start=t_start, end=t_end, stages=("signed", "landed"),
                                           limit=LIST_LIMIT))
    listed = {m.project_id for m in shown[:10]}
    others = await rq.stage_moves(session, start=y_start, end=y_end, limit=3 + len(listed))
    biggest = [m for m in others if m.amount_yuan and m.project_id not in listed][:3]
    reporters = await rq.reports_by_team(session, start=y_start, end=y_end, limit=10)
    return Movers(_header(period), yesterday, _move_lines(shown, settings), _move_lines(today, settings),
                  _move_lines(biggest, settings), [(name, n) for _, name, n in reporters])


@dataclass(frozen=True)
class BreakdownLine:
    """One group of a breakdown (a wheel, an industry, a zone): counts per pool and signed + landed."""

    label: str
    counts: dict[str, int]
    amount: str
    amount_yuan: int


@dataclass(frozen=True)
class Breakdowns:
    """进度 按服务业/产业/区域: the year's counts by wheel, industry and zone."""

    header: Header
    groups: list[tuple[str, list[BreakdownLine]]]


def _breakdown(groups: dict[str, rq.StageTally], order: tuple[str, ...] = ()) -> list[BreakdownLine]:
    def weight(item: tuple[str, rq.StageTally]) -> tuple[int, int, int, str]:
        key, tally = item
        fixed = order.index(key) if key in order else len(order) + (1 if not key else 0)
        return (fixed, -tally.signed - tally.landed, -tally.planned, str(key))

    lines = []
    for key, tally in sorted(groups.items(), key=weight):
        amount = tally.signed_amount + tally.landed_amount
        lines.append(BreakdownLine(key or "未填", {s: tally.count(s) for s in STAGES},
                                   format_amount(amount) if amount else "", amount))
    return lines


async def breakdowns(session: AsyncSession, *, settings: Rules, now: datetime) -> Breakdowns:
    """The breakdowns `进度 详细` gives, every group listed (the chat shows the first ten)."""
    period = report_period(settings, now)
    groups = await rq.year_breakdowns(session, year=period.year, require_verification=settings.require_verification)
    return Breakdowns(_header(period), [("按服务业 / 工业", _breakdown(groups.wheel, ("服务业", "工业"))),
                                        ("按产业", _breakdown(groups.industry)), ("按区域", _breakdown(groups.zone))])
