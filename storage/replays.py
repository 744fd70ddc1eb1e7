"""Callbacks already run (`SeenCallback`): a replayed platform callback is answered without running again."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SeenCallback


async def was_seen(session: AsyncSession, *, platform: str, key: str) -> bool:
    """Whether the callback `key` of `platform` was run before (and is still remembered)."""
    statement = select(col(SeenCallback.key)).where(col(SeenCallback.platform) == platform,
                                                    col(SeenCallback.key) == key)
    return (await session.exec(statement)).first() is not None


async def remember(session: AsyncSession, *, platform: str, key: str, until: datetime) -> None:
    """Record that callback `key` ran; remembered until `until` (when its timestamp leaves the window)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (insert(SeenCallback).values(platform=platform, key=key, expires_at=until)
                 .on_conflict_do_nothing(index_elements=["platform", "key"]))
    await session.exec(cast(Any, statement))


async def forget(session: AsyncSession, *, platform: str, key: str) -> None:
    """Let callback `key` run again."""
    statement = delete(SeenCallback).where(col(SeenCallback.platform) == platform, col(SeenCallback.key) == key)
    await session.exec(cast(Any, statement))


async def forget_expired(session: AsyncSession, *, now: datetime) -> int:
    """Drop what no longer needs remembering (its callback would be refused as too old); returns the count."""
    statement = delete(SeenCallback).where(col(SeenCallback.expires_at) < now)
    result = await session.exec(cast(Any, statement))
    return int(result.rowcount or 0)
