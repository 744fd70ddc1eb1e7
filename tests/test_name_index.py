"""The project name index (storage.name_index) answers exactly what a scan of the project table would.

projects_named and fuzzy_candidates read the index; the reference answers below are the scans they
replaced. Random projects, renames, aliases, removals and deletions over several flushes and
transactions must leave both in agreement for many keys, and the index equal to a rebuild.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Table, delete, or_
from sqlmodel import SQLModel, col, select

from storage import name_index, name_lookup
from storage.db import SessionFactory, ensure_derived
from storage.models import Project, ProjectGram, ProjectKey, Team
from tests.helpers import DISTRICT_TZ, Chat, MovableClock, make_core, squad_with_members

ALPHABET = "华润万象城胖东来比亚迪AB1"  # few characters: names share pieces, as real ones do


async def named_by_scan(session, key: str) -> list[int]:
    """The old projects_named: name key or alias equal to `key`, by scanning."""
    statement = select(Project.id).where(
        col(Project.removed).is_(False),
        or_(col(Project.name_key) == key,
            col(Project.aliases).like(f"%|{name_lookup.escape_like(key)}|%", escape="\\")),
    ).order_by(col(Project.id))
    return list((await session.exec(statement)).all())


async def contained_by_scan(session, key: str, team_id: int | None) -> set[int]:
    """The old fuzzy_candidates' rows: the squad's projects plus any whose name or alias contains `key`."""
    pattern = f"%{name_lookup.escape_like(key)}%"
    conditions = [col(Project.name_key).like(pattern, escape="\\"), col(Project.aliases).like(pattern, escape="\\")]
    if team_id is not None:
        conditions.append(col(Project.team_id) == team_id)
    statement = select(Project.id).where(col(Project.removed).is_(False), or_(*conditions))
    return set((await session.exec(statement)).all())


async def index_rows(sessions: SessionFactory) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Both index tables, sorted."""
    async with sessions() as session:
        keys = (await session.exec(select(ProjectKey.key, ProjectKey.project_id))).all()
        grams = (await session.exec(select(ProjectGram.gram, ProjectGram.project_id))).all()
    return sorted(map(tuple, keys)), sorted(map(tuple, grams))


def random_key(rng: random.Random) -> str:
    """A name key of 1–6 characters from the small alphabet."""
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))).casefold()


# With a cap of 3 most bigrams count as too common, so fuzzy_candidates also takes its scan path.
@pytest.mark.parametrize("cap", [name_lookup.GRAM_COUNT_CAP, 3])
async def test_index_answers_as_the_scans_through_random_changes(sessions, cap: int, monkeypatch) -> None:
    monkeypatch.setattr(name_lookup, "GRAM_COUNT_CAP", cap)
    rng = random.Random(5)
    async with sessions() as session, session.begin():
        teams = [Team(name=f"队{i}", invite_code=f"code{i}", created_at=MovableClock()()) for i in range(3)]
        session.add_all(teams)
    team_ids = [team.id for team in teams]
    now = MovableClock()()
    for _round in range(12):
        async with sessions() as session, session.begin():
            projects = list((await session.exec(select(Project))).all())
            for _ in range(rng.randint(1, 8)):
                roll = rng.random()
                if roll < 0.4 or not projects:
                    key = random_key(rng)
                    project = Project(name=key, name_key=key, team_id=rng.choice(team_ids), created_at=now,
                                      updated_at=now, last_event_at=now)
                    session.add(project)
                    projects.append(project)
                elif roll < 0.6:
                    project = rng.choice(projects)
                    project.name_key = random_key(rng)  # a rename
                elif roll < 0.8:
                    project = rng.choice(projects)
                    aliases = [a for a in project.aliases.split("|") if a] + [random_key(rng)]
                    project.aliases = "|" + "|".join(rng.sample(aliases, k=min(len(aliases), 2))) + "|"
                elif roll < 0.9:
                    rng.choice(projects).removed = rng.random() < 0.7
                else:
                    await session.flush()  # several flushes in one transaction
        async with sessions() as session:
            for _ in range(25):
                key = random_key(rng)
                named = [p.id for p in await name_lookup.projects_named(session, key=key)]
                assert named == await named_by_scan(session, key), key
                for team_id in (None, rng.choice(team_ids)):
                    found = {c.id for c in await name_lookup.fuzzy_candidates(session, key=key, team_id=team_id,
                                                                           limit=10_000)}
                    expected = await contained_by_scan(session, key, team_id)
                    if len(key) == 1:  # no bigram: only the squad's own projects
                        expected = await contained_by_scan(session, "§never§", team_id)
                    assert found == expected, (key, team_id)

    kept = await index_rows(sessions)
    assert kept[0] and kept[1]
    engine = sessions.kw["bind"]
    assert await ensure_derived(engine, tz=DISTRICT_TZ) == ["tallies", "name_index"]  # never built before
    assert await index_rows(sessions) == kept
    assert await ensure_derived(engine, tz=DISTRICT_TZ) == []


async def test_deleting_a_project_removes_its_keys(sessions) -> None:
    now = MovableClock()()
    async with sessions() as session, session.begin():
        team = Team(name="德化街", invite_code="c1", created_at=now)
        session.add(team)
        await session.flush()
        project = Project(name="华润万象城", name_key="华润万象城", aliases="|万象城|", team_id=team.id or 0,
                          created_at=now, updated_at=now, last_event_at=now)
        session.add(project)
    assert await index_rows(sessions) != ([], [])
    async with sessions() as session, session.begin():
        await session.delete(await session.get(Project, project.id))
    assert await index_rows(sessions) == ([], [])


async def test_a_project_is_found_by_its_alias_and_by_a_piece_of_its_name(sessions) -> None:
    clock = MovableClock()
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "谋划 仲景医药健康产业园 5亿")
    await chat.ok("张伟", "改 #1 别名 仲景药业")
    reply = await chat.ok("刘洋", "查 仲景药业")  # another squad's project, by its alias
    assert "仲景医药健康产业园" in reply.text
    reply = await chat.say("刘洋", "查 医药健康")  # a piece of the name: the one project holding it
    assert "仲景医药健康产业园" in reply.text
    # The bulk path: rows written around the ORM are indexed by a forced rebuild.
    engine = sessions.kw["bind"]
    table: Table = SQLModel.metadata.tables["project_key"]
    async with engine.begin() as connection:
        await connection.execute(delete(table))
    assert await ensure_derived(engine, tz=DISTRICT_TZ, force=True) == ["tallies", "name_index", "company_keys"]
    reply = await chat.ok("刘洋", "查 仲景药业")
    assert "仲景医药健康产业园" in reply.text
    assert name_index.bigrams("仲景") == {"仲景"} and name_index.bigrams("仲") == set()
