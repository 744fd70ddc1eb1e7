"""Handlers for project updates: the four pools, notes, visits, problems, drop, edit, verify, expect, undo.

Each handler is `(command, context) -> Reply`. It checks everything before it writes, so a refusal leaves
nothing behind; the dispatcher commits the whole message in one transaction after a successful reply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process

from handlers.commands import STAGE_VERBS, Command, ProjectRef
from handlers.context import Context
from handlers.format import format_amount, format_local, project_label, stage_name
from handlers.messages import Button, Reply
from handlers.vocabulary import usage
from storage import queries
from storage.models import STAGE_ORDER, STAGES, Event, Evidence, Problem, Project

MAX_CHOICES = 5
_STAGE_FIELDS = ("stage", "planned_at", "attracting_at", "signed_at", "landed_at", "dropped_at", "drop_reason")
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


class Refusal(Exception):
    """A handler's refusal: why, and the right form. Raised before anything is written."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def refuse(ctx: Context, zh: str, en: str, verb: str | None = None) -> Refusal:
    """Build a refusal in the user's language, with the verb's right form appended."""
    text = ctx.t(zh, en)
    if verb:
        text += ctx.t("\n正确格式：", "\nUsage: ") + usage(verb, ctx.lang)
    return Refusal(text)


# --- snapshots for undo ---------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(project: Project, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The values of `fields` before a change, as JSON-ready data for the undo."""
    return {name: _jsonable(getattr(project, name)) for name in fields}


def restore(project: Project, before: dict[str, Any]) -> None:
    """Put back the values a snapshot recorded."""
    for name, value in before.items():
        if isinstance(value, str) and name.endswith("_at") and value:
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and name == "expected_date" and value:
            value = date.fromisoformat(value)
        setattr(project, name, value)


# --- finding the project a message means ----------------------------------------------------------

def _member_team_id(ctx: Context) -> int | None:
    return ctx.member.team_id if ctx.member else None


async def _ask_which(ctx: Context, candidates: Sequence[Project | queries.Candidate], *,
                     offer_new: str | None) -> Reply:
    """Store the question and list the choices (numbered in text, buttons where the platform has them)."""
    team_names = await queries.team_names_by_id(ctx.session, team_ids={project.team_id for project in candidates})
    lines = [ctx.t("找到几个相近的项目，请回复序号选择：", "Several projects match; reply with a number:")]
    buttons: list[Button] = []
    options: list[int] = []
    for index, project in enumerate(candidates, start=1):
        label = (f"{project_label(project.id, project.name)}（{team_names.get(project.team_id, '')}，"
                 f"{stage_name(project.stage, ctx.lang)}）")
        lines.append(f"{index}. {label}")
        buttons.append(Button(f"{index}. {project.name}", str(index)))
        options.append(project.id or 0)
    if offer_new:
        index = len(candidates) + 1
        lines.append(ctx.t(f"{index}. 新建项目「{offer_new}」", f"{index}. create a new project \"{offer_new}\""))
        buttons.append(Button(ctx.t(f"{index}. 新建「{offer_new}」", f"{index}. new \"{offer_new}\""), str(index)))
        options.append(0)
    await queries.ask_choice(ctx.session, identity=ctx.incoming.identity, chat_id=ctx.incoming.chat_id,
                             command_text=ctx.incoming.text, options=json.dumps(options), now=ctx.now)
    return Reply(text="\n".join(lines), buttons=buttons)


class _Create:
    """Marker: no project matched and the verb may create one."""


CREATE = _Create()


