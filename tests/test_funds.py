"""Funds in place (到位资金, issue 20): recorded, dated, attributed, with evidence, undone, summed; on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from handlers.messages import IncomingFile
from storage import funds_queries
from storage.models import Evidence, FundsArrival, Project, TeamYearTally
from tests.helpers import ADMIN, Chat, MovableClock, make_core, squad_with_members

LEADER = "王局"


def leader_chat(sessions, clock: MovableClock, **settings: object) -> Chat:
    """A core where console:王局 is a leader."""
    return Chat(make_core(sessions, clock, leaders=[f"console:{LEADER}"], **settings), clock)


async def arrivals(sessions) -> list[FundsArrival]:
    async with sessions() as session:
        return list((await session.exec(select(FundsArrival).order_by(FundsArrival.id))).all())


async def test_funds_add_up_with_date_rate_and_evidence(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 京东结算中心 2亿")
    slip = IncomingFile(kind="photo", file_ref="file-1", file_name="slip.jpg", size=1000)
    first = await chat.ok("张伟", "到位 #1 5000万 11月20日 首笔", files=(slip,))
    assert "已登记到位 5000万元" in first.text and "到位日期：2026-11-20" in first.text
    assert "到位率 25.0%" in first.text and "撤销" in first.text
    second = await chat.ok("张伟", "到位 京东结算中心 1亿")  # by name, dated today
    assert "累计到位 1.5亿元 / 签约 2亿元，到位率 75.0%" in second.text
    stored = await arrivals(sessions)
    assert [(a.amount_yuan, a.arrived_on, a.team_id) for a in stored] == [
        (50_000_000, date(2026, 11, 20), 1), (100_000_000, date(2026, 11, 24), 1)]
    async with sessions() as session:
        evidence = (await session.exec(select(Evidence))).all()
        assert [(e.project_id, e.event_id) for e in evidence] == [(1, stored[0].event_id)]
        by_team = await funds_queries.funds_in_place_by_team(session, since=date(2026, 1, 1), until=date(2027, 1, 1))
        assert by_team == {1: 150_000_000}
        assert await funds_queries.funds_in_place_by_team(
            session, since=date(2026, 11, 21), until=date(2026, 11, 25)) == {1: 100_000_000}
    card = await chat.ok("张伟", "查 #1")
    assert "累计到位 1.5亿元" in card.text and "2026-11-20 5000万元" in card.text
    over = await chat.ok("张伟", "到位 #1 8000万")
    assert "超过签约金额（到位率 115.0%）" in over.text


async def test_undo_takes_the_arrival_back_and_the_signing_it_stands_on_stays(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "洽谈 美团区域总部 3亿")
    await chat.ok("张伟", "签约 #1")
    await chat.ok("张伟", "到位 #1 1亿")
    refused = await chat.refused("张伟", "撤销 event:2")  # the signing: the funds stand on it
    assert "到位资金" in refused.text
    undone = await chat.ok("张伟", "撤销")
    assert "到位资金" in undone.text
    assert [a.removed for a in await arrivals(sessions)] == [True]
    async with sessions() as session:
        assert await funds_queries.funds_in_place_by_project(session) == {}
    assert "累计到位" not in (await chat.ok("张伟", "查 #1")).text
    await chat.ok("张伟", "撤销")  # now the signing can go
    async with sessions() as session:
        assert (await session.get(Project, 1)).stage == "attracting"  # type: ignore[union-attr]


async def test_refusals_say_why_and_show_the_form(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 美团区域总部 3亿")
    await chat.ok("刘洋", "签约 宇通客车基地 5亿")
    early = await chat.refused("张伟", "到位 #1 5000万")
    assert "招引库" in early.text and "正确格式：到位" in early.text
    assert "还没到" in (await chat.refused("刘洋", "到位 #2 5000万 2026-12-25")).text
    assert "缺少到位金额" in (await chat.refused("刘洋", "到位 #2")).text
    assert "确切金额" in (await chat.refused("刘洋", "到位 #2 十来个亿")).text
    await chat.refused("张伟", "到位 #2 5000万")  # another squad's project
    await chat.ok(LEADER, "到位 #2 5000万")  # leaders may, for any squad
    assert len(await arrivals(sessions)) == 1


async def test_funds_targets_and_status(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.ok(LEADER, "目标 到位 20亿")
    assert "到位资金 20亿元" in reply.text
    await chat.ok(LEADER, "目标 德化街 签约 5 到位 3亿")
    await chat.ok("张伟", "签约 京东结算中心 4亿")
    await chat.ok("张伟", "到位 #1 1.5亿")
    status = await chat.ok(LEADER, "进度")
    assert "到位资金 1.5亿元" in status.text and "20亿元" in status.text
    squad = await chat.ok("张伟", "进度")
    assert "到位资金 1.5亿元/3亿元 50.0%" in squad.text and "到位率 37.5%" in squad.text


async def test_admin_console_may_report_funds(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟", ADMIN)
    await chat.ok("张伟", "落地 宇通客车基地 12亿")
    reply = await chat.ok(ADMIN, "funds #1 200m 2026-11-01")  # English verb, English reply
    assert "In place 200 million yuan of 1.2 billion yuan signed, 16.7%" in reply.text
    async with sessions() as session:
        rows = (await session.exec(select(TeamYearTally).where(TeamYearTally.stage == "landed"))).all()
    assert [(r.projects, r.amount_yuan) for r in rows] == [(1, 1_200_000_000)]  # funds leave the tallies alone


async def test_the_ledger_exports_funds_and_its_import_ignores_them(sessions, clock) -> None:
    from handlers.ledger import read_ledger, write_csv, write_json
    from storage.ledger_queries import ledger_rows
    from tests.helpers import DISTRICT_TZ

    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 京东结算中心 2亿")
    await chat.ok("张伟", "洽谈 美团区域总部 3亿")
    await chat.ok("张伟", "到位 #1 5000万")
    async with sessions() as session:
        rows = await ledger_rows(session, tz=DISTRICT_TZ)
    assert [(r.funds_yuan, r.funds_rate) for r in rows] == [(50_000_000, 0.25), (0, None)]
    csv_bytes = write_csv(rows, tz=DISTRICT_TZ)
    assert "funds_yuan,funds_rate" in csv_bytes.decode("utf-8-sig").splitlines()[0]
    assert ",50000000,0.25" in csv_bytes.decode("utf-8-sig")
    for content, name in ((csv_bytes, "l.csv"), (write_json(rows, tz=DISTRICT_TZ), "l.json")):
        back = read_ledger(content, name, tz=DISTRICT_TZ)
        assert [(r.name, r.funds_yuan, r.funds_rate) for r in back] == [("京东结算中心", 0, None), ("美团区域总部", 0, None)]
