"""The yearly stage counters (storage.tallies) always equal the count from the projects themselves.

The reports read the counters; the window queries (storage.report_queries.stage_tallies and friends)
still count the projects directly. Long random histories of real messages — creations in every pool,
moves, 核实, 放弃, 撤销, edits of amount, industry and zone, across a New Year — must leave both in
agreement for every year and both verification settings, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import load_only
from sqlmodel import col, select

from bot.settings import Settings
from handlers.catalog import load_catalog
from handlers.dispatch import Core
from handlers.report_calendar import year_bounds_utc
from storage import report_queries as rq
from storage import tallies
from storage.db import SessionFactory, ensure_derived, session_factory
from storage.models import BreakdownYearTally, Project, TeamYearTally
from tests.helpers import DISTRICT_TZ, Chat, MovableClock, district_scan, make_core, squad_with_members

YEARS = (2025, 2026, 2027)
INDUSTRIES = ("现代商贸", "智能制造", "优质医疗", "")
ZONES = ("三环内", "四环至绕城")
LEADER = "李局长"
BRANDS = ("华润万象城", "胖东来", "比亚迪", "宁德时代", "京东方", "药明康德", "盒马鲜生", "蔚来汽车", "中芯国际",
          "隆基光伏", "迈瑞医疗", "安踏体育", "顺丰物流", "美团配送", "杉杉奥莱")


def nonzero(tallies: dict[object, rq.StageTally]) -> dict[object, rq.StageTally]:
    """Groups with something counted (a group may show all zeros on one side: nothing counts in the year)."""
    return {key: tally for key, tally in tallies.items() if tally != rq.StageTally()}


async def assert_counters_match_projects(sessions: SessionFactory, tz: ZoneInfo = DISTRICT_TZ) -> None:
    """For every year and both verification settings: counters == the count over the projects."""
    async with sessions() as session:
        for year in YEARS:
            start, end = year_bounds_utc(year, tz)
            for verification in (False, True):
                scanned = await rq.team_stage_counts(session, start=start, end=end,
                                                     require_verification=verification)
                counted = await rq.year_team_tallies(session, year=year, require_verification=verification)
                assert nonzero(counted) == nonzero(scanned), (year, verification)
                for team_id in (None, *scanned):
                    assert await rq.year_district_tally(
                        session, year=year, require_verification=verification, team_id=team_id
                    ) == await district_scan(
                        session, start=start, end=end, require_verification=verification, team_id=team_id
                    )
                from_counters = await rq.year_breakdowns(session, year=year, require_verification=verification)
                from_scan = await rq.breakdowns(session, start=start, end=end, require_verification=verification)
                for by in ("wheel", "industry", "zone"):
                    assert nonzero(getattr(from_counters, by)) == nonzero(getattr(from_scan, by)), (year, by)


async def counter_rows(sessions: SessionFactory) -> tuple[list[object], list[object]]:
    """Both counter tables' non-zero rows, in key order."""
    async with sessions() as session:
        team = (await session.exec(select(TeamYearTally).where(col(TeamYearTally.projects) != 0)
                                   .order_by(*TeamYearTally.__table__.primary_key.columns))).all()
        breakdown = (await session.exec(select(BreakdownYearTally).where(col(BreakdownYearTally.projects) != 0)
                                        .order_by(*BreakdownYearTally.__table__.primary_key.columns))).all()
        return [tuple(r.model_dump().values()) for r in team], [tuple(r.model_dump().values()) for r in breakdown]


class RandomHistory:
    """Random but realistic messages from two squads and a leader, with the clock moving on."""

    def __init__(self, chat: Chat, clock: MovableClock, seed: int) -> None:
        self.chat, self.clock = chat, clock
        self.rng = random.Random(seed)
        self.members = {"张伟": [], "刘洋": []}  # member → ids of their squad's projects
        self.created = 0
        self.last_actor: str | None = None
        self.accepted: dict[str, int] = {}  # verb → accepted changes, to show the history did something

    async def step(self) -> None:
        """One message (accepted or refused: both must leave the counters right)."""
        rng = self.rng
        roll = rng.random()
        if 0.62 <= roll < 0.72 and self.last_actor:
            # Undo right after the change (within the 30-minute window), by whoever made it.
            if (await self.chat.say(self.last_actor, "撤销")).ok:
                self.accepted["撤销"] = self.accepted.get("撤销", 0) + 1
            self.last_actor = None
            return
        self.clock.advance(hours=rng.choice((0, 1, 5, 13, 30)))
        member = rng.choice(list(self.members))
        own = self.members[member]
        if roll < 0.25 or not own:
            verb = rng.choice(("谋划", "洽谈", "签约", "落地"))
            self.created += 1
            name = f"{rng.choice(BRANDS)}{self.created}号"
            amount = rng.choice(("", f" {rng.randint(1, 40)}亿", f" {rng.randint(100, 900)}万"))
            industry = rng.choice(INDUSTRIES)
            reply = await self.chat.say(member, f"{verb} {name}{amount} {industry}".rstrip())
            created = await self._id_of(name)
            if reply.ok and created is not None:
                own.append(created)
                self.last_actor = member
            return
        project = rng.choice(own)
        if roll < 0.5 or roll >= 0.87:
            text = f"{rng.choice(('洽谈', '签约', '落地'))} #{project}"
        elif roll < 0.56:
            member, text = LEADER, f"核实 #{project}"
        elif roll < 0.62:
            text = f"放弃 #{project} 企业暂缓"
        else:
            field, value = rng.choice((
                ("金额", f"{rng.randint(1, 60)}亿"), ("行业", rng.choice(INDUSTRIES[:-1])), ("区域", rng.choice(ZONES)),
            ))
            text = f"改 #{project} {field} {value}"
        if (await self.chat.say(member, text)).ok:
            self.accepted[text.split()[0]] = self.accepted.get(text.split()[0], 0) + 1
            self.last_actor = member

    async def _id_of(self, name: str) -> int | None:
        async with self.chat.core.sessions() as session:
            return (await session.exec(select(Project.id).where(Project.name == name))).one_or_none()