async def find_project(
    ctx: Context, ref: ProjectRef | None, verb: str, *, may_create: bool, lock: bool = False,
) -> Project | Reply | _Create:
    """Resolve a reference: `#id`, exact name or alias, then fuzzy; ask when several are close.

    With `lock` (the caller is about to change it) a project named by `#id` is read under its lock in
    one step; found by name, the caller locks it with `lock_project` as before.
    """
    if ref is None or (ref.id is None and not ref.name):
        raise refuse(ctx, "请写明项目：#编号 或 项目名称。", "Name the project: #id or its name.", verb)
    if ref.id is not None:
        if lock:
            project = await queries.locked_project(ctx.session, project_id=ref.id)
            if project is not None:
                ctx.locked.add(ref.id)
                if project.removed:
                    project = None
        else:
            project = await queries.project_by_id(ctx.session, project_id=ref.id)
        if project is None:
            raise refuse(ctx, f"没有编号为 #{ref.id} 的项目。", f"There is no project #{ref.id}.", verb)
        return project
    name = ref.name or ""
    if ctx.force_create:
        return CREATE
    key = queries.name_key(name)
    if not key:
        raise refuse(ctx, "项目名称不能为空。", "The project name is empty.", verb)
    exact = list(await queries.projects_named(ctx.session, key=key))
    if len(exact) == 1:
        return exact[0]
    own_team = _member_team_id(ctx)
    if len(exact) > 1:
        mine = [project for project in exact if project.team_id == own_team]
        if len(mine) == 1:
            return mine[0]
        return await _ask_which(ctx, exact[:MAX_CHOICES], offer_new=None)
    candidates = await queries.fuzzy_candidates(ctx.session, key=key, team_id=own_team)
    containing = [p for p in candidates if key in p.name_key or key in p.aliases]
    if len(containing) == 1:
        hit = await ctx.session.get(Project, containing[0].id)
        assert hit is not None  # read a moment ago in this transaction
        return hit
    choices = {
        index: project for index, project in enumerate(candidates)
    }
    scored = process.extract(
        key, {index: project.name_key for index, project in choices.items()}, scorer=fuzz.WRatio,
        limit=MAX_CHOICES, score_cutoff=ctx.settings.fuzzy_threshold,
    )
    close = [choices[index] for _, _, index in scored]
    for candidate in containing:  # substring hits are always worth offering
        if candidate not in close:
            close.append(candidate)
    close = close[:MAX_CHOICES]
    if close:
        return await _ask_which(ctx, close, offer_new=name if may_create else None)
    if may_create:
        return CREATE
    raise refuse(
        ctx, f"找不到项目「{name}」。可发送「我的」查看本队项目，或用 #编号。",
        f"No project matches \"{name}\". Send `mine` to list your squad's projects, or use #id.", verb,
    )


async def require_project(ctx: Context, cmd: Command, *, lock: bool = False) -> Project | Reply:
    """Resolve the command's project for a verb that never creates one (`lock`: as in find_project)."""
    found = await find_project(ctx, cmd.project, cmd.verb, may_create=False, lock=lock)
    assert not isinstance(found, _Create)
    return found


async def lock_project(ctx: Context, project: Project) -> None:
    """Hold the project for the rest of the message's transaction and reload it.

    Two members changing one project at once (one 签约, the other 落地) each read it, changed their copy
    and wrote it back: the later write undid the other's stage while keeping its timestamps, and its event
    recorded a move from a stage the project had already left. Locked, the second waits for the first to
    commit and then decides on what the first stored. PostgreSQL: SELECT … FOR UPDATE. SQLite has no row
    lock, and the driver begins the transaction only at the first write, so the reads before it saw what
    was committed then: a no-op UPDATE takes the database's write lock (waiting out a concurrent writer)
    before the re-read.
    """
    if project.id is None or project.id in ctx.locked:  # new, or already read under its lock
        return
    await queries.locked_project(ctx.session, project_id=project.id)
    ctx.locked.add(project.id)


async def changeable_project(ctx: Context, cmd: Command) -> Project | Reply:
    """The command's project, locked and checked to be one the sender may change (or the question which one)."""
    project = await require_project(ctx, cmd, lock=True)
    if isinstance(project, Project):
        await lock_project(ctx, project)
        check_may_change(ctx, project, cmd.verb)
    return project


def check_may_change(ctx: Context, project: Project, verb: str) -> None:
    """Members change their own squad's projects; leaders and admins any."""
    if ctx.is_leader:
        return
    if ctx.member is None or ctx.member.team_id != project.team_id:
        raise refuse(
            ctx, f"#{project.id} 不属于你的小分队，只有本队成员或领导可以修改。",
            f"#{project.id} belongs to another squad; only its members or a leader may change it.",
        )


