"""Shared fixtures: a clean, migrated database per test, on SQLite and (when configured) PostgreSQL.

`db_url` is parametrised over both backends. PostgreSQL tests read ZSBOT_TEST_POSTGRES_URL: unset, they
skip (a developer's laptop); set but unreachable, they fail (CI sets it, so CI can never skip them).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import SessionFactory, create_engine, migrate, session_factory
from tests.helpers import DISTRICT_TZ, Chat, MovableClock, make_core

POSTGRES_ENV = "ZSBOT_TEST_POSTGRES_URL"


def _asyncpg_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return "postgresql+asyncpg://" + rest if scheme in ("postgres", "postgresql") else url


async def _admin_execute(admin_url: str, statement: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate_url(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for this test session, dropped at the end."""
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    admin_url = _asyncpg_url(raw)
    name = f"zsbot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = admin_url.rsplit("/", 1)[0]
    try:
        asyncio.run(_admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server: fail loudly, never skip
        pytest.fail(f"PostgreSQL at {POSTGRES_ENV} is unreachable: {exc!r}")
    url = f"{base}/{name}"
    asyncio.run(_migrate_url(url))
    yield url
    asyncio.run(_admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        tables = ", ".join(f'"{row[0]}"' for row in rows)
        await connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "zsbot.db"
        shutil.copy(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")

    async def clean() -> None:
        engine = create_engine(url)
        try:
            await _truncate_all(engine)
        finally:
            await engine.dispose()

    asyncio.run(clean())
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An async engine on the clean database."""
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    """The session factory on the clean database."""
    return session_factory(engine, tz=DISTRICT_TZ)


@pytest.fixture
def clock() -> MovableClock:
    """A clock the test sets and advances (starts 2026-11-24 10:00 in the district)."""
    return MovableClock()


@pytest.fixture
def chat(sessions: SessionFactory, clock: MovableClock) -> Chat:
    """Console users talking to a core on the clean database."""
    return Chat(make_core(sessions, clock), clock)
