"""Generated districts for the benchmarks, cached under bench/out/ (SQLite files, `zsbot_bench_*` databases).

A dataset is `squads` squads of five members (each with a Telegram identity), `projects` projects spread
over the last 18 months in every pool (some moved yesterday, some silent for months, some dropped,
removed, waiting for verification or expected soon), 6% of them with a problem, yearly targets for 90%
of the squads and the district, yesterday's rank snapshot, optional bound Telegram group chats, and
`events_per_project` events per project (create, stage moves at the stage times, drop, notes and visits
in between). Small tables and projects are built in Python and bulk-loaded (executemany on SQLite, COPY
on PostgreSQL); the events, ten times as many, are made by the database from the projects
(INSERT … SELECT over a 0..9 series).

The schema comes from the project's own migrations, so a dataset always matches the code; the cache key
includes the Alembic head, so a new migration regenerates it.

    python -m bench.datagen --size l --backend both   # build (or find) the largest dataset
    python -m bench.datagen --drop                    # drop every cached bench database and file
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from alembic.script import ScriptDirectory

from bench import common
from handlers.catalog import load_catalog
from handlers.report_calendar import day_bounds_utc
from handlers.vocabulary import CATEGORIES as PROBLEM_CATEGORIES
from storage.db import alembic_config, create_engine, ensure_derived, migrate
from storage.name_lookup import name_key

VERSION = 1  # bump when the generator changes what it makes
TZ = ZoneInfo("Asia/Shanghai")
SIZES: dict[str, tuple[int, int]] = {"s": (20, 2_000), "m": (200, 20_000), "l": (2_000, 200_000)}
MEMBERS_PER_SQUAD = 5
TELEGRAM_UID_BASE = 10_000_000  # member n has Telegram user id TELEGRAM_UID_BASE + n
GROUP_CHAT_BASE = -1_000_000_000_000  # bound group n has chat id GROUP_CHAT_BASE - n
STAGE_WEIGHTS = (("planned", 0.40), ("attracting", 0.28), ("signed", 0.18), ("landed", 0.10), ("dropped", 0.04))
CHAIN = ("planned", "attracting", "signed", "landed")

_BRANDS = (
    "华信", "中联", "天成", "东方", "金桥", "恒通", "瑞丰", "宏达", "新希望", "鼎盛", "锦程", "国泰", "远景",
    "星河", "蓝海", "青松", "长城", "和润", "嘉禾", "博远", "通威", "云帆", "海川", "银杏", "凯旋", "安泰",
)
_SUFFIXES = ("产业园", "总部基地", "研发中心", "生产基地", "项目", "综合体", "二期", "创新中心")
_NOTES = (
    "与企业高层面谈，对方有意向", "已提交用地需求", "企业来访考察", "方案修改中", "等待集团决策",
    "合同条款谈判", "落实配套政策", "回访企业", "对接规划部门", "企业补充材料",
)
_PROBLEMS = ("用地指标未批", "环评手续较慢", "配套资金未到位", "规划调整待审批", "技术方案需论证", "审批材料不全")


@dataclass(frozen=True)
class Spec:
    """What to generate."""

    squads: int
    projects: int
    events_per_project: int = 10
    bindings: int = 0  # Telegram group chats bound to squads (round robin), for the fan-out

    @property
    def name(self) -> str:
        """The cached database's name (also the SQLite file's stem)."""
        # The Alembic head is part of the name, not only of the metadata: checkouts of different heads
        # (a branch and main) share the PostgreSQL server, and one would migrate the other's database.
        return (f"zsbot_bench_v{VERSION}_s{self.squads}_p{self.projects}_e{self.events_per_project}"
                f"_b{self.bindings}_h{_alembic_head()}")


@dataclass
class Dataset:
    """A generated database, ready: its URL, the moment its data is relative to, and row counts."""

    backend: str
    spec: Spec
    name: str
    url: str
    now: datetime
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # generation time (0 when found in the cache)


def _meta_path(backend: str, spec: Spec) -> Any:
    return common.OUT / f"{spec.name}.{backend}.json"


@functools.cache
def _alembic_head() -> str:
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


async def ensure(backend: str, spec: Spec, *, log: bool = True) -> Dataset:
    """The dataset for `spec` on `backend`: from the cache when it is there and current, else generated."""
    meta_path = _meta_path(backend, spec)
    head = _alembic_head()
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        present = common.sqlite_path(spec.name).exists() if backend == "sqlite" else await common.pg_exists(spec.name)
        if present and meta.get("head") == head:
            return Dataset(backend, spec, spec.name, common.database_url(backend, spec.name),
                           datetime.fromisoformat(meta["now"]), meta["counts"])
    if log:
        print(f"generating {spec.name} on {backend} …", flush=True)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    counts = await _generate(backend, spec, now)
    seconds = time.perf_counter() - started
    common.OUT.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps({"now": now.isoformat(), "counts": counts, "head": head,
                                     "seconds": round(seconds, 1)}))
    if log:
        print(f"  {counts} in {seconds:.1f} s", flush=True)
    return Dataset(backend, spec, spec.name, common.database_url(backend, spec.name), now, counts, seconds)


# -- rows ------------------------------------------------------------------------------------------

Row = tuple[Any, ...]

COLUMNS: dict[str, tuple[str, ...]] = {
    "team": ("id", "name", "kind", "invite_code", "created_at"),
    "member": ("id", "name", "team_id", "role", "away_until", "created_at"),
    "identity": ("id", "identity", "member_id", "display_name", "created_at"),
    "project": (
        "id", "name", "name_key", "aliases", "team_id", "stage", "amount_yuan", "amount_text", "industry",
        "wheel", "zone", "place", "company", "created_by", "created_at", "updated_at", "last_event_at",
        "planned_at", "attracting_at", "signed_at", "landed_at", "dropped_at", "drop_reason",
        "signed_verified_at", "landed_verified_at", "expected_stage", "expected_date", "expected_slips",
        "removed",
    ),
    "problem": ("id", "project_id", "category", "text", "opened_at", "opened_by", "resolved_at", "resolved_by",
                "resolution", "escalated_at", "withdrawn"),
    "target": ("id", "year", "scope", "team_id", "stage", "number"),
    "chatbinding": ("id", "platform", "chat_id", "title", "team_id", "is_leaders", "mentions", "settings",
                    "created_at"),
    "ranksnapshot": ("id", "day", "team_id", "rank", "score"),
}


def build_rows(spec: Spec, now: datetime, seed: int = 7) -> dict[str, list[Row]]:
    """Every table's rows but the events, deterministic for a seed (datetimes aware UTC)."""
    rng = random.Random(seed)
    catalog = load_catalog(None)
    industries = list(catalog.industries)
    zones = [*catalog.zones, ""]
    today = now.astimezone(TZ).date()
    y_start, y_end = day_bounds_utc(today - timedelta(days=1), TZ)
    latest = now - timedelta(minutes=1)
    rows: dict[str, list[Row]] = {table: [] for table in COLUMNS}
    team_members: dict[int, list[int]] = {}
    epoch = now - timedelta(days=600)
    for t in range(1, spec.squads + 1):
        rows["team"].append((t, f"招商{t:04d}队", "squad", f"INV{t:05d}", epoch))
        team_members[t] = []
        for k in range(MEMBERS_PER_SQUAD):
            m = (t - 1) * MEMBERS_PER_SQUAD + k + 1
            team_members[t].append(m)
            rows["member"].append((m, f"队员{m}", t, "leader" if k == 0 else "member", None, epoch))
            rows["identity"].append((m, f"telegram:{TELEGRAM_UID_BASE + m}", m, f"队员{m}", epoch))

    stages = [s for s, _ in STAGE_WEIGHTS]
    weights = [w for _, w in STAGE_WEIGHTS]
    problem_id = 0
    for p in range(1, spec.projects + 1):
        team = rng.randint(1, spec.squads)
        final = rng.choices(stages, weights)[0]
        mover = rng.random() < 0.004  # reached its last stage yesterday: the leaderboard's 学
        created = now - timedelta(days=rng.uniform(30 if mover else 2, 540))
        reached = CHAIN if final == "landed" else CHAIN[: CHAIN.index(final) + 1] if final != "dropped" \
            else CHAIN[: rng.randint(1, 3)]
        times: dict[str, datetime] = {}
        moment = created
        for stage in reached:
            if stage != "planned":
                moment = min(moment + timedelta(days=rng.uniform(3, 90)), latest)
            times[stage] = moment
        if mover and final != "dropped":
            yesterday = y_start + (y_end - y_start) * rng.random()
            times = {s: min(t_, yesterday) for s, t_ in times.items()}
            times[reached[-1]] = yesterday
        dropped_at = min(moment + timedelta(days=rng.uniform(5, 60)), latest) if final == "dropped" else None
        last = max([*times.values(), *( [dropped_at] if dropped_at else [] ),
                    min(created + timedelta(days=rng.uniform(0, 300)), latest)])
        amount = int(10 ** rng.uniform(6.5, 9.7)) // 10_000 * 10_000 if rng.random() < 0.85 else None
        industry = rng.choice(industries)
        signed_ok = times["signed"] + timedelta(days=1) if "signed" in times and rng.random() < 0.7 else None
        landed_ok = times["landed"] + timedelta(days=1) if "landed" in times and rng.random() < 0.7 else None
        expected_stage, expected_date, slips = "", None, 0
        if final in ("planned", "attracting", "signed") and rng.random() < 0.15:
            expected_stage = CHAIN[CHAIN.index(final) + 1]
            expected_date = today + timedelta(days=rng.randint(-30, 90))
            slips = rng.choice((0, 0, 0, 1, 2, 3, 4))
        name = f"{rng.choice(_BRANDS)}{industry}{rng.choice(_SUFFIXES)}{p}"
        creator = rng.choice(team_members[team])
        rows["project"].append((
            p, name, name_key(name), "", team, final, amount, "", industry, catalog.wheel_of(industry),
            rng.choice(zones), "", "", creator, created, last, last,
            times.get("planned"), times.get("attracting"), times.get("signed"), times.get("landed"),
            dropped_at, "企业投资计划调整" if dropped_at else "",
            min(signed_ok, latest) if signed_ok else None, min(landed_ok, latest) if landed_ok else None,
            expected_stage, expected_date, slips, rng.random() < 0.003,
        ))
        if rng.random() < 0.06:
            problem_id += 1
            opened = created + (last - created) * rng.random()
            resolved = rng.random() < 0.45
            resolved_at = min(opened + timedelta(days=rng.uniform(1, 60)), latest) if resolved else None
            escalated = opened + timedelta(days=15) if not resolved and rng.random() < 0.2 else None
            rows["problem"].append((
                problem_id, p, rng.choice(PROBLEM_CATEGORIES), rng.choice(_PROBLEMS), opened, creator,
                resolved_at, creator if resolved else None, "已协调解决" if resolved else "",
                min(escalated, latest) if escalated else None, rng.random() < 0.02,
            ))

    per_team = spec.projects / spec.squads
    target_id = 0
    totals = dict.fromkeys(CHAIN, 0)
    for t in range(1, spec.squads + 1):
        if rng.random() < 0.1:
            continue  # a squad without targets is ranked by its weighted score
        for stage, share in zip(CHAIN, (0.45, 0.30, 0.14, 0.06), strict=True):
            number = max(1, round(per_team * share * rng.uniform(0.7, 1.3)))
            totals[stage] += number
            target_id += 1
            rows["target"].append((target_id, today.year, f"team:{t}", t, stage, number))
    for stage in CHAIN:
        target_id += 1
        rows["target"].append((target_id, today.year, "district", None, stage, totals[stage]))

    order = list(range(1, spec.squads + 1))
    rng.shuffle(order)
    yesterday_day = today - timedelta(days=1)
    rows["ranksnapshot"] = [(i, yesterday_day, t, i, round(rng.uniform(20, 120), 1))
                            for i, t in enumerate(order, start=1)]
    for b in range(1, spec.bindings + 1):
        team = (b - 1) % spec.squads + 1
        rows["chatbinding"].append((b, "telegram", str(GROUP_CHAT_BASE - b), f"招商{team:04d}队群{b}", team,
                                    False, True, "{}", epoch))
    return rows


