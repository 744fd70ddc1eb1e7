"""SQL aggregations behind the reports (排行, 进度, 问题清单, lights, forecast, ledger).

Every function is keyword-only after the session and answers with one or a few SQL statements (GROUP BY,
CASE); none loops over all projects in Python. Time windows arrive as UTC half-open intervals
[start, end) computed from local days by handlers.schedule, so the rows are never converted.

Counting rule (DESIGN §3): `<stage>_at` is the first time a project reached that stage or a later one, so
"counts toward stage S in window W" is `S_at` within W. Removed projects (creation undone) never count.
Dropped projects count neither in pool populations nor toward yearly targets: a target measures projects
that are still in the funnel, so a project signed in March and dropped in June no longer counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy import cast as sql_cast  # typing.cast is `cast` here
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.ledger import LedgerSummary, TeamSummaryRow
from storage.models import (
    STAGE_ORDER,
    STAGES,
    BreakdownYearTally,
    Event,
    Problem,
    Project,
    RankSnapshot,
    Target,
    Team,
    TeamYearTally,
)

GroupBy = Literal["team", "wheel", "industry", "zone"]

# Event kinds that are a squad's own report (a leader's 核实 and an undo are not).
REPORT_KINDS: tuple[str, ...] = (
    "create", "stage", "note", "visit", "problem", "resolve", "edit", "drop", "expect", "evidence",
)

_STAGE_COLUMNS = {
    "planned": col(Project.planned_at),
    "attracting": col(Project.attracting_at),
    "signed": col(Project.signed_at),
    "landed": col(Project.landed_at),
}
_VERIFIED_COLUMNS = {
    "signed": col(Project.signed_verified_at),
    "landed": col(Project.landed_verified_at),
}


async def _exec(session: AsyncSession, statement: Any) -> Any:
    """Run a report's column select on the session's connection (in its transaction).

    These selects name columns, never ORM entities, so the ORM's execution path only adds cost: on the
    connection, 7,000 target rows come back in half the time. Pending ORM changes are flushed first, as
    the session's own execute would (autoflush).
    """
    await session.flush()
    connection = await session.connection()
    return await connection.execute(statement)


def _sum(condition: ColumnElement[bool], value: Any = 1) -> Any:
    # Cast: PostgreSQL sums BIGINT into NUMERIC, which asyncpg decodes into Decimal (a third of a
    # 2,000-team tally's client time); the amounts fit BIGINT by far.
    return sql_cast(func.coalesce(func.sum(case((condition, value), else_=0)), 0), BigInteger)


def _within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _not_removed() -> ColumnElement[bool]:
    """Projects whose creation was not undone.

    Written as IS NOT TRUE rather than = false on purpose: almost every project matches, and SQLite's
    planner would otherwise walk the `removed` index row by row instead of scanning the table.
    """
    return col(Project.removed).is_not(true())


def _live() -> ColumnElement[bool]:
    """Projects in the funnel: not removed (creation undone), not dropped."""
    return and_(_not_removed(), col(Project.stage) != "dropped")


def _kind_in(kinds: Sequence[str]) -> ColumnElement[bool]:
    """`event.kind IN kinds`, written so no planner answers it from the `kind` index.

    Nearly every event has one of these kinds, and the queries using this also bound `created_at` to a
    day or a week: that range is the selective part. Without statistics SQLite prefers the equality
    test on the kind index and walks millions of events (0.8 s at 2M events, not 3 ms); `kind || ''`
    is the same value, but no index covers it.
    """
    return col(Event.kind).concat("").in_(tuple(kinds))


_UNDO = aliased(Event, name="undo")  # built once: statements over a fresh alias are slow to build


def _not_undone() -> ColumnElement[bool]:
    """Events that are not undo events and were not undone by a later one."""
    undo = _UNDO
    return and_(
        col(Event.kind) != "undo",
        ~exists().where(col(undo.undoes_event_id) == col(Event.id)),
    )


# --------------------------------------------------------------------------------------------------
# Yearly (or any window) counts per stage


@dataclass
class StageTally:
    """Projects counted toward each stage in a window, with the amounts of those projects.

    `signed`/`landed` follow the verification setting; `*_pending` are the unverified ones (待核实),
    counted in `signed`/`landed` only when verification is not required.
    """

    planned: int = 0
    attracting: int = 0
    signed: int = 0
    landed: int = 0
    signed_pending: int = 0
    landed_pending: int = 0
    planned_amount: int = 0
    attracting_amount: int = 0
    signed_amount: int = 0
    landed_amount: int = 0

    def count(self, stage: str) -> int:
        """The count for one stage key."""
        return int(getattr(self, stage))

    def amount(self, stage: str) -> int:
        """The summed amount (yuan) of the projects counted toward one stage."""
        return int(getattr(self, f"{stage}_amount"))

    def pending(self, stage: str) -> int:
        """Unverified 签约/落地 in the window (0 for the other stages)."""
        return int(getattr(self, f"{stage}_pending", 0))

    def add(self, other: StageTally) -> None:
        """Add another tally into this one."""
        # Spelled out: reports add up thousands of tallies, and a getattr/setattr loop is 5× slower.
        self.planned += other.planned
        self.attracting += other.attracting
        self.signed += other.signed
        self.landed += other.landed
        self.signed_pending += other.signed_pending
        self.landed_pending += other.landed_pending
        self.planned_amount += other.planned_amount
        self.attracting_amount += other.attracting_amount
        self.signed_amount += other.signed_amount
        self.landed_amount += other.landed_amount


def _tally_columns(start: datetime, end: datetime, require_verification: bool) -> list[Any]:
    columns: list[Any] = []
    counted: dict[str, ColumnElement[bool]] = {}
    for stage, column in _STAGE_COLUMNS.items():
        reached = _within(column, start, end)
        if stage in _VERIFIED_COLUMNS and require_verification:
            counted[stage] = and_(reached, _VERIFIED_COLUMNS[stage].is_not(None))
        else:
            counted[stage] = reached
        columns.append(_sum(counted[stage]).label(stage))
    for stage in ("signed", "landed"):
        pending = and_(_within(_STAGE_COLUMNS[stage], start, end), _VERIFIED_COLUMNS[stage].is_(None))
        columns.append(_sum(pending).label(f"{stage}_pending"))
    amount = func.coalesce(col(Project.amount_yuan), 0)
    for stage in STAGES:
        columns.append(_sum(counted[stage], amount).label(f"{stage}_amount"))
    return columns


def _touches(start: datetime) -> ColumnElement[bool]:
    """Projects that reached some stage at or after `start` (others cannot count in the window).

    The stage times are ordered (planned_at <= attracting_at <= …), so the latest one set decides. The
    test is deliberately not index-friendly: it only prunes older years from a scan, and an index walk
    over most of the table would be slower than the scan.
    """
    latest = func.coalesce(
        col(Project.landed_at), col(Project.signed_at), col(Project.attracting_at), col(Project.planned_at)
    )
    return latest >= start


def _tally(row: Any, skip: int = 0) -> StageTally:
    """The tally in a row's columns after the first `skip` (the _tally_columns, in StageTally's order).

    Positional on purpose: reading 2,000 teams' rows by name through Row._mapping cost a report 20 ms.
    The columns are CAST to BIGINT (`_sum`), so both drivers hand back ints and none is converted here.
    """
    return StageTally(*row[skip:])


# _tally reads the columns by position: they must come in the order of StageTally's fields.
assert [c.name for c in _tally_columns(datetime.now(UTC), datetime.now(UTC), False)] == list(
    StageTally.__dataclass_fields__
)


async def stage_tallies(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    require_verification: bool,
    by: GroupBy = "team",
    team_id: int | None = None,
) -> dict[Any, StageTally]:
    """Per-group stage counts and amounts in [start, end): by team id, wheel, industry or zone."""
    key = {
        "team": col(Project.team_id),
        "wheel": col(Project.wheel),
        "industry": col(Project.industry),
        "zone": col(Project.zone),
    }[by]
    query = (
        select(key.label("key"), *_tally_columns(start, end, require_verification))
        .where(_live(), _touches(start))
        .group_by(key)
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    rows = (await _exec(session, query)).all()
    return {row[0]: _tally(row, 1) for row in rows}


async def team_stage_counts(
    session: AsyncSession, *, start: datetime, end: datetime, require_verification: bool
) -> dict[int, StageTally]:
    """Per-team stage counts and signed/landed amounts in [start, end) (teams without any are absent)."""
    return await stage_tallies(session, start=start, end=end, require_verification=require_verification)


@dataclass
class Breakdowns:
    """Stage tallies by wheel (服务业/工业), by industry and by zone ("" where a project has none)."""

    wheel: dict[str, StageTally] = field(default_factory=dict)
    industry: dict[str, StageTally] = field(default_factory=dict)
    zone: dict[str, StageTally] = field(default_factory=dict)


def _fold_breakdowns(rows: Iterable[Any]) -> Breakdowns:
    """Fold (wheel, industry, zone, *tally) rows into the three breakdowns ("" where a key is unset)."""
    result = Breakdowns()
    for row in rows:
        tally = _tally(row, 3)
        for target, key in ((result.wheel, row[0]), (result.industry, row[1]), (result.zone, row[2])):
            target.setdefault(key or "", StageTally()).add(tally)
    return result


async def breakdowns(
    session: AsyncSession, *, start: datetime, end: datetime, require_verification: bool
) -> Breakdowns:
    """Stage tallies in [start, end) by wheel, industry and zone, from one GROUP BY over all three.

    One scan instead of three: the (wheel, industry, zone) groups are few (tens), and folding them into
    the three breakdowns is a loop over those groups, not over projects.
    """
    keys = (col(Project.wheel), col(Project.industry), col(Project.zone))
    query = (
        select(*keys, *_tally_columns(start, end, require_verification))
        .where(_live(), _touches(start))
        .group_by(*keys)
    )
    return _fold_breakdowns((await _exec(session, query)).all())


async def district_stage_counts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    require_verification: bool,
    team_id: int | None = None,
) -> StageTally:
    """Stage counts and amounts in [start, end) for the whole district (or one team)."""
    query = select(*_tally_columns(start, end, require_verification)).where(_live(), _touches(start))
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    row = (await _exec(session, query)).one()
    return _tally(row)


# --------------------------------------------------------------------------------------------------
# Whole local years, from the counters (storage.tallies)


def _year_tally_columns(table: Any, require_verification: bool) -> list[Any]:
    """StageTally's columns summed over counter rows (in StageTally's field order)."""
    stage, verified, projects, amount = table.c.stage, table.c.verified, table.c.projects, table.c.amount_yuan
    counted = {
        s: and_(stage == s, verified) if require_verification else stage == s for s in STAGES
    }
    columns: list[Any] = [_sum(counted[s], projects).label(s) for s in STAGES]
    columns += [_sum(and_(stage == s, ~verified), projects).label(f"{s}_pending") for s in ("signed", "landed")]
    columns += [_sum(counted[s], amount).label(f"{s}_amount") for s in STAGES]
    return columns


_TEAM_TALLY = SQLModel.metadata.tables[TeamYearTally.__tablename__]
_BREAKDOWN_TALLY = SQLModel.metadata.tables[BreakdownYearTally.__tablename__]


async def year_team_tallies(
    session: AsyncSession, *, year: int, require_verification: bool
) -> dict[int, StageTally]:
    """Per-team stage counts and amounts for a local calendar year (teams without any are absent).

    The same numbers as team_stage_counts over the year's bounds, read from the counters: a few rows per
    team instead of every project of the year.
    """
    table = _TEAM_TALLY
    query = (
        select(table.c.team_id, *_year_tally_columns(table, require_verification))
        .where(table.c.year == year)
        .group_by(table.c.team_id)
    )
    rows = (await _exec(session, query)).all()
    return {int(row[0]): _tally(row, 1) for row in rows}


async def year_district_tally(
    session: AsyncSession, *, year: int, require_verification: bool, team_id: int | None = None
) -> StageTally:
    """Stage counts and amounts for a local calendar year, district-wide (or one team), from the counters."""
    table = _TEAM_TALLY
    query = select(*_year_tally_columns(table, require_verification)).where(table.c.year == year)
    if team_id is not None:
        query = query.where(table.c.team_id == team_id)
    return _tally((await _exec(session, query)).one())


async def year_breakdowns(session: AsyncSession, *, year: int, require_verification: bool) -> Breakdowns:
    """Stage tallies for a local calendar year by wheel, industry and zone, from the counters."""
    table = _BREAKDOWN_TALLY
    keys = (table.c.wheel, table.c.industry, table.c.zone)
    query = (
        select(*keys, *_year_tally_columns(table, require_verification))
        .where(table.c.year == year)
        .group_by(*keys)
    )
    return _fold_breakdowns((await _exec(session, query)).all())


async def pool_sizes(session: AsyncSession, *, team_id: int | None = None) -> dict[str, int]:
    """How many live projects sit in each pool right now (dropped and removed excluded)."""
    query = (
        select(col(Project.stage), func.count())
        .where(_live())
        .group_by(col(Project.stage))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    rows = (await _exec(session, query)).all()
    sizes = dict.fromkeys(STAGES, 0)
    sizes.update({stage: int(n) for stage, n in rows})
    return sizes


# --------------------------------------------------------------------------------------------------
# Teams and targets


async def team_names(session: AsyncSession) -> dict[int, str]:
    """Every team's id and name."""
    rows = (await _exec(session, select(col(Team.id), col(Team.name)))).all()
    return {int(team_id): name for team_id, name in rows}


