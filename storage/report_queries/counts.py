"""Counts per stage in a time window (per squad, district, breakdowns) and whole local years from the counters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    select,
)
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counter_writes
from storage.column_select import run_select
from storage.models import (
    STAGES,
    BreakdownYearTally,
    Project,
    TeamYearTally,
)
from storage.report_queries.common import _STAGE_COLUMNS, _VERIFIED_COLUMNS, GroupBy, _sum, live_projects, within


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
        # Spelled out: reports add up thousands of tallies, and a getattr/setattr loop is several times slower.
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
        reached = within(column, start, end)
        if stage in _VERIFIED_COLUMNS and require_verification:
            counted[stage] = and_(reached, _VERIFIED_COLUMNS[stage].is_not(None))
        else:
            counted[stage] = reached
        columns.append(_sum(counted[stage]).label(stage))
    for stage in ("signed", "landed"):
        pending = and_(within(_STAGE_COLUMNS[stage], start, end), _VERIFIED_COLUMNS[stage].is_(None))
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

    Positional on purpose: reading rows by name through each row's mapping was a visible share of a
    report's time at 2,000 teams (bench/README.md, Reports).
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
        .where(live_projects(), _touches(start))
        .group_by(key)
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    rows = (await run_select(session, query)).all()
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
        .where(live_projects(), _touches(start))
        .group_by(*keys)
    )
    return _fold_breakdowns((await run_select(session, query)).all())


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
    await counter_writes.settle_async(session)
    table = _TEAM_TALLY
    query = (
        select(table.c.team_id, *_year_tally_columns(table, require_verification))
        .where(table.c.year == year)
        .group_by(table.c.team_id)
    )
    rows = (await run_select(session, query)).all()
    return {int(row[0]): _tally(row, 1) for row in rows}


async def year_district_tally(
    session: AsyncSession, *, year: int, require_verification: bool, team_id: int | None = None
) -> StageTally:
    """Stage counts and amounts for a local calendar year, district-wide (or one team), from the counters."""
    await counter_writes.settle_async(session)
    table = _TEAM_TALLY
    query = select(*_year_tally_columns(table, require_verification)).where(table.c.year == year)
    if team_id is not None:
        query = query.where(table.c.team_id == team_id)
    return _tally((await run_select(session, query)).one())


async def year_breakdowns(session: AsyncSession, *, year: int, require_verification: bool) -> Breakdowns:
    """Stage tallies for a local calendar year by wheel, industry and zone, from the counters."""
    await counter_writes.settle_async(session)
    table = _BREAKDOWN_TALLY
    keys = (table.c.wheel, table.c.industry, table.c.zone)
    query = (
        select(*keys, *_year_tally_columns(table, require_verification))
        .where(table.c.year == year)
        .group_by(*keys)
    )
    return _fold_breakdowns((await run_select(session, query)).all())
