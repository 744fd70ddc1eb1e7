"""考核: each squad's assessment points for a period under the district's scheme, explained line by line.

The points (handlers/assessment_default.toml documents each item): 签约 and 落地 projects by size band,
funds in place per 亿, activities (拜访, 接待, 活动, 线索, 宣传), a bonus per listed company's project, and a
deduction per week without a report. `assess_all` scores every squad from grouped SQL (one statement per
item, never a loop over squads or projects); `assess_team` lists where one squad's points came from. Both
round each item's points to two decimals and add the rounded items, so a squad's explanation lines sum to
the total the ranking shows.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.assessment_scheme import ACTIVITY_ITEMS, BANDS, YI, Scheme, band_of
from handlers.commands import Lang
from handlers.format import format_amount
from handlers.report_calendar import range_bounds_utc
from handlers.reports.common import RANK_ROWS_ALL, RANK_ROWS_BOTTOM, RANK_ROWS_TOP, Doc, short_day
from handlers.score_periods import Period
from handlers.wording import key, say
from storage import assessment_queries as aq
from storage import funds_queries
from storage.company_names import company_key

if TYPE_CHECKING:
    from handlers.rules import Rules

_THRESHOLDS: tuple[int, ...] = tuple(lowest for _, lowest in BANDS)
_BAND_KEYS = {"below_yi": key("assess.band_below_yi"), "yi": key("assess.band_yi"),
              "ten_yi": key("assess.band_ten_yi"), "fifty_yi": key("assess.band_fifty_yi")}
_LINE_KEYS = {"signed": key("assess.line_signed"), "landed": key("assess.line_landed")}
_KIND_KEYS = {"visit": key("assess.kind_visit"), "reception": key("assess.kind_reception"),
              "promo": key("assess.kind_promo"), "lead": key("assess.kind_lead"),
              "publicity": key("assess.kind_publicity")}


def points(value: float) -> float:
    """An item's points as added up: rounded to two decimals (0.1 × 3 is 0.3, not 0.30000000000000004)."""
    return round(value + 0.0, 2)


def points_text(value: float) -> str:
    """Points as a reply writes them: 5, 0.5, -2."""
    shown = points(value)
    return f"{shown:g}" if shown != 0 else "0"


@dataclass(frozen=True)
class ScoreLine:
    """One explained item: what it is and the points it gave (negative for a deduction)."""

    text: str
    points: float


@dataclass
class TeamScore:
    """A squad's assessment for a period: its total, its place, and (for one squad) the lines."""

    team_id: int
    team_name: str
    total: float
    rank: int = 0
    lines: list[ScoreLine] = field(default_factory=list)


def assessed_weeks(period: Period, today: date) -> list[tuple[date, date]]:
    """(Monday, Sunday) of the weeks the no-report deduction looks at: over before today, Sunday in the period."""
    sunday = period.first + timedelta(days=(6 - period.first.weekday()))
    weeks: list[tuple[date, date]] = []
    while sunday <= period.last and sunday < today:
        weeks.append((sunday - timedelta(days=6), sunday))
        sunday += timedelta(days=7)
    return weeks


@dataclass
class _Inputs:
    """What the scheme scores, for every squad (or one), from grouped queries."""

    names: dict[int, str]
    bands: dict[int, aq.BandTally]
    funds: dict[int, int]
    activity: Mapping[int, Mapping[str, int]]
    bonus: dict[int, list[tuple[int, str, str]]]
    weeks: list[tuple[date, date]]
    # Per team, the weeks it reported nothing in: for one team their indices in `weeks`; for every team
    # (the ranking) only as many as there were, from the weekly counts.
    silent: dict[int, list[int]]


async def _inputs(
    session: AsyncSession, settings: Rules, period: Period, today: date, team_id: int | None = None,
) -> _Inputs:
    scheme = settings.scheme
    start, end = range_bounds_utc(period.first, period.last, settings.tz)
    teams = await aq.teams_created(session)
    names = {tid: name for tid, (name, _) in teams.items() if team_id is None or tid == team_id}
    bands = await aq.band_counts(session, start=start, end=end, thresholds=_THRESHOLDS,
                                 require_verification=settings.require_verification, team_id=team_id)
    funds = await funds_queries.funds_in_place_by_team(
        session, since=period.first, until=period.last + timedelta(days=1))
    activity = await aq.activity_totals(session, start=period.first, end=period.last)
    keys = [company_key(name) for name in scheme.bonus_companies]
    bonus = await aq.bonus_projects(session, start=start, end=end, keys=keys,
                                    require_verification=settings.require_verification, team_id=team_id) \
        if scheme.bonus_points else {}
    weeks = assessed_weeks(period, today) if scheme.no_report_week else []
    silent = await _silent_weeks(session, settings, weeks, {tid: teams[tid][1] for tid in names}, team_id)
    return _Inputs(names, bands, funds, activity, bonus, weeks, silent)


