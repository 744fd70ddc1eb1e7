"""Keyword-only queries the command handlers use (reports have their own, in report_queries.py)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    true,
    update,
)
from sqlalchemy import select as columns_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    ADMIN_EVENT_KINDS,
    Event,
    Identity,
    InboundMessage,
    Member,
    PendingChoice,
    Problem,
    Project,
    ProjectGram,
    ProjectKey,
    Target,
    Team,
)
from storage.name_index import bigrams

# The undo events joined against the events they reverse. Built once: a select over a fresh alias is several
# times dearer for SQLAlchemy to build, on every 查 and 撤销 (bench/README.md, ingest, first round).
_UNDO = aliased(Event, name="undo")
# What 撤销 never takes back: an undo itself, and running the district (roles, roster, squads, bindings).
_NOT_UNDONE = ("undo", *ADMIN_EVENT_KINDS)

_KEY_DROP = re.compile(r"[\s\"'“”‘’「」《》()（）\-_.,，。·]+")


def name_key(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, without spaces, quotes and punctuation."""
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a user's `%` or `_` matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- people and squads ----------------------------------------------------------------------------

# Every message asks, so the statement is built (and its cache key computed) once, with a bound parameter.
_MEMBER_AND_TEAM = (
    select(Member, Team)
    .join(Identity, col(Identity.member_id) == col(Member.id))
    .join(Team, col(Team.id) == col(Member.team_id), isouter=True)
    .where(col(Identity.identity) == bindparam("identity"))
)


async def member_and_team(session: AsyncSession, *, identity: str) -> tuple[Member | None, Team | None]:
    """The member a platform identity belongs to and their team, in one query (every message asks)."""
    row = (await session.exec(_MEMBER_AND_TEAM, params={"identity": identity})).first()
    return (row[0], row[1]) if row is not None else (None, None)


_SIBLING = aliased(Identity, name="sibling")


def _granted(names: str) -> Any:
    """Whether any identity of the member is in the list bound as `names` (a role from the settings)."""
    return exists().where(col(_SIBLING.member_id) == col(Member.id),
                          col(_SIBLING.identity).in_(bindparam(names, expanding=True)))


# The sender, their squad, and whether any of the person's identities is in ZSBOT_ADMINS / ZSBOT_LEADERS: a
# linked identity is the same person with the same roles, read from the settings on every message.
_MEMBER_TEAM_ROLES = (
    select(Member, Team, _granted("admins"), _granted("leaders"))
    .join(Identity, col(Identity.member_id) == col(Member.id))
    .join(Team, col(Team.id) == col(Member.team_id), isouter=True)
    .where(col(Identity.identity) == bindparam("identity"))
)


async def member_team_roles(
    session: AsyncSession, *, identity: str, admins: Sequence[str], leaders: Sequence[str],
) -> tuple[Member | None, Team | None, bool, bool]:
    """The member an identity belongs to, their team, and whether the person is an admin or a leader by the
    settings (any of their identities listed), in one query."""
    params = {"identity": identity, "admins": list(admins), "leaders": list(leaders)}
    row = (await session.exec(_MEMBER_TEAM_ROLES, params=params)).first()
    if row is None:
        return None, None, False, False
    return row[0], row[1], bool(row[2]), bool(row[3])


async def add_member(
    session: AsyncSession, *, identity: str, name: str, now: datetime, team_id: int | None = None,
    role: str = "member",
) -> Member:
    """Create a member with its first identity."""
    member = Member(name=name or identity, team_id=team_id, role=role, created_at=now)
    session.add(member)
    await session.flush()
    assert member.id is not None
    session.add(Identity(identity=identity, member_id=member.id, display_name=name, created_at=now))
    await session.flush()
    return member


async def add_identity(session: AsyncSession, *, identity: str, member_id: int, name: str, now: datetime) -> None:
    """Link one more platform identity to an existing member."""
    session.add(Identity(identity=identity, member_id=member_id, display_name=name, created_at=now))
    await session.flush()


