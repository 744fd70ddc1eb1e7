"""The migrated schema accepts a team and a project on both backends, and enforces its unique keys."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select

from storage.db import follow_explicit_ids, ping, session_factory, session_zone, transaction
from storage.models import InboundMessage, Project, Team


async def test_round_trip_and_unique_inbox(sessions) -> None:
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    async with transaction(sessions) as session:
        team = Team(name="德化街", invite_code="abc123", created_at=now)
        session.add(team)
        await session.flush()
        session.add(Project(name="仲景", name_key="仲景", team_id=team.id, amount_yuan=5_000_000_000,
                            created_at=now, updated_at=now, last_event_at=now, planned_at=now))
        session.add(InboundMessage(platform="telegram", message_id="1:1", identity="telegram:1",
                                   reply="{}", created_at=now))
    async with sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.amount_yuan == 5_000_000_000
        assert project.created_at == now
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            session.add(InboundMessage(platform="telegram", message_id="1:1", identity="telegram:1",
                                       reply="{}", created_at=now))


async def test_follow_explicit_ids_moves_the_sequence_past_them(engine, sessions) -> None:
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    async with engine.begin() as connection:  # on an empty table the next id is still 1, not 2
        await follow_explicit_ids(connection, "team")
    async with transaction(sessions) as session:
        first = Team(name="甲队", invite_code="a1", created_at=now)
        session.add(first)
        await session.flush()
        assert first.id == 1
        session.add(Team(id=7, name="乙队", invite_code="b2", created_at=now))
        await session.flush()
        await follow_explicit_ids(session, "team")
        after = Team(name="丙队", invite_code="c3", created_at=now)
        session.add(after)
        await session.flush()
        assert after.id == 8


async def test_ping_and_session_zone(engine) -> None:
    await ping(engine)  # raises when the database does not answer
    tokyo = ZoneInfo("Asia/Tokyo")
    assert session_zone(session_factory(engine, tz=tokyo)) is tokyo
    assert session_zone(async_sessionmaker(engine)) is None  # not made by session_factory: Core refuses it (test_year_tallies)
