"""What the project handlers share: the fields an update sets, stage dates and the verification note."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from handlers.commands import Command, ProjectRef
from handlers.context import Context
from handlers.format import format_amount
from storage.models import STAGE_ORDER, STAGES, Project

VERIFY_LIMIT = 50  # moves verified by one 核实 全部: a list a leader can read before confirming
# What a stage move changes: a move snapshots these for its undo.
STAGE_FIELDS = ("stage", "planned_at", "attracting_at", "signed_at", "landed_at", "dropped_at", "drop_reason")
EDITABLE_FIELDS = {
    "amount": ("amount_yuan", "amount_text"),
    "name": ("name", "name_key"),
    "alias": ("aliases",),
    "industry": ("industry", "wheel"),
    "zone": ("zone",),
    "place": ("place",),
    "company": ("company",),
}
FIELD_NAMES_ZH = {
    "amount": "金额", "name": "名称", "alias": "别名", "industry": "行业", "zone": "区域", "place": "地点",
    "company": "公司",
}


def apply_fields(ctx: Context, project: Project, cmd: Command) -> list[str]:
    """Copy amount/industry/zone/place/company from the command; return what changed, for the card."""
    changed: list[str] = []
    if cmd.amount is not None:
        project.amount_yuan = cmd.amount.yuan
        project.amount_text = cmd.amount.text
        changed.append(ctx.say("apply_fields.amount") + format_amount(cmd.amount.yuan, ctx.lang)
                       + (f"（{cmd.amount.text}）" if cmd.amount.currency != "CNY" else ""))
    if cmd.industry:
        project.industry = cmd.industry
        project.wheel = ctx.catalog.wheel_of(cmd.industry)
        changed.append(ctx.say("apply_fields.industry") + f"{cmd.industry}（{project.wheel}）")
    if cmd.zone:
        project.zone = cmd.zone
        changed.append(ctx.say("apply_fields.zone") + cmd.zone)
    if cmd.place:
        project.place = cmd.place
        changed.append(ctx.say("apply_fields.place") + cmd.place)
    if cmd.company:
        project.company = cmd.company
        changed.append(ctx.say("apply_fields.company") + cmd.company)
    return changed


def verification_note(ctx: Context, project: Project, stage: str) -> list[str]:
    """The card's line that a 签约/落地 waits for a leader's 核实 before it counts (when verification is on)."""
    if not (ctx.settings.require_verification and stage in ("signed", "landed")):
        return []
    return [ctx.say("verification_note.awaiting_leader_verify_before", id=project.id)]


def dated(ctx: Context, cmd: Command, project: Project | None) -> datetime:
    """When the move happened: now, or the past day the message named (昨天签约了 …) at the same local
    time, never before the project's earlier stages (their order is the funnel's)."""
    if cmd.when is None or cmd.when >= ctx.today:
        return ctx.now
    local = datetime.combine(cmd.when, ctx.now.astimezone(ctx.settings.tz).time().replace(tzinfo=None))
    moment = local.replace(tzinfo=ctx.settings.tz).astimezone(ctx.now.tzinfo)
    if project is not None:
        reached = [getattr(project, f"{stage}_at") for stage in STAGES if getattr(project, f"{stage}_at")]
        if reached:
            moment = max(moment, *reached)
    return min(moment, ctx.now)


def date_line(ctx: Context, cmd: Command) -> str:
    """The card's line for a report dated in the past (日期：2026-03-05), or nothing for today."""
    if cmd.when is None or cmd.when >= ctx.today:
        return ""
    return ctx.say("date_line.dated", when=cmd.when)


def reach_stage(project: Project, stage: str, now: datetime) -> None:
    """Move to `stage`, stamping it and every earlier stage not reached yet (the counting rule)."""
    project.stage = stage
    for earlier in STAGES[: STAGE_ORDER[stage] + 1]:
        if getattr(project, f"{earlier}_at") is None:
            setattr(project, f"{earlier}_at", now)
    project.dropped_at = None
    project.drop_reason = ""


def with_project_id(cmd: Command, project_id: int) -> Command:
    """The same command aimed at a chosen project (answering a numbered question)."""
    return replace(cmd, project=ProjectRef(id=project_id))