@pytest.mark.parametrize("seed", [1, 2])
async def test_counters_equal_the_project_count_through_random_histories(engine, sessions, seed: int) -> None:
    # Starts three days before New Year (local), so moves land in both years.
    clock = MovableClock(datetime(2025, 12, 29, 1, 0, tzinfo=UTC))
    chat = Chat(make_core(sessions, clock, leaders=[f"console:{LEADER}"]), clock)
    code = await squad_with_members(chat, "德化街", "张伟")
    await chat.ok(LEADER, f"加入 {code}")
    await squad_with_members(chat, "长江路", "刘洋")
    history = RandomHistory(chat, clock, seed)
    for step in range(200):
        await history.step()
        if step % 50 == 49:
            await assert_counters_match_projects(sessions)
    await assert_counters_match_projects(sessions)
    assert all(history.accepted.get(verb, 0) >= 3 for verb in ("签约", "落地", "核实", "放弃", "撤销", "改")), \
        history.accepted

    # A rebuild from the projects gives the very rows the flushes kept.
    kept = await counter_rows(sessions)
    assert kept[0] and kept[1]
    await ensure_derived(engine, tz=DISTRICT_TZ, force=True)  # what `zsbot` runs after a bulk load
    assert await counter_rows(sessions) == kept


async def test_changes_to_unloaded_fields_and_deletions_keep_the_counters(sessions) -> None:
    clock = MovableClock()
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 华润万象城 30亿 现代商贸")
    await chat.ok("张伟", "谋划 胖东来 2亿 三环内")
    async with sessions() as session, session.begin():
        # Loaded without its counted fields: the old values must come from the database.
        project = (await session.exec(select(Project).options(load_only(col(Project.id), col(Project.name)))
                                      .where(Project.name == "华润万象城"))).one()
        project.amount_yuan = 50 * 10**8
        project.signed_at = None
    await assert_counters_match_projects(sessions)
    async with sessions() as session, session.begin():
        project = (await session.exec(select(Project).where(Project.name == "胖东来"))).one()
        project.removed = True
    await assert_counters_match_projects(sessions)
    async with sessions() as session, session.begin():
        project = (await session.exec(select(Project).where(Project.name == "华润万象城"))).one()
        project.removed = False
        await session.flush()
        project.landed_at = project.signed_at or datetime(2026, 3, 1, tzinfo=UTC)  # two flushes, one transaction
    await assert_counters_match_projects(sessions)
    async with sessions() as session, session.begin():
        await session.exec(select(Project))  # nothing changed: no counter write
    rows_before = await counter_rows(sessions)
    async with sessions() as session, session.begin():
        project = (await session.exec(select(Project).where(Project.name == "华润万象城"))).one()
        project.amount_yuan = 1
        await session.flush()
        await session.rollback()  # the counter change rolls back with the project's
    assert await counter_rows(sessions) == rows_before


async def test_ensure_rebuilds_for_a_new_time_zone_only(sessions) -> None:
    clock = MovableClock()
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    clock.now = datetime(2025, 12, 31, 18, 0, tzinfo=UTC)  # 1 Jan 2026 in Beijing, 31 Dec 2025 in New York
    await chat.ok("张伟", "签约 华润万象城 30亿")
    engine = sessions.kw["bind"]
    assert await tallies.ensure(engine, DISTRICT_TZ) is True  # never rebuilt before: records the zone
    assert await tallies.ensure(engine, DISTRICT_TZ) is False
    async with sessions() as session:
        assert (await rq.year_district_tally(session, year=2026, require_verification=False)).signed == 1
    new_york = ZoneInfo("America/New_York")
    assert await tallies.ensure(engine, new_york) is True
    async with sessions() as session:
        assert (await rq.year_district_tally(session, year=2026, require_verification=False)).signed == 0
        assert (await rq.year_district_tally(session, year=2025, require_verification=False)).signed == 1
    await assert_counters_match_projects(session_factory(engine, tz=new_york), new_york)


async def test_core_refuses_sessions_bucketed_in_another_zone(engine) -> None:
    settings = Settings(_env_file=None, timezone="Asia/Urumqi")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="bucket years"):
        Core(settings=settings.rules(), sessions=session_factory(engine, tz=DISTRICT_TZ), catalog=load_catalog(None))
