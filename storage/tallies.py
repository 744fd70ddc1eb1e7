"""The yearly stage counters (team_year_tally, breakdown_year_tally), kept in step with the projects.

The yearly reports (排行, 进度, the forecast, the ledger's 汇总) count the live projects that reached each
stage in a local calendar year. Counting them from the projects scans every project of the year
(bench/README.md, Reports); the counters answer the same question from a few rows per squad.

Written by hand because no library keeps aggregate tables in step with ORM writes on both backends
(PostgreSQL's materialized views refresh whole; SQLite has none). How it stays exact:

- Every ORM flush of a session from storage.db.session_factory runs `_before_flush`: for each project
  created, changed in a counted field or deleted, it subtracts the project's old contribution and adds
  the new one. The differences wait in the session (storage.counter_writes) and are written with one
  upsert per table just before the transaction commits: the counters commit or roll back with the
  change itself.
- A project's contribution follows the counting rule of storage.report_queries: a live project (not
  removed, not dropped) counts once toward each stage it has a `<stage>_at` for, in the local year of that
  moment, as verified or not (签约/落地: a leader's 核实; the other stages are always verified).
- Writes that bypass the ORM (backup restore, the benchmarks' bulk load) call `rebuild`, which recomputes
  the counters from the projects with the same contribution function.
- The year is local to the district's time zone; `ensure` (called at start-up) rebuilds when the stored
  zone differs from the configured one, e.g. right after the migration that added the counters.

Every change to a project's counted fields must therefore go through the ORM (storage.models.Project
instances in a session); a Core `update(Project)` of those fields would leave the counters behind.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Table, delete, event, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Session, SQLModel, col

from storage import counter_writes
from storage.counter_writes import LedgerSession
from storage.models import STAGES, BreakdownYearTally, LedgerMeta, Project, TeamYearTally
from storage.moments import as_utc

# The project fields a contribution depends on.
TRACKED: tuple[str, ...] = (
    "team_id", "wheel", "industry", "zone", "amount_yuan", "stage", "removed",
    "planned_at", "attracting_at", "signed_at", "landed_at", "signed_verified_at", "landed_verified_at",
)
_VERIFIED_FIELD = {"signed": "signed_verified_at", "landed": "landed_verified_at"}
TZ_KEY = "tally_timezone"  # LedgerMeta key: the zone the counters' years are local to

TeamKey = tuple[int, int, str, bool]  # year, team id, stage, verified
BreakdownKey = tuple[int, str, str, str, str, bool]  # year, wheel, industry, zone, stage, verified

_TEAM_TABLE: Table = SQLModel.metadata.tables[TeamYearTally.__tablename__]
_BREAKDOWN_TABLE: Table = SQLModel.metadata.tables[BreakdownYearTally.__tablename__]
_META_TABLE: Table = SQLModel.metadata.tables[LedgerMeta.__tablename__]
_TEAM_KEYS = ("year", "team_id", "stage", "verified")
_BREAKDOWN_KEYS = ("year", "wheel", "industry", "zone", "stage", "verified")


def _local_year(moment: datetime, tz: tzinfo) -> int:
    return as_utc(moment).astimezone(tz).year


def contribution(values: Mapping[str, Any], tz: tzinfo) -> Iterator[tuple[int, str, bool]]:
    """(local year, stage, verified) for every stage a project with these field values counts toward."""
    if values["removed"] or values["stage"] == "dropped":
        return
    for stage in STAGES:
        moment = values[f"{stage}_at"]
        if moment is None:
            continue
        verified_field = _VERIFIED_FIELD.get(stage)
        verified = verified_field is None or values[verified_field] is not None
        yield _local_year(moment, tz), stage, verified


class Deltas:
    """Counter changes not yet written: key → [projects, amount] (by default in fresh dicts; the flush
    hook passes the session's pending ones)."""

    def __init__(self, team: dict[TeamKey, list[int]] | None = None,
                 breakdown: dict[BreakdownKey, list[int]] | None = None) -> None:
        self.team: dict[TeamKey, list[int]] = {} if team is None else team
        self.breakdown: dict[BreakdownKey, list[int]] = {} if breakdown is None else breakdown

    def add(self, values: Mapping[str, Any], tz: tzinfo, sign: int) -> None:
        """Add (sign=1) or take away (sign=-1) one project's contribution."""
        amount = sign * int(values["amount_yuan"] or 0)
        for year, stage, verified in contribution(values, tz):
            team_key: TeamKey = (year, int(values["team_id"]), stage, verified)
            breakdown_key: BreakdownKey = (
                year, values["wheel"] or "", values["industry"] or "", values["zone"] or "", stage, verified,
            )
            for slot in (self.team.setdefault(team_key, [0, 0]), self.breakdown.setdefault(breakdown_key, [0, 0])):
                slot[0] += sign
                slot[1] += amount

    def apply(self, connection: Connection) -> None:
        """Write the changes as upserts (keys in sorted order, so concurrent writers lock rows alike)."""
        _upsert(connection, _TEAM_TABLE, _TEAM_KEYS, self.team)
        _upsert(connection, _BREAKDOWN_TABLE, _BREAKDOWN_KEYS, self.breakdown)


def _upsert(connection: Connection, table: Table, keys: tuple[str, ...], deltas: Mapping[Any, list[int]]) -> None:
    rows = [
        {**dict(zip(keys, key, strict=True)), "projects": n, "amount_yuan": amount}
        for key, (n, amount) in sorted(deltas.items())
        if n or amount
    ]
    if not rows:
        return
    connection.execute(_upsert_statement(connection.dialect.name, table, keys), rows)


# Built once per backend and table: building the ON CONFLICT clause was a tenth of a new 签约's time.
@functools.cache
def _upsert_statement(dialect_name: str, table: Table, keys: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (the counter's key) DO UPDATE adding the new row's counts to the stored ones."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            "projects": table.c.projects + statement.excluded.projects,
            "amount_yuan": table.c.amount_yuan + statement.excluded.amount_yuan,
        },
    )


def values_before_flush(project: Project, fields: Iterable[str]) -> tuple[dict[str, Any], bool] | None:
    """The fields' values before this flush and whether any is unknown, or None when none changed.

    A field set while unloaded has no old value in the session (only the database has it): its name is
    then missing from the dict and the flag is true, for the caller to look it up.
    """
    state = inspect(project)
    old: dict[str, Any] = {}
    changed = unknown = False
    for name in fields:
        history = state.attrs[name].history
        if history.deleted:
            old[name], changed = history.deleted[0], True
        elif history.added:
            changed = unknown = True
        else:
            old[name] = getattr(project, name)
    return (old, unknown) if changed else None


def stored_before_flush(session: Session, project: Project, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """`fields` as stored before this flush, or None when none of them changed (read from the row when the
    session never loaded the old value)."""
    before = values_before_flush(project, fields)
    if before is None:
        return None
    old, unknown = before
    if unknown:  # in before_flush the database still holds the old row
        row = session.connection().execute(
            select(*(getattr(Project, name) for name in fields)).where(col(Project.id) == project.id)
        ).one()
        old = dict(zip(fields, row, strict=True))
    return old


def project_changes(session: Session, fields: tuple[str, ...]) -> list[tuple[dict[str, Any], int]]:
    """The flush's projects as (values of `fields`, sign) for a counter to take away (−1) and add (+1): a
    new project's values, a changed one's old and new values (none when `fields` did not change), a deleted
    one's stored values."""
    def now(project: Project) -> dict[str, Any]:
        return {name: getattr(project, name) for name in fields}

    changes: list[tuple[dict[str, Any], int]] = []
    for project in session.new:
        if isinstance(project, Project):
            changes.append((now(project), +1))
    for project in session.dirty:
        if isinstance(project, Project) and (old := stored_before_flush(session, project, fields)) is not None:
            changes += [(old, -1), (now(project), +1)]
    for project in session.deleted:
        if isinstance(project, Project):
            changes.append((stored_before_flush(session, project, fields) or now(project), -1))
    return changes


def flush_zone(session: Session) -> tzinfo:
    """The zone a session that writes projects buckets its counters in (storage.db.session_factory sets it)."""
    tz = session.info.get("tz")
    if tz is None:
        raise RuntimeError("a session that writes projects needs info['tz'] (storage.db.session_factory)")
    return tz


@event.listens_for(LedgerSession, "before_flush")
def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    changes = project_changes(session, TRACKED)
    if not changes:
        return
    tz = flush_zone(session)
    deltas = Deltas(counter_writes.pending(session, "team_year"), counter_writes.pending(session, "breakdown_year"))
    for values, sign in changes:
        deltas.add(values, tz, sign)


counter_writes.register("team_year", order=10, writer=lambda connection, deltas: _upsert(
    connection, _TEAM_TABLE, _TEAM_KEYS, deltas))
counter_writes.register("breakdown_year", order=20, writer=lambda connection, deltas: _upsert(
    connection, _BREAKDOWN_TABLE, _BREAKDOWN_KEYS, deltas))


def tally_rows(rows: Iterable[Mapping[str, Any]], tz: tzinfo) -> Deltas:
    """The counters for a set of projects (rows with the TRACKED fields), as from an empty table."""
    deltas = Deltas()
    for row in rows:
        deltas.add(row, tz, +1)
    return deltas


def rebuild(connection: Connection, tz: tzinfo) -> None:
    """Recompute both counter tables from the projects and record the zone (sync: run it via run_sync)."""
    if connection.dialect.name == "postgresql":
        # Writers already writing their counters (storage.counter_writes: right before their commit) are
        # waited for, so we read their projects; the others wait for our commit and apply their
        # difference on top of the rebuilt counters.
        connection.execute(text("LOCK TABLE team_year_tally, breakdown_year_tally IN EXCLUSIVE MODE"))
    connection.execute(delete(_TEAM_TABLE))
    connection.execute(delete(_BREAKDOWN_TABLE))
    result = connection.execute(
        select(*(getattr(Project, name) for name in TRACKED))
        .where(col(Project.removed).is_not(True), col(Project.stage) != "dropped")
        .execution_options(yield_per=5000)
    )
    deltas = tally_rows((dict(row) for row in result.mappings()), tz)
    deltas.apply(connection)
    if connection.dialect.name == "postgresql":
        connection.execute(text("ANALYZE team_year_tally, breakdown_year_tally"))  # fresh rows, no statistics
    meta = _META_TABLE
    connection.execute(delete(meta).where(meta.c.key == TZ_KEY))
    connection.execute(meta.insert().values(key=TZ_KEY, value=zone_name(tz)))


def zone_name(tz: tzinfo) -> str:
    """The stored name of a time zone (its IANA key when it has one)."""
    return str(getattr(tz, "key", None) or tz)


def stored_zone(connection: Connection) -> str | None:
    """The zone the counters were last rebuilt in, or None (never rebuilt)."""
    meta = _META_TABLE
    return connection.execute(select(meta.c.value).where(meta.c.key == TZ_KEY)).scalar_one_or_none()


def ensure_zone(connection: Connection, tz: tzinfo) -> bool:
    """Rebuild the counters if they were not built for `tz` (sync); True if rebuilt."""
    if stored_zone(connection) == zone_name(tz):
        return False
    rebuild(connection, tz)
    return True


async def ensure(engine: AsyncEngine, tz: tzinfo) -> bool:
    """`ensure_zone` in its own transaction on `engine`."""
    async with engine.begin() as connection:
        return await connection.run_sync(ensure_zone, tz)