async def member_has_history(session: AsyncSession, *, member_id: int) -> bool:
    """Whether a member has any event of their own (then merging them away would lose attribution)."""
    return (await session.exec(select(Event.id).where(Event.member_id == member_id).limit(1))).first() is not None


async def move_identities(session: AsyncSession, *, from_member: int, to_member: int) -> None:
    """Re-point every identity of one member at another."""
    for row in (await session.exec(select(Identity).where(Identity.member_id == from_member))).all():
        row.member_id = to_member
        session.add(row)
    await session.flush()


async def team_by_id(session: AsyncSession, *, team_id: int) -> Team | None:
    """A team by its id."""
    return await session.get(Team, team_id)


# SQLite has no row lock: a no-op write takes the database's write lock, the whole hold there (FOR UPDATE is
# not rendered on SQLite), so no second statement. Built once, like the project's below.
_SQLITE_TEAM_WRITE_LOCK = update(Team).where(col(Team.id) == bindparam("team_id")).values(name=Team.name)
_LOCKED_TEAM = columns_select(col(Team.id)).where(col(Team.id) == bindparam("team_id")).with_for_update()


async def lock_team(session: AsyncSession, *, team_id: int) -> None:
    """Hold a squad for the rest of the transaction (as locked_project holds a project)."""
    connection = await session.connection()
    sqlite = connection.dialect.name == "sqlite"
    await connection.execute(_SQLITE_TEAM_WRITE_LOCK if sqlite else _LOCKED_TEAM, {"team_id": team_id})


_TEAM_NAMES = columns_select(col(Team.id), col(Team.name)).where(col(Team.id).in_(bindparam("ids", expanding=True)))


async def team_names_by_id(session: AsyncSession, *, team_ids: Collection[int]) -> dict[int, str]:
    """The names of these teams, in one query (a "which one?" question lists projects of several squads)."""
    connection = await session.connection()
    rows = await connection.execute(_TEAM_NAMES, {"ids": list(team_ids)})
    return {team_id: name for team_id, name in rows if team_id is not None}


async def team_by_name(session: AsyncSession, *, name: str) -> Team | None:
    """A team by its exact name (case-insensitive for Latin names)."""
    statement = select(Team).where(func.lower(Team.name) == name.strip().lower())
    return (await session.exec(statement)).first()


async def team_by_invite(session: AsyncSession, *, code: str) -> Team | None:
    """The team whose invite code this is (codes are case-insensitive to be phone-friendly)."""
    statement = select(Team).where(func.lower(Team.invite_code) == code.strip().lower())
    return (await session.exec(statement)).first()


async def team_names(session: AsyncSession) -> list[str]:
    """All team names, alphabetically (for suggestions in refusals)."""
    return list((await session.exec(select(Team.name).order_by(Team.name))).all())


# --- projects -------------------------------------------------------------------------------------

async def project_by_id(session: AsyncSession, *, project_id: int) -> Project | None:
    """A project by id, unless its creation was undone."""
    project = await session.get(Project, project_id)
    return None if project is None or project.removed else project


_LOCKED_PROJECT = (
    select(Project).where(col(Project.id) == bindparam("project_id")).with_for_update()
    .execution_options(populate_existing=True)
)
# SQLite has no row lock: a no-op write takes the database's write lock instead (see lock_project), and
# its RETURNING reads the row under it, in the same statement.
_SQLITE_LOCKED_PROJECT = (
    update(Project).where(col(Project.id) == bindparam("project_id")).values(updated_at=Project.updated_at)
    .returning(Project).execution_options(populate_existing=True, synchronize_session=False)
)


async def locked_project(session: AsyncSession, *, project_id: int) -> Project | None:
    """A project by id, held for the rest of the transaction and read after taking the hold (None if
    missing). One read where looking it up and then locking it took two (see handlers.projects.lock_project)."""
    bind = session.bind
    params = {"project_id": project_id}
    if bind is not None and bind.dialect.name == "sqlite":
        project: Project | None = (await session.exec(_SQLITE_LOCKED_PROJECT, params=params)).scalars().first()
        return project
    return (await session.exec(_LOCKED_PROJECT, params=params)).first()


