"""改 (a field corrected) and 预计 (the expected next stage and date)."""

from __future__ import annotations

from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.projects.fields import EDITABLE_FIELDS, FIELD_NAMES_ZH
from handlers.records import card, record_event, snapshot
from handlers.refusal import refuse
from handlers.resolve import changeable_project
from storage import name_lookup
from storage.limits import ALIAS_LIMIT
from storage.models import STAGE_ORDER


async def handle_edit(cmd: Command, ctx: Context) -> Reply:
    """edit: change one field: amount, name, alias, industry, zone, place, company."""
    project = await changeable_project(ctx, cmd)
    field = cmd.field_name or ""
    if field not in EDITABLE_FIELDS:
        raise refuse(ctx, "可修改的字段：金额、名称、别名、行业、区域、地点、公司。",
                     "Editable fields: amount, name, alias, industry, zone, place, company.", "edit")
    value = (cmd.value or "").strip()
    before = snapshot(project, EDITABLE_FIELDS[field])
    label = FIELD_NAMES_ZH[field] if ctx.lang == "zh" else field
    if field == "amount":
        if cmd.amount is None:
            raise refuse(ctx, f"看不懂金额「{value}」。", f"Cannot read the amount \"{value}\".", "edit")
        project.amount_yuan, project.amount_text = cmd.amount.yuan, cmd.amount.text
        shown = format_amount(cmd.amount.yuan, ctx.lang)
    elif not value:
        raise refuse(ctx, f"请写上新的{label}。", f"Give the new {label}.", "edit")
    elif field == "name":
        if len(value) > 100:
            raise refuse(ctx, f"名称太长（{len(value)}字），最多100字。",
                         f"The name is too long ({len(value)} characters; 100 at most).", "edit")
        project.name = value
        project.name_key = name_lookup.name_key(project.name)
        shown = value
    elif field == "alias":
        if len(value) > ALIAS_LIMIT:
            raise refuse(ctx, f"别名太长（{len(value)}字），最多{ALIAS_LIMIT}字。",
                         f"The alias is too long ({len(value)} characters; {ALIAS_LIMIT} at most).", "edit")
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
            raise refuse(ctx, f"没有「{value}」这个行业。可选：{known}", f"Unknown industry \"{value}\". Known: {known}")
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
    return await card(ctx, project, ctx.t(f"✏️ 已修改{label}：{shown}", f"✏️ {label} set to {shown}"), [], event_id)


async def handle_expect(cmd: Command, ctx: Context) -> Reply:
    """expect: the expected date of the next stage (feeds the forecast; a later date counts as a slip)."""
    if cmd.project is None:  # bare 预计: the year-end forecast
        from handlers import reports

        return await reports.forecast_report(ctx.session, settings=ctx.settings, now=ctx.now, lang=ctx.lang)
    project = await changeable_project(ctx, cmd)
    if cmd.stage is None or cmd.when is None:
        raise refuse(ctx, "请写明阶段和日期。", "Give the stage and the date.", "expect")
    if project.stage != "dropped" and STAGE_ORDER[cmd.stage] <= STAGE_ORDER.get(project.stage, -1):
        raise refuse(ctx, f"#{project.id} 已在{stage_name(project.stage)}库。",
                     f"#{project.id} is already {project.stage}.")
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
        details.append(ctx.t(f"⚠️ 预计时间已推迟 {project.expected_slips} 次",
                             f"⚠️ The expected date has slipped {project.expected_slips} time(s)"))
    headline = ctx.t(f"📅 预计 {cmd.when:%Y-%m-%d} {stage_name(cmd.stage)}",
                     f"📅 Expected to be {cmd.stage} by {cmd.when:%Y-%m-%d}")
    return await card(ctx, project, headline, details, event_id)
