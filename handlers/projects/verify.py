"""核实: a leader verifies a 签约/落地 (one project, or a confirmed list)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from handlers import access
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command
from handlers.context import Context
from handlers.format import stage_name
from handlers.messages import Reply
from handlers.projects.fields import VERIFY_LIMIT
from handlers.records import card, headline_for, record_event, snapshot, undo_line
from handlers.refusal import refuse_key
from handlers.resolve import check_may_change, lock_project, require_project
from handlers.wording import both
from storage import people_queries, project_queries, report_queries
from storage.models import Project

_VERIFIABLE = ("signed", "landed")
_ALL_WORDS = frozenset({"全部", "所有", "全部项目", "all", "everything"})


def _verify(ctx: Context, project: Project) -> list[str]:
    """Mark the project's stage and every verifiable stage it implies (落地 implies 签约) as verified; returns
    the stages newly verified."""
    done = []
    for stage in _VERIFIABLE[: _VERIFIABLE.index(project.stage) + 1]:
        field = f"{stage}_verified_at"
        if getattr(project, f"{stage}_at") is not None and getattr(project, field) is None:
            setattr(project, field, ctx.now)
            done.append(stage)
    return done


async def handle_verify(cmd: Command, ctx: Context) -> Reply:
    """verify: a leader confirms a 签约/落地 move (数据核实), the stages it implies with it; `核实 全部` or
    `核实 <squad>` confirms a whole list, after showing it."""
    if cmd.project is None:  # bare 核实: what is waiting for verification
        from handlers import reports

        team_id = None if ctx.is_leader else (ctx.team.id if ctx.team else None)
        return await reports.pending_verification(ctx.session, settings=ctx.settings, team_id=team_id, now=ctx.now)
    name = cmd.project.name or ""
    team = None if cmd.project.id is not None or name in _ALL_WORDS else await people_queries.team_by_name(
        ctx.session, name=name)
    if name in _ALL_WORDS or team is not None:
        return await _verify_list(cmd, ctx, team_id=team.id if team else None, scope=team.name if team else "")
    project = await require_project(ctx, cmd, lock=True)
    await lock_project(ctx, project)
    check_may_change(ctx, project, "verify")
    if project.stage not in _VERIFIABLE:
        raise refuse_key(ctx, "verify.only_signed_landed_moves", id=project.id,
                         stage=stage_name(project.stage, ctx.lang))
    before = snapshot(project, ["signed_verified_at", "landed_verified_at"])
    done = _verify(ctx, project)
    if not done:
        raise refuse_key(ctx, "verify.already_verified", unchanged=True, id=project.id,
                         stage=stage_name(project.stage, ctx.lang))
    event_id = await record_event(ctx, project=project, kind="verify", to_stage=project.stage,
                                  data={"before": before, "stages": done})
    what = ctx.say("list.separator").join(stage_name(stage, ctx.lang) for stage in done)
    return await card(ctx, project, ctx.say("verify.verified_stages", stages=what), [], event_id)


async def _verify_list(cmd: Command, ctx: Context, *, team_id: int | None, scope: str) -> Reply:
    """核实 全部 / 核实 德化街: every unverified move in scope, shown first and confirmed."""
    access.require(ctx, "verify", team_id=team_id, squad=True,
                   target=ctx.say("access.squad", name=scope) if scope else ctx.say("verify_list.district"))
    moves, total = await report_queries.pending_verifications(ctx.session, team_id=team_id, limit=VERIFY_LIMIT)
    where = scope or ctx.say("verify_list.district")
    if not moves:
        raise refuse_key(ctx, "verify_list.nothing_awaits_verification", unchanged=True, where=where)
    lines = [f"#{m.project_id} {m.name}（{m.team_name}，{stage_name(m.stage, ctx.lang)}）" for m in moves]
    if cmd.flag != "confirmed":
        more = ctx.say("verify_list.more_next_time", more=total - len(moves)) if total > len(moves) else ""
        zh, en = both("verify_list.verifies_moves", where=where, moves_count=len(moves), more=more)
        raise NeedsChoice(
            zh + "\n".join(lines), en + "\n".join(lines),
            [Choice(*both("verify_list.verify_these", count=len(moves)), replace(cmd, flag="confirmed"))],
            confirm=True,
        )
    verified = []
    ctx.batch = ctx.batch or uuid.uuid4().hex[:12]  # one 撤销 takes the whole list back
    for move in moves:
        project = await project_queries.locked_project(ctx.session, project_id=move.project_id)
        if project is None or project.stage not in _VERIFIABLE:
            continue
        ctx.locked.add(move.project_id)
        before = snapshot(project, ["signed_verified_at", "landed_verified_at"])
        done = _verify(ctx, project)
        if done:
            await record_event(ctx, project=project, kind="verify", to_stage=project.stage,
                               data={"before": before, "stages": done})
            verified.append(f"#{project.id} {project.name}（{'、'.join(stage_name(s, ctx.lang) for s in done)}）")
    headline = headline_for(ctx, ctx.say("verify_list.verified", verified_count=len(verified)))
    lines = [headline, *verified]
    if not ctx.preview:
        lines.append(undo_line(ctx))
    return Reply(text="\n".join(lines))
