"""预计 (the forecast of each pool at year end) and 待核实 (the verification queue)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.reports.common import LIST_LIMIT, Doc, percent, report_period, short_day
from handlers.reports.scores import district_targets_or_sum, lack_text
from handlers.wording import say
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from handlers.rules import Rules




async def forecast_report(
    session: AsyncSession, *, settings: Rules, now: datetime, lang: Lang = "zh"
) -> Reply:
    """The year-end projection per stage (counted + 待核实 + expected by 31 Dec) and the slipping projects."""
    period = report_period(settings, now)
    tally = await rq.year_district_tally(
        session, year=period.year, require_verification=settings.require_verification
    )
    targets, _ = district_targets_or_sum(await rq.targets_for_year(session, year=period.year))
    inputs = await rq.forecast_inputs(session, today=period.today, year_end=date(period.year, 12, 31))
    slipped = await rq.slipped_projects(session, min_slips=3, limit=LIST_LIMIT)

    doc = Doc()
    doc.title(say(lang, "forecast.title", year=period.year, day=short_day(period.today, lang)))
    doc.line(say(lang, "report.schedule", pct=percent(period.pct)))
    for stage in STAGES:
        counted = tally.count(stage)
        pending = tally.pending(stage) if settings.require_verification else 0
        projected = counted + pending + inputs.expected[stage]
        target = targets.get(stage, 0)
        # One plain sentence per pool: 签约：已 35，预计年底 52，目标 80，差 28.
        parts = [say(lang, "forecast.counted", counted=counted)]
        if pending:
            parts.append(say(lang, "forecast.pending", pending=pending))
        parts.append(say(lang, "forecast.projected", projected=projected))
        if target:
            parts.append(say(lang, "forecast.target", target=target))
            gap = target - projected
            parts.append(say(lang, "forecast.short", gap=gap) if gap > 0
                         else say(lang, "forecast.on_track"))
        doc.line(say(lang, "forecast.stage_line", stage=stage_name(stage, lang),
                     parts=say(lang, "report.comma").join(parts)))
    overdue = {stage: n for stage, n in inputs.overdue.items() if n}
    if overdue:
        doc.line(say(lang, "forecast.overdue", lacks=lack_text(overdue, lang)))
    doc.blank()
    doc.title(say(lang, "forecast.slipped_title"))
    if not slipped:
        doc.line(say(lang, "forecast.none"))
    for project in slipped:
        when = project.expected_date.strftime("%Y-%m-%d") if project.expected_date else "-"
        doc.line(say(lang, "forecast.slipped", id=project.id, name=project.name, team_name=project.team_name,
                     stage=stage_name(project.expected_stage, lang), when=when, slips=project.slips))
    return doc.reply()


async def pending_verification(
    session: AsyncSession, *, settings: Rules, team_id: int | None = None, now: datetime | None = None
) -> Reply:
    """待核实: 签约/落地 moves no leader has confirmed yet, oldest first, with how long each has waited."""
    moves, total = await rq.pending_verifications(session, team_id=team_id, limit=LIST_LIMIT)
    doc = Doc()
    doc.title(f"🔍 待核实 {total} 个")
    if settings.require_verification:
        doc.line("签约、落地经领导核实后才计入统计。")
    else:
        doc.line("当前设置：未核实的签约、落地也计入统计。")
    if not moves:
        doc.line("✅ 没有待核实的签约、落地。")
        return doc.reply()
    for index, move in enumerate(moves, start=1):
        when = move.reached_at.astimezone(settings.tz).strftime("%Y-%m-%d")
        days = (now - move.reached_at).days if now is not None else None
        waited = "（今天）" if days == 0 else (f"（等了 {days} 天）" if days is not None else "")
        amount = f" {format_amount(move.amount_yuan)}" if move.amount_yuan else ""
        doc.line(f"{index}. #{move.project_id} {move.name}（{move.team_name}）"
                 f"{stage_name(move.stage)}{amount} · {when}{waited}")
    if total > len(moves):
        doc.line(f"…… 另有 {total - len(moves)} 个")
    doc.line(f"发送「核实 #{moves[0].project_id}」确认一个，「核实 全部」或「核实 队名」确认整批（先列出再确认）。")
    return doc.reply()
