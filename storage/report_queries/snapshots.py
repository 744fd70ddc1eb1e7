"""Rank snapshots: yesterday's places, for the ↑↓."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol, cast

from sqlalchemy import (
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.models import (
    RankSnapshot,
)


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
        await run_select(
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