# --- events and cards -----------------------------------------------------------------------------

_FIELD_LABELS = {
    "name": ("名称", "name"), "name_key": ("名称", "name"), "place": ("地点", "place"), "company": ("公司", "company"),
    "amount_text": ("金额", "amount"), "industry": ("行业", "industry"), "zone": ("区域", "zone"),
    "drop_reason": ("原因", "reason"),
}


def check_fits(ctx: Context, project: Project) -> None:
    """Refuse a value longer than its column before anything is written.

    PostgreSQL rejects an overlong VARCHAR mid-transaction (the sender would get the internal-error
    answer, and resending would fail again); SQLite stores it whole, which would break a later move to
    PostgreSQL by backup and restore. A refusal that names the field and its limit is the clear answer.
    """
    for column in Project.__table__.columns:  # type: ignore[attr-defined]
        limit = getattr(column.type, "length", None)
        value = getattr(project, column.name, None)
        if limit and isinstance(value, str) and len(value) > limit:
            zh, en = _FIELD_LABELS.get(column.name, (column.name, column.name))
            raise refuse(ctx, f"{zh}太长（{len(value)}字），最多{limit}字。",
                         f"The {en} is too long ({len(value)} characters; {limit} at most).")


async def record_event(
    ctx: Context, *, project: Project | None, kind: str, from_stage: str = "", to_stage: str = "",
    text: str = "", data: dict[str, Any] | None = None, undoes: int | None = None,
) -> int:
    """Append an event (the audit trail), attributed and tied to the platform message; returns its id."""
    if project is not None:
        check_fits(ctx, project)
        if data and isinstance(data.get("before"), dict):
            # Undo restores only what this change changed: a snapshot also holding fields it left alone
            # (a 签约 snapshots the amount in case it sets one) would take back a colleague's later edit.
            data = {**data, "before": {name: value for name, value in data["before"].items()
                                       if _jsonable(getattr(project, name)) != value}}
    incoming = ctx.incoming
    event_id = await queries.add_event(
        ctx.session,
        project_id=project.id if project else None,
        member_id=ctx.member.id if ctx.member else None,
        team_id=project.team_id if project else (ctx.member.team_id if ctx.member else None),
        kind=kind, from_stage=from_stage, to_stage=to_stage, text=text,
        data=json.dumps(data or {}, ensure_ascii=False), undoes_event_id=undoes,
        source_platform=incoming.platform, source_chat=incoming.chat_id,
        source_message_id=incoming.message_id or "", created_at=ctx.now,
    )
    if project is not None and kind != "undo":
        await queries.touch_project(ctx.session, project=project, now=ctx.now)
    _keep_evidence(ctx, project, event_id)
    return event_id


def _keep_evidence(ctx: Context, project: Project | None, event_id: int) -> None:
    if project is None or project.id is None:
        return
    for item in ctx.incoming.files:
        ctx.session.add(Evidence(
            project_id=project.id, event_id=event_id, platform=ctx.incoming.platform, file_ref=item.file_ref,
            file_name=item.file_name, mime_type=item.mime_type, stored_path=item.local_path, created_at=ctx.now,
        ))
    if ctx.incoming.files:
        ctx.notes.append(ctx.t(f"📎 已保存附件 {len(ctx.incoming.files)} 个作为佐证",
                               f"📎 {len(ctx.incoming.files)} file(s) kept as evidence"))


async def card(ctx: Context, project: Project, headline: str, details: list[str], event_id: int) -> Reply:
    """The short card every update gets: what was stored, #id, squad, stage, amount, how to undo."""
    team = await queries.team_by_id(ctx.session, team_id=project.team_id)
    facts = [stage_name(project.stage, ctx.lang), format_amount(project.amount_yuan, ctx.lang)]
    if team:
        facts.append(team.name)
    lines = [headline, project_label(project.id, project.name) + " · " + " · ".join(facts), *details, *ctx.notes]
    minutes = ctx.settings.undo_window_minutes
    lines.append(ctx.t(f"撤销：{minutes}分钟内发送「撤销」", f"To undo: send `undo` within {minutes} minutes"))
    return Reply(text="\n".join(line for line in lines if line),
                 buttons=[Button(ctx.t("撤销", "Undo"), f"撤销 event:{event_id}")])