@dataclass
class Targets:
    """One year's targets: the district's and each team's, per stage."""

    district: dict[str, int] = field(default_factory=dict)
    teams: dict[int, dict[str, int]] = field(default_factory=dict)


    def district_or_sum(self) -> tuple[dict[str, int], bool]:
        """The district's targets; a stage without one takes the sum of the teams' (flag: any summed)."""
        own = {s: n for s, n in self.district.items() if n > 0 and s in STAGES}
        summed = False
        for stage in STAGES:
            if stage not in own:
                total = sum(t.get(stage, 0) for t in self.teams.values())
                if total > 0:
                    own[stage] = total
                    summed = True
        return own, summed


async def targets_for_year(session: AsyncSession, *, year: int) -> Targets:
    """The district and team targets set for `year` (stages without a target are absent).

    Pivoted in SQL, one row per team (and one for the district) instead of one per team and stage: at
    2,000 squads the 7,000 rows took the leaderboard 27-37 ms to fetch and fold, the 2,000 a third.
    """
    team_id = col(Target.team_id)
    numbers = [
        func.max(case((col(Target.stage) == stage, col(Target.number)), else_=None)).label(stage)
        for stage in STAGES
    ]
    # Grouped by scope ("district" or "team:<id>", in the unique key's order) and the team id it names.
    query = (
        select(col(Target.scope), team_id, *numbers)
        .where(col(Target.year) == year)
        .group_by(col(Target.scope), team_id)
    )
    targets = Targets()
    for scope, tid, *values in (await _exec(session, query)).all():
        own = {stage: int(n) for stage, n in zip(STAGES, values, strict=True) if n is not None}
        if scope == "district":
            targets.district.update(own)
        elif tid is not None and own:
            targets.teams.setdefault(int(tid), {}).update(own)
    return targets


