"""Handlers for leaders' and squads' questions: rank, status, problems, export (built by handlers.reports),
and the questions in words that map to them (我们队排第几, 德化街进度怎么样, 本月新增签约多少)."""

from __future__ import annotations

from handlers import access, projects, reports
from handlers.commands import Command, ProjectRef
from handlers.context import Context
from handlers.messages import Reply
from handlers.period_report import period_count
from handlers.refusal import refuse_key
from storage import name_lookup, people_queries
from storage import report_queries as rq


async def handle_rank(cmd: Command, ctx: Context) -> Reply:
    """rank: the 比学赶超 leaderboard now (`我们队排第几`: with the asker's squad's place on top)."""
    board = await reports.leaderboard(ctx.session, settings=ctx.settings, now=ctx.now, lang=ctx.lang,
                                      charts=None if ctx.preview else ctx.charts)
    if cmd.value != "own" or ctx.team is None:
        return board
    rows = await reports.compute_ranking(ctx.session, settings=ctx.settings, now=ctx.now)
    row = next((r for r in rows if r.team_id == ctx.team.id), None)
    if row is None:
        return board
    mark = ctx.say("rank.number", team_name=row.team_name, rank=row.rank, rows_count=len(rows))
    return Reply(text=mark + "\n\n" + board.text, markdown=None, image=board.image, image_name=board.image_name)


async def handle_status(cmd: Command, ctx: Context) -> Reply:
    """status: progress against targets and 序时进度 (members: district + own squad; leaders: any).

    From words: `本月新增签约多少` asks for a count (flag `count:<period>:<stage>`), and `X进度怎么样`
    names a squad or, failing that, a project (flag `or-project`).
    """
    flag = cmd.flag or ""
    if flag.startswith("count:"):
        _, period, stage = flag.split(":", 2)
        return await period_count(ctx.session, settings=ctx.settings, now=ctx.now, period=period, stage=stage,
                                  viewer_team_id=ctx.team.id if ctx.team else None, lang=ctx.lang)
    if flag == "or-project" and cmd.value:
        names = await rq.team_names(ctx.session)
        found, _ = reports.resolve_team(cmd.value, names, threshold=ctx.settings.fuzzy_threshold)
        if found is None:
            key = name_lookup.name_key(cmd.value)
            if await name_lookup.projects_named(ctx.session, key=key) or await name_lookup.fuzzy_candidates(
                    ctx.session, key=key, team_id=None, limit=1):
                return await projects.handle_find(Command(verb="find", lang=cmd.lang, text=cmd.text,
                                                          project=ProjectRef(name=cmd.value)), ctx)
    view = _VIEWS.get((cmd.value or "").replace(" ", "").lower())
    own = ctx.member.team_id if ctx.member else None
    team_name = None if view else cmd.value
    if view:  # the district's breakdowns: a drill-down for the whole district
        access.check_verb(ctx, "status_district")
    elif team_name:
        found, _ = reports.resolve_team(team_name, await rq.team_names(ctx.session),
                                        threshold=ctx.settings.fuzzy_threshold)
        if found is not None and found == own and not access.may(ctx, "status_detail", team_id=found):
            team_name = None  # a member naming their own squad gets their usual view: district and squad
        elif found is not None:
            name = (await rq.team_names(ctx.session))[found]
            access.require(ctx, "status_detail", team_id=found, target=ctx.say("access.squad", name=name),
                           squad=True)
    return await reports.status_report(
        ctx.session, settings=ctx.settings, now=ctx.now, viewer_team_id=own, is_leader=ctx.is_leader,
        team_name=team_name, lang=ctx.lang, view=view, charts=None if ctx.preview else ctx.charts,
    )


# 进度 详细, 进度 按产业 …: the parts of a leader's 进度 asked for by name (the summary comes first).
_VIEWS = {
    "详细": "all", "全部": "all", "明细": "all", "详情": "all", "all": "all", "detail": "all", "details": "all",
    "按产业": "industry", "产业": "industry", "按行业": "industry", "行业": "industry", "byindustry": "industry",
    "industry": "industry",
    "按区域": "zone", "区域": "zone", "zone": "zone", "byzone": "zone",
    "按两轮": "wheel", "两轮": "wheel", "按服务业": "wheel", "按服务业工业": "wheel", "服务业工业": "wheel",
    "sector": "wheel", "bysector": "wheel",
    "按小分队": "squads", "按队": "squads", "小分队": "squads", "各队": "squads", "squads": "squads",
    "bysquad": "squads",
}


async def handle_problems(cmd: Command, ctx: Context) -> Reply:
    """problems: open problems oldest first; members see their squad's, leaders all or a named squad's."""
    team_id = ctx.team.id if ctx.team and not ctx.is_leader else None
    if cmd.value:
        team = await people_queries.team_by_name(ctx.session, name=cmd.value)
        if team is None:
            raise refuse_key(ctx, "problems.squad_named", value=cmd.value)
        team_id = team.id
    if team_id is not None or not ctx.is_leader:
        named = ctx.say("access.squad", name=cmd.value) if cmd.value else ctx.say("access.district")
        access.require(ctx, "problems", team_id=team_id, target=named, squad=True)
    return await reports.problem_list(ctx.session, settings=ctx.settings, now=ctx.now, team_id=team_id,
                                      lang=ctx.lang)


async def handle_export(cmd: Command, ctx: Context) -> Reply:
    """export: the ledger (台账) as an Excel file, for leaders and admins."""
    team_id = None if ctx.is_leader else (ctx.team.id if ctx.team else None)
    access.require(ctx, "export", team_id=team_id, target=ctx.say("access.ledger"))
    ledger = await reports.ledger_export(ctx.session, settings=ctx.settings, now=ctx.now, team_id=team_id)
    return Reply(text=ctx.say("export.ledger_exported_one_sheet", name=ledger.name),
                 file=ledger)
