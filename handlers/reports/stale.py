"""Project lights: projects that have not moved for too long (亮灯预警)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.format import stage_name
from handlers.messages import Reply
from handlers.report_calendar import (
    STALE_STAGES,
    stale_cutoffs,
    stale_limits,
)
from handlers.reports.common import LIST_LIMIT, STALE_EMOJI, Doc, day_text
from storage import report_queries as rq
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules




def stage_cutoffs(settings: Rules, now: datetime) -> dict[str, tuple[datetime, datetime, datetime]]:
    """Per stage that can go stale, the moments before which a project turns 🟡, 🔴 and ⛔."""
    months = settings.stale_months
    cutoffs: dict[str, tuple[datetime, datetime, datetime]] = {}
    for stage in STALE_STAGES:
        cut = stale_cutoffs(now, stage, months)
        if cut is not None:
            cutoffs[stage] = cut
    return cutoffs


async def stale_report(
    session: AsyncSession,
    *,
    settings: Rules,
    now: datetime,
    team_id: int | None = None,
    reds_only: bool = False,
) -> Reply | None:
    """Projects without news for too long (🟡/🔴/⛔ per DESIGN §5b), or None when there are none.

    A squad's group gets all its lights; the leaders' group gets the reds (`reds_only`, which includes
    the projects flagged for removal).
    """
    today = local_day(now, settings.tz)
    cutoffs = stage_cutoffs(settings, now)
    if not cutoffs:
        return None
    lights = ("red", "remove") if reds_only else ("yellow", "red", "remove")
    every = await rq.stale_totals(session, cutoffs=cutoffs, team_id=team_id)
    totals = {light: every[light] for light in lights}
    if not any(totals.values()):
        return None
    projects = await rq.stale_projects(session, cutoffs=cutoffs, team_id=team_id, lights=lights,
                                       limit=LIST_LIMIT)
    limits = stale_limits("planned", settings.stale_months) or (0, 0, 0)
    label = {
        "yellow": f"超{limits[0]}个月未更新",
        "red": f"超{limits[1]}个月未更新",
        "remove": f"超{limits[2]}个月，建议出库",
    }

    doc = Doc()
    doc.title(f"⏰ 项目预警 · {day_text(today, 'zh')}")
    doc.line(" · ".join(f"{STALE_EMOJI[light]}{label[light]} {totals[light]} 个" for light in lights
                        if totals[light]))
    doc.blank()
    severity = {"remove": 0, "red": 1, "yellow": 2}
    for project in sorted(projects, key=lambda p: (severity[p.light], p.last_event_at)):
        days = (today - local_day(project.last_event_at, settings.tz)).days
        where = stage_name(project.stage) if team_id is not None else f"{project.team_name}·{stage_name(project.stage)}"
        doc.line(f"{STALE_EMOJI[project.light]} #{project.id} {project.name}（{where}）{days}天未更新")
    shown_total = sum(totals.values())
    if shown_total > len(projects):
        doc.line(f"…… 另有 {shown_total - len(projects)} 个")
    doc.blank()
    doc.line("请尽快跟进，发送「进展 项目名 内容」更新。")
    return doc.reply()