# Every message naming a project by name asks (a new 签约 twice), so built once, with a bound key.
_PROJECTS_NAMED = (
    select(Project)
    .join(ProjectKey, col(ProjectKey.project_id) == col(Project.id))
    # IS NOT TRUE, not = false: almost every project matches, and SQLite would otherwise walk the
    # `removed` index instead of looking the key up.
    .where(col(ProjectKey.key) == bindparam("key"), col(Project.removed).is_not(true()))
    .order_by(col(Project.id))
)


async def projects_named(session: AsyncSession, *, key: str) -> Sequence[Project]:
    """Projects whose name or one alias has exactly this key (from the name index, storage.name_index)."""
    return (await session.exec(_PROJECTS_NAMED, params={"key": key})).all()


async def projects_by_company(session: AsyncSession, *, company: str, limit: int = 5) -> Sequence[Project]:
    """Live projects whose counterparty company is exactly this name (a squad names a project by its company)."""
    statement = (
        select(Project).where(col(Project.company) == company, col(Project.removed).is_not(true()))
        .order_by(col(Project.id)).limit(limit)
    )
    return (await session.exec(statement)).all()


class Candidate(NamedTuple):
    """What scoring a project against a name and asking "which one?" need of it (not the whole row).

    A named tuple, not a frozen dataclass: a squad's hundred or two candidates are built for every new
    name, and a frozen dataclass's __init__ (object.__setattr__ per field) cost several times more.
    """

    id: int
    name: str
    name_key: str
    aliases: str
    team_id: int
    stage: str


_GRAM_DRIVER = aliased(ProjectGram, name="driver")  # built once, like _UNDO
GRAM_COUNT_CAP = 2000  # counting a bigram's projects stops here: past it, it is too common to drive
CHECKED_GRAMS = 2  # besides the rarest bigram, how many more the index checks (the LIKE confirms the rest)


async def _substring_hits(session: AsyncSession, key: str) -> list[int] | None:
    """Ids of projects that may contain `key` (a superset: the caller confirms with LIKE).

    None when the name index cannot narrow it down (every bigram of the key is in GRAM_COUNT_CAP projects
    or more: a common word, left to a scan); [] when nothing can contain it (a one-character key, or a
    bigram no project has). Otherwise the projects holding the key's rarest bigram and the next rarest
    ones under the cap: a few index range scans, capped, instead of a scan of every project's name.
    """
    grams = sorted(bigrams(key))
    if not grams:
        return []
    await session.flush()
    connection = await session.connection()
    row = (await connection.execute(
        _gram_counts_statement(len(grams)), {f"g{i}": gram for i, gram in enumerate(grams)})).one()
    ranked = sorted(zip(row, grams, strict=True))
    if ranked[0][0] == 0:
        return []
    if ranked[0][0] >= GRAM_COUNT_CAP:
        return None
    chosen = [gram for count, gram in ranked[:1 + CHECKED_GRAMS] if count < GRAM_COUNT_CAP]
    statement = _gram_hits_statement(len(chosen))
    hits = await connection.execute(statement, {f"g{i}": gram for i, gram in enumerate(chosen)})
    return [int(project_id) for project_id in hits.scalars()]


# Built once per number of bigrams, with bound parameters g0, g1, …: building a dozen subqueries on
# every new name was a tenth of a 签约's time.
@functools.lru_cache(maxsize=128)
def _gram_counts_statement(grams: int) -> Any:
    """How many projects hold each of `grams` bigrams, counted up to GRAM_COUNT_CAP."""
    counts = [
        columns_select(func.count()).select_from(
            columns_select(literal(1)).where(col(ProjectGram.gram) == bindparam(f"g{i}"))
            .limit(GRAM_COUNT_CAP).subquery()
        ).scalar_subquery()
        for i in range(grams)
    ]
    return columns_select(*counts)


@functools.lru_cache(maxsize=8)
def _gram_hits_statement(grams: int) -> Any:
    """Projects holding bigram g0 and every other of the `grams` bound bigrams."""
    driver = _GRAM_DRIVER
    held = [
        exists().where(col(ProjectGram.gram) == bindparam(f"g{i}"), col(ProjectGram.project_id) == col(driver.project_id))
        for i in range(1, grams)
    ]
    return columns_select(col(driver.project_id)).where(col(driver.gram) == bindparam("g0"), *held)


