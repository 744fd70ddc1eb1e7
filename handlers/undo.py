"""撤销: reverse the sender's own last message (every update it stored), within the undo window.

A message with several updates is undone as a whole (its events share the message's batch key). Right
after a message that changed nothing, `撤销` does not silently reach back to an older change: it says so,
names the older change and asks before undoing it.
"""

from __future__ import annotations

import json
from datetime import timedelta

from handlers import ownership
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command
from handlers.context import Context
from handlers.format import project_label, stage_name
from handlers.messages import Reply
from handlers.records import headline_for, record_event, restore
from handlers.refusal import refuse_key
from handlers.resolve import lock_project
from handlers.wording import both, key
from storage import event_queries, funds_queries, ownership_queries, project_queries
from storage.models import Event, Problem, Project

_KIND_NAMES = {"stage": key("event_kind.stage"), "note": key("event_kind.note"), "visit": key("event_kind.visit"),
               "problem": key("event_kind.problem"), "resolve": key("event_kind.resolve"),
               "drop": key("event_kind.drop"), "edit": key("event_kind.edit"), "verify": key("event_kind.verify"),
               "expect": key("event_kind.expect"), "create": key("event_kind.create"),
               "funds": key("event_kind.funds"), "transfer": key("event_kind.transfer"),
               "reception": key("event_kind.reception"), "promo": key("event_kind.promo"),
               "lead": key("event_kind.lead"), "publicity": key("event_kind.publicity")}


def describe(ctx: Context, event: Event) -> str:
    """What an event changed, in a few words: `阶段变更 招引→签约`."""
    name = ctx.say(_KIND_NAMES[event.kind]) if event.kind in _KIND_NAMES else event.kind
    if event.kind != "stage":
        return name
    if ctx.lang == "en":  # English names a stage by its key (pursue→sign), Chinese by its word (招引→签约)
        return f"{name} {event.from_stage}→{event.to_stage}"
    return f"{name} {stage_name(event.from_stage)}→{stage_name(event.to_stage)}"


async def _withdraw_clashes(ctx: Context, event: Event) -> None:
    """A report undone takes back the clashes it recorded (撞单): they were never real; and its first contact
    with a company (a lead, a visit, a reception) no longer courts it."""
    await ownership_queries.remove_contacts_of_event(ctx.session, event_id=event.id or 0)
    for clash in await ownership_queries.clashes_of_event(ctx.session, event_id=event.id or 0):
        clash.resolved_at, clash.resolution = ctx.now, "undone"
        clash.resolved_by = ctx.member.id if ctx.member else None
        ctx.session.add(clash)


def _batch(event: Event) -> str:
    return str(json.loads(event.data or "{}").get("batch") or "")


