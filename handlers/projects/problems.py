"""问题 and 解决: a project's problems opened and resolved."""

from __future__ import annotations

from dataclasses import replace

from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command, ProjectRef
from handlers.context import Context
from handlers.messages import Reply
from handlers.problem_match import pick_problem
from handlers.records import card, record_event
from handlers.refusal import refuse_key
from handlers.resolve import changeable_project
from handlers.wording import both
from storage import project_queries
from storage.models import Problem


async def handle_problem(cmd: Command, ctx: Context) -> Reply:
    """problem: open a problem with a category on a project."""
    project = await changeable_project(ctx, cmd)
    if not cmd.note:
        raise refuse_key(ctx, "problem.describe_problem", cmd.verb)
    category = cmd.category or "其他"
    problem = Problem(project_id=project.id or 0, category=category, text=cmd.note, opened_at=ctx.now,
                      opened_by=ctx.member.id if ctx.member else None)
    ctx.session.add(problem)
    await ctx.session.flush()
    event_id = await record_event(ctx, project=project, kind="problem", text=cmd.note,
                                  data={"problem_id": problem.id, "category": category})
    headline = ctx.say("problem.problem_p_opened", id=problem.id, category=category)
    resolve_hint = ctx.say("problem.when_solved_resolve", id=project.id)
    return await card(ctx, project, headline, [cmd.note, resolve_hint], event_id)


async def handle_resolve(cmd: Command, ctx: Context) -> Reply:
    """resolve: close the problem meant (by id, by category, by the words of the resolution, or the only
    one); with several open and nothing to tell them apart, ask which. `解决 问题2` needs no project."""
    if cmd.project is None and cmd.number is not None:
        problem = await ctx.session.get(Problem, cmd.number)
        if problem is None or problem.resolved_at is not None or problem.withdrawn:
            raise refuse_key(ctx, "resolve.there_open_problem_p", cmd.verb, number=cmd.number)
        cmd = replace(cmd, project=ProjectRef(id=problem.project_id))
    project = await changeable_project(ctx, cmd)
    problems = list(await project_queries.open_problems(ctx.session, project_id=project.id or 0))
    picked = pick_problem(problems, words=cmd.note, category=cmd.category, number=cmd.number)
    if isinstance(picked, list):
        if not picked:
            raise refuse_key(ctx, "resolve.has_such_open_problem", cmd.verb, id=project.id)
        choices = [Choice(*both("resolve.problem_choice", id=p.id, category=p.category, text=p.text[:40]),
                          replace(cmd, project=ProjectRef(id=project.id), number=p.id)) for p in picked]
        raise NeedsChoice(*both("resolve.which_problem", id=project.id, count=len(picked)), choices, confirm=False)
    problem = picked
    problem.resolved_at = ctx.now
    problem.resolved_by = ctx.member.id if ctx.member else None
    problem.resolution = cmd.note
    event_id = await record_event(ctx, project=project, kind="resolve", text=cmd.note,
                                  data={"problem_id": problem.id})
    days = (ctx.now - problem.opened_at).days
    headline = ctx.say("resolve.problem_p_resolved_after", id=problem.id, category=problem.category, days=days)
    remaining = len(problems) - 1
    details = [problem.text, cmd.note]
    if remaining:
        details.append(ctx.say("resolve.more_open_problem", remaining=remaining))
    return await card(ctx, project, headline, details, event_id)