def _events_sql(backend: str, per_project: int) -> str:
    """INSERT … SELECT making `per_project` events per project from its stage times."""
    series = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(per_project))
    steps = max(per_project - 1, 1)
    if backend == "sqlite":
        between = (f"strftime('%Y-%m-%d %H:%M:%S', julianday(p.created_at) + (julianday(p.last_event_at) "
                   f"- julianday(p.created_at)) * k.n / {steps}) || '.000000'")
    else:
        between = f"p.created_at + (p.last_event_at - p.created_at) * (k.n::float / {steps})"
    visit = "(p.id + k.n) % 7 = 0"
    notes = "CASE (p.id + k.n) % {} {} END".format(
        len(_NOTES), " ".join(f"WHEN {i} THEN '{text}'" for i, text in enumerate(_NOTES)))
    return f"""
        INSERT INTO event (project_id, member_id, team_id, kind, from_stage, to_stage, text, data,
                           source_platform, source_chat, source_message_id, created_at)
        SELECT p.id, p.created_by, p.team_id,
            CASE WHEN k.n = 0 THEN 'create'
                 WHEN k.n = 1 AND p.attracting_at IS NOT NULL THEN 'stage'
                 WHEN k.n = 2 AND p.signed_at IS NOT NULL THEN 'stage'
                 WHEN k.n = 3 AND p.landed_at IS NOT NULL THEN 'stage'
                 WHEN k.n = 4 AND p.dropped_at IS NOT NULL THEN 'drop'
                 WHEN {visit} THEN 'visit' ELSE 'note' END,
            CASE WHEN k.n = 1 AND p.attracting_at IS NOT NULL THEN 'planned'
                 WHEN k.n = 2 AND p.signed_at IS NOT NULL THEN 'attracting'
                 WHEN k.n = 3 AND p.landed_at IS NOT NULL THEN 'signed'
                 WHEN k.n = 4 AND p.dropped_at IS NOT NULL THEN 'planned' ELSE '' END,
            CASE WHEN k.n = 0 THEN 'planned'
                 WHEN k.n = 1 AND p.attracting_at IS NOT NULL THEN 'attracting'
                 WHEN k.n = 2 AND p.signed_at IS NOT NULL THEN 'signed'
                 WHEN k.n = 3 AND p.landed_at IS NOT NULL THEN 'landed'
                 WHEN k.n = 4 AND p.dropped_at IS NOT NULL THEN 'dropped' ELSE '' END,
            CASE WHEN k.n < 5 THEN '' ELSE {notes} END,
            '{{}}', 'telegram', '', '',
            CASE WHEN k.n = 0 THEN p.created_at
                 WHEN k.n = 1 AND p.attracting_at IS NOT NULL THEN p.attracting_at
                 WHEN k.n = 2 AND p.signed_at IS NOT NULL THEN p.signed_at
                 WHEN k.n = 3 AND p.landed_at IS NOT NULL THEN p.landed_at
                 WHEN k.n = 4 AND p.dropped_at IS NOT NULL THEN p.dropped_at
                 ELSE {between} END
        FROM project p CROSS JOIN ({series}) k
    """