# --- the four pools -------------------------------------------------------------------------------

def _apply_fields(ctx: Context, project: Project, cmd: Command) -> list[str]:
    """Copy amount/industry/zone/place/company from the command; return what changed, for the card."""
    changed: list[str] = []
    if cmd.amount is not None:
        project.amount_yuan = cmd.amount.yuan
        project.amount_text = cmd.amount.text
        changed.append(ctx.t("金额 ", "amount ") + format_amount(cmd.amount.yuan, ctx.lang)
                       + (f"（{cmd.amount.text}）" if cmd.amount.currency != "CNY" else ""))
    if cmd.industry:
        project.industry = cmd.industry
        project.wheel = ctx.catalog.wheel_of(cmd.industry)
        changed.append(ctx.t("行业 ", "industry ") + f"{cmd.industry}（{project.wheel}）")
    if cmd.zone:
        project.zone = cmd.zone
        changed.append(ctx.t("区域 ", "zone ") + cmd.zone)
    if cmd.place:
        project.place = cmd.place
        changed.append(ctx.t("地点 ", "place ") + cmd.place)
    if cmd.company:
        project.company = cmd.company
        changed.append(ctx.t("对接企业 ", "company ") + cmd.company)
    return changed


def _verification_note(ctx: Context, project: Project, stage: str) -> list[str]:
    if not (ctx.settings.require_verification and stage in ("signed", "landed")):
        return []
    return [ctx.t(f"⏳ 待核实：领导发送「核实 #{project.id}」后计入统计",
                  f"⏳ Awaiting a leader's `verify #{project.id}` before it counts")]


def reach_stage(project: Project, stage: str, now: datetime) -> None:
    """Move to `stage`, stamping it and every earlier stage not reached yet (the counting rule)."""
    project.stage = stage
    for earlier in STAGES[: STAGE_ORDER[stage] + 1]:
        if getattr(project, f"{earlier}_at") is None:
            setattr(project, f"{earlier}_at", now)
    project.dropped_at = None
    project.drop_reason = ""


async def handle_stage(cmd: Command, ctx: Context) -> Reply:
    """plan / pursue / sign / land: create a project in that pool, or move one there."""
    to_stage = STAGE_VERBS[cmd.verb]
    found = await find_project(ctx, cmd.project, cmd.verb, may_create=True, lock=True)
    if isinstance(found, Reply):
        return found
    if isinstance(found, _Create):
        return await _create_project(cmd, ctx, to_stage)
    project = found
    await lock_project(ctx, project)
    check_may_change(ctx, project, cmd.verb)
    from_stage = project.stage
    fields = [*_STAGE_FIELDS, "amount_yuan", "amount_text", "industry", "wheel", "zone", "place", "company",
              "signed_verified_at", "landed_verified_at"]
    before = snapshot(project, fields)
    if from_stage != "dropped" and STAGE_ORDER[to_stage] < STAGE_ORDER[from_stage]:
        raise refuse(
            ctx,
            f"#{project.id} 已在{stage_name(from_stage)}库，不能退回{stage_name(to_stage)}。"
            "如是误报，请用「撤销」；要更正其他信息请用「改」。",
            f"#{project.id} is already {stage_name(from_stage, 'en')}; it cannot go back to "
            f"{stage_name(to_stage, 'en')}. Use `undo` for a mistake or `edit` to correct details.",
        )
    changed = _apply_fields(ctx, project, cmd)
    if from_stage == to_stage:
        if not changed and not cmd.note and not ctx.incoming.files:
            raise refuse(ctx, f"#{project.id} 已在{stage_name(to_stage)}库，未做更改。",
                         f"#{project.id} is already {stage_name(to_stage, 'en')}; nothing changed.")
        event_id = await record_event(ctx, project=project, kind="edit", text=cmd.note,
                                      data={"before": before, "fields": changed})
        headline = ctx.t(f"✏️ 已更新（仍在{stage_name(to_stage)}库）", f"✏️ Updated (still {to_stage})")
        return await card(ctx, project, headline, [*changed, cmd.note], event_id)
    reach_stage(project, to_stage, ctx.now)
    if to_stage in ("signed", "landed"):
        # A new move needs a new verification when the district requires one.
        setattr(project, f"{to_stage}_verified_at", None)
    event_id = await record_event(ctx, project=project, kind="stage", from_stage=from_stage, to_stage=to_stage,
                                  text=cmd.note, data={"before": before})
    arrow = f"{stage_name(from_stage, ctx.lang)} → {stage_name(to_stage, ctx.lang)}"
    headline = ctx.t(f"✅ 已{stage_name(to_stage)}：{arrow}", f"✅ Moved to {to_stage}: {arrow}")
    details = [*changed, cmd.note]
    details += _verification_note(ctx, project, to_stage)
    return await card(ctx, project, headline, details, event_id)


