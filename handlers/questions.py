"""Handlers for leaders' and squads' questions: rank, status, problems, export (built by handlers.reports)."""

from __future__ import annotations

from handlers import reports
from handlers.commands import Command
from handlers.context import Context
from handlers.messages import Reply
from handlers.projects import refuse
from storage import queries


async def handle_rank(cmd: Command, ctx: Context) -> Reply:
    """rank: the 比学赶超 leaderboard now."""
    return await reports.leaderboard(ctx.session, settings=ctx.settings, now=ctx.now, lang=ctx.lang)


async def handle_status(cmd: Command, ctx: Context) -> Reply:
    """status: progress against targets and 序时进度 (members: district + own squad; leaders: any)."""
    return await reports.status_report(
        ctx.session, settings=ctx.settings, now=ctx.now,
        viewer_team_id=ctx.member.team_id if ctx.member else None, is_leader=ctx.is_leader,
        team_name=cmd.value, lang=ctx.lang,
    )


async def handle_problems(cmd: Command, ctx: Context) -> Reply:
    """problems: open problems oldest first; members see their squad's, leaders all or a named squad's."""
    team_id = ctx.team.id if ctx.team and not ctx.is_leader else None
    if cmd.value:
        team = await queries.team_by_name(ctx.session, name=cmd.value)
        if team is None:
            raise refuse(ctx, f"没有名为「{cmd.value}」的小分队。", f"No squad named \"{cmd.value}\".")
        if not ctx.is_leader and team.id != (ctx.team.id if ctx.team else None):
            raise refuse(ctx, "只能查看本队的问题。", "You can only list your own squad's problems.")
        team_id = team.id
    return await reports.problem_list(ctx.session, settings=ctx.settings, now=ctx.now, team_id=team_id,
                                      lang=ctx.lang)


async def handle_export(cmd: Command, ctx: Context) -> Reply:
    """export: the ledger (台账) as an Excel file, for leaders and admins."""
    if not ctx.is_leader:
        raise refuse(ctx, "台账导出仅限领导和管理员。", "Only leaders and admins can export the ledger.")
    ledger = await reports.ledger_export(ctx.session, settings=ctx.settings, now=ctx.now)
    return Reply(text=ctx.t(f"📊 台账已导出：{ledger.name}（每个项目库一张表，另有汇总表）",
                            f"📊 Ledger exported: {ledger.name} (one sheet per pool plus a summary)"),
                 file=ledger)
