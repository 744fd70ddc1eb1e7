"""查 and 我的: a project's card with its history, and a squad's projects by pool."""

from __future__ import annotations

from handlers import access
from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, format_local, project_label, stage_name
from handlers.messages import Reply
from handlers.refusal import refuse
from handlers.resolve import require_project
from storage import queries
from storage.models import STAGES, Project

EVENT_VERBS_ZH = {"create": "新建", "stage": "阶段", "note": "进展", "visit": "拜访", "problem": "问题",
                  "resolve": "解决", "edit": "修改", "drop": "放弃", "verify": "核实", "expect": "预计",
                  "evidence": "附件"}
PROBLEM_EVENT_KINDS = frozenset({"problem", "resolve"})  # their words are the problem's: shown as problems are


async def handle_find(cmd: Command, ctx: Context) -> Reply:
    """find: a project card with its history."""
    project = await require_project(ctx, cmd)
    tz = ctx.settings.tz
    team = await queries.team_by_id(ctx.session, team_id=project.team_id)
    lines = [f"📁 {project_label(project.id, project.name)}"]
    lines.append(ctx.t("阶段：", "Stage: ") + stage_name(project.stage, ctx.lang)
                 + (ctx.t("（待核实）", " (awaiting verification)") if _unverified(ctx, project) else ""))
    lines.append(ctx.t("金额：", "Amount: ") + format_amount(project.amount_yuan, ctx.lang)
                 + (f"（{project.amount_text}）" if project.amount_text else ""))
    lines.append(ctx.t("责任单位：", "Squad: ") + (team.name if team else "-"))
    facts = [
        (ctx.t("行业", "Industry"), f"{project.industry}（{project.wheel}）" if project.industry else ""),
        (ctx.t("区域", "Zone"), project.zone), (ctx.t("地点", "Place"), project.place),
        (ctx.t("对接企业", "Company"), project.company),
    ]
    lines += [f"{label}：{value}" for label, value in facts if value]
    reached = [f"{stage_name(s, ctx.lang)} {format_local(getattr(project, f'{s}_at'), tz, with_time=False)}"
               for s in STAGES if getattr(project, f"{s}_at")]
    if reached:
        lines.append(ctx.t("进库时间：", "Reached: ") + "，".join(reached))
    if project.stage == "dropped":
        lines.append(ctx.t("放弃原因：", "Dropped because: ") + project.drop_reason)
    if project.expected_stage and project.expected_date:
        lines.append(ctx.t("预计：", "Expected: ") + f"{project.expected_date:%Y-%m-%d} "
                     + stage_name(project.expected_stage, ctx.lang))
    problems = await queries.open_problems(ctx.session, project_id=project.id or 0)
    may_read = access.may(ctx, "problem_texts", team_id=project.team_id)
    if may_read:
        for problem in problems:
            days = (ctx.now - problem.opened_at).days
            lines.append(ctx.t(f"⚠️ 问题{problem.id}（{problem.category}，{days}天）：{problem.text}",
                               f"⚠️ p{problem.id} ({problem.category}, {days} days): {problem.text}"))
    elif problems:  # another squad's problems: how many and of what kind, the texts are theirs
        kinds = "、".join(dict.fromkeys(problem.category for problem in problems))
        lines.append(ctx.t(f"⚠️ 未解决问题 {len(problems)} 个（{kinds}），详情限本队和领导查看",
                           f"⚠️ {len(problems)} open problem(s) ({kinds}); details for the squad and leaders"))
    events = await queries.project_events(ctx.session, project_id=project.id or 0)
    if events:
        lines.append(ctx.t("—— 最近记录 ——", "—— history ——"))
    for event in events:
        what = EVENT_VERBS_ZH.get(event.kind, event.kind) if ctx.lang == "zh" else event.kind
        if event.kind in ("stage", "create", "drop") and event.to_stage:
            what += " " + stage_name(event.to_stage, ctx.lang)
        text = f"{format_local(event.created_at, tz)} {event.actor} {what}"
        if event.text and (may_read or event.kind not in PROBLEM_EVENT_KINDS):  # a problem's words are its squad's
            text += f"：{event.text}"
        if event.undone:
            text += ctx.t("（已撤销）", " (undone)")
        lines.append(text)
    return Reply(text="\n".join(lines))


def _unverified(ctx: Context, project: Project) -> bool:
    if not ctx.settings.require_verification or project.stage not in ("signed", "landed"):
        return False
    return getattr(project, f"{project.stage}_verified_at") is None


async def handle_mine(cmd: Command, ctx: Context) -> Reply:
    """mine: my squad's projects by pool (a leader may name a squad)."""
    team = ctx.team
    if cmd.value:
        named = await queries.team_by_name(ctx.session, name=cmd.value)
        if named is None:
            raise refuse(ctx, f"没有名为「{cmd.value}」的小分队。", f"No squad named \"{cmd.value}\".")
        access.require(ctx, "mine", team_id=named.id, target_zh=f"「{named.name}」", target_en=f'"{named.name}"', squad=True)
        team = named
    if team is None or team.id is None:
        raise refuse(ctx, "你还没有加入小分队。领导可发送「我的 队名」。",
                     "You are not in a squad. Leaders can send `mine <squad>`.")
    projects = await queries.team_projects(ctx.session, team_id=team.id)
    lines = [ctx.t(f"📋 {team.name} 项目（{len(projects)}个）", f"📋 {team.name}: {len(projects)} projects")]
    for stage in (*STAGES, "dropped"):
        in_stage = [p for p in projects if p.stage == stage]
        if not in_stage:
            continue
        total = sum(p.amount_yuan or 0 for p in in_stage)
        lines.append(f"【{stage_name(stage, ctx.lang)}】{len(in_stage)} · {format_amount(total, ctx.lang)}")
        for project in in_stage[:30]:
            suffix = ctx.t("（待核实）", " (unverified)") if _unverified(ctx, project) else ""
            lines.append(f"  #{project.id} {project.name} {format_amount(project.amount_yuan, ctx.lang)}{suffix}")
        if len(in_stage) > 30:
            lines.append(ctx.t(f"  …另有{len(in_stage) - 30}个", f"  … {len(in_stage) - 30} more"))
    if not projects:
        lines.append(ctx.t("还没有项目。发送「谋划 项目名」新建一个。", "No projects yet. Send `plan <name>` to add one."))
    return Reply(text="\n".join(lines))
