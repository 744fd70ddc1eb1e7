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
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from handlers.dispatch import Core
from handlers.messages import Incoming, Reply
from storage import activity_tallies, report_weeks, tallies
from storage.db import SessionFactory, create_engine, lost_a_race
from storage.models import (
    STAGE_ORDER,
    STAGES,
    ActivityRollup,
    ActivityTally,
    BreakdownYearTally,
    Event,
    Project,
    ReportWeek,
    TeamYearTally,
)
from tests.helpers import DISTRICT_TZ, MovableClock, make_core
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


async def test_a_burst_from_two_squads_stores_every_update_and_keeps_the_counters(
        db_url: str, engine: AsyncEngine, sessions: SessionFactory) -> None:
    """Eight members of two squads sign, create and receive the same companies at the same instant, round
    after round: every message is stored (none fails on a deadlock between the squad's lock, the clash
    rows and the shared counter rows every 签约 of the year adds to), and each counter equals a rebuild."""
    first = [201, 202, 203, 204]
    second = [301, 302, 303, 304]
    squad = await seed_squad(db_url, first, projects=6, team="一队")
    await seed_squad(db_url, second, team="二队")
    core = make_core(sessions, MovableClock(NOW))
    for round_ in range(6):
        messages: list[tuple[int, str]] = []
        for index, user in enumerate(first + second):
            # The two squads court the same companies (a 撞单 for the later one), no fuzzy neighbours.
            name = "".join(chr(0x5000 + 64 * round_ + 8 * (index % 4) + k) for k in range(4))
            kind = index % 4
            if kind == 0 and index < 4:  # a stage move of one of the squad's projects (an update, then an event)
                messages.append((user, f"签约 #{squad.projects[round_]} 3亿"))
            else:  # a new project (which holds the squad), a reception, a plan
                messages.append((user, (f"签约 {name}有限公司 2亿", f"接待 公司:{name}集团", f"谋划 {name} 1亿",
                                        f"落地 {name}基地 5亿")[kind]))
        replies = await at_once(core, *messages)
        assert all(reply.ok for reply in replies), [reply.text for reply in replies if not reply.ok]
    kept = await counter_snapshot(sessions)
    assert kept["team_year"] and kept["activity"] and kept["report_week"]
    async with engine.begin() as connection:
        await connection.run_sync(tallies.rebuild, DISTRICT_TZ)
        await connection.run_sync(activity_tallies.rebuild, DISTRICT_TZ)
        await connection.run_sync(report_weeks.rebuild, DISTRICT_TZ)
    assert await counter_snapshot(sessions) == kept


async def counter_snapshot(sessions: SessionFactory) -> dict[str, set[tuple[object, ...]]]:
    """Every counter table's non-zero rows."""
    tables = {"team_year": (TeamYearTally, "projects"), "breakdown_year": (BreakdownYearTally, "projects"),
              "activity": (ActivityTally, "count"), "rollup": (ActivityRollup, "count"),
              "report_week": (ReportWeek, "reports")}
    found: dict[str, set[tuple[object, ...]]] = {}
    async with sessions() as session:
        for name, (model, amount) in tables.items():
            rows = (await session.exec(select(model))).all()
            found[name] = {tuple(sorted(row.model_dump().items())) for row in rows if getattr(row, amount)}
    return found


async def real_deadlock(url: str) -> DBAPIError:
    """The error PostgreSQL raises in the transaction it aborts to break a lock cycle (two transactions
    each holding one row and asking for the other's)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as setup:
            await setup.exec_driver_sql("CREATE TABLE IF NOT EXISTS race_rows (id int PRIMARY KEY)")
            await setup.exec_driver_sql("INSERT INTO race_rows VALUES (1), (2) ON CONFLICT DO NOTHING")
        first_holds, second_holds = asyncio.Event(), asyncio.Event()

        async def take(mine: int, other: int, held: asyncio.Event, wait_for: asyncio.Event) -> None:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(f"SELECT id FROM race_rows WHERE id = {mine} FOR UPDATE")
                held.set()
                await wait_for.wait()
                await connection.exec_driver_sql(f"SELECT id FROM race_rows WHERE id = {other} FOR UPDATE")

        outcomes = await asyncio.gather(take(1, 2, first_holds, second_holds), take(2, 1, second_holds, first_holds),
                                        return_exceptions=True)
        (error,) = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        assert isinstance(error, DBAPIError), repr(error)
        return error
    finally:
        async with engine.begin() as cleanup:
            await cleanup.exec_driver_sql("DROP TABLE IF EXISTS race_rows")
        await engine.dispose()


async def test_a_message_aborted_to_break_a_deadlock_is_run_again_and_stored_once(
        postgres_database: str, db_url: str, sessions: SessionFactory) -> None:
    """PostgreSQL aborts one transaction of a lock cycle; the core runs that message again (nothing of it
    was stored), so the sender gets their card, not an error, and the update is stored once."""
    error = await real_deadlock(postgres_database)
    assert lost_a_race(error)
    squad = await seed_squad(db_url, [MEMBER], projects=1)
    built = make_core(sessions, MovableClock(NOW))

    class AbortedOnce(Core):
        aborted = 0

        async def _handle(self, incoming: Incoming) -> Reply:
            if not self.aborted:  # the first run is the deadlock's victim: PostgreSQL rolled it all back
                self.aborted += 1
                raise error
            return await super()._handle(incoming)

    core = AbortedOnce(settings=built.settings, sessions=sessions, catalog=built.catalog, clock=built.clock)
    project_id = squad.projects[0]
    reply = await core.handle(Incoming(platform="telegram", user_id=str(MEMBER), text=f"进展 #{project_id} 对方来访",
                                       chat_id=str(MEMBER), display_name="m", message_id=f"d{next(_IDS)}"))
    assert reply.ok and core.aborted == 1, reply.text
    _, events = await state(sessions, project_id)
    assert [event.kind for event in events].count("note") == 1
