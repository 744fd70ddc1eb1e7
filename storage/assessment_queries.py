"""What the assessment (考核) counts, per squad and period, in a few grouped statements.

- `band_counts`: projects that reached 签约 / 落地 in the window, per squad and size band (a GROUP BY per
  stage over a range of its covering index on signed_at / landed_at);
- `bonus_projects`: the window's 签约 / 落地 projects whose company key or name key begins with a listed
  name (index ranges on company_key and name_key, no LIKE scan);
- `reported_weeks`: how many weeks of a period each squad reported in, from the weekly counter
  storage.report_weeks keeps (a few rows per squad, not the events);
- `stage_projects`, `funds_by_project`: one squad's projects and funds, for the explanation lines;
- `activity_totals`: the activity counters over a period (activity_counts, planned for a year on SQLite).

The counting rule is the reports' (storage.report_queries): live projects (not removed, not dropped), in
the squad that holds them now; with verification required only confirmed 签约 / 落地 count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, union_all
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counter_writes
from storage.activity_queries import activity_counts
from storage.column_select import run_select
from storage.models import ActivityRollup, FundsArrival, Project, ReportWeek, Team
from storage.report_queries.common import live_projects, within


def _counted(stage: str, start: datetime, end: datetime, require_verification: bool) -> ColumnElement[bool]:
    column = col(Project.signed_at) if stage == "signed" else col(Project.landed_at)
    reached = within(column, start, end)
    if not require_verification:
        return reached
    verified = col(Project.signed_verified_at) if stage == "signed" else col(Project.landed_verified_at)
    return and_(reached, verified.is_not(None))


def _band(thresholds: Sequence[int]) -> Any:
    """The band index of a project's amount: 0 below thresholds[1], … (thresholds lowest first, [0] = 0)."""
    amount = func.coalesce(col(Project.amount_yuan), 0)
    whens = [(amount >= lowest, index) for index, lowest in reversed(list(enumerate(thresholds))) if index]
    return case(*whens, else_=0)


def _window(start: datetime, end: datetime) -> ColumnElement[bool]:
    return or_(within(col(Project.signed_at), start, end), within(col(Project.landed_at), start, end))


@dataclass
class BandTally:
    """A squad's projects counted toward 签约 and 落地 in a window, per size band (lowest band first)."""

    signed: list[int]
    landed: list[int]


async def band_counts(
    session: AsyncSession, *, start: datetime, end: datetime, thresholds: Sequence[int],
    require_verification: bool, team_id: int | None = None,
) -> dict[int, BandTally]:
    """Per team id: 签约 and 落地 projects in [start, end) per band (teams with none absent)."""
    band = _band(thresholds).label("band")
    tallies: dict[int, BandTally] = {}
    for stage in ("signed", "landed"):  # one range over each stage's covering index (no OR of the two)
        query = (
            select(col(Project.team_id), band, func.count())
            .where(_counted(stage, start, end, require_verification), live_projects())
            .group_by(col(Project.team_id), band)
        )
        if team_id is not None:
            query = query.where(col(Project.team_id) == team_id)
        for team, index, n in (await run_select(session, query)).all():
            tally = tallies.setdefault(int(team), BandTally([0] * len(thresholds), [0] * len(thresholds)))
            (tally.signed if stage == "signed" else tally.landed)[int(index)] += int(n)
    return tallies


@dataclass(frozen=True)
class ScoredProject:
    """One of a squad's projects that reached 签约 and/or 落地 in the window (counted as the rule says)."""

    id: int
    name: str
    amount_yuan: int | None
    signed: bool
    landed: bool


