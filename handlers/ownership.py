"""First-contact ownership (首谈负责制): a company courted by two squads is flagged, and stays with the first.

When a new project, a visit (and, from the activity records, a reception or a lead) names a company that
another squad already courts, the same company or a close match on the company or project name, the
sender is told which squad has it and since when, that squad's captains (without one, whoever reported its
project) are told once, and the clash is
stored for the leaders' 撞单 list. Nothing is refused: the report is real and is kept; the company stays
with the first squad unless a leader reassigns a project with `转交` (handlers.projects.transfer).

Who "courts" a company: a live project (not dropped, not undone) naming it, as its counterparty company or
in its name; or a first contact without a project, a lead, visit or reception naming it (a CompanyContact,
withdrawn when its report is undone). The first is the earliest of them all; when it is the sender's own
squad's, there is no clash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Command, Lang
from handlers.context import Context
from handlers.format import format_local
from handlers.messages import Reply
from handlers.wording import key, say
from storage import ownership_queries, people_queries, roster_queries
from storage.company_names import company_key
from storage.limits import clip_to
from storage.models import Event, OwnershipClash, Project
from storage.name_lookup import name_key
from storage.ownership_queries import Courted

# What the second squad reported, as the notices and the 撞单 list name it (reception and lead: the activity
# records call first_contact with those subjects).
HELD_PROJECT, HELD_CONTACT = key("ownership.held_project"), key("ownership.held_contact")
CONTACT_SUBJECTS = frozenset({"lead", "visit", "reception"})  # reports that are a first contact by themselves
SUBJECT_KEYS = {"project": key("ownership.subject_project"), "visit": key("ownership.subject_visit"),
                "reception": key("ownership.subject_reception"), "lead": key("ownership.subject_lead")}
NOTICE_LANG: Lang = "zh"  # a notice's reader did not write in a language: the district's
ANY_TEAM = 0  # no squad has id 0: the claims of every squad
NAME_SIMILARITY = 85  # two project names this close (rapidfuzz ratio, 0-100) name the same venture
COMPANY_SIMILARITY = 88  # two company keys this close are one company written two ways


@dataclass(frozen=True)
class Owner:
    """The squad that courted a company first, through which project (or contact), since when."""

    team_id: int
    team_name: str
    project_id: int | None  # None: a contact before any project (a lead, a visit, a reception)
    project_name: str
    company: str  # what they call it: the project's company, else its name
    since: datetime
    subject: str = "project"  # project, or the contact's kind: lead, visit, reception
    event_id: int | None = None  # the contact's event (who recorded it hears of the clash without a captain)


@dataclass(frozen=True)
class Clash:
    """A first-contact clash: the first squad's claim and the stored row (new: recorded by this message)."""

    owner: Owner
    clash_id: int
    new: bool


def _company_match(mine: str, theirs: str) -> bool:
    if not mine or not theirs:
        return False
    if mine == theirs:
        return len(mine) >= 2
    short, long = sorted((mine, theirs), key=len)
    if len(short) >= 2 and long.startswith(short):  # 比亚迪 / 比亚迪汽车
        return True
    if len(short) >= 4 and short in long:
        return True
    return len(short) >= 4 and fuzz.ratio(mine, theirs) >= COMPANY_SIMILARITY


def matches(*, company: str, project_name: str, other: Courted) -> bool:
    """Whether a company and project name court the same company as another squad's project."""
    mine_company, mine_name = company_key(company), name_key(project_name)
    if _company_match(mine_company, other.company_key):
        return True
    if len(mine_company) >= 2 and other.name_key.startswith(mine_company):  # 比亚迪集团 → 比亚迪河南体验中心
        return True
    if len(other.company_key) >= 2 and mine_name.startswith(other.company_key):
        return True
    if len(mine_name) >= 4 and len(other.name_key) >= 4:
        return mine_name == other.name_key or fuzz.ratio(mine_name, other.name_key) >= NAME_SIMILARITY
    return False


