"""Undo never loses another change (issue 14), on SQLite and PostgreSQL.

Random interleavings of updates and undos by two members of one squad (and a leader who verifies) on a
few projects. After every step, the project rows, the event history and the yearly counters agree with a
replay of the events that still stand: the stage is the last surviving move's, exactly the stages some
surviving move reached are stamped, a project whose creation was undone is out of the pools, and the
counters equal the count over the projects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from storage.db import create_engine, session_factory
from storage.models import STAGE_ORDER, STAGES, Event, Project
from tests.helpers import ADMIN, DISTRICT_TZ, Chat, MovableClock, make_core
from tests.test_year_tallies import assert_counters_match_projects

MEMBERS = ("张伟", "李娜")
LEADER = "王局"
PROJECTS = ("华润万象城三期", "胖东来旗舰店", "宁德时代储能")
# Two projects, so the members keep running into each other's changes; undo weighted like the moves.
STEPS = st.one_of(
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from(["洽谈", "签约", "落地"]), st.integers(1, 2),
              st.sampled_from(["", " 3亿"])),
    st.tuples(st.sampled_from(MEMBERS), st.just("撤销"), st.just(0), st.just("")),
    st.tuples(st.sampled_from(MEMBERS), st.just("撤销"), st.just(0), st.just("")),
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from(["进展", "改", "放弃"]), st.integers(1, 2),
              st.sampled_from([" 金额 8亿"])).map(lambda s: (s[0], s[1], s[2], " 对方完成尽调" if s[1] != "改" else s[3])),
    st.tuples(st.just(LEADER), st.just("核实"), st.integers(1, 2), st.just("")),
)
_MOVES = ("create", "stage", "drop")


class Squad:
    """A squad of two members and three projects on a private event loop (Hypothesis drives plain code)."""

    def __init__(self, url: str) -> None:
        self.runner = asyncio.Runner()
        self.engine = create_engine(url)
        self.sessions = session_factory(self.engine, tz=DISTRICT_TZ)
        self.clock = MovableClock()
        self.chat = Chat(make_core(self.sessions, self.clock, leaders=[f"console:{LEADER}"]), self.clock)
        self.serial = 0
        self.runner.run(self._seed())

    async def _seed(self) -> None:
        reply = await self.chat.ok(ADMIN, "建队 德化街")
        code = reply.text.split("邀请码：")[1].split()[0]
        for member in (*MEMBERS, LEADER):
            await self.chat.ok(member, f"加入 {code}")
        for name in PROJECTS:
            await self.chat.ok(MEMBERS[0], f"谋划 {name}")

    def say(self, user: str, message: str) -> None:
        """One message, a few minutes after the last (within the undo window)."""
        self.clock.advance(minutes=3)
        self.runner.run(self.chat.say(user, message))

    def fresh_projects(self, count: int) -> list[int]:
        """New projects for one example (the ones before have long left the undo window)."""
        self.clock.advance(hours=1)
        ids = []
        for _ in range(count):
            self.serial += 1
            # Names with nothing in common, so no two are ever "close" (that would be asked about).
            name = "".join(chr(0x4E00 + (self.serial * 7919 + k * 104729) % 20000) for k in range(4))
            reply = self.runner.run(self.chat.ok(MEMBERS[0], f"谋划 「{name}」"))
            ids.append(int(reply.text.split("#")[1].split()[0]))
        return ids

    def check(self) -> None:
        """Rows and counters agree with a replay of the surviving events."""
        self.runner.run(self._check())

    async def _check(self) -> None:
        async with self.sessions() as session:
            undone = set((await session.exec(text("SELECT undoes_event_id FROM event WHERE kind = 'undo'"))).scalars())
            for project in (await session.exec(select(Project))).all():
                events = (await session.exec(select(Event).where(Event.project_id == project.id)
                                             .order_by(Event.id))).all()
                moves = [e for e in events if e.kind in _MOVES and e.id not in undone]
                if not any(e.kind == "create" for e in moves):
                    assert project.removed, (project.name, [(e.id, e.kind) for e in events])
                    continue
                assert not project.removed
                assert project.stage == moves[-1].to_stage, (project.name, project.stage, moves[-1].to_stage)
                reached = {s for e in moves if e.to_stage in STAGE_ORDER for s in STAGES[: STAGE_ORDER[e.to_stage] + 1]}
                stamped = {s for s in STAGES if getattr(project, f"{s}_at") is not None}
                assert stamped == reached, (project.name, stamped, reached)
                for event in events:  # nothing stands on a change that was taken back
                    if event.id in undone:
                        later = [e for e in events if e.id > event.id and e.id not in undone and e.kind != "undo"
                                 and json.loads(e.data or "{}").get("batch") is None]
                        assert not (event.kind == "create" and later), (project.name, event.id)
        await assert_counters_match_projects(self.sessions)

    def close(self) -> None:
        """Dispose of the engine and the loop."""
        self.runner.run(self.engine.dispose())
        self.runner.close()


@pytest.fixture
def squad(db_url: str) -> Iterator[Squad]:
    """The squad on each backend."""
    made = Squad(db_url)
    try:
        yield made
    finally:
        made.close()


def test_undo_by_anyone_in_any_order_keeps_rows_history_and_counters_consistent(squad: Squad) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(STEPS, min_size=2, max_size=12))
    def check(steps: list[tuple[str, str, int, str]]) -> None:
        projects = squad.fresh_projects(2)
        for user, verb, number, rest in steps:
            squad.say(user, f"{verb} #{projects[number - 1]}{rest}" if number else verb)
            squad.check()

    check()


async def test_undo_refuses_to_take_back_what_a_colleague_built_on(chat, sessions, clock) -> None:
    """The issue's case: A signs #1, B lands #1, A's 撤销 says what came after and who did it."""
    reply = await chat.ok(ADMIN, "建队 德化街")
    code = reply.text.split("邀请码：")[1].split()[0]
    for member in MEMBERS:
        await chat.ok(member, f"加入 {code}")
    await chat.ok("张伟", "洽谈 万达广场二期 3亿")
    clock.advance(minutes=1)
    await chat.ok("张伟", "签约 #1")
    clock.advance(minutes=1)
    await chat.ok("李娜", "落地 #1")
    clock.advance(minutes=1)
    refusal = await chat.refused("张伟", "撤销")
    assert "李娜" in refusal.text and "落地" in refusal.text and "撤销" in refusal.text
    async with sessions() as session:
        project = await session.get(Project, 1)
        assert project is not None and project.stage == "landed"
    # A note nothing later touched is undone alone, though a colleague changed the project after it.
    await chat.ok("张伟", "进展 #1 对方完成尽调")
    clock.advance(minutes=1)
    await chat.ok("李娜", "改 #1 金额 5亿")
    clock.advance(minutes=1)
    assert "进展记录" in (await chat.ok("张伟", "撤销")).text