async def _silent_weeks(
    session: AsyncSession, settings: Rules, weeks: list[tuple[date, date]], created: dict[int, datetime],
    team_id: int | None,
) -> dict[int, list[int]]:
    """Per team, the assessed weeks (indices into `weeks`) that began after it was created and had no report.

    For one team its reported weeks are read; for all, how many weeks each reported in (and the first), so
    the ranking reads a count per squad: a squad can only have reported before its first assessed week in
    the week it was created, which the earliest reported week tells.
    """
    if not weeks:
        return {}
    starts = [range_bounds_utc(monday, monday, settings.tz)[0] for monday, _ in weeks]
    first, last = weeks[0][0], weeks[-1][0]

    def eligible(tid: int) -> int:  # index of the team's first assessed week
        return bisect_left(starts, created[tid])

    if team_id is not None:
        reported = await aq.team_reported_weeks(session, team_id=team_id, first=first, last=last)
        return {team_id: [i for i in range(eligible(team_id), len(weeks)) if weeks[i][0] not in reported]}
    counts = await aq.reported_weeks(session, first=first, last=last)
    silent: dict[int, list[int]] = {}
    for tid in created:
        begin = eligible(tid)
        n, earliest = counts.get(tid, (0, last))
        before = 1 if n and begin < len(weeks) and earliest < weeks[begin][0] else 0
        missing = (len(weeks) - begin) - (n - before)
        silent[tid] = list(range(max(missing, 0)))  # how many: the ranking needs no more
    return silent


@dataclass(frozen=True)
class _Unit:
    """Each item's points, rounded as the explanation lines round them (computed once per ranking)."""

    signed: tuple[float, ...]
    landed: tuple[float, ...]
    bonus: float
    silent_week: float

    @classmethod
    def of(cls, scheme: Scheme) -> _Unit:
        return cls(tuple(points(p) for p in scheme.band_points("signed")),
                   tuple(points(p) for p in scheme.band_points("landed")),
                   points(scheme.bonus_points), points(-scheme.no_report_week))


def _totals(scheme: Scheme, unit: _Unit, inputs: _Inputs, team_id: int) -> float:
    """A squad's total from the grouped counts: the same rounded items the explanation lists, added up."""
    total = 0.0
    tally = inputs.bands.get(team_id)
    if tally is not None:
        total += sum(n * each for n, each in zip(tally.signed, unit.signed, strict=True))
        total += sum(n * each for n, each in zip(tally.landed, unit.landed, strict=True))
    in_place = inputs.funds.get(team_id, 0)
    if in_place:
        total += points(in_place / YI * scheme.funds_per_yi)
    kinds = inputs.activity.get(team_id)
    if kinds:
        total += sum(points(kinds.get(kind, 0) * scheme.activity[kind]) for kind in ACTIVITY_ITEMS)
    total += unit.bonus * len(inputs.bonus.get(team_id, ()))
    total += unit.silent_week * len(inputs.silent.get(team_id, ()))
    return points(total)


def rank_scores(scores: Sequence[TeamScore]) -> list[TeamScore]:
    """Best first; equal totals share a rank (ties listed by name)."""
    ordered = sorted(scores, key=lambda s: (-s.total, s.team_name))
    for position, score in enumerate(ordered, start=1):
        tied = position > 1 and ordered[position - 2].total == score.total
        score.rank = ordered[position - 2].rank if tied else position
    return ordered


async def assess_all(session: AsyncSession, *, settings: Rules, period: Period, today: date) -> list[TeamScore]:
    """Every squad's assessment total for the period, ranked."""
    inputs = await _inputs(session, settings, period, today)
    unit = _Unit.of(settings.scheme)
    return rank_scores([TeamScore(tid, name, _totals(settings.scheme, unit, inputs, tid))
                        for tid, name in inputs.names.items()])


def _band_name(index: int, lang: Lang) -> str:
    return say(lang, _BAND_KEYS[BANDS[index][0]])