async def _create_project(cmd: Command, ctx: Context, stage: str) -> Reply:
    if ctx.member is None or ctx.member.team_id is None:
        raise refuse(
            ctx, "你还没有加入小分队，不能新建项目。请先发送「加入 邀请码」。",
            "You are not in a squad yet, so you cannot create projects. Send `join <invite code>` first.",
        )
    name = (cmd.project.name if cmd.project else "") or ""
    name = name.strip()
    if len(name) > 100:
        raise refuse(ctx, "项目名称太长（最多100字）。", "The project name is too long (100 characters at most).",
                     cmd.verb)
    # Two members reporting the same new project at once both found no match and both created it: hold the
    # squad and look again, so the later one reports on the earlier one's project, as if it came after.
    await queries.lock_team(ctx.session, team_id=ctx.member.team_id)
    twins = [p for p in await queries.projects_named(ctx.session, key=queries.name_key(name))
             if p.team_id == ctx.member.team_id]
    if twins and twins[0].id is not None:
        return await handle_stage(with_project_id(cmd, twins[0].id), ctx)
    project = Project(
        name=name, name_key=queries.name_key(name), team_id=ctx.member.team_id, stage=stage,
        created_by=ctx.member.id, created_at=ctx.now, updated_at=ctx.now, last_event_at=ctx.now,
    )
    changed = _apply_fields(ctx, project, cmd)
    reach_stage(project, stage, ctx.now)
    check_fits(ctx, project)
    ctx.session.add(project)
    await ctx.session.flush()
    event_id = await record_event(ctx, project=project, kind="create", to_stage=stage, text=cmd.note,
                                  data={"fields": changed})
    headline = ctx.t(f"🆕 已新建项目，进入{stage_name(stage)}库", f"🆕 New project, in the {stage} pool")
    if STAGE_ORDER[stage] > 0:
        headline += ctx.t("（同时计入此前各阶段）", " (also counted in the earlier stages)")
    details = [*changed, cmd.note]
    details += _verification_note(ctx, project, stage)
    return await card(ctx, project, headline, details, event_id)


# --- notes, visits, problems ----------------------------------------------------------------------

async def handle_note(cmd: Command, ctx: Context) -> Reply:
    """note: a progress note on a project."""
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
    if not cmd.note and not ctx.incoming.files:
        raise refuse(ctx, "请写上进展内容。", "Write what happened.", cmd.verb)
    event_id = await record_event(ctx, project=project, kind="note", text=cmd.note)
    return await card(ctx, project, ctx.t("📝 已记录进展", "📝 Progress noted"), [cmd.note], event_id)


