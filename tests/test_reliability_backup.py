"""Online backup (issue 7): `zsbot backup FILE` taken while a writer keeps reporting new projects, restored
with `zsbot restore FILE` into an empty database, gives the ledger the source had at the backup's moment.

The writer only adds projects (through Core.handle, one message each: project, event and inbox row in one
transaction), so "the source at the backup's moment" is the source's first k projects for some k: the
restored database must hold exactly such a prefix, every event of it and nothing more, and its ledger
export must equal the source's export cut to those projects. Sources: SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import func, select

from bot.app import ZsBot
from bot.backup import restore_database
from bot.ledger_files import export_ledger
from handlers.messages import Incoming
from storage.db import create_engine, session_factory
from storage.models import Event, InboundMessage, Project
from tests.conftest import POSTGRES_ENV, _admin_execute, _asyncpg_url
from tests.helpers import DISTRICT_TZ, MovableClock, make_core
from tests.reliability_support import BotProcess, all_tables, seed_squad, settings_for

WRITER = 301


def unique_name(n: int) -> str:
    """The n-th project name: four CJK characters no other name shares, so the fuzzy matcher never asks
    "which one did you mean?" and every message creates a project."""
    return "".join(chr(0x4E00 + 4 * n + k) for k in range(4))


@contextlib.asynccontextmanager
async def empty_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a database with nothing in it (not even the schema: restore migrates)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    admin = _asyncpg_url(os.environ[POSTGRES_ENV])
    name = f"zsbot_restore_{uuid.uuid4().hex[:8]}"

    async def admin_sql(statement: str) -> None:
        await _admin_execute(admin, statement)

    await admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli_env(url: str) -> dict[str, str]:
    """The environment of a one-shot `python -m bot.cli …` on `url` (no other ZSBOT_* leaks in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZSBOT_")}
    env["ZSBOT_DATABASE_URL"] = url
    return env


async def ledger(url: str, path: Path) -> list[dict[str, object]]:
    """The ledger export (JSON) of the database at `url`."""
    async with ZsBot(settings_for(url)) as bot:
        await export_ledger(bot, path)
    rows: list[dict[str, object]] = json.loads(await asyncio.to_thread(path.read_bytes))
    return rows


async def table_counts(url: str) -> dict[str, int]:
    """Rows per table."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            counts = {}
            for name in all_tables():
                counts[name] = int((await connection.exec_driver_sql(f'SELECT count(*) FROM "{name}"')).scalar_one())
            return counts
    finally:
        await engine.dispose()


async def test_online_backup_restores_the_ledger_of_its_moment(db_url: str, tmp_path: Path) -> None:
    """Backup while writing; restore into an empty database; the ledger and every row of that moment."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    await seed_squad(db_url, [WRITER])
    engine = create_engine(db_url)
    core = make_core(session_factory(engine, tz=DISTRICT_TZ), MovableClock())
    created: list[int] = []  # messages the writer saw committed, in order
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            reply = await core.handle(Incoming(platform="telegram", user_id=str(WRITER), text=f"谋划 {unique_name(n)}",
                                               chat_id=str(WRITER), message_id=f"w{n}"))
            assert reply.ok and "🆕" in reply.text, reply.text
            created.append(n)

    backup_file = tmp_path / "zsbot.backup.gz"
    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.2)  # some projects before the backup starts
        started_at = len(created)
        backup = BotProcess(cli_env(db_url), tmp_path / "backup.log", ("backup", str(backup_file))).start()
        try:
            assert await backup.wait_exit(within=60) == 0, backup.log()
        finally:
            backup.kill()
        finished_at = len(created)
        await asyncio.sleep(0.1)  # and some after
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await engine.dispose()
    assert finished_at > started_at, "the writer made no progress while the backup ran: not an online test"

    async with empty_database(kind, tmp_path) as restored_url:
        restore = BotProcess(cli_env(restored_url), tmp_path / "restore.log", ("restore", str(backup_file))).start()
        try:
            assert await restore.wait_exit(within=60) == 0, restore.log()
        finally:
            restore.kill()

        source_rows = await ledger(db_url, tmp_path / "source.json")
        restored_rows = await ledger(restored_url, tmp_path / "restored.json")
        # A prefix of what the writer created: the first k projects, k between the backup's start and end.
        k = len(restored_rows)
        assert started_at <= k <= len(source_rows), (started_at, k, len(source_rows))
        assert k <= finished_at
        assert [row["id"] for row in restored_rows] == [row["id"] for row in source_rows[:k]]
        assert restored_rows == source_rows[:k]  # the ledger of the backup's moment, field for field

        # Every row of that moment and nothing else: events and inbox rows belong to restored projects,
        # one create event and one inbox row per writer message, no orphan anywhere.
        restored = create_engine(restored_url)
        try:
            async with restored.connect() as connection:
                events = (await connection.execute(select(Event.project_id, Event.kind, Event.source_message_id))).all()
                projects = {row[0] for row in (await connection.execute(select(Project.id))).all()}
                inbox = {row[0] for row in (await connection.execute(select(InboundMessage.message_id))).all()}
                orphans = (await connection.execute(select(func.count()).select_from(Event).where(
                    Event.project_id.is_not(None), Event.project_id.not_in(select(Project.id))))).scalar_one()  # type: ignore[union-attr]
        finally:
            await restored.dispose()
        assert orphans == 0
        written = {f"w{n}" for n in range(1, k + 1)}
        assert {source for _, kind_, source in events if kind_ == "create"} == written
        assert {message for message in inbox if message.startswith("w")} == written
        assert len(projects) == k

        # The restored database takes new writes (its id sequences moved past the restored rows).
        async with ZsBot(settings_for(restored_url)) as bot:
            chat_core = make_core(bot.sessions, MovableClock())
            reply = await chat_core.handle(Incoming(platform="telegram", user_id=str(WRITER), text="谋划 恢复后新项目",
                                                    chat_id=str(WRITER), message_id="after-restore"))
            assert reply.ok and f"#{k + 1}" in reply.text, reply.text
        # And restoring again into a database that is no longer empty is refused, changing nothing.
        counts = await table_counts(restored_url)
        assert await restore_database(settings_for(restored_url), backup_file) == 2
        assert await table_counts(restored_url) == counts