async def find_owner(session: AsyncSession, *, company: str, project_name: str, team_id: int,
                     before: datetime | None = None) -> Owner | None:
    """The squad that courted this company first, when it is not `team_id`; else None (reads, stores nothing).

    `before`: only projects created before it count (a project whose company is corrected later is
    second only to those that were there before it)."""
    mine_company, mine_name = company_key(company), name_key(project_name)
    if len(mine_company) < 2 and len(mine_name) < 2:
        return None
    keys = {mine_company, mine_name}
    if len(mine_name) >= 6:
        keys.add(mine_name[:3])  # 比亚迪品牌形象河南体验中心 is found from 比亚迪河南体验中心 by its start
    # Every squad's claims, the sender's own too: a company the sender's squad courted first is theirs, even
    # if another squad turned up in between (that one was the second).
    candidates = await ownership_queries.courted_elsewhere(
        session, company_key=mine_company, name_keys=keys, team_id=ANY_TEAM)
    hits = [c for c in candidates if matches(company=company, project_name=project_name, other=c)
            and (before is None or c.created_at < before)]
    contacts = [c for c in await ownership_queries.contacted_elsewhere(
                    session, company_key=mine_company or mine_name, team_id=ANY_TEAM)
                if _contact_match(company=company, project_name=project_name, other=c)
                and (before is None or c.created_at < before)]
    first_project = min(hits, key=lambda c: (c.created_at, c.id)) if hits else None
    first_contact = min(contacts, key=lambda c: (c.created_at, c.id)) if contacts else None
    if first_contact is not None and (first_project is None or first_contact.created_at < first_project.created_at):
        if first_contact.team_id == team_id:
            return None
        team = await people_queries.team_by_id(session, team_id=first_contact.team_id)
        return Owner(team_id=first_contact.team_id, team_name=team.name if team else "", project_id=None,
                     project_name="", company=first_contact.company, since=first_contact.created_at,
                     subject=first_contact.kind, event_id=first_contact.event_id)
    if first_project is None or first_project.team_id == team_id:
        return None
    team = await people_queries.team_by_id(session, team_id=first_project.team_id)
    return Owner(team_id=first_project.team_id, team_name=team.name if team else "", project_id=first_project.id,
                 project_name=first_project.name, company=first_project.company or first_project.name,
                 since=first_project.created_at)


def _contact_match(*, company: str, project_name: str, other: ownership_queries.Contacted) -> bool:
    """Whether a company (or a project's name starting with a company's) is the company of a contact."""
    if _company_match(company_key(company), other.company_key):
        return True
    mine_name = name_key(project_name)
    return len(other.company_key) >= 2 and mine_name.startswith(other.company_key)


