"""Finding a project by what people call it: its exact name or alias, its company, or close names through the bigram index (storage.name_index)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    true,
)
from sqlalchemy import select as columns_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Project, ProjectGram, ProjectKey
from storage.name_index import bigrams

_KEY_DROP = re.compile(r"[\s\"'“”‘’「」《》()（）\-_.,，。·]+")


def name_key(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, without spaces, quotes and punctuation."""
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a user's `%` or `_` matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
    session: AsyncSession, *, key: str, team_id: int | None, limit: int = 200, scan_common: bool = True,
) -> list[Candidate]:
    """Projects worth scoring against a name: the team's own pool plus any whose name contains the key.

    Scoring every project of a province against each message would not scale; a squad's own projects
    plus substring hits keep the candidate set small while still catching "仲景" → "仲景医药健康产业园".
    `scan_common=False` (with no team): nothing for a key the index cannot narrow down, instead of a scan.
    The substring hits come from the name index (storage.name_index) as a list of ids, so the planner
    looks those projects up instead of guessing how many there are and scanning. Only the columns
    scoring needs are read: a squad's hundred projects as whole ORM objects were most of a new project's
    time.
    """
    hits = await _substring_hits(session, key)
    if (hits == [] or (hits is None and not scan_common)) and team_id is None:
        return []  # scan_common=False: a key too common for the index is not worth a scan of every name
    params: dict[str, Any] = {"pattern": f"%{escape_like(key)}%", "team": team_id, "limit": limit}
    if hits:
        params["hits"] = hits
    statement = _candidates_statement(scan=hits is None, by_id=bool(hits), by_team=team_id is not None)
    # Columns, not entities: on the connection the ORM's execution path adds nothing but cost.
    connection = await session.connection()
    return [Candidate(*row) for row in (await connection.execute(statement, params)).all()]


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
