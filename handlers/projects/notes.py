"""进展 and 拜访: progress notes and outbound visits."""

from __future__ import annotations

from dataclasses import replace

from handlers import ownership
from handlers.commands import Command
from handlers.context import Context
from handlers.messages import Reply
from handlers.projects.fields import apply_fields, date_line
from handlers.records import card, headline_for, record_event, snapshot, undo_line
from handlers.refusal import refuse_key
from handlers.resolve import changeable_project, check_may_change, find_project, lock_project
from handlers.undo_button import undo_button
from storage.models import Project


async def handle_note(cmd: Command, ctx: Context) -> Reply:
    """note: a progress note on a project."""
    project = await changeable_project(ctx, cmd)
    if not cmd.note and not ctx.incoming.files:
        raise refuse_key(ctx, "note.write_what_happened", cmd.verb)
    before = snapshot(project, ["amount_yuan", "amount_text"])
    changed = apply_fields(ctx, project, replace(cmd, industry=None, zone=None, place=None, company=None))
    event_id = await record_event(ctx, project=project, kind="note", text=cmd.note,
                                  data={"before": before} if changed else None)
    return await card(ctx, project, ctx.say("note.progress_noted"), [cmd.note, *changed], event_id)


async def handle_visit(cmd: Command, ctx: Context) -> Reply:
    """visit: log an outbound visit (city, company), on a project when one is named."""
    project: Project | None = None
    if cmd.project is not None:
        found = await find_project(ctx, cmd, may_create=True, lock=True)
        if isinstance(found, Project):
            project = found
            await lock_project(ctx, project)
            check_may_change(ctx, project, cmd.verb)
    company = cmd.company or (cmd.project.name if cmd.project and project is None else "") or ""
    if project is None and not (cmd.place or company):
        raise refuse_key(ctx, "visit.say_which_city_company", cmd.verb)
    if ctx.member is None or (project is None and ctx.member.team_id is None):
        raise refuse_key(ctx, "visit.join_squad_first_join")
    if cmd.when is not None and cmd.when > ctx.today:
        raise refuse_key(ctx, "activity.future", cmd.verb, when=cmd.when)
    where = " ".join(part for part in (cmd.place or "", company) if part)
    data = {"place": cmd.place or "", "company": company}
    if cmd.when is not None and cmd.when < ctx.today:
        data["date"] = cmd.when.isoformat()
    event_id = await record_event(ctx, project=project, kind="visit", text=cmd.note, data=data)
    if company:  # 首谈负责制: a visit to a company another squad courts
        await ownership.first_contact(ctx, company=company, project_name=project.name if project else "",
                                      subject="visit", project_id=project.id if project else None,
                                      event_id=event_id, team_id=project.team_id if project else None)
    headline = headline_for(ctx, ctx.say("visit.logged_alone", where=where))
    if project is None:
        lines = [headline, date_line(ctx, cmd), cmd.note, *ctx.notes]
        if ctx.preview:
            return Reply(text="\n".join(filter(None, lines)))
        return Reply(text="\n".join(filter(None, [*lines, undo_line(ctx)])),
                     buttons=[undo_button(ctx.say("visit.undo"), event_id)])
    return await card(ctx, project, ctx.say("visit.logged_on_card", where=where),
                      [date_line(ctx, cmd), cmd.note], event_id)