async def handle_visit(cmd: Command, ctx: Context) -> Reply:
    """visit: log an outbound visit (city, company), on a project when one is named."""
    project: Project | None = None
    if cmd.project is not None:
        found = await find_project(ctx, cmd.project, cmd.verb, may_create=True, lock=True)
        if isinstance(found, Reply):
            return found
        if isinstance(found, Project):
            project = found
            await lock_project(ctx, project)
            check_may_change(ctx, project, cmd.verb)
    company = cmd.company or (cmd.project.name if cmd.project and project is None else "") or ""
    if project is None and not (cmd.place or company):
        raise refuse(ctx, "请写明拜访的城市或企业。", "Say which city or company you visited.", cmd.verb)
    if ctx.member is None or (project is None and ctx.member.team_id is None):
        raise refuse(ctx, "你还没有加入小分队。请先发送「加入 邀请码」。", "Join a squad first: `join <code>`.")
    where = " ".join(part for part in (cmd.place or "", company) if part)
    event_id = await record_event(ctx, project=project, kind="visit", text=cmd.note,
                                  data={"place": cmd.place or "", "company": company})
    if project is None:
        line = ctx.t(f"🚄 已记录外出拜访：{where}", f"🚄 Visit logged: {where}")
        minutes = ctx.settings.undo_window_minutes
        return Reply(text="\n".join(filter(None, [line, cmd.note, ctx.t(
            f"撤销：{minutes}分钟内发送「撤销」", f"To undo: send `undo` within {minutes} minutes")])),
            buttons=[Button(ctx.t("撤销", "Undo"), f"撤销 event:{event_id}")])
    return await card(ctx, project, ctx.t(f"🚄 已记录拜访：{where}", f"🚄 Visit logged: {where}"), [cmd.note], event_id)


async def handle_problem(cmd: Command, ctx: Context) -> Reply:
    """problem: open a problem with a category on a project."""
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
    if not cmd.note:
        raise refuse(ctx, "请写上问题内容。", "Describe the problem.", cmd.verb)
    category = cmd.category or "其他"
    problem = Problem(project_id=project.id or 0, category=category, text=cmd.note, opened_at=ctx.now,
                      opened_by=ctx.member.id if ctx.member else None)
    ctx.session.add(problem)
    await ctx.session.flush()
    event_id = await record_event(ctx, project=project, kind="problem", text=cmd.note,
                                  data={"problem_id": problem.id, "category": category})
    headline = ctx.t(f"⚠️ 已登记问题 问题{problem.id}（{category}）", f"⚠️ Problem p{problem.id} opened ({category})")
    resolve_hint = ctx.t(f"解决后发送「解决 #{project.id}」", f"When solved, send `resolve #{project.id}`")
    return await card(ctx, project, headline, [cmd.note, resolve_hint], event_id)


async def handle_resolve(cmd: Command, ctx: Context) -> Reply:
    """resolve: close a problem (by id, by category, or the only/oldest open one)."""
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
    problems = list(await queries.open_problems(ctx.session, project_id=project.id or 0))
    if cmd.number is not None:
        problems = [p for p in problems if p.id == cmd.number]
    elif cmd.category:
        problems = [p for p in problems if p.category == cmd.category]
    if not problems:
        raise refuse(ctx, f"#{project.id} 没有相应的未解决问题。", f"#{project.id} has no such open problem.", cmd.verb)
    problem = problems[0]
    problem.resolved_at = ctx.now
    problem.resolved_by = ctx.member.id if ctx.member else None
    problem.resolution = cmd.note
    event_id = await record_event(ctx, project=project, kind="resolve", text=cmd.note,
                                  data={"problem_id": problem.id})
    days = (ctx.now - problem.opened_at).days
    headline = ctx.t(f"✅ 问题{problem.id}（{problem.category}）已解决，历时{days}天",
                     f"✅ Problem p{problem.id} ({problem.category}) resolved after {days} days")
    remaining = len(problems) - 1 if cmd.number is None and not cmd.category else None
    details = [problem.text, cmd.note]
    if remaining:
        details.append(ctx.t(f"该项目还有 {remaining} 个未解决问题", f"{remaining} more open problem(s)"))
    return await card(ctx, project, headline, details, event_id)


