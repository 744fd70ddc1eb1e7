"""The migrated schema accepts a team and a project on both backends, and enforces its unique keys."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import transaction
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
