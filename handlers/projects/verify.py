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
from handlers.refusal import refuse
from handlers.resolve import check_may_change, lock_project, require_project
from storage import queries, report_queries
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
    team = None if cmd.project.id is not None or name in _ALL_WORDS else await queries.team_by_name(
        ctx.session, name=name)
    if name in _ALL_WORDS or team is not None:
        return await _verify_list(cmd, ctx, team_id=team.id if team else None, scope=team.name if team else "")
    project = await require_project(ctx, cmd, lock=True)
    await lock_project(ctx, project)
    check_may_change(ctx, project, "verify")
    if project.stage not in _VERIFIABLE:
        raise refuse(ctx, f"#{project.id} 在{stage_name(project.stage)}库，只有签约、落地需要核实。",
                     f"#{project.id} is {project.stage}; only signed and landed moves are verified.")
    before = snapshot(project, ["signed_verified_at", "landed_verified_at"])
    done = _verify(ctx, project)
    if not done:
        raise refuse(ctx, f"#{project.id} 的{stage_name(project.stage)}已核实过。", f"#{project.id} is already verified.",
                     unchanged=True)
    event_id = await record_event(ctx, project=project, kind="verify", to_stage=project.stage,
                                  data={"before": before, "stages": done})
    what = "、".join(stage_name(stage) for stage in done)
    return await card(ctx, project, ctx.t(f"☑️ 已核实{what}", f"☑️ Verified: {', '.join(done)}"), [], event_id)


async def _verify_list(cmd: Command, ctx: Context, *, team_id: int | None, scope: str) -> Reply:
    """核实 全部 / 核实 德化街: every unverified move in scope, shown first and confirmed."""
    access.require(ctx, "verify", team_id=team_id, target_zh=f"「{scope}」" if scope else ctx.t("全区", "the district"),
                   target_en=f'"{scope}"' if scope else "the district", squad=True)
    moves, total = await report_queries.pending_verifications(ctx.session, team_id=team_id, limit=VERIFY_LIMIT)
    where = scope or ctx.t("全区", "the district")
    if not moves:
        raise refuse(ctx, f"{where}没有待核实的签约、落地。", f"Nothing awaits verification in {where}.",
                     unchanged=True)
    lines = [f"#{m.project_id} {m.name}（{m.team_name}，{stage_name(m.stage, ctx.lang)}）" for m in moves]
    if cmd.flag != "confirmed":
        more = ctx.t(f"（另有 {total - len(moves)} 个，下次再核实）", f" (+{total - len(moves)} more next time)") \
            if total > len(moves) else ""
        raise NeedsChoice(
            ctx.t(f"将核实{where}的 {len(moves)} 个签约/落地{more}：\n", f"This verifies {len(moves)} moves in {where}{more}:\n")
            + "\n".join(lines),
            f"This verifies {len(moves)} moves in {where}{more}:\n" + "\n".join(lines),
            [Choice(f"核实这 {len(moves)} 个", f"verify these {len(moves)}", replace(cmd, flag="confirmed"))],
            confirm=True,
        )
    verified = []
    ctx.batch = ctx.batch or uuid.uuid4().hex[:12]  # one 撤销 takes the whole list back
    for move in moves:
        project = await queries.locked_project(ctx.session, project_id=move.project_id)
        if project is None or project.stage not in _VERIFIABLE:
            continue
        ctx.locked.add(move.project_id)
        before = snapshot(project, ["signed_verified_at", "landed_verified_at"])
        done = _verify(ctx, project)
        if done:
            await record_event(ctx, project=project, kind="verify", to_stage=project.stage,
                               data={"before": before, "stages": done})
            verified.append(f"#{project.id} {project.name}（{'、'.join(stage_name(s, ctx.lang) for s in done)}）")
    headline = headline_for(ctx, ctx.t(f"☑️ 已核实 {len(verified)} 个：", f"☑️ Verified {len(verified)}:"))
    lines = [headline, *verified]
    if not ctx.preview:
        lines.append(undo_line(ctx))
    return Reply(text="\n".join(lines))