# -- loading -----------------------------------------------------------------------------------------

async def _generate(backend: str, spec: Spec, now: datetime) -> dict[str, int]:
    await common.drop_database(backend, spec.name)
    if backend == "postgres":
        await common.pg_admin(f'CREATE DATABASE "{spec.name}"')
    common.OUT.mkdir(parents=True, exist_ok=True)
    engine = create_engine(common.database_url(backend, spec.name))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    rows = build_rows(spec, now)
    if backend == "sqlite":
        await asyncio.to_thread(_load_sqlite, spec, rows)
    else:
        await _load_postgres(spec, rows)
    # The bulk load bypasses the ORM: build the year counters and the name index from the projects.
    engine = create_engine(common.database_url(backend, spec.name))
    try:
        await ensure_derived(engine, tz=TZ, force=True)
    finally:
        await engine.dispose()
    counts = {table: len(table_rows) for table, table_rows in rows.items()}
    counts["event"] = spec.projects * spec.events_per_project
    return counts


def _sqlite_value(value: Any) -> Any:
    # The storage format SQLAlchemy's SQLite DateTime/Date/Boolean types read and write.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _load_sqlite(spec: Spec, rows: dict[str, list[Row]]) -> None:
    """Blocking bulk load into the SQLite file (run in a worker thread)."""
    connection = sqlite3.connect(common.sqlite_path(spec.name))
    try:
        connection.execute("PRAGMA synchronous=OFF")
        with connection:
            for table, table_rows in rows.items():
                _executemany(connection, table, COLUMNS[table], table_rows)
            connection.execute(_events_sql("sqlite", spec.events_per_project))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _executemany(connection: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
    marks = ", ".join("?" for _ in columns)
    connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           ([_sqlite_value(v) for v in row] for row in rows))


