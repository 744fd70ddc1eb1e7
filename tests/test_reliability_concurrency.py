"""Concurrency (issue 7): two people change the same project at the same instant, on SQLite and PostgreSQL.

Each trial runs two `Core.handle` calls with asyncio.gather on one engine (as the web server does with
two webhook requests). Whatever the interleaving, both events are kept (or the second is refused because
the first made it impossible), the final project state is what applying the stored events in order gives
(no lost update), the counting-rule timestamps agree with the stage, and each event's undo snapshot holds
the state it really replaced (so an undo never brings back what the other person changed).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from handlers.dispatch import Core
from handlers.messages import Incoming, Reply
from storage.db import SessionFactory
from storage.models import STAGE_ORDER, STAGES, Event, Project
from tests.helpers import MovableClock, make_core
from tests.reliability_support import seed_squad

MEMBER, LEADER, OTHER = 101, 102, 103
TRIALS = 12
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
_IDS = iter(range(1, 10**9))


@pytest.fixture
async def core(db_url: str, engine: AsyncEngine, sessions: SessionFactory) -> Core:
    """A core whose squad has a member, a second member and a leader (ZSBOT_LEADERS)."""
    await seed_squad(db_url, [MEMBER, LEADER, OTHER])
    return make_core(sessions, MovableClock(NOW), leaders=[f"telegram:{LEADER}"])


async def new_project(sessions: SessionFactory, stage: str = "attracting") -> int:
    """A fresh project in `stage` for one trial (inserted directly: names never collide)."""
    async with sessions() as session, session.begin():
        team_id = (await session.exec(select(Project.team_id))).first()
        project = Project(name=f"并发项目{next(_IDS)}", name_key="", team_id=team_id or 1, stage=stage,
                          created_at=NOW, updated_at=NOW, last_event_at=NOW,
                          **{f"{s}_at": NOW for s in STAGES[: STAGE_ORDER[stage] + 1]})
        session.add(project)
        await session.flush()
        assert project.id is not None
        return project.id


async def at_once(core: Core, *messages: tuple[int, str]) -> list[Reply]:
    """Send the messages concurrently, each from its own private chat."""
    return list(await asyncio.gather(*(core.handle(Incoming(
        platform="telegram", user_id=str(user), text=text, chat_id=str(user), display_name=str(user),
        message_id=f"c{next(_IDS)}")) for user, text in messages)))


async def state(sessions: SessionFactory, project_id: int) -> tuple[Project, list[Event]]:
    """The project as stored and its events, oldest first."""
    async with sessions() as session:
        project = await session.get(Project, project_id)
        events = (await session.exec(select(Event).where(Event.project_id == project_id)
                                     .order_by(col(Event.id)))).all()
    assert project is not None
    return project, list(events)


def assert_stage_timestamps(project: Project) -> None:
    """The counting rule: every stage up to the current one has its time, no later stage has one."""
    reached = STAGE_ORDER[project.stage]
    for stage in STAGES:
        stamped = getattr(project, f"{stage}_at") is not None
        assert stamped == (STAGE_ORDER[stage] <= reached), (project.stage, stage, stamped)


async def test_a_stage_move_and_an_amount_edit_at_once_keep_both(core: Core, sessions: SessionFactory) -> None:
    """A member signs while the leader sets the amount: both stored, the project signed with the amount."""
    for _ in range(TRIALS):
        project_id = await new_project(sessions)
        replies = await at_once(core, (MEMBER, f"签约 #{project_id}"), (LEADER, f"改 #{project_id} 金额 3亿"))
        assert all(reply.ok for reply in replies), [reply.text for reply in replies]
        project, events = await state(sessions, project_id)
        assert sorted(event.kind for event in events) == ["edit", "stage"]
        assert project.stage == "signed" and project.amount_yuan == 300_000_000
        assert project.attracting_at == NOW and project.signed_at is not None
        assert_stage_timestamps(project)
        # Each event's undo snapshot holds exactly what it changed, as it was before (so undoing the 签约
        # cannot take the leader's amount back, and undoing the amount cannot move the stage).
        snapshots = {event.kind: json.loads(event.data)["before"] for event in events}
        assert snapshots["stage"] == {"stage": "attracting", "signed_at": None}
        assert snapshots["edit"] == {"amount_yuan": None, "amount_text": ""}


async def test_two_stage_moves_at_once_leave_a_consistent_chain(core: Core, sessions: SessionFactory) -> None:
    """One member signs, another lands, at once: the stage events form one chain from 招引 (each starts
    where the previous ended), the project is where the last one put it, and a move the other made
    impossible (签约 after 落地 is backwards) is refused rather than half-applied."""
    outcomes = set()
    for _ in range(TRIALS):
        project_id = await new_project(sessions)
        sign, land = await at_once(core, (MEMBER, f"签约 #{project_id}"), (OTHER, f"落地 #{project_id}"))
        assert land.ok, land.text
        project, events = await state(sessions, project_id)
        moves = [(event.from_stage, event.to_stage) for event in events if event.kind == "stage"]
        if sign.ok:
            assert moves == [("attracting", "signed"), ("signed", "landed")], moves
        else:
            assert "不能退回" in sign.text and moves == [("attracting", "landed")], (sign.text, moves)
        outcomes.add(sign.ok)
        assert project.stage == "landed"
        assert_stage_timestamps(project)
        assert len(events) == len(moves)
    assert outcomes  # (either order is correct; which one won is up to the scheduler)


async def test_two_amount_edits_at_once_both_kept_last_one_wins(core: Core, sessions: SessionFactory) -> None:
    """Two edits of one field: both events stored, the project holds the later event's value, and the later
    event's snapshot holds the earlier one's (undoing it restores the other person's amount)."""
    for _ in range(TRIALS):
        project_id = await new_project(sessions)
        replies = await at_once(core, (MEMBER, f"改 #{project_id} 金额 3亿"), (LEADER, f"改 #{project_id} 金额 5亿"))
        assert all(reply.ok for reply in replies), [reply.text for reply in replies]
        project, events = await state(sessions, project_id)
        assert [event.kind for event in events] == ["edit", "edit"]
        values = {"金额: 3亿": 300_000_000, "金额: 5亿": 500_000_000}
        earlier, later = events
        assert project.amount_yuan == values[later.text.replace("元", "")]
        assert json.loads(later.data)["before"]["amount_yuan"] == values[earlier.text.replace("元", "")]


async def test_an_undo_racing_another_members_change_keeps_that_change(core: Core, sessions: SessionFactory) -> None:
    """A member undoes their 签约 while a colleague records the amount: the undo puts the stage back and
    the colleague's amount survives, whichever commits first."""
    for _ in range(TRIALS):
        project_id = await new_project(sessions)
        assert (await at_once(core, (MEMBER, f"签约 #{project_id}")))[0].ok
        undo, edit = await at_once(core, (MEMBER, "撤销"), (OTHER, f"改 #{project_id} 金额 3亿"))
        assert undo.ok and edit.ok, (undo.text, edit.text)
        project, events = await state(sessions, project_id)
        assert project.stage == "attracting" and project.signed_at is None
        assert_stage_timestamps(project)
        assert sorted(event.kind for event in events) == ["edit", "stage", "undo"]
        if [event.kind for event in events][-1] == "undo":
            # The undo came second: it restores the stage but must not take the amount back to None.
            assert project.amount_yuan == 300_000_000, "the undo erased a colleague's later change"


async def test_the_same_new_project_reported_twice_at_once_is_created_once(core: Core, sessions: SessionFactory) -> None:
    """Two members report one new project at the same instant (each with a detail of their own): one
    project, created by one of them and updated by the other, both details kept."""
    for trial in range(TRIALS):
        name = "".join(chr(0x6000 + 4 * trial + k) for k in range(4))  # no fuzzy neighbours
        first, second = await at_once(core, (MEMBER, f"谋划 {name} 2亿"), (OTHER, f"谋划 {name} @上海"))
        assert first.ok and second.ok, (first.text, second.text)
        async with sessions() as session:
            projects = (await session.exec(select(Project).where(Project.name == name))).all()
            assert len(projects) == 1, "created twice"
            (project,) = projects
            kinds = sorted((await session.exec(select(Event.kind).where(Event.project_id == project.id))).all())
        assert kinds == ["create", "edit"], (first.text, second.text)
        assert project.amount_yuan == 200_000_000 and project.place == "上海" and project.stage == "planned"