async def fuzzy_candidates(
    session: AsyncSession, *, key: str, team_id: int | None, limit: int = 200
) -> list[Candidate]:
    """Projects worth scoring against a name: the team's own pool plus any whose name contains the key.

    Scoring every project of a province against each message would not scale; a squad's own projects
    plus substring hits keep the candidate set small while still catching "仲景" → "仲景医药健康产业园".
    The substring hits come from the name index (storage.name_index) as a list of ids, so the planner
    looks those projects up instead of guessing how many there are and scanning. Only the columns
    scoring needs are read: a squad's hundred projects as whole ORM objects were most of a new project's
    time.
    """
    hits = await _substring_hits(session, key)
    if hits == [] and team_id is None:
        return []
    params: dict[str, Any] = {"pattern": f"%{escape_like(key)}%", "team": team_id, "limit": limit}
    if hits:
        params["hits"] = hits
    statement = _candidates_statement(scan=hits is None, by_id=bool(hits), by_team=team_id is not None)
    # Columns, not entities: on the connection the ORM's execution path adds nothing but cost.
    connection = await session.connection()
    return [Candidate._make(row) for row in (await connection.execute(statement, params)).all()]


# Built once per shape, with bound parameters (pattern, hits, team, limit): building the conditions on
# every new name cost more than running them.
@functools.lru_cache(maxsize=8)
def _candidates_statement(*, scan: bool, by_id: bool, by_team: bool) -> Any:
    """The candidates query: substring matches (by scan, or among the name index's hits), or the team's."""
    pattern = bindparam("pattern", type_=String)
    contains = or_(col(Project.name_key).like(pattern, escape="\\"), col(Project.aliases).like(pattern, escape="\\"))
    conditions: list[ColumnElement[bool]] = []
    if scan:
        conditions.append(contains)
    elif by_id:
        conditions.append(and_(col(Project.id).in_(bindparam("hits", expanding=True)), contains))
    if by_team:
        conditions.append(col(Project.team_id) == bindparam("team"))
    return (
        columns_select(col(Project.id), col(Project.name), col(Project.name_key), col(Project.aliases),
                       col(Project.team_id), col(Project.stage))
        .where(col(Project.removed).is_not(true()), or_(*conditions))
        .order_by(col(Project.updated_at).desc())
        .limit(bindparam("limit"))
    )


async def team_projects(session: AsyncSession, *, team_id: int) -> Sequence[Project]:
    """A team's live projects (not removed), by stage order then id."""
    statement = select(Project).where(Project.team_id == team_id, col(Project.removed).is_(False)).order_by(
        col(Project.id)
    )
    return (await session.exec(statement)).all()


class HistoryLine(NamedTuple):
    """One event as a project's history shows it: who did what, and whether it was undone."""

    id: int
    member_id: int | None
    kind: str
    to_stage: str
    text: str
    created_at: datetime
    actor: str
    undone: bool


# Every 查 asks, so built once, as columns: fifteen Event objects cost more than reading them.
_PROJECT_EVENTS = (
    columns_select(col(Event.id), col(Event.member_id), col(Event.kind), col(Event.to_stage), col(Event.text),
                   col(Event.created_at), func.coalesce(col(Member.name), ""), col(_UNDO.id).is_not(None))
    .join(Member, col(Member.id) == col(Event.member_id), isouter=True)
    .join(_UNDO, col(_UNDO.undoes_event_id) == col(Event.id), isouter=True)
    .where(col(Event.project_id) == bindparam("project_id"), col(Event.kind) != "undo")
    .order_by(col(Event.created_at).desc(), col(Event.id).desc())
    .limit(bindparam("limit"))
)


