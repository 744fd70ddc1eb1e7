"""Verification and forecasts a leader can sign (issue 14), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from handlers.report_calendar import year_bounds_utc
from storage.models import Project
from tests.helpers import DISTRICT_TZ, Chat, MovableClock, district_scan, make_core, squad_with_members

LEADER = "王局"


def leader_chat(sessions, clock: MovableClock, **settings: object) -> Chat:
    """A core where console:王局 is a leader."""
    return Chat(make_core(sessions, clock, leaders=[f"console:{LEADER}"], **settings), clock)


async def project(sessions, project_id: int) -> Project:
    async with sessions() as session:
        found = await session.get(Project, project_id)
        assert found is not None
        return found


async def test_verifying_a_landing_verifies_the_signing_it_implies(sessions, clock) -> None:
    chat = leader_chat(sessions, clock, require_verification=True)
    await squad_with_members(chat, "德化街", "张伟", LEADER)
    await chat.ok("张伟", "落地 宇通客车基地 12亿")  # straight to 落地: counts as signed too
    await chat.ok("张伟", "签约 京东结算中心 5亿")
    reply = await chat.ok(LEADER, "核实 #1")
    assert "已核实签约、落地" in reply.text
    stored = await project(sessions, 1)
    assert stored.signed_verified_at is not None and stored.landed_verified_at is not None
    start, end = year_bounds_utc(2026, DISTRICT_TZ)
    async with sessions() as session:
        tally = await district_scan(session, start=start, end=end, require_verification=True)
    assert (tally.signed, tally.landed) == (1, 1)  # never more landed than signed
    queue = await chat.ok(LEADER, "核实")
    assert "#2 京东结算中心" in queue.text and "#1 " not in queue.text
    await chat.refused(LEADER, "核实 #1")  # already verified, and says so


async def test_verify_a_whole_list_after_showing_it_and_undo_it_as_one(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟", LEADER)
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "签约 京东结算中心 5亿")
    await chat.ok("张伟", "落地 宇通客车基地 12亿")
    await chat.ok("刘洋", "签约 美团区域总部 3亿")
    asked = await chat.ok(LEADER, "核实 德化街")
    assert "将核实德化街的 2 个" in asked.text and "尚未保存" in asked.text and "美团" not in asked.text
    assert (await project(sessions, 1)).signed_verified_at is None
    done = await chat.ok(LEADER, "1")
    assert "已核实 2 个" in done.text
    assert (await project(sessions, 2)).signed_verified_at is not None
    await chat.ok(LEADER, "撤销")
    assert (await project(sessions, 1)).signed_verified_at is None
    assert (await project(sessions, 2)).landed_verified_at is None
    assert "将核实全区的 3 个" in (await chat.ok(LEADER, "核实 全部")).text
    await chat.refused("张伟", "核实 全部")  # leaders only


async def test_reaching_the_expected_stage_closes_the_expectation(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "洽谈 宁德时代储能项目 30亿")
    await chat.ok("张伟", "预计 #1 签约 2027-09-01")
    assert "预计：2027-09-01" in (await chat.ok("张伟", "查 #1")).text
    await chat.ok("张伟", "签约 #1")
    stored = await project(sessions, 1)
    assert (stored.expected_stage, stored.expected_date) == ("", None)
    assert "\n预计：" not in (await chat.ok("张伟", "查 #1")).text  # the card's line; history keeps it
    forecast = await chat.ok("张伟", "预计")
    assert "签约：已 1，预计年底 1" in forecast.text
    await chat.ok("张伟", "撤销")  # undoing the signing brings the expectation back
    async with sessions() as session:
        back = (await session.exec(select(Project))).one()
    assert (back.stage, back.expected_stage, str(back.expected_date)) == ("attracting", "signed", "2027-09-01")
