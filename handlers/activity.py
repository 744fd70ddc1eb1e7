"""接待, 活动, 线索, 宣传 (issue 20): activity that moves no project, stored as events of the sender's squad.

Each is one event (kind reception / promo / lead / publicity) with team_id the sender's squad (a reception on
a project: the project's squad; a leader or admin without a squad: the district, counted in no squad's
index), counted per day in activity_tally by storage.event_queries and taken back by 撤销 like any update.
A reception or lead naming a company another squad courts is flagged (首谈负责制, handlers.ownership). A lead
becomes a 谋划 project with one confirmation: `线索 立项 N` asks, `1` creates it.
"""

from __future__ import annotations

import json
from typing import Any

from handlers import ownership
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command, ProjectRef
from handlers.context import Context
from handlers.messages import Button, Reply
from handlers.projects.fields import date_line
from handlers.records import card, headline_for, record_event, undo_line
from handlers.refusal import refuse_key
from handlers.resolve import check_may_change, find_project, lock_project
from handlers.undo_button import undo_button
from handlers.wording import both
from storage import event_queries, name_lookup
from storage.models import Event, Project


def _team(ctx: Context) -> int | None:
    """The squad an activity counts for: the sender's (None for a leader or admin outside any squad)."""
    return ctx.member.team_id if ctx.member else None


def dated(ctx: Context, cmd: Command, data: dict[str, Any]) -> str:
    """The day an activity happened when the sender wrote one (`接待 公司:X 昨天`): kept in its data and shown
    on the card; a day still ahead is refused (an activity is reported once it happened). It counts in the
    activity index on the day it was reported, like every report."""
    if cmd.when is None or cmd.when == ctx.today:
        return ""
    if cmd.when > ctx.today:
        raise refuse_key(ctx, "activity.future", cmd.verb, when=cmd.when)
    data["date"] = cmd.when.isoformat()
    return date_line(ctx, cmd)


def _reply(ctx: Context, headline: str, lines: list[str], event_id: int, *,
           extra: list[Button] | None = None) -> Reply:
    """The card of an activity with no project: what was stored and how to undo it."""
    body = [headline_for(ctx, headline), *lines, *ctx.notes]
    if ctx.preview:
        return Reply(text="\n".join(line for line in body if line))
    buttons = [*(extra or []), undo_button(ctx.say("activity.undo"), event_id)]
    return Reply(text="\n".join(line for line in [*body, undo_line(ctx)] if line), buttons=buttons)


async def handle_reception(cmd: Command, ctx: Context) -> Reply:
    """reception (接待): a company visiting the district, on a project when one is named."""
    project: Project | None = None
    if cmd.project is not None:
        found = await find_project(ctx, cmd, may_create=False, lock=True)
        if isinstance(found, Project):
            project = found
            await lock_project(ctx, project)
            check_may_change(ctx, project, cmd.verb)
    company = cmd.company or (project.company if project else "") or ""
    if project is None and not company:
        raise refuse_key(ctx, "reception.which_company", cmd.verb)
    team_id = project.team_id if project else _team(ctx)
    data: dict[str, Any] = {"company": company, "place": cmd.place or ""}
    day = dated(ctx, cmd, data)
    event_id = await record_event(ctx, project=project, kind="reception", text=cmd.note, data=data, team_id=team_id)
    if company:
        await ownership.first_contact(ctx, company=company, project_name=project.name if project else "",
                                      subject="reception", project_id=project.id if project else None,
                                      event_id=event_id, team_id=team_id)
    where = ctx.say("activity.from_place", place=cmd.place) if cmd.place else ""
    headline = ctx.say("reception.logged", company=company or (project.name if project else ""), where=where)
    if project is not None:
        return await card(ctx, project, headline, [day, cmd.note], event_id)
    return _reply(ctx, headline, [day, cmd.note], event_id)