async def handle_drop(cmd: Command, ctx: Context) -> Reply:
    """drop: take a project out of the funnel, keeping its history and the reason."""
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
    if project.stage == "dropped":
        raise refuse(ctx, f"#{project.id} 已经放弃。", f"#{project.id} is already dropped.")
    if not cmd.note:
        raise refuse(ctx, "请写明放弃原因。", "Give the reason.", cmd.verb)
    before = snapshot(project, _STAGE_FIELDS)
    from_stage = project.stage
    project.stage = "dropped"
    project.dropped_at = ctx.now
    project.drop_reason = cmd.note[:500]
    event_id = await record_event(ctx, project=project, kind="drop", from_stage=from_stage, to_stage="dropped",
                                  text=cmd.note, data={"before": before})
    return await card(ctx, project, ctx.t("🛑 已放弃（保留历史）", "🛑 Dropped (history kept)"), [cmd.note], event_id)


# --- edit, verify, expect -------------------------------------------------------------------------

async def handle_edit(cmd: Command, ctx: Context) -> Reply:
    """edit: change one field: amount, name, alias, industry, zone, place, company."""
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
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
        project.name = value[:100]
        project.name_key = queries.name_key(project.name)
        shown = value
    elif field == "alias":
        aliases = [a for a in project.aliases.strip("|").split("|") if a]
        key = queries.name_key(value)
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
        setattr(project, field, value[:200])
        shown = value
    event_id = await record_event(ctx, project=project, kind="edit", text=f"{label}: {shown}",
                                  data={"before": before, "field": field})
    return await card(ctx, project, ctx.t(f"✏️ 已修改{label}：{shown}", f"✏️ {label} set to {shown}"), [], event_id)


async def handle_verify(cmd: Command, ctx: Context) -> Reply:
    """verify: a leader confirms a 签约/落地 move (数据核实)."""
    if cmd.project is None:  # bare 核实: what is waiting for verification
        from handlers import reports

        team_id = None if ctx.is_leader else (ctx.team.id if ctx.team else None)
        return await reports.pending_verification(ctx.session, settings=ctx.settings, team_id=team_id)
    if not ctx.is_leader:
        raise refuse(ctx, "只有领导可以核实。", "Only a leader can verify.")
    project = await require_project(ctx, cmd, lock=True)
    if isinstance(project, Reply):
        return project
    await lock_project(ctx, project)
    stage = project.stage
    if stage not in ("signed", "landed"):
        raise refuse(ctx, f"#{project.id} 在{stage_name(stage)}库，只有签约、落地需要核实。",
                     f"#{project.id} is {stage}; only signed and landed moves are verified.")
    field = f"{stage}_verified_at"
    if getattr(project, field) is not None:
        raise refuse(ctx, f"#{project.id} 的{stage_name(stage)}已核实过。", f"#{project.id} is already verified.")
    before = snapshot(project, [field])
    setattr(project, field, ctx.now)
    event_id = await record_event(ctx, project=project, kind="verify", to_stage=stage, data={"before": before})
    return await card(ctx, project, ctx.t(f"☑️ 已核实{stage_name(stage)}", f"☑️ Verified as {stage}"), [], event_id)


async def handle_expect(cmd: Command, ctx: Context) -> Reply:
    """expect: the expected date of the next stage (feeds the forecast; a later date counts as a slip)."""
    if cmd.project is None:  # bare 预计: the year-end forecast
        from handlers import reports

        return await reports.forecast_report(ctx.session, settings=ctx.settings, now=ctx.now, lang=ctx.lang)
    project = await changeable_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
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


# --- undo -----------------------------------------------------------------------------------------

async def handle_undo(cmd: Command, ctx: Context) -> Reply:
    """undo: reverse the sender's own last change (or the one its button names), within the window."""
    if ctx.member is None or ctx.member.id is None:
        raise refuse(ctx, "没有可撤销的操作。", "Nothing to undo.")
    since = ctx.now - timedelta(minutes=ctx.settings.undo_window_minutes)
    minutes = ctx.settings.undo_window_minutes
    if cmd.number is not None:
        target = await ctx.session.get(Event, cmd.number)
        if target is None or target.member_id != ctx.member.id or target.kind == "undo":
            raise refuse(ctx, "只能撤销你自己的操作。", "You can only undo your own changes.")
        if await queries.is_undone(ctx.session, event_id=cmd.number):
            raise refuse(ctx, "这条操作已经撤销过了。", "That change was already undone.")
        if target.created_at < since:
            raise refuse(ctx, f"已超过{minutes}分钟，不能撤销；请用「改」更正。",
                         f"More than {minutes} minutes have passed; use `edit` to correct it.")
    else:
        found = await queries.last_undoable_event(ctx.session, member_id=ctx.member.id, since=since)
        if found is None:
            raise refuse(ctx, f"{minutes}分钟内没有你可以撤销的操作。", f"Nothing of yours to undo in the last {minutes} minutes.")
        target = found
    project = await ctx.session.get(Project, target.project_id) if target.project_id else None
    if project is not None:
        await lock_project(ctx, project)
    description = await _reverse(ctx, target, project)
    await record_event(ctx, project=project, kind="undo", undoes=target.id, text=description)
    label = project_label(project.id, project.name) if project else ""
    return Reply(text="\n".join(filter(None, [ctx.t(f"↩️ 已撤销：{description}", f"↩️ Undone: {description}"), label])))


