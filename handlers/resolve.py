"""Finding the project a message means: `#id`, exact name or alias, then loose matches, which are asked.

A loose match (a fuzzy name, or part of one: 万达 → 万达广场二期) is never used to change a project without
asking: it raises `NeedsChoice` with the match as option 1 (and "new project" when the verb may create
one). A question (查) may use a single loose match at once, since it changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from rapidfuzz import fuzz, process

from handlers import access
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command, ProjectRef
from handlers.context import Context
from handlers.format import project_label, stage_name
from handlers.refusal import refuse_key
from handlers.understand.guards import bad_name
from handlers.understand.words import COMPANY_SUFFIXES, strip_edges
from handlers.wording import PerLang, both
from storage import name_lookup, people_queries, project_queries
from storage.models import Project

MAX_CHOICES = 5
# Words people put after a project's name: 比亚迪项目 is 比亚迪, 仲景那边 is 仲景.
_NAME_SUFFIXES = ("那个项目", "这个项目", "的项目", "项目", "那边", "这边", "方面")
READ_VERBS = frozenset({"find"})  # verbs that change nothing: a loose match may answer at once


class _Create:
    """Marker: no project matched and the verb may create one."""


CREATE = _Create()


def _abbreviates(short: str, name: str) -> bool:
    """Whether `short` is how people shorten `name`: same first character, the rest of its characters in
    order (蜜雪二期 → 蜜雪冰城总部二期), and at least three of them (two match too much)."""
    if len(short) < 3 or len(short) >= len(name) or short[0] != name[0]:
        return False
    rest = iter(name[1:])
    return all(ch in rest for ch in short[1:])


def _pinned(cmd: Command, project_id: int) -> Command:
    return replace(cmd, project=ProjectRef(id=project_id))


def _new(cmd: Command, name: str) -> Command:
    return replace(cmd, project=ProjectRef(name=name, new=True))


def _new_choice(cmd: Command, name: str) -> Choice:
    return Choice(*both("find_project.new_project", name=name), _new(cmd, name))


async def _label(ctx: Context, project: Project | name_lookup.Candidate, teams: dict[int, str]) -> tuple[str, str]:
    return both("find_project.project_choice", label=project_label(project.id, project.name),
                team=teams.get(project.team_id, ""), stage=PerLang(stage_name(project.stage), project.stage))


async def _which(ctx: Context, cmd: Command, candidates: list[Project] | list[name_lookup.Candidate], *,
                 offer_new: str | None) -> NeedsChoice:
    teams = await people_queries.team_names_by_id(ctx.session, team_ids={p.team_id for p in candidates})
    choices = []
    for project in candidates:
        zh, en = await _label(ctx, project, teams)
        choices.append(Choice(zh, en, _pinned(cmd, project.id or 0)))
    if offer_new:
        choices.append(_new_choice(cmd, offer_new))
    return NeedsChoice(*both("find_project.which"), choices, confirm=False)


async def find_project(ctx: Context, cmd: Command, *, may_create: bool, lock: bool = False,
                       looked_again: bool = False) -> Project | _Create:
    """Resolve the command's project: `#id`, exact name or alias; a loose match raises NeedsChoice.

    With `lock` (the caller is about to change it) a project named by `#id` is read under its lock in
    one step; found by name, the caller locks it with `lock_project`.
    """
    ref, verb = cmd.project, cmd.verb
    if ref is None or (ref.id is None and not ref.name):
        raise refuse_key(ctx, "find_project.name_project_id_name", verb)
    if ref.id is not None:
        if lock:
            project = await project_queries.locked_project(ctx.session, project_id=ref.id)
            if project is not None:
                ctx.locked.add(ref.id)
                if project.removed:
                    project = None
        else:
            project = await project_queries.project_by_id(ctx.session, project_id=ref.id)
        if project is None:
            raise refuse_key(ctx, "find_project.there_project", verb, id=ref.id)
        return project
    name = (ref.name or "").strip()
    if ref.new and may_create:
        return CREATE
    key = name_lookup.name_key(name)
    if not key:
        raise refuse_key(ctx, "find_project.project_name_empty", verb)
    writes = verb not in READ_VERBS
    own_team = ctx.member.team_id if ctx.member else None
    exact = list(await name_lookup.projects_named(ctx.session, key=key))
    loose = False  # found by a variant of the name (比亚迪项目 → 比亚迪, or its company): asked before a change
    if not exact:
        bare = strip_edges(name, _NAME_SUFFIXES, suffix=True)
        if bare != name and name_lookup.name_key(bare):
            exact = list(await name_lookup.projects_named(ctx.session, key=name_lookup.name_key(bare)))
        if not exact and name.endswith(COMPANY_SUFFIXES):  # 中原数据集团: the company of a project
            exact = list(await name_lookup.projects_by_company(ctx.session, company=name))
            loose = bool(exact)
    if len(exact) > 1:
        mine = [project for project in exact if project.team_id == own_team]
        if len(mine) == 1:
            exact = mine
        else:
            raise await _which(ctx, cmd, exact[:MAX_CHOICES], offer_new=name if may_create and loose else None)
    if exact:
        project = exact[0]
        if writes and may_create and not ctx.is_leader and own_team is not None and project.team_id != own_team:
            team = await people_queries.team_by_id(ctx.session, team_id=project.team_id)
            whose = team.name if team else ""
            raise NeedsChoice(
                *both("find_project.other_squads", name=name, whose=whose, id=project.id),
                [_new_choice(cmd, name)], confirm=True,
            )
        if loose and writes:
            choices = [Choice(*both("find_project.yes_that_one", id=project.id, project=project.name),
                              _pinned(cmd, project.id or 0))]
            if may_create:
                choices.append(_new_choice(cmd, name))
            raise NeedsChoice(*both("find_project.company_of", name=name, id=project.id, project=project.name),
                              choices, confirm=True)
        return project
    if may_create and bad_name(name, ctx.today):  # 了, 签约, 明天, 2亿: never a project's name, even if confirmed
        raise refuse_key(ctx, "find_project.project_name_write_project", verb, name=name)
    if len(key) < 2:  # one character matches half the district: never guessed, at most created on request
        if may_create:
            raise NeedsChoice(
                *both("find_project.one_character", name=name),
                [_new_choice(cmd, name)], confirm=True,
            )
        raise refuse_key(ctx, "find_project.too_short_full_name", verb, name=name)
    candidates = await name_lookup.fuzzy_candidates(ctx.session, key=key, team_id=own_team)
    if not looked_again and any(candidate.name_key == key for candidate in candidates):
        # A colleague's report of this very project committed between the exact lookup and this one: it is
        # now an exact match, not a guess to ask about.
        return await find_project(ctx, cmd, may_create=may_create, lock=lock, looked_again=True)
    containing = [p for p in candidates if key in p.name_key or key in p.aliases]
    if not writes and len(containing) == 1:
        return await _live(ctx, verb, containing[0].id)
    scored = process.extract(
        key, {index: project.name_key for index, project in enumerate(candidates)}, scorer=fuzz.WRatio,
        limit=MAX_CHOICES, score_cutoff=ctx.settings.fuzzy_threshold,
    )
    close = [candidates[index] for _, _, index in scored]
    for candidate in containing:  # substring hits are always worth offering
        if candidate not in close:
            close.append(candidate)
    for candidate in candidates:  # 蜜雪二期 for 蜜雪冰城总部二期: the characters of a short name, in order
        if candidate not in close and _abbreviates(key, candidate.name_key):
            close.append(candidate)
    close = close[:MAX_CHOICES]
    offer_new = name if may_create else None
    if len(close) == 1:
        only = close[0]
        if not writes:
            return await _live(ctx, verb, only.id)
        choices = [Choice(*both("find_project.yes_that_one", id=only.id, project=only.name), _pinned(cmd, only.id))]
        if offer_new:
            choices.append(_new_choice(cmd, name))
        raise NeedsChoice(*both("find_project.read_as", name=name, id=only.id, project=only.name),
                          choices, confirm=True)
    if close:
        raise await _which(ctx, cmd, close, offer_new=offer_new)
    if may_create:
        return CREATE
    raise refuse_key(ctx, "find_project.project_matches_mine_list", verb, name=name)


async def _live(ctx: Context, verb: str, project_id: int) -> Project:
    """A candidate found a moment ago, loaded whole; refused like an unknown #id if its creation was undone
    since (another message committed in between: the candidates query skips removed projects)."""
    project = await project_queries.project_by_id(ctx.session, project_id=project_id)
    if project is None:
        raise refuse_key(ctx, "find_project.there_project", verb, id=project_id)
    return project


async def require_project(ctx: Context, cmd: Command, *, lock: bool = False) -> Project:
    """Resolve the command's project for a verb that never creates one (`lock`: as in find_project)."""
    found = await find_project(ctx, cmd, may_create=False, lock=lock)
    assert isinstance(found, Project)
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
    await project_queries.locked_project(ctx.session, project_id=project.id)
    ctx.locked.add(project.id)


async def changeable_project(ctx: Context, cmd: Command) -> Project:
    """The command's project, locked and checked to be one the sender may change."""
    project = await require_project(ctx, cmd, lock=True)
    await lock_project(ctx, project)
    check_may_change(ctx, project, cmd.verb)
    return project


def check_may_change(ctx: Context, project: Project, verb: str) -> None:
    """The access policy on the project's squad: members change their own squad's projects, leaders any."""
    access.require(ctx, verb, team_id=project.team_id, target=f"#{project.id}")