async def stage_projects(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime, require_verification: bool,
) -> list[ScoredProject]:
    """The squad's live projects counted toward 签约 or 落地 in [start, end), by id."""
    signed = _counted("signed", start, end, require_verification)
    landed = _counted("landed", start, end, require_verification)
    query = (
        select(col(Project.id), col(Project.name), col(Project.amount_yuan), signed, landed)
        .where(live_projects(), col(Project.team_id) == team_id, _window(start, end), or_(signed, landed))
        .order_by(col(Project.id))
    )
    return [ScoredProject(int(r[0]), r[1], r[2], bool(r[3]), bool(r[4])) for r in (await run_select(session, query)).all()]


def _prefix(column: Any, key: str) -> ColumnElement[bool]:
    """`column` begins with `key`, as an index range (no LIKE, whose wildcards and collation differ)."""
    return and_(column >= key, column < key + "\U0010ffff")


async def bonus_projects(
    session: AsyncSession, *, start: datetime, end: datetime, keys: Sequence[str], require_verification: bool,
    team_id: int | None = None,
) -> dict[int, list[tuple[int, str, str]]]:
    """Per team id, (project id, name, company) of the live projects counted toward 签约 or 落地 in
    [start, end) whose company key or name key begins with one of `keys` (normalised names)."""
    keys = [key for key in dict.fromkeys(keys) if key]
    if not keys:
        return {}
    signed = _counted("signed", start, end, require_verification)
    landed = _counted("landed", start, end, require_verification)
    # The candidates by the company_key and name_key indexes (a range per listed name), then the window.
    ranges = [select(col(Project.id)).where(_prefix(column, key))
              for key in keys for column in (col(Project.company_key), col(Project.name_key))]
    matched = col(Project.id).in_(union_all(*ranges) if len(ranges) > 1 else ranges[0])
    query = (
        select(col(Project.team_id), col(Project.id), col(Project.name), col(Project.company),
               col(Project.company_key), col(Project.name_key))
        .where(live_projects(), _window(start, end), or_(signed, landed), matched)
        .order_by(col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    found: dict[int, list[tuple[int, str, str]]] = {}
    for team, pid, name, company, c_key, n_key in (await run_select(session, query)).all():
        # The ranges are by code point (SQLite's BINARY, PostgreSQL's order of Han characters); confirmed
        # here, so a collation that orders otherwise cannot add a project (the rows are a handful).
        if any((c_key or "").startswith(key) or (n_key or "").startswith(key) for key in keys):
            found.setdefault(int(team), []).append((int(pid), name, company or ""))
    return found


async def funds_by_project(
    session: AsyncSession, *, team_id: int, since: date, until: date,
) -> list[tuple[int, str, int]]:
    """(project id, name, yuan) in place for the squad's projects, arrivals not undone with
    since <= arrived_on < until, by project id."""
    total = func.sum(col(FundsArrival.amount_yuan))
    query = (
        select(col(Project.id), col(Project.name), total)
        .join(Project, col(Project.id) == col(FundsArrival.project_id))
        .where(col(FundsArrival.team_id) == team_id, col(FundsArrival.arrived_on) >= since,
               col(FundsArrival.arrived_on) < until, col(FundsArrival.removed) == false())
        .group_by(col(Project.id), col(Project.name))
        .order_by(col(Project.id))
    )
    return [(int(pid), name, int(yuan)) for pid, name, yuan in (await run_select(session, query)).all()]


async def teams_created(session: AsyncSession) -> dict[int, tuple[str, datetime]]:
    """Every team id with its name and creation time."""
    query = select(col(Team.id), col(Team.name), col(Team.created_at)).order_by(col(Team.id))
    return {int(tid): (name, created) for tid, name, created in (await run_select(session, query)).all()}


async def reported_weeks(session: AsyncSession, *, first: date, last: date) -> dict[int, tuple[int, date]]:
    """Per team id: how many weeks with Monday first..last it reported in (storage.report_weeks), and the
    earliest of them (teams that reported in none absent)."""
    await counter_writes.settle_async(session)
    query = (
        select(col(ReportWeek.team_id), func.count(), func.min(col(ReportWeek.week)))
        .where(col(ReportWeek.week) >= first, col(ReportWeek.week) <= last, col(ReportWeek.reports) > 0)
        .group_by(col(ReportWeek.team_id))
    )
    return {int(tid): (int(n), _as_date(earliest)) for tid, n, earliest in (await run_select(session, query)).all()}


async def team_reported_weeks(session: AsyncSession, *, team_id: int, first: date, last: date) -> set[date]:
    """The Mondays (first..last) of the weeks in which the team reported."""
    await counter_writes.settle_async(session)
    query = select(col(ReportWeek.week)).where(
        col(ReportWeek.team_id) == team_id, col(ReportWeek.week) >= first, col(ReportWeek.week) <= last,
        col(ReportWeek.reports) > 0)
    return {_as_date(week) for (week,) in (await run_select(session, query)).all()}


def _as_date(value: Any) -> date:
    # A MIN() over a DATE column comes back as text from SQLite (the column type is lost in the aggregate).
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


YEAR_TAIL_DAYS = 62  # beyond this many days after `end`, the months are read instead of the year less its tail


async def activity_totals(session: AsyncSession, *, start: date, end: date) -> dict[int, dict[str, int]]:
    """team id → kind → count over the local days start..end inclusive: storage.activity_queries'
    activity_counts, read from the roll-ups where they cover the period.

    A year at 2,000 squads is hundreds of thousands of day rows to sum, however the index is walked
    (bench/README.md, Activity counts). A period from 1 January to late in the year is the year's row less the days after it
    (none, for a year to date: nothing is counted ahead of today); otherwise the whole months inside are read as months and
    only the days of the partial months at either end per day.
    """
    counts: dict[int, dict[str, int]] = {}

    def add(part: dict[int, dict[str, int]], sign: int = 1) -> None:
        for team_id, kinds in part.items():
            mine = counts.setdefault(team_id, {})
            for kind, number in kinds.items():
                mine[kind] = mine.get(kind, 0) + sign * number

    year_end = date(start.year, 12, 31)
    # From 1 January to near the year's end (a year to date: its days after `end` are few, or none).
    if (start.month, start.day) == (1, 1) and end <= year_end and (year_end - end).days < YEAR_TAIL_DAYS:
        add(await _rollup(session, span="y", first=start, after=start + timedelta(days=1)))
        if end < year_end:
            add(await activity_counts(session, start=end + timedelta(days=1), end=year_end), -1)
    else:
        first_month = start if start.day == 1 else _next_month(start)
        after_last = _next_month(end) if _next_month(end) - timedelta(days=1) == end else end.replace(day=1)
        if first_month >= after_last:  # no whole month inside: the days
            return await activity_counts(session, start=start, end=end)
        if start < first_month:
            add(await activity_counts(session, start=start, end=first_month - timedelta(days=1)))
        if after_last <= end:
            add(await activity_counts(session, start=after_last, end=end))
        add(await _rollup(session, span="m", first=first_month, after=after_last))
    return {team_id: {k: n for k, n in kinds.items() if n} for team_id, kinds in counts.items()
            if any(kinds.values())}


async def _rollup(session: AsyncSession, *, span: str, first: date, after: date) -> dict[int, dict[str, int]]:
    """The roll-up rows of one span whose first day is in [first, after), summed per team and kind."""
    await counter_writes.settle_async(session)
    query = (
        select(col(ActivityRollup.team_id), col(ActivityRollup.kind), func.sum(col(ActivityRollup.count)))
        .where(col(ActivityRollup.span) == span, col(ActivityRollup.first) >= first, col(ActivityRollup.first) < after)
        .group_by(col(ActivityRollup.team_id), col(ActivityRollup.kind))
    )
    counts: dict[int, dict[str, int]] = {}
    for team_id, kind, number in (await run_select(session, query)).all():
        if number:
            counts.setdefault(int(team_id), {})[str(kind)] = int(number)
    return counts


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
