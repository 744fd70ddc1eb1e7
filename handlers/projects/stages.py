"""The four pools (谋划 → 招引 → 签约 → 落地): create a project or move one, and 放弃 (drop)."""

from __future__ import annotations

from handlers import ownership
from handlers.commands import STAGE_VERBS, Command
from handlers.context import Context
from handlers.format import stage_name
from handlers.messages import Reply
from handlers.projects.fields import (
    STAGE_FIELDS,
    apply_fields,
    date_line,
    dated,
    reach_stage,
    verification_note,
    with_project_id,
)
from handlers.records import card, check_fits, record_event, snapshot
from handlers.refusal import refuse_key
from handlers.resolve import CREATE, changeable_project, check_may_change, find_project, lock_project
from handlers.understand.guards import bad_name
from storage import name_lookup, people_queries
from storage.models import STAGE_ORDER, Project


async def handle_stage(cmd: Command, ctx: Context) -> Reply:
    """plan / pursue / sign / land: create a project in that pool, or move one there."""
    to_stage = STAGE_VERBS[cmd.verb]
    found = await find_project(ctx, cmd, may_create=True, lock=True)
    if found is CREATE or not isinstance(found, Project):
        return await _create_project(cmd, ctx, to_stage)
    project = found
    await lock_project(ctx, project)
    check_may_change(ctx, project, cmd.verb)
    from_stage = project.stage
    fields = [*STAGE_FIELDS, "amount_yuan", "amount_text", "industry", "wheel", "zone", "place", "company",
              "signed_verified_at", "landed_verified_at", "expected_stage", "expected_date", "expected_slips"]
    before = snapshot(project, fields)
    if from_stage != "dropped" and STAGE_ORDER[to_stage] < STAGE_ORDER[from_stage]:
        raise refuse_key(ctx, "stage.already_go_back_undo", id=project.id, from_stage=stage_name(from_stage, ctx.lang),
                         to_stage=stage_name(to_stage, ctx.lang))
    changed = apply_fields(ctx, project, cmd)
    if from_stage == to_stage:
        if not changed and not cmd.note and not ctx.incoming.files:
            raise refuse_key(ctx, "stage.already_nothing_changed", unchanged=True, id=project.id,
                             to_stage=stage_name(to_stage, ctx.lang))
        event_id = await record_event(ctx, project=project, kind="edit", text=cmd.note,
                                      data={"before": before, "fields": changed})
        headline = ctx.say("stage.updated_still", to_stage=stage_name(to_stage, ctx.lang))
        return await card(ctx, project, headline, [*changed, cmd.note], event_id)
    reach_stage(project, to_stage, dated(ctx, cmd, project))
    if project.expected_stage and STAGE_ORDER.get(project.expected_stage, 9) <= STAGE_ORDER[to_stage]:
        # The stage it was expected to reach is reached: the expectation is closed, not left to go stale.
        project.expected_stage, project.expected_date, project.expected_slips = "", None, 0
    if to_stage in ("signed", "landed"):
        # A new move needs a new verification when the district requires one.
        setattr(project, f"{to_stage}_verified_at", None)
    event_id = await record_event(ctx, project=project, kind="stage", from_stage=from_stage, to_stage=to_stage,
                                  text=cmd.note, data={"before": before})
    arrow = f"{stage_name(from_stage, ctx.lang)} → {stage_name(to_stage, ctx.lang)}"
    headline = ctx.say("stage.moved", to_stage=stage_name(to_stage, ctx.lang), arrow=arrow)
    details = [date_line(ctx, cmd), *changed, cmd.note]
    details += verification_note(ctx, project, to_stage)
    return await card(ctx, project, headline, details, event_id)


async def _create_project(cmd: Command, ctx: Context, stage: str) -> Reply:
    if ctx.member is None or ctx.member.team_id is None:
        raise refuse_key(ctx, "create_project.squad_yet_so_create")
    name = (cmd.project.name if cmd.project else "") or ""
    name = name.strip()
    if bad_name(name, ctx.today):  # the last word on it, whatever path led here (a confirmed reading too)
        raise refuse_key(ctx, "create_project.project_name", cmd.verb, name=name)
    if len(name) > 100:
        raise refuse_key(ctx, "create_project.project_name_too_long", cmd.verb)
    # Two members reporting the same new project at once both found no match and both created it: hold the
    # squad and look again, so the later one reports on the earlier one's project, as if it came after.
    await people_queries.lock_team(ctx.session, team_id=ctx.member.team_id)
    twins = [p for p in await name_lookup.projects_named(ctx.session, key=name_lookup.name_key(name))
             if p.team_id == ctx.member.team_id]
    if twins and twins[0].id is not None:
        return await handle_stage(with_project_id(cmd, twins[0].id), ctx)
    project = Project(
        name=name, name_key=name_lookup.name_key(name), team_id=ctx.member.team_id, stage=stage,
        created_by=ctx.member.id, created_at=ctx.now, updated_at=ctx.now, last_event_at=ctx.now,
    )
    changed = apply_fields(ctx, project, cmd)
    reach_stage(project, stage, dated(ctx, cmd, None))
    check_fits(ctx, project)
    ctx.session.add(project)
    await ctx.session.flush()
    if project.id is not None:
        ctx.created.add(project.id)
    event_id = await record_event(ctx, project=project, kind="create", to_stage=stage, text=cmd.note,
                                  data={"fields": changed})
    # 首谈负责制: another squad already courting this company is told, and the sender hears whose it is.
    await ownership.first_contact(ctx, company=project.company, project_name=project.name, subject="project",
                                  project_id=project.id, event_id=event_id)
    headline = ctx.say("create_project.new_project_pool", stage=stage_name(stage, ctx.lang))
    if STAGE_ORDER[stage] > 0:
        headline += ctx.say("create_project.also_counted_earlier_stages")
    details = [date_line(ctx, cmd), *changed, cmd.note]
    details += verification_note(ctx, project, stage)
    return await card(ctx, project, headline, details, event_id)


async def handle_drop(cmd: Command, ctx: Context) -> Reply:
    """drop: take a project out of the funnel, keeping its history and the reason."""
    project = await changeable_project(ctx, cmd)
    if project.stage == "dropped":
        raise refuse_key(ctx, "drop.already_dropped", id=project.id)
    if not cmd.note:
        raise refuse_key(ctx, "drop.give_reason", cmd.verb)
    before = snapshot(project, STAGE_FIELDS)
    from_stage = project.stage
    project.stage = "dropped"
    project.dropped_at = ctx.now
    project.drop_reason = cmd.note  # check_fits refuses one over its limit, never cuts it
    event_id = await record_event(ctx, project=project, kind="drop", from_stage=from_stage, to_stage="dropped",
                                  text=cmd.note, data={"before": before})
    await ownership.settle(ctx, project_id=project.id or 0, resolution=f"dropped:{event_id}")  # undo reopens
    return await card(ctx, project, ctx.say("drop.dropped_history_kept"), [cmd.note], event_id)
