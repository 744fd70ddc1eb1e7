"""Handlers for project updates: the four pools, notes, visits, problems, drop, edit, verify, expect, find.

Each handler is `(command, context) -> Reply`. It checks everything before it writes, so a refusal leaves
nothing behind; the dispatcher commits the whole message in one transaction after a successful reply.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from handlers import access
from handlers.choices import Choice, NeedsChoice
from handlers.commands import STAGE_VERBS, Command, ProjectRef
from handlers.context import Context
from handlers.format import format_amount, format_local, project_label, stage_name
from handlers.messages import Button, Reply
from handlers.problem_match import pick_problem
from handlers.records import card, check_fits, headline_for, record_event, snapshot, undo_line
from handlers.refusal import refuse
from handlers.resolve import CREATE, changeable_project, check_may_change, find_project, lock_project, require_project
from handlers.understand.guards import bad_name
from storage import queries, report_queries
from storage.limits import ALIAS_LIMIT
from storage.models import STAGE_ORDER, STAGES, Problem, Project

VERIFY_LIMIT = 50  # moves verified by one 核实 全部: a list a leader can read before confirming
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


def _date_line(ctx: Context, cmd: Command) -> str:
    if cmd.when is None or cmd.when >= ctx.today:
        return ""
    return ctx.t(f"日期：{cmd.when:%Y-%m-%d}", f"Dated {cmd.when:%Y-%m-%d}")


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
    found = await find_project(ctx, cmd, may_create=True, lock=True)
    if found is CREATE or not isinstance(found, Project):
        return await _create_project(cmd, ctx, to_stage)
    project = found
    await lock_project(ctx, project)
    check_may_change(ctx, project, cmd.verb)
    from_stage = project.stage
    fields = [*_STAGE_FIELDS, "amount_yuan", "amount_text", "industry", "wheel", "zone", "place", "company",
              "signed_verified_at", "landed_verified_at", "expected_stage", "expected_date", "expected_slips"]
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
                         f"#{project.id} is already {stage_name(to_stage, 'en')}; nothing changed.", unchanged=True)
        event_id = await record_event(ctx, project=project, kind="edit", text=cmd.note,
                                      data={"before": before, "fields": changed})
        headline = ctx.t(f"✏️ 已更新（仍在{stage_name(to_stage)}库）", f"✏️ Updated (still {to_stage})")
        return await card(ctx, project, headline, [*changed, cmd.note], event_id)
    reach_stage(project, to_stage, dated(ctx, cmd, project))
    if project.expected_stage and STAGE_ORDER.get(project.expected_stage, 9) <= STAGE_ORDER[to_stage]:
        # The stage it was expected to reach is reached: the expectation is closed, not left to go stale.
        project.expected_stage, project.expected_date, project.expected_slips = "", None, 0
    if to_stage in ("signed", "landed"):
        # A new move needs a new verification when the district requires one.
        setattr(project, f"{to_stage}_verified_at", None)
    event_id = await record_event(ctx, project=project, kind="stage", from_stage=from_stage, to_stage=to_stage,
                                  text=cmd.note, data={"before": before})
    arrow = f"{stage_name(from_stage, ctx.lang)} → {stage_name(to_stage, ctx.lang)}"
    headline = ctx.t(f"✅ 已{stage_name(to_stage)}：{arrow}", f"✅ Moved to {to_stage}: {arrow}")
    details = [_date_line(ctx, cmd), *changed, cmd.note]
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
    if bad_name(name, ctx.today):  # the last word on it, whatever path led here (a confirmed reading too)
        raise refuse(ctx, f"「{name}」不能作项目名称，请写项目的名字。", f'"{name}" cannot be a project name.', cmd.verb)
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
    reach_stage(project, stage, dated(ctx, cmd, None))
    check_fits(ctx, project)
    ctx.session.add(project)
    await ctx.session.flush()
    if project.id is not None:
        ctx.created.add(project.id)
    event_id = await record_event(ctx, project=project, kind="create", to_stage=stage, text=cmd.note,
                                  data={"fields": changed})
    headline = ctx.t(f"🆕 已新建项目，进入{stage_name(stage)}库", f"🆕 New project, in the {stage} pool")
    if STAGE_ORDER[stage] > 0:
        headline += ctx.t("（同时计入此前各阶段）", " (also counted in the earlier stages)")
    details = [_date_line(ctx, cmd), *changed, cmd.note]
    details += _verification_note(ctx, project, stage)
    return await card(ctx, project, headline, details, event_id)


# --- notes, visits, problems ----------------------------------------------------------------------

async def handle_note(cmd: Command, ctx: Context) -> Reply:
    """note: a progress note on a project."""
    project = await changeable_project(ctx, cmd)
    if not cmd.note and not ctx.incoming.files:
        raise refuse(ctx, "请写上进展内容。", "Write what happened.", cmd.verb)
    before = snapshot(project, ["amount_yuan", "amount_text"])
    changed = _apply_fields(ctx, project, replace(cmd, industry=None, zone=None, place=None, company=None))
    event_id = await record_event(ctx, project=project, kind="note", text=cmd.note,
                                  data={"before": before} if changed else None)
    return await card(ctx, project, ctx.t("📝 已记录进展", "📝 Progress noted"), [cmd.note, *changed], event_id)


async def handle_visit(cmd: Command, ctx: Context) -> Reply:
    """visit: log an outbound visit (city, company), on a project when one is named."""
    project: Project | None = None
    if cmd.project is not None:
        found = await find_project(ctx, cmd, may_create=True, lock=True)
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
    data = {"place": cmd.place or "", "company": company}
    if cmd.when is not None and cmd.when < ctx.today:
        data["date"] = cmd.when.isoformat()
    event_id = await record_event(ctx, project=project, kind="visit", text=cmd.note, data=data)
    headline = headline_for(ctx, ctx.t(f"🚄 已记录外出拜访：{where}", f"🚄 Visit logged: {where}"))
    if project is None:
        lines = [headline, _date_line(ctx, cmd), cmd.note, *ctx.notes]
        if ctx.preview:
            return Reply(text="\n".join(filter(None, lines)))
        return Reply(text="\n".join(filter(None, [*lines, undo_line(ctx)])),
                     buttons=[Button(ctx.t("撤销", "Undo"), f"撤销 event:{event_id}")])
    return await card(ctx, project, ctx.t(f"🚄 已记录拜访：{where}", f"🚄 Visit logged: {where}"),
                      [_date_line(ctx, cmd), cmd.note], event_id)


async def handle_problem(cmd: Command, ctx: Context) -> Reply:
    """problem: open a problem with a category on a project."""
    project = await changeable_project(ctx, cmd)
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
    """resolve: close the problem meant (by id, by category, by the words of the resolution, or the only
    one); with several open and nothing to tell them apart, ask which. `解决 问题2` needs no project."""
    if cmd.project is None and cmd.number is not None:
        problem = await ctx.session.get(Problem, cmd.number)
        if problem is None or problem.resolved_at is not None or problem.withdrawn:
            raise refuse(ctx, f"没有未解决的问题{cmd.number}。", f"There is no open problem p{cmd.number}.", cmd.verb)
        cmd = replace(cmd, project=ProjectRef(id=problem.project_id))
    project = await changeable_project(ctx, cmd)
    problems = list(await queries.open_problems(ctx.session, project_id=project.id or 0))
    picked = pick_problem(problems, words=cmd.note, category=cmd.category, number=cmd.number)
    if isinstance(picked, list):
        if not picked:
            raise refuse(ctx, f"#{project.id} 没有相应的未解决问题。", f"#{project.id} has no such open problem.",
                         cmd.verb)
        choices = [Choice(f"问题{p.id}（{p.category}）：{p.text[:40]}", f"p{p.id} ({p.category}): {p.text[:40]}",
                          replace(cmd, project=ProjectRef(id=project.id), number=p.id)) for p in picked]
        raise NeedsChoice(f"#{project.id} 有 {len(picked)} 个未解决问题，解决的是哪一个？",
                          f"#{project.id} has {len(picked)} open problems; which one is solved?", choices, confirm=False)
    problem = picked
    problem.resolved_at = ctx.now
    problem.resolved_by = ctx.member.id if ctx.member else None
    problem.resolution = cmd.note
    event_id = await record_event(ctx, project=project, kind="resolve", text=cmd.note,
                                  data={"problem_id": problem.id})
    days = (ctx.now - problem.opened_at).days
    headline = ctx.t(f"✅ 问题{problem.id}（{problem.category}）已解决，历时{days}天",
                     f"✅ Problem p{problem.id} ({problem.category}) resolved after {days} days")
    remaining = len(problems) - 1
    details = [problem.text, cmd.note]
    if remaining:
        details.append(ctx.t(f"该项目还有 {remaining} 个未解决问题", f"{remaining} more open problem(s)"))
    return await card(ctx, project, headline, details, event_id)


async def handle_drop(cmd: Command, ctx: Context) -> Reply:
    """drop: take a project out of the funnel, keeping its history and the reason."""
    project = await changeable_project(ctx, cmd)
    if project.stage == "dropped":
        raise refuse(ctx, f"#{project.id} 已经放弃。", f"#{project.id} is already dropped.")
    if not cmd.note:
        raise refuse(ctx, "请写明放弃原因。", "Give the reason.", cmd.verb)
    before = snapshot(project, _STAGE_FIELDS)
    from_stage = project.stage
    project.stage = "dropped"
    project.dropped_at = ctx.now
    project.drop_reason = cmd.note  # check_fits refuses one over its limit, never cuts it
    event_id = await record_event(ctx, project=project, kind="drop", from_stage=from_stage, to_stage="dropped",
                                  text=cmd.note, data={"before": before})
    return await card(ctx, project, ctx.t("🛑 已放弃（保留历史）", "🛑 Dropped (history kept)"), [cmd.note], event_id)


# --- edit, verify, expect -------------------------------------------------------------------------

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
        project.name_key = queries.name_key(project.name)
        shown = value
    elif field == "alias":
        if len(value) > ALIAS_LIMIT:
            raise refuse(ctx, f"别名太长（{len(value)}字），最多{ALIAS_LIMIT}字。",
                         f"The alias is too long ({len(value)} characters; {ALIAS_LIMIT} at most).", "edit")
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
        setattr(project, field, value)  # check_fits refuses one over its limit, never cuts it
        shown = value
    event_id = await record_event(ctx, project=project, kind="edit", text=f"{label}: {shown}",
                                  data={"before": before, "field": field})
    return await card(ctx, project, ctx.t(f"✏️ 已修改{label}：{shown}", f"✏️ {label} set to {shown}"), [], event_id)


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


# --- questions about projects ---------------------------------------------------------------------

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


def with_project_id(cmd: Command, project_id: int) -> Command:
    """The same command aimed at a chosen project (answering a numbered question)."""
    return replace(cmd, project=ProjectRef(id=project_id))