# --------------------------------------------------------------------------------------------------
# Movers and reporting activity (from the event log)


@dataclass(frozen=True)
class Move:
    """A project's move into a pool (a create or stage event that was not undone)."""

    event_id: int
    project_id: int
    name: str
    team_id: int | None
    team_name: str
    to_stage: str
    amount_yuan: int | None
    at: datetime
    verified: bool  # for 签约/落地: a leader has confirmed it (核实)


async def stage_moves(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    stages: Sequence[str] = STAGES,
    team_id: int | None = None,
    limit: int | None = None,
) -> list[Move]:
    """Moves into `stages` in [start, end), largest amount first; undone and undo events excluded.

    Only live projects (not removed, not dropped since) are listed.
    """
    verified = case(
        (col(Event.to_stage) == "signed", col(Project.signed_verified_at).is_not(None)),
        (col(Event.to_stage) == "landed", col(Project.landed_verified_at).is_not(None)),
        else_=true(),
    )
    query = (
        select(
            col(Event.id), col(Project.id), col(Project.name), col(Event.team_id),
            func.coalesce(col(Team.name), ""), col(Event.to_stage), col(Project.amount_yuan),
            col(Event.created_at), verified,
        )
        .join(Project, col(Project.id) == col(Event.project_id))
        .outerjoin(Team, col(Team.id) == col(Event.team_id))
        .where(
            _within(col(Event.created_at), start, end),
            _kind_in(("create", "stage")),
            col(Event.to_stage).in_(tuple(stages)),
            _not_undone(),
            _live(),
        )
        .order_by(func.coalesce(col(Project.amount_yuan), 0).desc(), col(Event.created_at), col(Event.id))
    )
    if team_id is not None:
        query = query.where(col(Event.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    rows = (await _exec(session, query)).all()
    return [
        Move(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))
        for r in rows
    ]


async def reports_by_team(
    session: AsyncSession, *, start: datetime, end: datetime, limit: int | None = None
) -> list[tuple[int, str, int]]:
    """(team id, name, number of reports) in [start, end), most first; undone and undo events excluded."""
    count = func.count(col(Event.id))
    query = (
        select(col(Event.team_id), col(Team.name), count)
        .join(Team, col(Team.id) == col(Event.team_id))
        .where(
            _within(col(Event.created_at), start, end),
            _kind_in(REPORT_KINDS),
            _not_undone(),
        )
        .group_by(col(Event.team_id), col(Team.name))
        .order_by(count.desc(), col(Team.name))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await _exec(session, query)).all()
    return [(int(team_id), name, int(n)) for team_id, name, n in rows]


# --------------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class OpenProblem:
    """An unresolved problem with its project and team."""

    id: int
    project_id: int
    project_name: str
    team_id: int
    team_name: str
    category: str
    text: str
    opened_at: datetime
    escalated_at: datetime | None


def _open_problem_filter(team_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        col(Problem.resolved_at).is_(None),
        col(Problem.withdrawn) == false(),
        _live(),
    ]
    if team_id is not None:
        conditions.append(col(Project.team_id) == team_id)
    return conditions


async def open_problems(
    session: AsyncSession, *, team_id: int | None = None, limit: int | None = None
) -> list[OpenProblem]:
    """Open problems of live projects, oldest first (withdrawn, resolved, dropped and removed excluded)."""
    query = (
        select(
            col(Problem.id), col(Project.id), col(Project.name), col(Team.id), col(Team.name),
            col(Problem.category), col(Problem.text), col(Problem.opened_at), col(Problem.escalated_at),
        )
        .join(Project, col(Project.id) == col(Problem.project_id))
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(*_open_problem_filter(team_id))
        .order_by(col(Problem.opened_at), col(Problem.id))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await _exec(session, query)).all()
    return [OpenProblem(*row) for row in rows]


async def open_problem_counts(
    session: AsyncSession, *, older_than: datetime, team_id: int | None = None
) -> dict[str, tuple[int, int]]:
    """Per category: (open problems, those opened before `older_than`)."""
    query = (
        select(col(Problem.category), func.count(), _sum(col(Problem.opened_at) < older_than))
        .join(Project, col(Project.id) == col(Problem.project_id))
        .where(*_open_problem_filter(team_id))
        .group_by(col(Problem.category))
    )
    rows = (await _exec(session, query)).all()
    return {category: (int(total), int(old)) for category, total, old in rows}


# --------------------------------------------------------------------------------------------------
# Stale projects (DESIGN §5b project lights)


@dataclass(frozen=True)
class StaleProject:
    """A project without events for longer than its stage's limit, and its light."""

    id: int
    name: str
    team_id: int
    team_name: str
    stage: str
    last_event_at: datetime
    light: str  # "yellow", "red", "remove"


def _stale_light_expr(
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
) -> tuple[Any, ColumnElement[bool]]:
    """A CASE giving each project's light, and the condition that it has one at all."""
    whens: list[tuple[ColumnElement[bool], Any]] = []
    last = col(Project.last_event_at)
    stage = col(Project.stage)
    for level, light in ((2, "remove"), (1, "red"), (0, "yellow")):
        for stage_key, cuts in cutoffs.items():
            whens.append((and_(stage == stage_key, last < cuts[level]), literal(light)))
    if not whens:
        return literal(""), false()
    light_expr = case(*whens, else_=literal(""))
    # Only the plain range on last_event_at is index-friendly here (the stage tests sit inside the
    # CASE), so the planner finds the few silent projects through that index, and a list ordered by
    # last_event_at stops after its limit, instead of walking every project of three whole pools.
    latest_cut = max(cuts[0] for cuts in cutoffs.values())
    return light_expr, and_(last < latest_cut, light_expr != "")


async def stale_projects(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
    lights: Sequence[str] = ("yellow", "red", "remove"),
    limit: int | None = None,
) -> list[StaleProject]:
    """Stale live projects, longest silent first.

    `cutoffs` maps a stage to the last-event moments before which it is yellow, red and flagged for
    removal (handlers.schedule.stale_cutoffs); stages absent from it never go stale.
    """
    light, is_stale = _stale_light_expr(cutoffs)
    query = (
        select(
            col(Project.id), col(Project.name), col(Project.team_id), col(Team.name), col(Project.stage),
            col(Project.last_event_at), light,
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(_not_removed(), is_stale, light.in_(tuple(lights)))
        .order_by(col(Project.last_event_at), col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    rows = (await _exec(session, query)).all()
    return [StaleProject(*row) for row in rows]


async def stale_counts(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
) -> dict[int, dict[str, int]]:
    """Per team: how many live projects are yellow, red and flagged for removal."""
    light, is_stale = _stale_light_expr(cutoffs)
    query = (
        select(col(Project.team_id), light.label("light"), func.count())
        .where(_not_removed(), is_stale)
        .group_by(col(Project.team_id), light)
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    counts: dict[int, dict[str, int]] = {}
    for tid, light_name, n in (await _exec(session, query)).all():
        counts.setdefault(int(tid), {})[light_name] = int(n)
    return counts


async def stale_totals(
    session: AsyncSession,
    *,
    cutoffs: Mapping[str, tuple[datetime, datetime, datetime]],
    team_id: int | None = None,
) -> dict[str, int]:
    """How many live projects are yellow, red and flagged for removal (district-wide or one team).

    Summed with CASE rather than grouped, so SQLite needs no sort however many projects are silent.
    """
    light, is_stale = _stale_light_expr(cutoffs)
    names = ("yellow", "red", "remove")
    query = select(*(_sum(light == name).label(name) for name in names)).where(_not_removed(), is_stale)
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    row = (await _exec(session, query)).one()._mapping
    return {name: int(row[name]) for name in names}


# --------------------------------------------------------------------------------------------------
# Rank snapshots


class RankLike(Protocol):
    """Anything with a team id, a rank and a score (handlers.reports.RankRow)."""

    @property
    def team_id(self) -> int: ...

    @property
    def rank(self) -> int: ...

    @property
    def score(self) -> float: ...


async def rank_snapshot(session: AsyncSession, *, day: date) -> dict[int, tuple[int, float]]:
    """The stored ranking of `day`: team id → (rank, score); empty when none was saved."""
    rows = (
        await _exec(
            session,
            select(col(RankSnapshot.team_id), col(RankSnapshot.rank), col(RankSnapshot.score)).where(
                col(RankSnapshot.day) == day
            )
        )
    ).all()
    return {int(team_id): (int(rank), float(score)) for team_id, rank, score in rows}


async def save_rank_snapshot(session: AsyncSession, *, day: date, rows: Iterable[RankLike]) -> int:
    """Store the ranking of `day`, replacing any saved earlier that day (safe to run twice or in parallel)."""
    values = [{"day": day, "team_id": r.team_id, "rank": r.rank, "score": float(r.score)} for r in rows]
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(RankSnapshot)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "team_id"],
        set_={"rank": statement.excluded.rank, "score": statement.excluded.score},
    )
    await session.exec(cast(Any, statement), params=values)
    return len(values)


# --------------------------------------------------------------------------------------------------
# Verification, forecast


@dataclass(frozen=True)
class PendingMove:
    """A 签约/落地 not yet confirmed by a leader (待核实): the highest unverified stage of a project."""

    project_id: int
    name: str
    team_id: int
    team_name: str
    stage: str  # "signed" or "landed"
    reached_at: datetime
    amount_yuan: int | None


def _pending_conditions(team_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        _live(),
        or_(
            and_(col(Project.signed_at).is_not(None), col(Project.signed_verified_at).is_(None)),
            and_(col(Project.landed_at).is_not(None), col(Project.landed_verified_at).is_(None)),
        ),
    ]
    if team_id is not None:
        conditions.append(col(Project.team_id) == team_id)
    return conditions


async def pending_verifications(
    session: AsyncSession, *, team_id: int | None = None, limit: int | None = None
) -> tuple[list[PendingMove], int]:
    """Live projects with an unverified 签约 or 落地, oldest first, and how many there are in all."""
    landed_pending = and_(col(Project.landed_at).is_not(None), col(Project.landed_verified_at).is_(None))
    stage = case((landed_pending, literal("landed")), else_=literal("signed"))
    reached = case((landed_pending, col(Project.landed_at)), else_=col(Project.signed_at))
    query = (
        select(
            col(Project.id), col(Project.name), col(Project.team_id), col(Team.name), stage, reached,
            col(Project.amount_yuan),
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(*_pending_conditions(team_id))
        .order_by(reached, col(Project.id))
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await _exec(session, query)).all()
    total = (
        await _exec(session, select(func.count()).select_from(Project).where(*_pending_conditions(team_id)))
    ).scalar_one()
    moves = [PendingMove(int(r[0]), r[1], int(r[2]), r[3], r[4], _aware(r[5]), r[6]) for r in rows]
    return moves, int(total)


def _aware(value: Any) -> datetime:
    # A CASE over UTCDateTime columns loses the column type, so SQLite hands back naive text-parsed times.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@dataclass
class ForecastInputs:
    """What the year-end projection adds to the counts so far, per stage.

    `expected`: live projects that have not reached the stage yet and expect to reach it (or a later
    stage) between today and the year's end. `overdue`: the same with an expected date already past.
    """

    expected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    overdue: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


async def forecast_inputs(
    session: AsyncSession, *, today: date, year_end: date, team_id: int | None = None
) -> ForecastInputs:
    """Per stage, how many projects expect to reach it by `year_end` (and how many are overdue)."""
    columns: list[Any] = []
    expected_order = case(
        *((col(Project.expected_stage) == stage, STAGE_ORDER[stage]) for stage in STAGES), else_=-1
    )
    upcoming = and_(col(Project.expected_date) >= today, col(Project.expected_date) <= year_end)
    overdue = col(Project.expected_date) < today
    for stage, column in _STAGE_COLUMNS.items():
        aims = and_(column.is_(None), expected_order >= STAGE_ORDER[stage])
        columns.append(_sum(and_(aims, upcoming)).label(f"e_{stage}"))
        columns.append(_sum(and_(aims, overdue)).label(f"o_{stage}"))
    query = select(*columns).where(_live(), col(Project.expected_date).is_not(None))
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    row = (await _exec(session, query)).one()._mapping
    return ForecastInputs(
        expected={stage: int(row[f"e_{stage}"]) for stage in STAGES},
        overdue={stage: int(row[f"o_{stage}"]) for stage in STAGES},
    )


@dataclass(frozen=True)
class SlippedProject:
    """A project whose expected date moved again and again."""

    id: int
    name: str
    team_name: str
    stage: str
    expected_stage: str
    expected_date: date | None
    slips: int


async def slipped_projects(
    session: AsyncSession, *, min_slips: int = 3, team_id: int | None = None, limit: int | None = None
) -> list[SlippedProject]:
    """Live projects whose expected date slipped `min_slips` times or more, most slips first."""
    query = (
        select(
            col(Project.id), col(Project.name), col(Team.name), col(Project.stage),
            col(Project.expected_stage), col(Project.expected_date), col(Project.expected_slips),
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(_live(), col(Project.expected_slips) >= min_slips)
        .order_by(col(Project.expected_slips).desc(), col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    if limit is not None:
        query = query.limit(limit)
    return [SlippedProject(*row) for row in (await _exec(session, query)).all()]


# --------------------------------------------------------------------------------------------------
# Ledger (台账)


async def ledger_summary(
    session: AsyncSession,
    *,
    year: int,
    as_of: date,
    schedule_pct: float,
    require_verification: bool,
    order: Sequence[int] = (),
) -> LedgerSummary:
    """The ledger's 汇总 sheet: the district's and every team's counts against targets for the year.

    `order` lists team ids in ranking order (handlers.reports): the squads come in it, any others after,
    by name."""
    tallies = await year_team_tallies(session, year=year, require_verification=require_verification)
    names = await team_names(session)
    targets = await targets_for_year(session, year=year)
    district_targets, _ = targets.district_or_sum()
    district = StageTally()
    for tally in tallies.values():
        district.add(tally)
    teams = []
    place = {team_id: index for index, team_id in enumerate(order)}
    for team_id, name in sorted(names.items(), key=lambda item: (place.get(item[0], len(place)), item[1])):
        tally = tallies.get(team_id, StageTally())
        own = targets.teams.get(team_id, {})
        teams.append(TeamSummaryRow(
            name=name,
            counts={stage: tally.count(stage) for stage in STAGES},
            targets={stage: own.get(stage) for stage in STAGES},
            signed_amount_yuan=tally.signed_amount,
            landed_amount_yuan=tally.landed_amount,
        ))
    return LedgerSummary(
        as_of=as_of,
        schedule_pct=schedule_pct,
        district=[(stage, district.count(stage), district_targets.get(stage)) for stage in STAGES],
        teams=teams,
        require_verification=require_verification,
    )


# Moved to storage.ledger_queries; kept importable from here (explicit re-export).
from storage.ledger_queries import ledger_rows as ledger_rows  # noqa: E402
