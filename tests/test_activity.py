"""Activity (issue 20): receptions, promotion events, leads and publicity stored as events, the per-day
activity counters kept by every path (commands, stage moves, import, undo), the 0014 backfill; both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlmodel import select

from storage import activity_queries, activity_tallies
from storage.db import create_engine, migrate
from storage.models import ActivityTally
from tests.helpers import DISTRICT_TZ, Chat, make_core, squad_with_members

DAY = date(2026, 11, 24)  # the clock's local day (10:00 in Shanghai)


async def counts(sessions, start: date = DAY, end: date = DAY) -> dict[int, dict[str, int]]:
    async with sessions() as session:
        return await activity_queries.activity_counts(session, start=start, end=end)


async def rebuilt_counts(sessions, engine) -> dict[tuple[int, str, date], int]:
    """The counters as a rebuild from the projects and events would make them (what the hooks must match)."""
    async with engine.begin() as connection:
        await connection.run_sync(activity_tallies.rebuild, DISTRICT_TZ)
    return await stored(sessions)


async def stored(sessions) -> dict[tuple[int, str, date], int]:
    async with sessions() as session:
        rows = (await session.exec(select(ActivityTally))).all()
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
        await activity_queries.bump_activity(session, team_id=team_id, kind="lead", day=date(2026, 10, 1))
        await activity_queries.bump_activity(session, team_id=team_id, kind="lead", day=date(2026, 10, 1), by=2)
        await activity_queries.bump_activity(session, team_id=team_id, kind="promo", day=date(2026, 12, 31))
        await activity_queries.bump_activity(session, team_id=team_id, kind="promo", day=date(2026, 12, 31), by=-1)
        await activity_queries.bump_activity(session, team_id=team_id, kind="visit", day=date(2027, 1, 1))
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
            rows = (await connection.execute(text(
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
            await connection.execute(text(statement))



async def test_smoke_print(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "德化街", "张伟")
    for text in ["接待 公司:中原数据集团 考察团一行5人", "活动 推介会 @深圳 30家", "线索 宁德时代 新材料 @宁德 很有意向",
                 "宣传 河南日报 报道我区招商成果", "线索 立项 4", "1", "撤销", "接待", "今天接待了中原数据集团来访",
                 "下午在深圳办了场推介会，来了30家企业"]:
        reply = await chat.say("张伟", text)
        print(">>", text, "\n", reply.text, reply.buttons, reply.ok)
    assert False
