"""转交: a leader moves a project to another squad (首谈负责制: the company stays with the first squad unless a
leader reassigns it). An event like any other: 撤销 moves it back. The year counters follow the project's
squad (storage.tallies), its funds in place go with it, and the clashes it was in are settled."""

from __future__ import annotations

from handlers import ownership
from handlers.commands import Command
from handlers.context import Context
from handlers.messages import Reply
from handlers.ownership import NOTICE_LANG
from handlers.records import card, record_event, snapshot
from handlers.refusal import refuse_key
from handlers.resolve import check_may_change, lock_project, require_project
from handlers.wording import key, say
from storage import funds_queries, people_queries, roster_queries


async def handle_transfer(cmd: Command, ctx: Context) -> Reply:
    """transfer: a leader gives a project to another squad (转交 #12 德化街)."""
    project = await require_project(ctx, cmd, lock=True)
    await lock_project(ctx, project)
    check_may_change(ctx, project, "transfer")
    team = await people_queries.team_by_name(ctx.session, name=cmd.value or "")
    if team is None or team.id is None:
        names = ctx.say("list.separator").join((await people_queries.team_names(ctx.session))[:30])
        raise refuse_key(ctx, "transfer.no_squad", cmd.verb, name=cmd.value or "", names=names)
    old = await people_queries.team_by_id(ctx.session, team_id=project.team_id)
    if team.id == project.team_id:
        raise refuse_key(ctx, "transfer.already", unchanged=True, id=project.id, team=team.name)
    before = snapshot(project, ["team_id"])
    project.team_id = team.id
    project.updated_at = ctx.now
    ctx.session.add(project)
    await funds_queries.move_arrivals(ctx.session, project_id=project.id or 0, team_id=team.id)
    old_name = old.name if old else ""
    event_id = await record_event(ctx, project=project, kind="transfer", text=f"{old_name} → {team.name}",
                                  data={"before": before, "to_team": team.id})
    settled = await ownership.settle(ctx, project_id=project.id or 0, resolution=f"transfer:{event_id}")
    who = ctx.member.name if ctx.member else ""
    for team_id, told in ((before["team_id"], key("transfer.told_old")), (team.id, key("transfer.told_new"))):
        text = say(NOTICE_LANG, told, who=who, id=project.id, project=project.name, old=old_name, new=team.name)
        for captain in await roster_queries.captains_of(ctx.session, team_id=team_id):
            ctx.tell(captain.id, text)
    details = [ctx.say("transfer.settled", count=settled)] if settled else []
    return await card(ctx, project, ctx.say("transfer.moved", old=old_name, new=team.name), details, event_id)