async def _reverse(ctx: Context, event: Event, project: Project | None) -> str:
    data = json.loads(event.data or "{}")
    before = data.get("before")
    if event.kind == "create" and project is not None:
        if project.removed:
            raise refuse(ctx, "该项目已移除。", "That project is already removed.")
        later = await queries.project_events(ctx.session, project_id=project.id or 0, limit=50)
        if any(e.id != event.id and not e.undone and e.member_id != event.member_id for e in later):
            raise refuse(ctx, "其他人已在该项目上有更新，不能撤销新建；请用「放弃」。",
                         "Others have updated this project since; use `drop` instead of undoing its creation.")
        project.removed = True
        return ctx.t("新建项目（已移出项目库，历史保留）", "project creation (removed from the pools, history kept)")
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
    names = {"stage": ("阶段变更", "stage move"), "note": ("进展记录", "note"), "visit": ("拜访记录", "visit"),
             "problem": ("问题登记", "problem"), "resolve": ("问题解决", "resolution"), "drop": ("放弃", "drop"),
             "edit": ("修改", "edit"), "verify": ("核实", "verification"), "expect": ("预计时间", "expected date"),
             "create": ("新建", "creation")}
    zh, en = names.get(event.kind, (event.kind, event.kind))
    if event.kind == "stage":
        zh += f" {stage_name(event.from_stage)}→{stage_name(event.to_stage)}"
        en += f" {event.from_stage}→{event.to_stage}"
    return ctx.t(zh, en)


# --- questions about projects ---------------------------------------------------------------------

EVENT_VERBS_ZH = {"create": "新建", "stage": "阶段", "note": "进展", "visit": "拜访", "problem": "问题",
                  "resolve": "解决", "edit": "修改", "drop": "放弃", "verify": "核实", "expect": "预计",
                  "evidence": "附件"}


async def handle_find(cmd: Command, ctx: Context) -> Reply:
    """find: a project card with its history."""
    project = await require_project(ctx, cmd)
    if isinstance(project, Reply):
        return project
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
    for problem in problems:
        days = (ctx.now - problem.opened_at).days
        lines.append(ctx.t(f"⚠️ 问题{problem.id}（{problem.category}，{days}天）：{problem.text}",
                           f"⚠️ p{problem.id} ({problem.category}, {days} days): {problem.text}"))
    events = await queries.project_events(ctx.session, project_id=project.id or 0)
    if events:
        lines.append(ctx.t("—— 最近记录 ——", "—— history ——"))
    for event in events:
        what = EVENT_VERBS_ZH.get(event.kind, event.kind) if ctx.lang == "zh" else event.kind
        if event.kind in ("stage", "create", "drop") and event.to_stage:
            what += " " + stage_name(event.to_stage, ctx.lang)
        text = f"{format_local(event.created_at, tz)} {event.actor} {what}"
        if event.text:
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
        if not ctx.is_leader and (team is None or named.id != team.id):
            raise refuse(ctx, "只能查看本队项目。", "You can only list your own squad's projects.")
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


def with_project_id(cmd: Command, project_id: int) -> Command:
    """The same command aimed at a chosen project (answering a numbered question)."""
    return replace(cmd, project=ProjectRef(id=project_id))