async def _load_postgres(spec: Spec, rows: dict[str, list[Row]]) -> None:
    connection = await asyncpg.connect(common.pg_dsn(spec.name))
    try:
        async with connection.transaction():
            for table, table_rows in rows.items():
                if table_rows:
                    await connection.copy_records_to_table(table, records=table_rows, columns=list(COLUMNS[table]))
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"
                )
            await connection.execute(_events_sql("postgres", spec.events_per_project))
        # What autovacuum would do soon after a bulk load: fresh statistics and visibility maps.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def drop_all() -> list[str]:
    """Drop every cached bench database (PostgreSQL `zsbot_bench_*`) and file under bench/out/."""
    dropped: list[str] = []
    connection = await asyncpg.connect(common.pg_admin_dsn())
    try:
        names = [r[0] for r in await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'zsbot_bench_%'")]
    finally:
        await connection.close()
    for name in names:
        await common.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        dropped.append(name)
    if common.OUT.exists():
        for path in common.OUT.iterdir():
            if path.suffix in (".sqlite", ".json") or path.name.endswith(("-wal", "-shm")):
                path.unlink()
                dropped.append(path.name)
    return dropped


async def roster(url: str) -> tuple[list[tuple[int, int]], dict[int, list[int]]]:
    """(Telegram user id, squad) of every member, and each squad's live project ids (for the load)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            members: Sequence[Any] = (await connection.exec_driver_sql(
                "SELECT id, team_id FROM member ORDER BY id")).all()
            projects: Sequence[Any] = (await connection.exec_driver_sql(
                "SELECT id, team_id FROM project WHERE removed = false AND stage <> 'dropped' ORDER BY id"
            )).all()
    finally:
        await engine.dispose()
    by_team: dict[int, list[int]] = {}
    for row in projects:
        by_team.setdefault(int(row[1]), []).append(int(row[0]))
    # Members of a squad only: a leader or admin named in the settings has no squad to report for.
    return [(TELEGRAM_UID_BASE + int(row[0]), int(row[1])) for row in members if row[1] is not None], by_team


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.datagen`: build or find datasets, or drop them all."""
    parser = argparse.ArgumentParser(description="generate (or find cached) bench datasets")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--size", choices=(*SIZES, "all"), default="all")
    parser.add_argument("--events", type=int, default=10, help="events per project")
    parser.add_argument("--bindings", type=int, default=0, help="bound Telegram group chats")
    parser.add_argument("--drop", action="store_true", help="drop every cached bench database and file")
    args = parser.parse_args(argv)
    if args.drop:
        print("\n".join(asyncio.run(drop_all())) or "nothing to drop")
        return 0
    sizes = list(SIZES) if args.size == "all" else [args.size]

    async def run() -> None:
        for backend in common.backends(args.backend):
            for size in sizes:
                squads, projects = SIZES[size]
                data = await ensure(backend, Spec(squads, projects, args.events, args.bindings))
                print(f"{backend} {size}: {data.url} ({data.seconds:.1f} s)")

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