async def assess_team(
    session: AsyncSession, *, settings: Rules, period: Period, today: date, team_id: int, lang: Lang = "zh",
) -> TeamScore:
    """One squad's assessment with every point explained (the lines add up to the total)."""
    scheme = settings.scheme
    inputs = await _inputs(session, settings, period, today, team_id)
    start, end = range_bounds_utc(period.first, period.last, settings.tz)
    lines: list[ScoreLine] = []
    projects = await aq.stage_projects(session, team_id=team_id, start=start, end=end,
                                       require_verification=settings.require_verification)
    for stage in ("signed", "landed"):
        table = scheme.band_points(stage)
        for project in projects:
            if not (project.signed if stage == "signed" else project.landed):
                continue
            band = band_of(project.amount_yuan)
            amount = format_amount(project.amount_yuan, lang) if project.amount_yuan else say(lang, "assess.no_amount")
            lines.append(ScoreLine(say(lang, _LINE_KEYS[stage], id=project.id, name=project.name,
                                       amount=amount, band=_band_name(band, lang)), points(table[band])))
    in_place = inputs.funds.get(team_id, 0)
    if in_place:
        per_project = await aq.funds_by_project(session, team_id=team_id, since=period.first,
                                                until=period.last + timedelta(days=1))
        where = say(lang, "assess.sep").join(f"#{pid} {format_amount(yuan, lang)}" for pid, _, yuan in per_project[:8])
        if len(per_project) > 8:
            where += say(lang, "assess.more_projects", more=len(per_project) - 8)
        lines.append(ScoreLine(say(lang, "assess.line_funds", amount=format_amount(in_place, lang),
                                   per_yi=points_text(scheme.funds_per_yi), where=where),
                               points(in_place / YI * scheme.funds_per_yi)))
    kinds = inputs.activity.get(team_id, {})
    for kind in ACTIVITY_ITEMS:
        count = kinds.get(kind, 0)
        if count:
            lines.append(ScoreLine(say(lang, "assess.line_activity", what=say(lang, _KIND_KEYS[kind]),
                                       count=count, each=points_text(scheme.activity[kind])),
                                   points(count * scheme.activity[kind])))
    for pid, name, company in inputs.bonus.get(team_id, []):
        lines.append(ScoreLine(say(lang, "assess.line_bonus", id=pid, name=name,
                                   company=_listed_name(scheme, name, company)), points(scheme.bonus_points)))
    for first, last in _runs(inputs.silent.get(team_id, [])):  # consecutive silent weeks on one line
        weeks = last - first + 1
        lines.append(ScoreLine(say(lang, "assess.line_silent", first=short_day(inputs.weeks[first][0], lang),
                                   last=short_day(inputs.weeks[last][1], lang), weeks=weeks,
                                   each=points_text(scheme.no_report_week)),
                               weeks * points(-scheme.no_report_week)))
    total = points(sum(line.points for line in lines))
    return TeamScore(team_id, inputs.names.get(team_id, ""), total, lines=lines)


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive indices as (first, last) runs: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _listed_name(scheme: Scheme, name: str, company: str) -> str:
    """The bonus list's name a project matched (as bonus_projects matches: a prefix of either key)."""
    keys = (company_key(company), company_key(name))
    for listed in scheme.bonus_companies:
        wanted = company_key(listed)
        if wanted and any(key.startswith(wanted) for key in keys):
            return listed
    return company or name


def team_reply(score: TeamScore, period: Period, scheme: Scheme, lang: Lang) -> Doc:
    """考核 SQUAD: the title, every line with its points, and the total."""
    doc = Doc()
    doc.title(say(lang, "assess.team_title", team=score.team_name, period=period.label(lang)))
    if not score.lines:
        doc.line(say(lang, "assess.nothing"))
    for line in score.lines:
        sign = "+" if line.points > 0 else ""
        doc.line(f"· {line.text}  {sign}{points_text(line.points)}")
    doc.line(say(lang, "assess.total", total=points_text(score.total)))
    doc.line(say(lang, "assess.scheme", source=say(lang, "assess.scheme_default")
                 if scheme.source == "default" else scheme.source))
    return doc


def ranking_reply(scores: Sequence[TeamScore], period: Period, scheme: Scheme, lang: Lang) -> Doc:
    """考核 排行: every squad's total, best first (the top and the bottom beyond a phone screen)."""
    doc = Doc()
    doc.title(say(lang, "assess.rank_title", period=period.label(lang)))
    if not scores:
        doc.line(say(lang, "report.no_squads"))
    shown = list(scores) if len(scores) <= RANK_ROWS_ALL else list(scores[:RANK_ROWS_TOP])
    for score in shown:
        doc.line(say(lang, "assess.rank_line", rank=score.rank, team=score.team_name, total=points_text(score.total)))
    if len(scores) > RANK_ROWS_ALL:
        doc.line(say(lang, "report.rows_hidden", hidden=len(scores) - RANK_ROWS_TOP - RANK_ROWS_BOTTOM))
        for score in scores[-RANK_ROWS_BOTTOM:]:
            doc.line(say(lang, "assess.rank_line", rank=score.rank, team=score.team_name,
                         total=points_text(score.total)))
    doc.line(say(lang, "assess.how"))
    return doc
