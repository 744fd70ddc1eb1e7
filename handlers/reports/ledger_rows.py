"""The ledger (台账) rows and summary the exports write, built from the same queries as the reports."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import ledger
from handlers.messages import OutgoingFile
from handlers.reports.common import report_period
from handlers.reports.ranking import ranking_with_targets
from storage import report_queries as rq

if TYPE_CHECKING:
    from handlers.rules import Rules




async def ledger_summary(session: AsyncSession, *, settings: Rules, now: datetime) -> ledger.LedgerSummary:
    """The 汇总 of the ledger on the day of `now`: squads in the order of the 排行 (compute_ranking)."""
    period = report_period(settings, now)
    ranking, _ = await ranking_with_targets(session, settings, period)
    return await rq.ledger_summary(
        session, year=period.year, as_of=period.today, schedule_pct=period.pct,
        require_verification=settings.require_verification, order=[row.team_id for row in ranking],
    )


async def ledger_export(session: AsyncSession, *, settings: Rules, now: datetime,
                        team_id: int | None = None) -> OutgoingFile:
    """导出/台账: every project (a sheet per pool, 汇总 first) as .xlsx, written in a worker thread; with
    `team_id`, that squad's projects only (a captain's export; the 汇总 is the district's, as 排行 is)."""
    rows = await rq.ledger_rows(session, tz=settings.tz, team_id=team_id)
    summary = await ledger_summary(session, settings=settings, now=now)
    content = await asyncio.to_thread(ledger.write_xlsx, rows, summary, tz=settings.tz)
    return OutgoingFile(
        name=f"招商台账-{summary.as_of.isoformat()}.xlsx",
        content=content,
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
