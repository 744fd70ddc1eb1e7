"""First-contact ownership (首谈负责制) and 转交 (issue 20): a company courted by two squads is flagged to the
sender, the first squad's captain and the leaders; a leader reassigns; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from handlers.ownership import matches
from storage import funds_queries
from storage.company_names import company_key
from storage.models import OwnershipClash, Project, TeamYearTally
from storage.name_lookup import name_key
from storage.ownership_queries import Courted
from tests.helpers import ADMIN, Chat, MovableClock, Notices, make_core, squad_with_members

LEADER = "王局"


def leader_chat(sessions, clock: MovableClock, notices: Notices | None = None) -> Chat:
    """A core where console:王局 is a leader, its notices recorded."""
    return Chat(make_core(sessions, clock, notifier=notices, leaders=[f"console:{LEADER}"]), clock)


async def clashes(sessions) -> list[OwnershipClash]:
    async with sessions() as session:
        return list((await session.exec(select(OwnershipClash).order_by(OwnershipClash.id))).all())


async def tallies(sessions) -> dict[tuple[int, str], int]:
    async with sessions() as session:
        rows = (await session.exec(select(TeamYearTally))).all()
    counts: dict[tuple[int, str], int] = {}
    for row in rows:
        if row.projects:
            counts[(row.team_id, row.stage)] = counts.get((row.team_id, row.stage), 0) + row.projects
    return counts


def test_company_keys_drop_legal_forms() -> None:
    assert company_key("比亚迪股份有限公司") == company_key("比亚迪集团") == company_key("比亚迪") == "比亚迪"
    assert company_key("比亚迪（中国）有限公司") == "比亚迪"
    assert company_key("BYD Co., Ltd.") == "byd"
    assert company_key("") == ""


def _other(name: str, company: str = "") -> Courted:
    from datetime import UTC, datetime
    return Courted(1, name, name_key(name), company, company_key(company), 2, datetime(2026, 1, 1, tzinfo=UTC))


def test_close_matches_and_different_companies() -> None:
    assert matches(company="比亚迪集团", project_name="", other=_other("比亚迪河南体验中心"))
    assert matches(company="比亚迪汽车有限公司", project_name="", other=_other("某项目", "比亚迪股份有限公司"))
    assert matches(company="", project_name="比亚迪品牌形象河南体验中心", other=_other("比亚迪品牌形象河南体验中心二期"))
    assert matches(company="", project_name="宁德时代储能基地", other=_other("储能项目", "宁德时代"))
    assert not matches(company="美团", project_name="美团区域总部", other=_other("京东结算中心", "京东集团"))
    assert not matches(company="中原银行", project_name="", other=_other("中原数据中心", "中原数据集团"))


async def test_a_second_squad_is_told_the_captain_notified_the_leaders_see_it(sessions, clock) -> None:
    notices = Notices()
    chat = leader_chat(sessions, clock, notices)
    await squad_with_members(chat, "德化街", "张伟", "李队")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok(ADMIN, "设为队长 李队")
    await chat.ok(ADMIN, "1")  # confirmed
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    clock.advance(days=3)
    second = await chat.ok("刘洋", "洽谈 比亚迪新能源基地 5亿 对接:比亚迪股份有限公司")
    assert "撞单" in second.text and "德化街于 2026-11-24 首谈" in second.text and "#1" in second.text
    assert "#2 比亚迪新能源基地" in second.text  # the report is kept: a real project of its squad
    async with sessions() as session:
        new = await session.get(Project, 2)
        assert new is not None and new.team_id == 2 and not new.removed
    told = [text for text in notices.to("console:李队") if "撞单" in text]
    assert len(told) == 1 and "长江路的刘洋" in told[0] and "#1 比亚迪河南体验中心" in told[0]
    assert "比亚迪新能源基地（比亚迪股份有限公司）" in told[0]
    assert notices.to("console:张伟") == []  # captains, not every member
    rows = await clashes(sessions)
    assert [(r.first_team_id, r.first_project_id, r.second_team_id, r.second_project_id, r.subject)
            for r in rows] == [(1, 1, 2, 2, "project")]
    # The same squad's visit to the same company: the sender is told again, the captain not twice.
    visit = await chat.ok("刘洋", "拜访 @深圳 公司:比亚迪 谈新能源")
    assert "撞单" in visit.text
    assert len([t for t in notices.to("console:李队") if "撞单" in t]) == 1 and len(await clashes(sessions)) == 1
    listing = await chat.ok(LEADER, "撞单")
    assert "比亚迪集团：德化街 #1（2026-11-24 首谈）← 长江路 #2" in listing.text
    assert "比亚迪" in (await chat.ok("李队", "撞单")).text  # a captain sees his squad's clashes
    await chat.refused("刘洋", "撞单")  # members do not


async def test_own_squad_and_unrelated_companies_are_no_clash(sessions, clock) -> None:
    notices = Notices()
    chat = leader_chat(sessions, clock, notices)
    await squad_with_members(chat, "德化街", "张伟", "王芳")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    assert "撞单" not in (await chat.ok("王芳", "拜访 @深圳 公司:比亚迪集团")).text  # same squad
    assert notices.sent == []
    assert "撞单" not in (await chat.ok("刘洋", "洽谈 美团区域总部 3亿 对接:美团")).text
    assert await clashes(sessions) == []
    assert "目前没有撞单" in (await chat.ok(LEADER, "撞单")).text


async def test_transfer_moves_tallies_and_funds_settles_the_clash_and_undoes(sessions, clock) -> None:
    notices = Notices()
    chat = leader_chat(sessions, clock, notices)
    await squad_with_members(chat, "德化街", "张伟", "李队")
    await squad_with_members(chat, "长江路", "刘洋", "赵队")
    await chat.ok(ADMIN, "设为队长 李队")
    await chat.ok(ADMIN, "1")  # confirmed
    await chat.ok(ADMIN, "设为队长 赵队")
    await chat.ok(ADMIN, "1")  # confirmed
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    await chat.ok("刘洋", "签约 比亚迪新能源基地 5亿 对接:比亚迪")
    await chat.ok("刘洋", "到位 #2 1亿")
    assert (await tallies(sessions))[(2, "signed")] == 1
    await chat.refused("刘洋", "转交 #2 德化街")  # leaders only
    assert "正确格式：转交" in (await chat.refused(LEADER, "转交 #2 没有这个队")).text
    assert "已经属于" in (await chat.refused(LEADER, "转交 #2 长江路")).text
    moved = await chat.ok(LEADER, "转交 #2 德化街")
    assert "已转交：长江路 → 德化街" in moved.text and "撞单已处理 1 条" in moved.text
    after = await tallies(sessions)
    assert after.get((2, "signed"), 0) == 0 and after[(1, "signed")] == 1 and after[(1, "attracting")] == 2
    async with sessions() as session:
        assert await funds_queries.funds_in_place_by_team(
            session, since=date(2026, 1, 1), until=date(2027, 1, 1)) == {1: 100_000_000}
    assert [r.resolution.startswith("transfer:") for r in await clashes(sessions)] == [True]
    assert "#2" in notices.to("console:赵队")[-1] and "转交给你们" in notices.to("console:李队")[-1]
    assert "没有撞单" in (await chat.ok(LEADER, "撞单")).text
    assert "已处理" in (await chat.ok(LEADER, "撞单 全部")).text
    await chat.ok(LEADER, "撤销")  # the transfer is an event like any other
    back = await tallies(sessions)
    assert back[(2, "signed")] == 1 and back.get((1, "signed"), 0) == 0
    async with sessions() as session:
        assert (await session.get(Project, 2)).team_id == 2  # type: ignore[union-attr]
        assert await funds_queries.funds_in_place_by_team(
            session, since=date(2026, 1, 1), until=date(2027, 1, 1)) == {2: 100_000_000}
    assert [r.resolved_at for r in await clashes(sessions)] == [None]  # open again


async def test_undoing_the_second_report_withdraws_its_clash(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 仲景医药健康产业园 8亿 对接:仲景宛西制药股份有限公司")
    await chat.ok("刘洋", "拜访 @南阳 公司:仲景宛西制药")
    assert [r.resolved_at is None for r in await clashes(sessions)] == [True]
    await chat.ok("刘洋", "撤销")
    assert [r.resolution for r in await clashes(sessions)] == ["undone"]
    assert "没有撞单" in (await chat.ok(LEADER, "撞单")).text


async def test_dropping_the_duplicate_settles_the_clash_and_undoing_the_drop_reopens_it(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    await chat.ok("刘洋", "洽谈 比亚迪新能源基地 5亿 对接:比亚迪")
    await chat.ok("刘洋", "放弃 #2 与德化街重复")
    assert [r.resolution.startswith("dropped:") for r in await clashes(sessions)] == [True]
    assert "没有撞单" in (await chat.ok(LEADER, "撞单")).text
    await chat.ok("刘洋", "撤销")  # the squad courts it again: the clash is open again
    assert [(r.resolved_at, r.resolution) for r in await clashes(sessions)] == [(None, "")]
    assert "比亚迪" in (await chat.ok(LEADER, "撞单")).text


async def test_a_company_named_later_is_checked_against_older_projects_only(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 宁德时代储能基地 30亿 对接:宁德时代新能源科技股份有限公司")
    clock.advance(days=1)
    await chat.ok("刘洋", "谋划 新能源电池项目 10亿")
    edited = await chat.ok("刘洋", "改 #2 公司 宁德时代")
    assert "撞单" in edited.text and "德化街" in edited.text
    # The older project's company corrected to match a younger one: it was first, so no clash for it.
    await chat.ok("刘洋", "谋划 海底捞中央厨房 2亿")
    assert "撞单" not in (await chat.ok("张伟", "改 #1 公司 海底捞")).text


async def test_a_squad_without_captain_hears_it_through_the_first_reporter(sessions, clock) -> None:
    notices = Notices()
    chat = leader_chat(sessions, clock, notices)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 胖东来商场 5亿 对接:胖东来商贸集团有限公司")
    await chat.ok("刘洋", "拜访 @许昌 公司:胖东来")
    told = notices.to("console:张伟")
    assert len(told) == 1 and "长江路的刘洋刚登记了拜访「胖东来」" in told[0]


async def test_company_keys_are_rebuilt_after_writes_that_bypass_the_orm(sessions, engine, clock) -> None:
    from sqlalchemy import update

    from storage.db import ensure_derived
    from tests.helpers import DISTRICT_TZ

    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "洽谈 储能基地 30亿 对接:宁德时代新能源科技股份有限公司")
    async with engine.begin() as connection:  # as a bulk load leaves it
        await connection.execute(update(Project).values(company_key=""))
    await ensure_derived(engine, tz=DISTRICT_TZ, force=True)
    async with sessions() as session:
        assert (await session.get(Project, 1)).company_key == "宁德时代新能源科技"  # type: ignore[union-attr]


async def test_a_lead_or_visit_is_a_first_contact_and_a_later_squad_is_told(sessions, clock) -> None:
    """首谈: a lead (or visit, reception) naming a company courts it before any project does; a second squad's
    lead, visit or project on it is a clash, and undoing the first contact withdraws its claim."""
    notices = Notices()
    chat = leader_chat(sessions, clock, notices)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await squad_with_members(chat, "建中街", "陈静")
    await chat.ok("张伟", "线索 宁德时代 新能源 @宁德")
    clock.advance(minutes=5)
    reply = await chat.ok("刘洋", "线索 宁德时代新能源科技股份有限公司")
    assert "撞单" in reply.text and "德化街" in reply.text and "线索「宁德时代」" in reply.text
    assert "线索「宁德时代」" in notices.to("console:张伟")[-1]  # no captain: who recorded the lead
    clock.advance(minutes=5)
    project = await chat.ok("陈静", "洽谈 宁德时代储能基地 10亿 对接:宁德时代")
    assert "德化街" in project.text and "撞单" in project.text
    rows = await clashes(sessions)
    assert [(r.first_team_id, r.first_project_id, r.first_subject, r.second_team_id) for r in rows] == [
        (1, None, "lead", 2), (1, None, "lead", 3)]
    listed = (await chat.ok(LEADER, "撞单")).text
    assert "宁德时代：德化街 线索（" in listed and "长江路 线索" in listed and "建中街 #" in listed
    # A visit of the first squad's own is no clash; another squad's visit to a company nobody courts is none.
    assert "撞单" not in (await chat.ok("张伟", "拜访 @宁德 公司:宁德时代")).text
    assert "撞单" not in (await chat.ok("刘洋", "拜访 @上海 公司:上汽集团")).text


async def test_undoing_a_lead_withdraws_its_claim_on_the_company(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "线索 宁德时代 新能源")
    await chat.ok("张伟", "撤销")
    assert "撞单" not in (await chat.ok("刘洋", "线索 宁德时代")).text
    assert await clashes(sessions) == []
    # Now 长江路 holds the first contact: 德化街 coming back to it is second.
    assert "长江路" in (await chat.ok("张伟", "接待 公司:宁德时代 考察团一行")).text
