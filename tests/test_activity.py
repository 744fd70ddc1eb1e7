"""Activity (issue 20): receptions, promotion events, leads and publicity stored as events, the per-day
activity counters kept by every path (commands, stage moves, import, undo), the 0014 backfill; both backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text as sql_text
from sqlmodel import col, select

from bot.app import ZsBot
from bot.ledger_load import import_ledger
from bot.settings import Settings
from handlers.messages import Incoming
from storage import activity_queries, activity_tallies
from storage.db import create_engine, migrate
from storage.models import ActivityRollup, ActivityTally, Event, OwnershipClash, Project
from tests.helpers import ADMIN, DISTRICT_TZ, Chat, MovableClock, Notices, make_core, squad_with_members

DAY = date(2026, 11, 24)  # the clock's local day (10:00 in Shanghai)


async def clashes(sessions) -> list[OwnershipClash]:
    async with sessions() as session:
        return list((await session.exec(select(OwnershipClash).order_by(col(OwnershipClash.id)))).all())


async def counts(sessions, start: date = DAY, end: date = DAY) -> dict[int, dict[str, int]]:
    async with sessions() as session:
        return await activity_queries.activity_counts(session, start=start, end=end)


async def rebuilt_counts(sessions, engine) -> dict[tuple[int, str, date], int]:
    """The counters as a rebuild from the projects and events would make them (what the hooks must match)."""
    async with engine.begin() as connection:
        await connection.run_sync(activity_tallies.rebuild, DISTRICT_TZ)
    return await stored(sessions)


async def stored(sessions) -> dict[tuple[int, str, date], int]:
    """The daily counters, checked against their monthly and yearly roll-ups (kept in the same writes)."""
    async with sessions() as session:
        rows = (await session.exec(select(ActivityTally))).all()
        rollups = (await session.exec(select(ActivityRollup))).all()
    rolled: dict[tuple[str, date, int, str], int] = {}
    for row in rows:
        for key in (("m", row.day.replace(day=1), row.team_id, row.kind),
                    ("y", row.day.replace(month=1, day=1), row.team_id, row.kind)):
            rolled[key] = rolled.get(key, 0) + row.count
    assert {k: n for k, n in rolled.items() if n} == {(r.span, r.first, r.team_id, r.kind): r.count
                                                     for r in rollups if r.count}
    return {(row.team_id, row.kind, row.day): row.count for row in rows if row.count}


async def test_stage_moves_visits_and_undo_keep_the_counters(sessions, engine, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    await chat.ok("张伟", "签约 #1")
    await chat.ok("刘洋", "落地 仲景医药健康产业园 5亿")  # created straight in 落地: signed that day too
    await chat.ok("刘洋", "拜访 @深圳 公司:腾讯")
    assert await counts(sessions) == {1: {"sign": 1}, 2: {"sign": 1, "land": 1, "visit": 1}}
    await chat.ok("刘洋", "撤销")
    assert await counts(sessions) == {1: {"sign": 1}, 2: {"sign": 1, "land": 1}}
    await chat.ok("张伟", "撤销")
    assert await counts(sessions) == {2: {"sign": 1, "land": 1}}
    clock.advance(days=1)
    await chat.ok("张伟", "签约 #1")
    await chat.ok("刘洋", "放弃 #2 对方撤资")
    assert await counts(sessions, DAY, date(2026, 11, 25)) == {1: {"sign": 1}}
    before = await stored(sessions)
    assert await rebuilt_counts(sessions, engine) == before


async def test_items_match_the_counts(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿")
    await chat.ok("张伟", "签约 #1")
    await chat.ok("张伟", "拜访 @深圳 公司:腾讯")
    start = datetime(2026, 11, 23, 16, tzinfo=UTC)  # local midnight of DAY
    end = datetime(2026, 11, 24, 16, tzinfo=UTC)
    async with sessions() as session:
        items = await activity_queries.activity_items(session, team_id=1, start=start, end=end,
                                                      kinds=activity_queries.ACTIVITY_KINDS)
    assert [(item.kind, item.project_id) for item in items] == [("sign", 1), ("visit", None)]
    assert items[0].event_id is not None and items[0].text == "比亚迪河南体验中心"
    assert items[1].data["company"] == "腾讯"


async def test_bump_and_counts_over_a_period(sessions, clock) -> None:
    await squad_with_members(Chat(make_core(sessions, clock), clock), "德化街")
    team_id = 1
    async with sessions() as session, session.begin():
        activity_queries.bump_activity(session, team_id=team_id, kind="lead", day=date(2026, 10, 1))
        activity_queries.bump_activity(session, team_id=team_id, kind="lead", day=date(2026, 10, 1), by=2)
        activity_queries.bump_activity(session, team_id=team_id, kind="promo", day=date(2026, 12, 31))
        activity_queries.bump_activity(session, team_id=team_id, kind="promo", day=date(2026, 12, 31), by=-1)
        activity_queries.bump_activity(session, team_id=team_id, kind="visit", day=date(2027, 1, 1))
    assert await counts(sessions, date(2026, 10, 1), date(2026, 12, 31)) == {team_id: {"lead": 3}}
    assert await counts(sessions, date(2026, 10, 2), date(2027, 1, 1)) == {team_id: {"visit": 1}}


async def test_migration_backfills_from_projects_and_events(db_url) -> None:
    """0014 fills activity_tally from what 0013 stored: live 签约/落地 days and visits not undone."""
    engine = create_engine(db_url)
    try:
        await _downgrade_to_0013(engine)
        await _seed_0013(engine)
        await migrate(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(sql_text(
                "SELECT team_id, kind, day, count FROM activity_tally ORDER BY team_id, kind, day"))).all()
        got = {(r[0], r[1], r[2] if isinstance(r[2], date) else date.fromisoformat(str(r[2]))): r[3] for r in rows}
        assert got == {
            (1, "sign", date(2026, 3, 2)): 1,  # 23:30 UTC on 1 March is 2 March in Shanghai
            (1, "land", date(2026, 5, 1)): 1,
            (1, "visit", date(2026, 6, 1)): 1,  # the second visit was undone
        }
    finally:
        await engine.dispose()


async def _downgrade_to_0013(engine) -> None:
    from alembic import command

    from storage.db import alembic_config

    def down(connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0013_funds_and_ownership")

    async with engine.begin() as connection:
        await connection.run_sync(down)


async def _seed_0013(engine) -> None:
    moment = "'2026-01-01 00:00:00+00:00'"
    statements = [
        f"INSERT INTO team (id, name, kind, invite_code, created_at) VALUES (1, '甲', 'squad', 'c1', {moment})",
        *(f"INSERT INTO project (id, name, name_key, aliases, team_id, stage, amount_text, industry, wheel, zone, "
          f"place, company, created_at, updated_at, last_event_at, signed_at, landed_at, drop_reason, "
          f"expected_stage, expected_slips, removed, company_key) VALUES ({pid}, 'p{pid}', 'p{pid}', '', 1, "
          f"'{stage}', '', '', '', '', '', '', {moment}, {moment}, {moment}, {signed}, {landed}, '', '', 0, "
          f"{removed}, '')"
          for pid, stage, signed, landed, removed in [
              (1, "landed", "'2026-03-01 23:30:00+00:00'", "'2026-05-01 02:00:00+00:00'", "false"),
              (2, "dropped", "'2026-03-05 02:00:00+00:00'", "NULL", "false"),
              (3, "signed", "'2026-03-06 02:00:00+00:00'", "NULL", "true"),
          ]),
        *(f"INSERT INTO event (id, team_id, kind, from_stage, to_stage, text, data, undoes_event_id, "
          f"source_platform, source_chat, source_message_id, created_at) VALUES ({eid}, 1, '{kind}', '', '', '', "
          f"'{{}}', {undoes}, '', '', '', '2026-06-01 02:00:00+00:00')"
          for eid, kind, undoes in [(1, "visit", "NULL"), (2, "visit", "NULL"), (3, "undo", "2"), (4, "note", "NULL")]),
    ]
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(sql_text(statement))




# --- the commands -----------------------------------------------------------------------------------

COMMANDS = {
    "reception": ("接待 公司:中原数据集团 考察团一行5人", {"company": "中原数据集团", "place": ""}, "考察团一行5人"),
    "promo": ("活动 推介会 @深圳 30家 反响很好", {"event_type": "推介会", "place": "深圳", "companies": 30}, "反响很好"),
    "lead": ("线索 宁德时代 新材料 @宁德 有意在中部设厂",
             {"company": "宁德时代", "industry": "新材料", "place": "宁德"}, "有意在中部设厂"),
    "publicity": ("宣传 河南日报 报道我区招商成果", {"outlet": "河南日报"}, "报道我区招商成果"),
}


async def events_of(sessions, kind: str | None = None) -> list[Event]:
    async with sessions() as session:
        statement = select(Event).order_by(col(Event.id))
        if kind is not None:
            statement = statement.where(Event.kind == kind)
        return list((await session.exec(statement)).all())


@pytest.mark.parametrize("kind", list(COMMANDS))
async def test_each_command_stores_and_undo_takes_it_back(kind: str, sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    text, data, note = COMMANDS[kind]
    reply = await chat.ok("刘洋", text)
    assert "撤销" in reply.text and any(button.command.startswith("撤销 event:") for button in reply.buttons)
    [event] = await events_of(sessions, kind)
    assert event.team_id == 2 and event.project_id is None and event.text == note
    assert {name: value for name, value in json.loads(event.data).items() if name != "batch"} == data
    assert await counts(sessions) == {2: {kind: 1}}
    undone = await chat.ok("刘洋", "撤销")
    assert "已撤销" in undone.text
    assert await counts(sessions) == {}
    async with sessions() as session:
        assert await activity_queries.activity_items(
            session, team_id=2, start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC),
            kinds=[kind]) == []


@pytest.mark.parametrize("text", ["活动 推介会 @深圳 30", "活动 推介会 @深圳 30家", "活动 30 推介会 @深圳"])
async def test_the_number_of_companies_may_be_written_bare(text: str, sessions, clock) -> None:
    """`活动 推介会 @深圳 [参会企业数]`: a bare number is how many companies came, never a note."""
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    assert "参会企业 30 家" in (await chat.ok("张伟", text)).text
    [event] = await events_of(sessions, "promo")
    assert json.loads(event.data)["companies"] == 30 and event.text == ""


async def test_english_verbs_answer_in_english(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.ok("张伟", "reception company:NIO delegation of five")
    assert reply.text.startswith("🤝 Reception logged: NIO")
    assert (await chat.ok("张伟", "promo roadshow @Shenzhen 30家")).text.startswith("📣 Promotion event logged")
    assert await counts(sessions) == {1: {"reception": 1, "promo": 1}}


REFUSED = [
    ("接待", "公司:企业名"), ("接待 #99 公司:中原数据集团", "#99"), ("活动", "活动类型"), ("活动 推介会 0家", "大于零"),
    ("线索", "企业名"), ("线索 立项", "线索编号"), ("线索 立项 99", "没有编号为 99 的线索"), ("宣传", "媒体或事项"),
]


async def test_refusals_store_nothing_and_show_the_form(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    before = len(await events_of(sessions))
    for text, why in REFUSED:
        reply = await chat.refused("张伟", text)
        assert why in reply.text, (text, reply.text)
        assert "正确格式" in reply.text or "没有" in reply.text, (text, reply.text)
    stranger = await chat.refused("路人", "线索 宁德时代 新材料")
    assert "加入" in stranger.text
    assert len(await events_of(sessions)) == before
    assert await stored(sessions) == {}


async def test_a_reception_on_another_squads_project_is_refused(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    reply = await chat.refused("刘洋", "接待 #1 公司:比亚迪集团")
    assert "不属于你的小分队" in reply.text
    mine = await chat.ok("张伟", "接待 #1 考察团一行")  # the project's company is the one that came
    assert "#1 比亚迪河南体验中心" in mine.text
    [event] = await events_of(sessions, "reception")
    assert event.project_id == 1 and event.team_id == 1 and json.loads(event.data)["company"] == "比亚迪集团"


async def test_receptions_and_leads_run_the_first_contact_check(sessions, clock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "德化街", "张伟", "李队")
    await squad_with_members(chat, "长江路", "刘洋")
    await squad_with_members(chat, "建中街", "陈静")
    await chat.ok(ADMIN, "设为队长 李队")
    await chat.ok(ADMIN, "1")
    await chat.ok("张伟", "洽谈 比亚迪河南体验中心 2亿 对接:比亚迪集团")
    clock.advance(days=2)
    reception = await chat.ok("刘洋", "接待 公司:比亚迪股份有限公司 考察团")
    assert "撞单" in reception.text and "德化街于 2026-11-24 首谈" in reception.text and "#1" in reception.text
    lead = await chat.ok("陈静", "线索 比亚迪汽车 汽车 @深圳")
    assert "撞单" in lead.text and "德化街" in lead.text
    told = [text for text in notices.to("console:李队") if "撞单" in text]
    assert len(told) == 2 and "长江路的刘洋" in told[0] and "接待" in told[0] and "线索" in told[1]
    rows = await clashes(sessions)
    assert [(row.second_team_id, row.subject, row.first_project_id) for row in rows] == [
        (2, "reception", 1), (3, "lead", 1)]
    listing = await chat.ok(ADMIN, "撞单")
    assert "长江路" in listing.text and "建中街" in listing.text
    await chat.ok("陈静", "撤销")  # the lead undone: its clash is withdrawn
    assert [row.resolution for row in await clashes(sessions)] == ["", "undone"]
    own = await chat.ok("张伟", "线索 比亚迪集团 汽车")  # the same squad courting its own company: no clash
    assert "撞单" not in own.text


async def test_a_lead_becomes_a_planned_project_with_one_confirmation(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    lead = await chat.ok("张伟", "线索 宁德时代 新材料 @宁德 有意在中部设厂")
    [event] = await events_of(sessions, "lead")
    assert f"线索 立项 {event.id}" in lead.text
    assert any(button.command == f"线索 立项 {event.id}" for button in lead.buttons)
    other = await chat.refused("刘洋", f"线索 立项 {event.id}")
    assert "不是你的小分队" in other.text
    asked = await chat.ok("张伟", f"线索 立项 {event.id}")
    assert "立为谋划项目" in asked.text and "宁德时代" in asked.text and "1." in asked.text
    assert await projects(sessions) == []  # a question stores nothing
    done = await chat.ok("张伟", "1")
    [project] = await projects(sessions)
    assert f"#{project.id} 宁德时代" in done.text and f"来自线索{event.id}" in done.text
    assert (project.name, project.stage, project.company, project.industry, project.place, project.team_id) == (
        "宁德时代", "planned", "宁德时代", "新材料", "宁德", 1)
    again = await chat.refused("张伟", f"线索 立项 {event.id}")
    assert f"已经是项目 #{project.id}" in again.text
    await chat.ok("张伟", "撤销")  # the new project undone: the lead stays
    assert await counts(sessions) == {1: {"lead": 1}}


async def projects(sessions) -> list[Project]:
    async with sessions() as session:
        return list((await session.exec(select(Project).where(col(Project.removed).is_(False)))).all())


SENTENCES = [
    ("今天接待了中原数据集团来访", "reception", {"company": "中原数据集团", "place": ""}),
    ("下午在深圳办了场推介会，来了30家企业", "promo", {"event_type": "推介会", "place": "深圳", "companies": 30}),
]


@pytest.mark.parametrize(("text", "kind", "data"), SENTENCES)
async def test_sentences_are_proposed_not_stored(text: str, kind: str, data: dict, sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    asked = await chat.ok("张伟", text)
    assert "请确认" in asked.text and "1." in asked.text
    assert await events_of(sessions, kind) == [] and await stored(sessions) == {}
    await chat.ok("张伟", "1")
    [event] = await events_of(sessions, kind)
    assert {name: json.loads(event.data).get(name) for name in data} == data
    assert await counts(sessions) == {1: {kind: 1}}


async def test_activity_words_glued_to_prose_stay_sentences(sessions, clock) -> None:
    """活动中心, 宣传部, 线索多: not the verbs, so nothing is stored as activity."""
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    for text in ("活动中心那边还在谈", "宣传部的同事来了", "线索太少了"):
        await chat.say("张伟", text)
    kinds = {event.kind for event in await events_of(sessions)} & {"reception", "promo", "lead", "publicity"}
    assert kinds == set()


async def test_funds_in_words_are_proposed(sessions, clock) -> None:
    """#12 到账5000万 / 比亚迪首笔5000万到账了: the existing 到位, proposed; with no project, the refusal says which."""
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 比亚迪河南体验中心 2亿")
    asked = await chat.ok("张伟", "#1 到账5000万")
    assert "请确认" in asked.text and await events_of(sessions, "funds") == []
    await chat.ok("张伟", "1")
    [event] = await events_of(sessions, "funds")
    assert json.loads(event.data)["amount_yuan"] == 50_000_000 and event.project_id == 1
    await chat.ok("张伟", "比亚迪河南体验中心首笔3000万到账了")
    await chat.ok("张伟", "1")
    assert len(await events_of(sessions, "funds")) == 2
    which = await chat.refused("张伟", "5000万到账了")
    assert "到位 #编号或项目名" in which.text
    assert len(await events_of(sessions, "funds")) == 2