async def project_events(session: AsyncSession, *, project_id: int, limit: int = 15) -> list[HistoryLine]:
    """A project's latest events, newest first, with the actor's name and whether it was undone."""
    connection = await session.connection()
    rows = await connection.execute(_PROJECT_EVENTS, {"project_id": project_id, "limit": limit})
    return [HistoryLine._make((*row[:7], bool(row[7]))) for row in rows]


async def later_events(session: AsyncSession, *, project_id: int, after_id: int) -> list[tuple[Event, str]]:
    """A project's events after `after_id` that still stand (not undone, not undos), oldest first, each with
    its actor's name: what an undo of the earlier event would pull the ground from under."""
    undo = _UNDO
    statement = (
        select(Event, func.coalesce(col(Member.name), ""))
        .join(Member, col(Member.id) == col(Event.member_id), isouter=True)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(col(Event.project_id) == project_id, col(Event.id) > after_id, col(Event.kind) != "undo",
               col(undo.id).is_(None))
        .order_by(col(Event.id))
    )
    return [(event, name) for event, name in (await session.exec(statement)).all()]


_OPEN_PROBLEMS = select(Problem).where(
    col(Problem.project_id) == bindparam("project_id"), col(Problem.resolved_at).is_(None),
    col(Problem.withdrawn).is_(False),
).order_by(col(Problem.opened_at), col(Problem.id))


async def open_problems(session: AsyncSession, *, project_id: int) -> Sequence[Problem]:
    """A project's open problems, oldest first."""
    return (await session.exec(_OPEN_PROBLEMS, params={"project_id": project_id})).all()


# --- events and undo ------------------------------------------------------------------------------

# Every change appends an event and stamps its project, and every stored message leaves an inbox row: these
# rows are written as plain statements on the session's connection, not by the ORM's unit of work. Nothing
# reads them back as objects in the same message and no flush hook watches them (the year counters and the
# name index follow the counted fields and names, not the timestamps), and a flush cost a 进展 a third of
# its time. Built once, with bound parameters.
_EVENT_TABLE: Table = Event.__table__  # type: ignore[attr-defined]  # SQLModel adds __table__ at runtime
_PROJECT_TABLE: Table = Project.__table__  # type: ignore[attr-defined]
_INBOX_TABLE: Table = InboundMessage.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id)
_TOUCH_PROJECT = (
    update(_PROJECT_TABLE).where(_PROJECT_TABLE.c.id == bindparam("project"))
    .values(updated_at=bindparam("moment"), last_event_at=bindparam("moment"))
)
_INSERT_INBOX = insert(_INBOX_TABLE)


async def add_event(
    session: AsyncSession, *, project_id: int | None, member_id: int | None, team_id: int | None, kind: str,
    from_stage: str, to_stage: str, text: str, data: str, undoes_event_id: int | None, source_platform: str,
    source_chat: str, source_message_id: str, created_at: datetime,
) -> int:
    """Append one event row and return its id."""
    connection = await session.connection()
    result = await connection.execute(_INSERT_EVENT, {
        "project_id": project_id, "member_id": member_id, "team_id": team_id, "kind": kind,
        "from_stage": from_stage, "to_stage": to_stage, "text": text, "data": data,
        "undoes_event_id": undoes_event_id, "source_platform": source_platform, "source_chat": source_chat,
        "source_message_id": source_message_id, "created_at": created_at,
    })
    return int(result.scalar_one())


async def touch_project(session: AsyncSession, *, project: Project, now: datetime) -> None:
    """Stamp a project's updated_at and last_event_at, in the database and on the object, without a flush.

    The object's other pending changes (a stage move) are still flushed by the ORM at commit.
    """
    if project.updated_at == now and project.last_event_at == now:  # created in this message
        return
    connection = await session.connection()
    await connection.execute(_TOUCH_PROJECT, {"project": project.id, "moment": now})
    set_committed_value(project, "updated_at", now)
    set_committed_value(project, "last_event_at", now)