async def handle_promo(cmd: Command, ctx: Context) -> Reply:
    """promo (活动): a promotion event (推介会, 招商会 …), where, how many companies came."""
    data: dict[str, Any] = {"event_type": cmd.kind or "", "place": cmd.place or ""}
    if cmd.number is not None:
        data["companies"] = cmd.number
    day = dated(ctx, cmd, data)
    event_id = await record_event(ctx, project=None, kind="promo", text=cmd.note, data=data, team_id=_team(ctx))
    where = f" @{cmd.place}" if cmd.place else ""
    headline = ctx.say("promo.logged", event_type=cmd.kind or "", where=where)
    lines = [ctx.say("promo.companies", companies=cmd.number) if cmd.number is not None else "", day, cmd.note]
    return _reply(ctx, headline, lines, event_id)


async def handle_publicity(cmd: Command, ctx: Context) -> Reply:
    """publicity (宣传): an article, report or other publicity item."""
    event_id = await record_event(ctx, project=None, kind="publicity", text=cmd.note,
                                  data={"outlet": cmd.value or ""}, team_id=_team(ctx))
    return _reply(ctx, ctx.say("publicity.logged", outlet=cmd.value or ""), [cmd.note], event_id)


async def handle_lead(cmd: Command, ctx: Context) -> Reply:
    """lead (线索): a company worth courting; `线索 立项 N` makes lead N a 谋划 project after one confirmation."""
    if cmd.flag == "promote":
        return await _promote(cmd, ctx)
    company = cmd.company or ""
    data: dict[str, Any] = {"company": company, "industry": cmd.industry or "", "place": cmd.place or ""}
    day = dated(ctx, cmd, data)
    team_id = _team(ctx)
    event_id = await record_event(ctx, project=None, kind="lead", text=cmd.note, data=data, team_id=team_id)
    await ownership.first_contact(ctx, company=company, subject="lead", event_id=event_id, team_id=team_id)
    facts = " · ".join(part for part in (cmd.industry or "", f"@{cmd.place}" if cmd.place else "") if part)
    lines = [facts, day, cmd.note]
    if ctx.preview:
        return _reply(ctx, ctx.say("lead.logged", company=company, id=""), lines, event_id)
    promote = ctx.say("lead.promote_button")
    lines.append(ctx.say("lead.promote_hint", id=event_id))
    return _reply(ctx, ctx.say("lead.logged", company=company, id=event_id), lines, event_id,
                  extra=[Button(promote, f"线索 立项 {event_id}")])


async def _promote(cmd: Command, ctx: Context) -> Reply:
    """`线索 立项 N`: ask once, the answer `1` runs `谋划` for a new project with the lead's facts."""
    lead = await ctx.session.get(Event, cmd.number) if cmd.number is not None else None
    if lead is None or lead.kind != "lead" or await event_queries.is_undone(ctx.session, event_id=lead.id or 0):
        raise refuse_key(ctx, "lead.no_such_lead", cmd.verb, id=cmd.number)
    own = _team(ctx)
    if not ctx.is_leader and (own is None or lead.team_id != own):
        raise refuse_key(ctx, "lead.not_your_squads", id=cmd.number)
    facts = json.loads(lead.data or "{}")
    company = str(facts.get("company") or "")
    for project in await _named(ctx, company):
        if not project.removed and project.stage != "dropped" and (own is None or project.team_id == own):
            raise refuse_key(ctx, "lead.already_project", unchanged=True, id=project.id, name=project.name)
    plan = Command(verb="plan", lang=ctx.lang, project=ProjectRef(name=company, new=True),
                   industry=facts.get("industry") or None, place=facts.get("place") or None, company=company,
                   note=ctx.say("lead.from_lead", id=cmd.number))
    raise NeedsChoice(*both("lead.promote_question", id=cmd.number, company=company),
                      [Choice(*both("lead.promote_choice", company=company), plan)], confirm=True)


async def _named(ctx: Context, name: str) -> list[Project]:
    """Projects already named exactly like the lead's company (a lead is made a project once)."""
    key = name_lookup.name_key(name)
    return list(await name_lookup.projects_named(ctx.session, key=key)) if key else []