async def first_contact(
    ctx: Context, *, company: str, project_name: str = "", subject: str, project_id: int | None = None,
    event_id: int | None = None, team_id: int | None = None, before: datetime | None = None,
) -> Clash | None:
    """Check a report (subject: project, visit, reception or lead) against the other squads' companies; on a
    clash store it, tell the sender (a line on the reply) and, once per clash, the first squad's captains.

    `team_id`: the reporting squad (default the sender's); `project_id`/`event_id`: what the report stored;
    `before`: only companies courted before it (a corrected company of an existing project).
    Call it after the report's own rows are written, in the same transaction.
    """
    team_id = team_id if team_id is not None else (ctx.member.team_id if ctx.member else None)
    if team_id is None:
        return None
    owner = await find_owner(ctx.session, company=company, project_name=project_name, team_id=team_id,
                             before=before)
    if subject in CONTACT_SUBJECTS and project_id is None and event_id is not None and len(company_key(company)) >= 2:
        # A lead, visit or reception without a project is itself a first contact with the company.
        await ownership_queries.add_contact(ctx.session, team_id=team_id, company=company,
                                            company_key=company_key(company), kind=subject, event_id=event_id,
                                            at=ctx.now)
    if owner is None:
        return None
    since = format_local(owner.since, ctx.settings.tz, with_time=False)
    ctx.notes.append(ctx.say("ownership.sender", company=owner.company, team=owner.team_name, since=since,
                             held=_held(ctx.say, owner)))
    clash_company = clip_to("ownership_clash", "company", owner.company)
    existing = await ownership_queries.open_clash(ctx.session, first_project_id=owner.project_id,
                                                  second_team_id=team_id, first_team_id=owner.team_id,
                                                  company=clash_company)
    if existing is not None and existing.id is not None:
        return Clash(owner=owner, clash_id=existing.id, new=False)
    row = OwnershipClash(
        company=clash_company, first_team_id=owner.team_id, first_project_id=owner.project_id,
        first_seen_at=owner.since, second_team_id=team_id, second_project_id=project_id, subject=subject,
        subject_text=clip_to("ownership_clash", "subject_text", project_name or company),
        member_id=ctx.member.id if ctx.member else None,
        event_id=event_id, created_at=ctx.now, first_subject=owner.subject,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    shown = f"{project_name}（{company}）" if project_name and company else (project_name or company)
    second = await people_queries.team_by_id(ctx.session, team_id=team_id)
    who = ctx.member.name if ctx.member else ""
    text = say(NOTICE_LANG, "ownership.captain", team=second.name if second else "", who=who,
               what=say(NOTICE_LANG, SUBJECT_KEYS.get(subject, SUBJECT_KEYS["project"])), name=shown,
               held=_held(lambda k, **kw: say(NOTICE_LANG, k, **kw), owner))
    captains = [captain.id for captain in await roster_queries.captains_of(ctx.session, team_id=owner.team_id)
                if captain.id is not None]
    if not captains:  # a squad without a captain: whoever reported the first project (or contact) hears it
        captains = await _first_reporter(ctx, owner)
    for member_id in captains:
        ctx.tell(member_id, text)
    assert row.id is not None
    return Clash(owner=owner, clash_id=row.id, new=True)


def _held(words: Callable[..., str], owner: Owner) -> str:
    """What the first squad holds, as the notices name it: `#12 项目名`, or `线索「宁德时代」`."""
    if owner.project_id is not None:
        return words(HELD_PROJECT, id=owner.project_id, project=owner.project_name)
    return words(HELD_CONTACT, company=owner.company, what=words(SUBJECT_KEYS.get(owner.subject, SUBJECT_KEYS["project"])))


async def _first_reporter(ctx: Context, owner: Owner) -> list[int]:
    if owner.project_id is not None:
        first = await ctx.session.get(Project, owner.project_id)  # only who reported it is read: removed or not
        return [first.created_by] if first is not None and first.created_by is not None else []
    event = await ctx.session.get(Event, owner.event_id) if owner.event_id is not None else None
    return [event.member_id] if event is not None and event.member_id is not None else []


async def settle(ctx: Context, *, project_id: int, resolution: str) -> int:
    """Close the open clashes a project is in (a transfer, a drop); returns how many."""
    rows = await ownership_queries.open_clashes_of_project(ctx.session, project_id=project_id)
    for row in rows:
        row.resolved_at, row.resolution = ctx.now, clip_to("ownership_clash", "resolution", resolution)
        row.resolved_by = ctx.member.id if ctx.member else None
        ctx.session.add(row)
    return len(rows)


async def handle_clashes(cmd: Command, ctx: Context) -> Reply:
    """clashes (撞单): the companies two squads court, open first (leaders all; captains their squad's)."""
    include_resolved = cmd.flag == "all"
    rows = list(await ownership_queries.clashes(ctx.session, include_resolved=include_resolved, limit=200))
    if not ctx.is_leader:
        own = ctx.member.team_id if ctx.member else None
        rows = [r for r in rows if own is not None and own in (r.first_team_id, r.second_team_id)]
    if not rows:
        return Reply(text=ctx.say(key("clashes.none_all") if include_resolved else key("clashes.none")))
    names = await people_queries.team_names_by_id(ctx.session, team_ids={i for r in rows for i in (r.first_team_id, r.second_team_id)})
    tz = ctx.settings.tz
    lines = [ctx.say("clashes.title", count=len(rows))]
    for r in rows[:50]:
        second = (f"#{r.second_project_id}" if r.second_project_id
                  else ctx.say(SUBJECT_KEYS.get(r.subject, SUBJECT_KEYS["project"])))
        state = ""
        if r.resolved_at is not None:
            state = ctx.say("clashes.resolved", when=format_local(r.resolved_at, tz, with_time=False))
        first_what = (ctx.say(HELD_PROJECT, id=r.first_project_id, project="").strip()
                      if r.first_project_id is not None
                      else ctx.say(SUBJECT_KEYS.get(r.first_subject, SUBJECT_KEYS["project"])))
        lines.append(ctx.say("clashes.line", company=r.company, first=names.get(r.first_team_id, "?"), first_what=first_what,
            since=format_local(r.first_seen_at, tz, with_time=False), second=names.get(r.second_team_id, "?"),
            what=second, when=format_local(r.created_at, tz, with_time=False), state=state))
    if len(rows) > 50:
        lines.append(ctx.say("clashes.more", more=len(rows) - 50))
    if ctx.is_leader and any(r.resolved_at is None for r in rows):
        lines.append(ctx.say("clashes.how"))
    return Reply(text="\n".join(lines))
