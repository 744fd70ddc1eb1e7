"""Column selects run on the session's connection, in its transaction (the reports' and the ledger's reads)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession


async def run_select(session: AsyncSession, statement: Any) -> Any:
    """Run a report's column select on the session's connection (in its transaction).

    These selects name columns, never ORM entities, so the ORM's execution path only adds cost (about half
    the time for the leaderboard's target rows: bench/README.md, Reports). Pending ORM changes are flushed
    first, as the session's own execute would (autoflush).
    """
    await session.flush()
    connection = await session.connection()
    return await connection.execute(statement)
