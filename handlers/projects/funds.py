"""到位: money that actually arrived for a signed or landed project (到位资金), dated, with its evidence.

The rules a district expects: only a project in 签约 or 落地 has funds in place (a project still being
courted has nothing to arrive); the day is the day the money arrived, today when not written and never
in the future; the amounts add up (each report is one arrival, undone on its own by 撤销). More than the
signed amount in place is stored, with a warning (到位率 over 100% is usually a signed amount never
updated, sometimes a typo): the report is real and the bot does not know which number is wrong.
"""

from __future__ import annotations

from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.records import card, record_event
from handlers.refusal import refuse_key
from handlers.resolve import changeable_project
from storage import funds_queries
from storage.models import FundsArrival, Project

FUNDED_STAGES = ("signed", "landed")


def rate_text(in_place: int, signed: int | None) -> str:
    """到位率 as the reports show it: `62.5%`, or `-` without a signed amount."""
    if not signed or signed <= 0:
        return "-"
    return f"{in_place * 100 / signed:.1f}%"


async def handle_funds(cmd: Command, ctx: Context) -> Reply:
    """funds: record money that arrived for a signed or landed project (到位)."""
    project = await changeable_project(ctx, cmd)
    if project.stage not in FUNDED_STAGES:
        raise refuse_key(ctx, "funds.only_signed_landed", cmd.verb, id=project.id,
                         stage=stage_name(project.stage, ctx.lang))
    if cmd.amount is None:
        raise refuse_key(ctx, "funds.amount_missing", cmd.verb)
    day = cmd.when or ctx.today
    if day > ctx.today:
        raise refuse_key(ctx, "funds.future", cmd.verb, when=day)
    earlier = await funds_queries.funds_in_place_by_project(ctx.session, project_ids=[project.id or 0])
    total = earlier.get(project.id or 0, 0) + cmd.amount.yuan
    shown = format_amount(cmd.amount.yuan, ctx.lang) + (
        f"（{cmd.amount.text}）" if cmd.amount.currency != "CNY" else "")
    # The history line says what arrived and when (查 shows it), the note after it.
    text = " ".join(part for part in (f"{format_amount(cmd.amount.yuan, ctx.lang)} {day:%Y-%m-%d}", cmd.note) if part)
    event_id = await record_event(
        ctx, project=project, kind="funds", text=text,
        data={"amount_yuan": cmd.amount.yuan, "amount_text": cmd.amount.text, "arrived_on": day.isoformat()},
    )
    ctx.session.add(FundsArrival(
        project_id=project.id or 0, team_id=project.team_id, member_id=ctx.member.id if ctx.member else None,
        event_id=event_id, amount_yuan=cmd.amount.yuan, arrived_on=day, note=cmd.note, created_at=ctx.now,
    ))
    await ctx.session.flush()
    details = [ctx.say("funds.arrived_on", when=day), _total_line(ctx, project, total), cmd.note]
    if project.amount_yuan and total > project.amount_yuan:
        details.append(ctx.say("funds.over_signed", id=project.id, rate=rate_text(total, project.amount_yuan)))
    if not ctx.incoming.files:
        details.append(ctx.say("funds.evidence_hint"))
    return await card(ctx, project, ctx.say("funds.recorded", amount=shown), details, event_id)


def _total_line(ctx: Context, project: Project, total: int) -> str:
    if not project.amount_yuan:
        return ctx.say("funds.total_no_signed", total=format_amount(total, ctx.lang), id=project.id)
    return ctx.say("funds.total", total=format_amount(total, ctx.lang),
                   signed=format_amount(project.amount_yuan, ctx.lang), rate=rate_text(total, project.amount_yuan))


async def card_lines(ctx: Context, project: Project) -> list[str]:
    """The 到位 lines of a project card (查): total, 到位率 and the latest arrivals."""
    arrivals = await funds_queries.project_arrivals(ctx.session, project_id=project.id or 0)
    if not arrivals:
        return []
    total = sum(a.amount_yuan for a in arrivals)
    lines = [_total_line(ctx, project, total)]
    recent = arrivals[-3:]
    parts = [f"{a.arrived_on:%Y-%m-%d} {format_amount(a.amount_yuan, ctx.lang)}" for a in recent]
    more = ctx.say("funds.card_more", more=len(arrivals) - len(recent)) if len(arrivals) > len(recent) else ""
    lines.append(ctx.say("funds.card_arrivals", arrivals=ctx.say("list.separator").join(parts), more=more))
    return lines
