"""查 and 我的: a project's card with its history, and a squad's projects by pool."""

from __future__ import annotations

from handlers import access
from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, format_local, project_label, stage_name
from handlers.messages import Reply
from handlers.projects.funds import card_lines as funds_card_lines
from handlers.refusal import refuse_key
from handlers.resolve import require_project
from storage import people_queries, project_queries
from storage.models import STAGES, Project

EVENT_VERBS_ZH = {"create": "新建", "stage": "阶段", "note": "进展", "visit": "拜访", "problem": "问题",
                  "resolve": "解决", "edit": "修改", "drop": "放弃", "verify": "核实", "expect": "预计",
                  "evidence": "附件", "funds": "到位", "transfer": "转交", "reception": "接待"}
PROBLEM_EVENT_KINDS = frozenset({"problem", "resolve"})  # their words are the problem's: shown as problems are


async def handle_find(cmd: Command, ctx: Context) -> Reply:
    """find: a project card with its history."""
    project = await require_project(ctx, cmd)
    tz = ctx.settings.tz
    team = await people_queries.team_by_id(ctx.session, team_id=project.team_id)
    lines = [f"📁 {project_label(project.id, project.name)}"]
    lines.append(ctx.say("find.stage") + stage_name(project.stage, ctx.lang)
                 + (ctx.say("find.awaiting_verification") if _unverified(ctx, project) else ""))
    lines.append(ctx.say("find.amount") + format_amount(project.amount_yuan, ctx.lang)
                 + (f"（{project.amount_text}）" if project.amount_text else ""))
    lines.append(ctx.say("find.squad") + (team.name if team else "-"))
    facts = [
        (ctx.say("find.industry"), f"{project.industry}（{project.wheel}）" if project.industry else ""),
        (ctx.say("find.zone"), project.zone), (ctx.say("find.place"), project.place),
        (ctx.say("find.company"), project.company),
    ]
    lines += [f"{label}：{value}" for label, value in facts if value]
    reached = [f"{stage_name(s, ctx.lang)} {format_local(getattr(project, f'{s}_at'), tz, with_time=False)}"
               for s in STAGES if getattr(project, f"{s}_at")]
    if reached:
        lines.append(ctx.say("find.reached") + "，".join(reached))
    lines += await funds_card_lines(ctx, project)
    if project.stage == "dropped":
        lines.append(ctx.say("find.dropped_because") + project.drop_reason)
    if project.expected_stage and project.expected_date:
        lines.append(ctx.say("find.expected") + f"{project.expected_date:%Y-%m-%d} "
                     + stage_name(project.expected_stage, ctx.lang))
    problems = await project_queries.open_problems(ctx.session, project_id=project.id or 0)
    may_read = access.may(ctx, "problem_texts", team_id=project.team_id)
    if may_read:
        for problem in problems:
            days = (ctx.now - problem.opened_at).days
            lines.append(ctx.say("find.p_days", id=problem.id, category=problem.category, days=days, text=problem.text))
    elif problems:  # another squad's problems: how many and of what kind, the texts are theirs
        kinds = "、".join(dict.fromkeys(problem.category for problem in problems))
        lines.append(ctx.say("find.open_problem_details_squad", problems_count=len(problems), kinds=kinds))
    events = await project_queries.project_events(ctx.session, project_id=project.id or 0)
    if events:
        lines.append(ctx.say("find.history"))
    for event in events:
        what = EVENT_VERBS_ZH.get(event.kind, event.kind) if ctx.lang == "zh" else event.kind
        if event.kind in ("stage", "create", "drop") and event.to_stage:
            what += " " + stage_name(event.to_stage, ctx.lang)
        text = f"{format_local(event.created_at, tz)} {event.actor} {what}"
        if event.text and (may_read or event.kind not in PROBLEM_EVENT_KINDS):  # a problem's words are its squad's
            text += f"：{event.text}"
        if event.undone:
            text += ctx.say("find.undone")
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
        named = await people_queries.team_by_name(ctx.session, name=cmd.value)
        if named is None:
            raise refuse_key(ctx, "mine.squad_named", value=cmd.value)
        access.require(ctx, "mine", team_id=named.id, target=ctx.say("access.squad", name=named.name), squad=True)
        team = named
    if team is None or team.id is None:
        raise refuse_key(ctx, "mine.squad_leaders_mine_squad")
    projects = await project_queries.team_projects(ctx.session, team_id=team.id)
    lines = [ctx.say("mine.projects", name=team.name, projects_count=len(projects))]
    for stage in (*STAGES, "dropped"):
        in_stage = [p for p in projects if p.stage == stage]
        if not in_stage:
            continue
        total = sum(p.amount_yuan or 0 for p in in_stage)
        lines.append(f"【{stage_name(stage, ctx.lang)}】{len(in_stage)} · {format_amount(total, ctx.lang)}")
        for project in in_stage[:30]:
            suffix = ctx.say("mine.unverified") if _unverified(ctx, project) else ""
            lines.append(f"  #{project.id} {project.name} {format_amount(project.amount_yuan, ctx.lang)}{suffix}")
        if len(in_stage) > 30:
            lines.append(ctx.say("mine.more", more=len(in_stage) - 30))
    if not projects:
        lines.append(ctx.say("mine.projects_yet_plan_name"))
    return Reply(text="\n".join(lines))