async def _target(ctx: Context, cmd: Command) -> Event:
    assert ctx.member is not None and ctx.member.id is not None
    minutes = ctx.settings.undo_window_minutes
    since = ctx.now - timedelta(minutes=minutes)
    if cmd.number is not None:
        target = await ctx.session.get(Event, cmd.number)
        if target is None or target.member_id != ctx.member.id or target.kind == "undo":
            raise refuse_key(ctx, "target.only_undo_own_changes")
        if await event_queries.is_undone(ctx.session, event_id=cmd.number):
            raise refuse_key(ctx, "target.change_was_already_undone")
        if target.created_at < since:
            raise refuse_key(ctx, "target.more_than_minutes_have", minutes=minutes)
        return target
    found = await event_queries.last_undoable_event(ctx.session, member_id=ctx.member.id, since=since)
    if found is None:
        raise refuse_key(ctx, "target.nothing_yours_undo_last", minutes=minutes)
    unchanged = ctx.member.last_unchanged_at
    if unchanged is not None and unchanged > found.created_at:
        # Removed ones too: this only names the project the earlier change was on.
        project = await ctx.session.get(Project, found.project_id) if found.project_id else None
        label = f"{project_label(project.id, project.name)} " if project else ""
        ago = max(1, int((ctx.now - found.created_at).total_seconds() // 60))
        what = f"{label}{describe(ctx, found)}"
        raise NeedsChoice(
            *both("undo.earlier_change", text=ctx.member.last_unchanged_text, what=what, ago=ago),
            [Choice(*both("undo.undo_it", what=what), Command(verb="undo", lang=ctx.lang, number=found.id))],
            confirm=True,
        )
    return found


async def handle_undo(cmd: Command, ctx: Context) -> Reply:
    """undo: reverse the sender's own last message (or the one its button names), within the window."""
    if ctx.member is None or ctx.member.id is None:
        raise refuse_key(ctx, "undo.nothing_undo")
    target = await _target(ctx, cmd)
    events = [target]
    batch = _batch(target)
    if batch:  # the whole message: every update it stored, newest first
        since = ctx.now - timedelta(minutes=ctx.settings.undo_window_minutes)
        mine = await event_queries.undoable_events(ctx.session, member_id=ctx.member.id, since=since)
        events = [event for event in mine if _batch(event) == batch] or [target]
    lines: list[str] = []
    for event in events:
        # Removed ones too: an undo is what removes a project (its creation undone), and _reverse must see a
        # removed one to refuse undoing that creation twice.
        project = await ctx.session.get(Project, event.project_id) if event.project_id else None
        if project is not None:
            await lock_project(ctx, project)
        await _check_nothing_builds_on(ctx, event, batch)
        description = await _reverse(ctx, event, project)
        await record_event(ctx, project=project, kind="undo", undoes=event.id, text=description)
        label = f"（{project_label(project.id, project.name)}）" if project else ""
        lines.append(description + label)
    headline = headline_for(ctx, ctx.say("undo.undone"))
    return Reply(text=headline + ctx.say("undo.text").join(reversed(lines)))


_STAGE_FIELDS = frozenset({"stage", "planned_at", "attracting_at", "signed_at", "landed_at", "dropped_at"})
_MOVES = frozenset({"create", "stage", "drop"})


def _changed(event: Event) -> set[str]:
    """The fields an event changed (its undo snapshot keeps only those), stage fields for a move."""
    data = json.loads(event.data or "{}")
    fields = set(data.get("before") or {})
    return fields | (set(_STAGE_FIELDS) if event.kind in _MOVES else set())


def _builds_on(earlier: Event, later: Event) -> bool:
    """Whether undoing `earlier` would pull the ground from under `later`: a creation everything builds on,
    a field both changed (a move after a move, an amount edited twice), a problem later resolved."""
    if earlier.kind == "create":
        return True
    if later.kind == "funds" and earlier.kind in _MOVES:  # funds in place stand on the 签约/落地 before them
        return True
    if earlier.kind == "problem" and later.kind == "resolve":
        return json.loads(earlier.data or "{}").get("problem_id") == json.loads(later.data or "{}").get("problem_id")
    return bool(_changed(earlier) & _changed(later))


async def _check_nothing_builds_on(ctx: Context, event: Event, batch: str) -> None:
    """Refuse to undo a change a later one built on, saying what came after and who did it."""
    if event.project_id is None:
        return
    for later, actor in await project_queries.later_events(ctx.session, project_id=event.project_id, after_id=event.id or 0):
        if batch and _batch(later) == batch:
            continue  # the same message: undone together
        if _builds_on(event, later):
            # English names the other person even when it is the sender; Chinese says 你.
            someone = actor or ctx.say("builds_on.someone")
            who = ctx.say("builds_on.you") if later.member_id == event.member_id else someone
            raise refuse_key(ctx, "builds_on.later_change", action=describe(ctx, event), who=who, actor=someone,
                             when=later.created_at.astimezone(ctx.settings.tz), what=describe(ctx, later))


async def _reverse(ctx: Context, event: Event, project: Project | None) -> str:
    data = json.loads(event.data or "{}")
    before = data.get("before")
    await _withdraw_clashes(ctx, event)
    if event.kind == "create" and project is not None:
        if project.removed:
            raise refuse_key(ctx, "reverse.project_already_removed")
        project.removed = True
        await ownership.settle(ctx, project_id=project.id or 0, resolution="undone")
        return ctx.say("reverse.project_creation_removed_from")
    if event.kind == "funds":
        arrival = await funds_queries.arrival_of_event(ctx.session, event_id=event.id or 0)
        if arrival is not None:
            arrival.removed = True
            ctx.session.add(arrival)
    if event.kind == "drop":
        for clash in await ownership_queries.clashes_resolved_by(ctx.session, event_id=event.id or 0):
            clash.resolved_at, clash.resolved_by, clash.resolution = None, None, ""  # courted again
            ctx.session.add(clash)
    if event.kind == "transfer" and project is not None and before:
        restore(project, before)
        project.updated_at = ctx.now
        await funds_queries.move_arrivals(ctx.session, project_id=project.id or 0, team_id=project.team_id)
        for clash in await ownership_queries.clashes_resolved_by(ctx.session, event_id=event.id or 0):
            clash.resolved_at, clash.resolved_by, clash.resolution = None, None, ""
            ctx.session.add(clash)
        return describe(ctx, event)
    if event.kind in ("problem", "resolve"):
        problem = await ctx.session.get(Problem, data.get("problem_id"))
        if problem is not None:
            if event.kind == "problem":
                problem.withdrawn = True
            else:
                problem.resolved_at, problem.resolved_by, problem.resolution = None, None, ""
    if project is not None and before:
        restore(project, before)
        project.updated_at = ctx.now
    return describe(ctx, event)
