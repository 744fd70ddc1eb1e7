"""改 (a field corrected) and 预计 (the expected next stage and date)."""

from __future__ import annotations

from handlers import ownership
from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.projects.fields import EDITABLE_FIELDS, FIELD_NAMES_ZH
from handlers.records import card, record_event, snapshot
from handlers.refusal import refuse_key
from handlers.resolve import changeable_project
from storage import name_lookup
from storage.limits import ALIAS_LIMIT
from storage.models import STAGE_ORDER


async def handle_edit(cmd: Command, ctx: Context) -> Reply:
    """edit: change one field: amount, name, alias, industry, zone, place, company."""
    project = await changeable_project(ctx, cmd)
    field = cmd.field_name or ""
    if field not in EDITABLE_FIELDS:
        raise refuse_key(ctx, "edit.editable_fields_amount_name", 'edit')
    value = (cmd.value or "").strip()
    before = snapshot(project, EDITABLE_FIELDS[field])
    label = FIELD_NAMES_ZH[field] if ctx.lang == "zh" else field
    if field == "amount":
        if cmd.amount is None:
            raise refuse_key(ctx, "edit.read_amount", 'edit', value=value)
        project.amount_yuan, project.amount_text = cmd.amount.yuan, cmd.amount.text
        shown = format_amount(cmd.amount.yuan, ctx.lang)
    elif not value:
        raise refuse_key(ctx, "edit.give_new", 'edit', label=label)
    elif field == "name":
        if len(value) > 100:
            raise refuse_key(ctx, "edit.name_too_long_characters", 'edit', value_count=len(value))
        project.name = value
        project.name_key = name_lookup.name_key(project.name)
        shown = value
    elif field == "alias":
        if len(value) > ALIAS_LIMIT:
            raise refuse_key(ctx, "edit.alias_too_long_characters", 'edit', value_count=len(value),
                             ALIAS_LIMIT=ALIAS_LIMIT)
        aliases = [a for a in project.aliases.strip("|").split("|") if a]
        key = name_lookup.name_key(value)
        if key not in aliases:
            aliases.append(key)
        project.aliases = "|" + "|".join(aliases) + "|"
        shown = value
    elif field == "industry":
        industry = ctx.catalog.industry_of(value)
        if industry is None:
            known = "、".join(ctx.catalog.industries)
            raise refuse_key(ctx, "edit.unknown_industry_known", value=value, known=known)
        project.industry, project.wheel = industry, ctx.catalog.wheel_of(industry)
        shown = f"{industry}（{project.wheel}）"
    elif field == "zone":
        zone = ctx.catalog.zone_of(value) or value
        project.zone = zone
        shown = zone
    else:
        setattr(project, field, value)  # check_fits refuses one over its limit, never cuts it
        shown = value
    event_id = await record_event(ctx, project=project, kind="edit", text=f"{label}: {shown}",
                                  data={"before": before, "field": field})
    if field in ("company", "name"):  # 首谈负责制: a company named now may be another squad's
        await ownership.first_contact(ctx, company=project.company, project_name=project.name, subject="project",
                                      project_id=project.id, event_id=event_id, team_id=project.team_id,
                                      before=project.created_at)
    return await card(ctx, project, ctx.say("edit.set", label=label, shown=shown), [], event_id)


async def handle_expect(cmd: Command, ctx: Context) -> Reply:
    """expect: the expected date of the next stage (feeds the forecast; a later date counts as a slip)."""
    if cmd.project is None:  # bare 预计: the year-end forecast
        from handlers import reports

        return await reports.forecast_report(ctx.session, settings=ctx.settings, now=ctx.now, lang=ctx.lang)
    project = await changeable_project(ctx, cmd)
    if cmd.stage is None or cmd.when is None:
        raise refuse_key(ctx, "expect.give_stage_date", 'expect')
    if project.stage != "dropped" and STAGE_ORDER[cmd.stage] <= STAGE_ORDER.get(project.stage, -1):
        raise refuse_key(ctx, "expect.already", id=project.id, stage=stage_name(project.stage, ctx.lang))
    before = snapshot(project, ["expected_stage", "expected_date", "expected_slips"])
    slipped = (project.expected_stage == cmd.stage and project.expected_date is not None
               and cmd.when > project.expected_date)
    if project.expected_stage != cmd.stage:
        project.expected_slips = 0
    elif slipped:
        project.expected_slips += 1
    project.expected_stage, project.expected_date = cmd.stage, cmd.when
    event_id = await record_event(ctx, project=project, kind="expect", to_stage=cmd.stage,
                                  text=cmd.when.isoformat(), data={"before": before})
    details = []
    if slipped:
        details.append(ctx.say("expect.expected_date_has_slipped", expected_slips=project.expected_slips))
    headline = ctx.say("expect.expected", when=cmd.when, stage=stage_name(cmd.stage, ctx.lang))
    return await card(ctx, project, headline, details, event_id)