async def test_transfer_and_its_undo_move_the_stage_counts(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:王局"]), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "签约 比亚迪河南体验中心 2亿")
    await chat.ok("王局", "转交 #1 长江路")
    assert await counts(sessions) == {2: {"sign": 1}}
    await chat.ok("王局", "撤销")
    assert await counts(sessions) == {1: {"sign": 1}}


async def test_an_import_counts_its_signings_on_their_day(db_url, tmp_path) -> None:
    settings = Settings(_env_file=None, database_url=db_url, admins=["console:admin"])  # type: ignore[call-arg]
    async with ZsBot(settings, clock=MovableClock(datetime(2026, 12, 2, 2, tzinfo=UTC))) as bot:
        reply = await bot.core.handle(Incoming(platform="console", user_id="admin", text="建队 德化街", chat_id="c"))
        assert reply.ok, reply.text
        path = tmp_path / "台账.csv"
        path.write_text("项目名称,责任单位,所处阶段,签约时间,落地时间\n"
                        "比亚迪河南体验中心,德化街,落地,2026-11-20,2026-12-01\n"
                        "仲景医药健康产业园,德化街,签约,2026-11-20,\n", encoding="utf-8")
        report = await import_ledger(bot, path)
        assert report.created == 2
        assert await counts(bot.sessions, date(2026, 11, 1), date(2026, 12, 31)) == {1: {"sign": 2, "land": 1}}
        assert await counts(bot.sessions, date(2026, 12, 1), date(2026, 12, 1)) == {1: {"land": 1}}


async def test_several_activities_in_one_message_are_undone_together(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "接待 公司:中原数据集团\n活动 推介会 @深圳 30家\n宣传 河南日报 报道推介会")
    assert await counts(sessions) == {1: {"reception": 1, "promo": 1, "publicity": 1}}
    await chat.ok("张伟", "撤销")
    assert await counts(sessions) == {}


@pytest.mark.parametrize(("text", "kind", "day"), [
    ("接待 公司:中原数据集团 昨天 考察团一行", "reception", "2026-11-23"),
    ("活动 推介会 @深圳 30家 11月20日", "promo", "2026-11-20"),
    ("线索 宁德时代 新能源 上周五", "lead", "2026-11-20"),
    ("拜访 @上海 公司:上汽集团 11月21日", "visit", "2026-11-21"),
])
async def test_a_day_written_is_the_day_it_happened_never_a_note(text: str, kind: str, day: str, sessions, clock) -> None:
    """A past day on an activity is kept as its date and shown on the card (a month and day without a year
    is this year's, not next year's); it stays out of the note."""
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.ok("张伟", text)
    assert f"日期：{day}" in reply.text
    [event] = await events_of(sessions, kind)
    assert json.loads(event.data)["date"] == day
    assert "昨天" not in event.text and "月" not in event.text and "周" not in event.text


@pytest.mark.parametrize("text", ["接待 公司:中原数据集团 明天", "拜访 @上海 下周三", "线索 宁德时代 后天"])
async def test_a_day_still_ahead_is_refused(text: str, sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.refused("张伟", text)
    assert "还没到" in reply.text and "正确格式" in reply.text
    async with sessions() as session:
        assert (await session.exec(select(Event).where(col(Event.kind).in_(["reception", "visit", "lead"])))).all() == []