async def last_undoable_event(session: AsyncSession, *, member_id: int, since: datetime) -> Event | None:
    """The member's most recent change since `since` that has not been undone yet."""
    undo = _UNDO
    statement = (
        select(Event)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(
            Event.member_id == member_id,
            col(Event.kind).not_in(_NOT_UNDONE),
            col(Event.created_at) >= since,
            col(undo.id).is_(None),
        )
        .order_by(col(Event.created_at).desc(), col(Event.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def undoable_events(session: AsyncSession, *, member_id: int, since: datetime) -> Sequence[Event]:
    """The member's changes since `since` that have not been undone yet, newest first."""
    undo = _UNDO
    statement = (
        select(Event)
        .join(undo, col(undo.undoes_event_id) == col(Event.id), isouter=True)
        .where(Event.member_id == member_id, col(Event.kind).not_in(_NOT_UNDONE), col(Event.created_at) >= since,
               col(undo.id).is_(None))
        .order_by(col(Event.created_at).desc(), col(Event.id).desc())
    )
    return (await session.exec(statement)).all()


async def mark_unchanged(session: AsyncSession, *, member_id: int, text: str, now: datetime) -> None:
    """Remember that the member's latest update changed nothing (for the next 撤销)."""
    connection = await session.connection()
    await connection.execute(update(Member).where(col(Member.id) == member_id)
                             .values(last_unchanged_at=now, last_unchanged_text=text[:200]))


async def is_undone(session: AsyncSession, *, event_id: int) -> bool:
    """Whether an undo event already reverses this event."""
    statement = select(Event.id).where(Event.undoes_event_id == event_id)
    return (await session.exec(statement)).first() is not None


# --- the inbox (redelivery) and pending questions -------------------------------------------------

async def add_inbox_row(
    session: AsyncSession, *, platform: str, message_id: str, identity: str, reply: str, now: datetime,
) -> None:
    """Record a handled platform message with its reply (IntegrityError if it was handled before)."""
    connection = await session.connection()
    await connection.execute(_INSERT_INBOX, {"platform": platform, "message_id": message_id, "identity": identity,
                                             "reply": reply, "created_at": now})


async def stored_reply(session: AsyncSession, *, platform: str, message_id: str) -> str | None:
    """The reply stored for a message already handled, if it was."""
    statement = select(InboundMessage.reply).where(
        InboundMessage.platform == platform, InboundMessage.message_id == message_id
    )
    return (await session.exec(statement)).first()


_PENDING_TABLE: Table = PendingChoice.__table__  # type: ignore[attr-defined]
_PENDING_CHOICE = select(PendingChoice).where(
    col(PendingChoice.identity) == bindparam("identity"), col(PendingChoice.chat_id) == bindparam("chat_id"))
_DROP_PENDING = delete(_PENDING_TABLE).where(
    _PENDING_TABLE.c.identity == bindparam("identity"), _PENDING_TABLE.c.chat_id == bindparam("chat_id"))
_INSERT_PENDING = insert(_PENDING_TABLE)


async def pending_choice(session: AsyncSession, *, identity: str, chat_id: str) -> PendingChoice | None:
    """The question this person was last asked in this chat, if still open."""
    return (await session.exec(_PENDING_CHOICE, params={"identity": identity, "chat_id": chat_id})).first()


async def drop_choice(session: AsyncSession, *, identity: str, chat_id: str) -> None:
    """Forget the question this person was asked in this chat (answered, cancelled or moved on from)."""
    connection = await session.connection()
    await connection.execute(_DROP_PENDING, {"identity": identity, "chat_id": chat_id})


async def ask_choice(
    session: AsyncSession, *, identity: str, chat_id: str, command_text: str, options: str, now: datetime,
) -> None:
    """Store the question just asked in this chat, replacing the one still open there (at most one each)."""
    connection = await session.connection()
    key = {"identity": identity, "chat_id": chat_id}
    await connection.execute(_DROP_PENDING, key)
    await connection.execute(_INSERT_PENDING, {**key, "command_text": command_text, "options": options,
                                               "created_at": now})


async def target_row(session: AsyncSession, *, year: int, scope: str, stage: str) -> Target | None:
    """One stored target (a year's number for the district or a squad, for one stage), if set."""
    statement = select(Target).where(col(Target.year) == year, col(Target.scope) == scope, col(Target.stage) == stage)
    return (await session.exec(statement)).first()
