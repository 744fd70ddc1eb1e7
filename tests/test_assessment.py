"""Scoring (issue 20): 考核 points computed by hand for a built district over a quarter (undo, a dropped project,
a project moved with 转交, a year boundary), explanation lines that sum to the total, the 活跃 index, the
ranking setting, the composite cap, the scheme file and the weekly 赛马榜 posted once; on both backends."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.assessment_scheme import SchemeError, default_scheme, load_scheme
from handlers.reports import compute_ranking
from handlers.reports.activity_index import index_rows
from handlers.reports.assessment import assess_all, assess_team, assessed_weeks
from handlers.score_periods import Period, period_of, split_period
from storage import activity_queries, assessment_queries, report_weeks
from storage.models import JobRun, ReportWeek
from tests.helpers import Chat, MovableClock, make_core, squad_with_members
from tests.test_jobs import LEADERS_GROUP, World, district, statuses
from tests.test_jobs import world as world  # the started bot with fake platforms

TZ = ZoneInfo("Asia/Shanghai")
LEADER = "王局"


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=TZ).astimezone(UTC)


def leader_chat(sessions, clock: MovableClock, **settings: Any) -> Chat:
    return Chat(make_core(sessions, clock, leaders=[f"console:{LEADER}"], **settings), clock)


async def at(chat: Chat, moment: datetime, user: str, text: str) -> None:
    chat.clock.now = moment
    await chat.ok(user, text)


async def build_district(sessions, clock: MovableClock, **settings: Any) -> Chat:
    """Three squads over 2026's fourth quarter (the clock ends on Tuesday 2026-11-24 10:00).

    德化街 (张伟): #1 signed 9-28 (Q3) and landed 10-10 at 2亿; #3 华为云中心 12亿 (公司:华为技术有限公司) signed
    10-12; #4 3000万 signed 10-15 and dropped 10-20; #5 60亿 created 10-20 and undone; #6 京东结算中心 5亿
    signed 11-02, 1亿 in place 11-03, moved to 长江路 11-05 by a leader; 5000万 in place for #3 (11-10) and
    1亿 for #1 (11-12); visits 10-13 and 11-03, and one on 11-17 undone; a publicity item today. 长江路 (刘洋):
    #2 谋划 10-01, a reception today. 五里堡 (陈静): created 11-10, #7 谋划 11-11, then silent.
    """
    clock.now = local(2026, 9, 20)
    chat = leader_chat(sessions, clock, **settings)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await at(chat, local(2026, 9, 28), "张伟", "签约 中原数据港 2亿")  # #1
    await at(chat, local(2026, 10, 1), "刘洋", "谋划 仲景产业园")
    await at(chat, local(2026, 10, 10), "张伟", "落地 #1")
    await at(chat, local(2026, 10, 12), "张伟", "签约 华为云中心 12亿 公司:华为技术有限公司")
    await at(chat, local(2026, 10, 13), "张伟", "拜访 华为云中心 @深圳")
    await at(chat, local(2026, 10, 15), "张伟", "签约 蜜雪冰城总部 3000万")
    await at(chat, local(2026, 10, 20), "张伟", "放弃 蜜雪冰城总部 企业调整投资计划")
    await at(chat, local(2026, 10, 20, 11), "张伟", "签约 比亚迪体验中心 60亿")
    await at(chat, local(2026, 10, 20, 11), "张伟", "撤销")
    await at(chat, local(2026, 11, 2), "张伟", "签约 京东结算中心 5亿")
    await at(chat, local(2026, 11, 3), "张伟", "拜访 中原数据港 @上海")
    await at(chat, local(2026, 11, 3, 11), "张伟", "到位 京东结算中心 1亿")
    await at(chat, local(2026, 11, 5), LEADER, "转交 京东结算中心 长江路")
    clock.now = local(2026, 11, 10)  # a Tuesday: 五里堡's first assessed week begins on 11-16
    await squad_with_members(chat, "五里堡", "陈静")
    await at(chat, local(2026, 11, 11), "陈静", "谋划 三全食品产业园")  # in the week it was created
    await at(chat, local(2026, 11, 10, 11), "张伟", "到位 华为云中心 5000万")
    await at(chat, local(2026, 11, 12), "张伟", "到位 中原数据港 1亿")
    await at(chat, local(2026, 11, 17), "张伟", "拜访 华为云中心 @北京")
    await at(chat, local(2026, 11, 17), "张伟", "撤销")
    await at(chat, local(2026, 11, 24), "刘洋", "接待 公司:宇通集团 考察团一行5人")
    await at(chat, local(2026, 11, 24), "张伟", "宣传 河南日报 报道我区招商成果")
    return chat


def total_of(text: str) -> float:
    found = re.search(r"合计 (-?[\d.]+) 分", text)
    assert found, text
    return float(found.group(1))


def line_points(text: str) -> list[float]:
    """The points at the end of every explanation line (· … +5 / -2)."""
    return [float(m.group(1)) for m in re.finditer(r"^· .*  ([+-]?[\d.]+)$", text, re.MULTILINE)]


async def test_a_quarter_scored_by_hand_with_every_line_explained(sessions, clock) -> None:
    chat = await build_district(sessions, clock)
    reply = await chat.ok(LEADER, "考核 德化街 本季度")
    text = reply.text
    # 落地 #1 2亿 (亿元以上) 8; 签约 华为云中心 12亿 (10亿元以上) 10; #1's 签约 was in Q3; the dropped and the
    # undone projects give nothing; 京东结算中心 now belongs to 长江路. Funds 1.5亿 × 2 = 3 (京东's 1亿 moved
    # with it). Visits 2 × 1 (the third undone). Publicity 1 × 0.5. Bonus 华为 10. Weeks without a report:
    # 10-26–11-01 and 11-16–11-22 (the visit that week was undone): −2 each (this week is not over).
    assert "落地 #1 中原数据港 2亿元（亿元以上）  +8" in text
    assert "签约 #3 华为云中心 12亿元（10亿元以上）  +10" in text
    assert "到位资金 1.5亿元 × 2分/亿元（#1 1亿元，#3 5000万元）  +3" in text
    assert "拜访 2 次 × 1分  +2" in text
    assert "宣传 1 次 × 0.5分  +0.5" in text
    assert "加分：#3 华为云中心（名单企业：华为）  +10" in text
    assert "扣分：10月26日–11月1日 全队无报送 1 周 × 2分  -2" in text
    assert "扣分：11月16日–11月22日 全队无报送 1 周 × 2分  -2" in text
    assert "蜜雪冰城" not in text and "比亚迪" not in text and "京东" not in text
    assert total_of(text) == 29.5
    assert sum(line_points(text)) == 29.5

    # 长江路: 京东结算中心 5亿 signed in the quarter 5, bonus 京东 10, its 1亿 in place 2, a reception 1;
    # silent in 7 of the 8 weeks (谋划 on 10-01 was in the first): −14.
    other = (await chat.ok(LEADER, "考核 长江路 本季度")).text
    assert "签约 #6 京东结算中心 5亿元（亿元以上）  +5" in other and "接待 1 次 × 1分  +1" in other
    assert "扣分：10月5日–11月22日 全队无报送 7 周 × 2分  -14" in other  # consecutive weeks on one line
    assert "加分：#6 京东结算中心（名单企业：京东）  +10" in other
    assert total_of(other) == 4 and sum(line_points(other)) == 4
    # 五里堡, created 11-10: only the week from 11-16 counts against it.
    assert total_of((await chat.ok(LEADER, "考核 五里堡")).text) == -2  # 考核 alone: this quarter

    ranking = (await chat.ok(LEADER, "考核 排行 本季度")).text
    assert ranking.splitlines()[1:4] == ["1. 德化街 29.5分", "2. 长江路 4分", "3. 五里堡 -2分"]


async def test_the_year_boundary(sessions, clock) -> None:
    chat = await build_district(sessions, clock)
    await at(chat, local(2026, 12, 29), "张伟", "进展 华为云中心 年底回访")
    await at(chat, local(2027, 1, 5), "张伟", "签约 宇通客车基地 10亿")
    clock.now = local(2027, 1, 6)
    # 上季度 in January is last year's fourth quarter, whole: four more silent weeks (Sundays 12-06 … 12-27;
    # the week of 11-23 had the publicity; the week of 12-29 ends on 2027-01-03, so it is the new year's).
    last_quarter = (await chat.ok(LEADER, "考核 德化街 上季度")).text
    assert "2026年第4季度（10月1日–12月31日）" in last_quarter
    assert total_of(last_quarter) == 29.5 - 8 and sum(line_points(last_quarter)) == 21.5
    this_year = (await chat.ok(LEADER, "考核 德化街 本年")).text
    assert "签约 #8 宇通客车基地 10亿元（10亿元以上）  +10" in this_year
    assert total_of(this_year) == 10  # the week 12-28 – 01-03 had a report (12-29)
    ranking = (await chat.ok(LEADER, "考核 排行 上季度")).text
    # 长江路: the reception was in the week of 11-23; silent in the four after: 4 − 8. 五里堡: six weeks.
    assert ranking.splitlines()[1:4] == ["1. 德化街 21.5分", "2. 长江路 -4分", "3. 五里堡 -12分"]


async def report_weeks_stored(sessions) -> dict[tuple[int, date], int]:
    async with sessions() as session:
        rows = (await session.exec(select(ReportWeek))).all()
    return {(row.team_id, row.week): row.reports for row in rows if row.reports}


async def test_the_weekly_report_counter_matches_a_rebuild(sessions, engine, clock) -> None:
    await build_district(sessions, clock)
    kept = await report_weeks_stored(sessions)
    # 德化街's weeks: 9-28 (签约), 10-05 (落地), 10-12 (签约, 拜访, 签约), 10-19 (放弃; the undone 签约 and its
    # undo do not count), 11-02 (签约, 拜访, 到位), 11-09 (到位 ×2), 11-23 (宣传); the 11-16 visit was undone.
    assert {week: n for (team, week), n in kept.items() if team == 1} == {
        date(2026, 9, 28): 1, date(2026, 10, 5): 1, date(2026, 10, 12): 3, date(2026, 10, 19): 1,
        date(2026, 11, 2): 3, date(2026, 11, 9): 2, date(2026, 11, 23): 1}
    async with engine.begin() as connection:
        await connection.run_sync(report_weeks.rebuild, TZ)
    assert await report_weeks_stored(sessions) == kept


async def test_activity_totals_are_activity_counts(sessions, clock) -> None:
    await build_district(sessions, clock)
    async with sessions() as session:
        for first, last in ((date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 10, 13), date(2026, 11, 3)),
                            (date(2026, 11, 24), date(2026, 11, 24)), (date(2025, 1, 1), date(2025, 12, 31)),
                            # whole months with partial ones at either end, one whole month, a year to date
                            (date(2026, 9, 15), date(2026, 11, 30)), (date(2026, 11, 1), date(2026, 11, 30)),
                            (date(2026, 1, 1), date(2026, 11, 24)), (date(2025, 12, 31), date(2026, 2, 1))):
            assert await assessment_queries.activity_totals(session, start=first, end=last) == \
                await activity_queries.activity_counts(session, start=first, end=last)


async def test_ranking_and_explanation_agree_for_every_squad_and_period(sessions, clock) -> None:
    await build_district(sessions, clock)
    settings = make_core(sessions, clock).settings
    today = date(2026, 11, 24)
    async with sessions() as session:
        for key in ("week", "last_week", "month", "last_month", "quarter", "year"):
            period = period_of(key, today)
            ranked = await assess_all(session, settings=settings, period=period, today=today)
            for score in ranked:
                explained = await assess_team(session, settings=settings, period=period, today=today,
                                              team_id=score.team_id)
                assert explained.total == score.total, (key, score.team_name)
                assert round(sum(line.points for line in explained.lines), 2) == explained.total


async def test_who_may_ask(sessions, clock) -> None:
    chat = await build_district(sessions, clock)
    own = (await chat.ok("张伟", "考核")).text  # a member: their squad, this quarter
    assert "德化街" in own and total_of(own) == 29.5
    refused = await chat.refused("张伟", "考核 长江路")
    assert "长江路" in refused.text
    assert "1. 德化街 29.5分" in (await chat.ok("刘洋", "考核 排行")).text  # the ranking is for everyone
    assert "1. 德化街 29.5分" in (await chat.ok(LEADER, "考核")).text  # a leader without a squad: the ranking
    unknown = await chat.refused(LEADER, "考核 不存在的队")
    assert "没有名为「不存在的队」的小分队" in unknown.text and "正确格式" in unknown.text
    english = (await chat.ok(LEADER, "assess 德化街 this quarter")).text
    assert "Total 29.5 pts" in english


async def test_activity_index(sessions, clock) -> None:
    chat = await build_district(sessions, clock)
    # This quarter: signings 德化街 1 (华为云中心), 长江路 1 (京东, moved); starts 德化街 1; visits 德化街 2;
    # receptions 长江路 1; publicity 德化街 1. Each sub-index against the best squad, six equal weights:
    # 德化街 (100 + 100 + 100 + 100) / 6 = 66.7; 长江路 (100 + 100) / 6 = 33.3; 五里堡 0.
    text = (await chat.ok("张伟", "活跃 本季度")).text
    lines = text.splitlines()
    assert lines[2].startswith("1. 德化街 66.7") and lines[3].startswith("2. 长江路 33.3")
    assert lines[4] == "3. 五里堡 0.0"
    assert "签约1、落地1、拜访2、宣传1" in lines[2] and "签约1、接待1" in lines[3]


def test_index_rows_normalise_against_the_best_squad() -> None:
    names = {1: "甲", 2: "乙", 3: "丙"}
    counts = {1: {"sign": 4, "visit": 10}, 2: {"sign": 2, "visit": 20, "promo": 1}}
    weights = {"signings": 2, "starts": 0, "visits": 1, "receptions": 0, "promotions": 1, "publicity": 0}
    rows = index_rows(names, counts, weights)
    # 甲: (2 × 100 + 1 × 50 + 0) / 4 = 62.5; 乙: (2 × 50 + 100 + 100) / 4 = 75.0; 丙: 0.
    assert [(r.team_name, r.index, r.rank) for r in rows] == [("乙", 75.0, 1), ("甲", 62.5, 2), ("丙", 0.0, 3)]


async def test_the_morning_ranking_by_assessment_and_by_activity(sessions, clock) -> None:
    await build_district(sessions, clock)
    # The year so far. 德化街: #1 signed (5) and landed (8), #3 (10), funds 3, visits 2, publicity 0.5, bonus
    # 10, silent in the week of 9-21 and two of the quarter: 38.5 − 6 = 32.5. 长江路: 5 + 10 + 2 + 1 − 16 = 2.
    chat = leader_chat(sessions, clock, ranking_by="assessment")
    board = (await chat.ok(LEADER, "排行")).text
    assert "【比】考核积分排名（本年）" in board
    assert [
        line for line in board.splitlines() if re.match(r"^\d\. ", line)] == ["1. 德化街 32.5分", "2. 长江路 2分", "3. 五里堡 -2分"]
    async with sessions() as session:
        rows = await compute_ranking(session, settings=chat.core.settings, now=clock.now)
    assert [(r.team_name, r.score) for r in rows] == [("德化街", 32.5), ("长江路", 2), ("五里堡", -2)]
    # By activity: signings 德化街 2 of best 2, 长江路 1; starts, visits, publicity 德化街; receptions 长江路:
    # 德化街 (100 + 100 + 100 + 100) / 6 = 66.7, 长江路 (50 + 100) / 6 = 25.0.
    chat = leader_chat(sessions, clock, ranking_by="activity")
    board = (await chat.ok(LEADER, "排行")).text
    assert [
        line for line in board.splitlines() if re.match(r"^\d\. ", line)] == ["1. 德化街 66.7", "2. 长江路 25.0", "3. 五里堡 0.0"]


async def test_junk_entries_cannot_lift_a_squad(sessions, clock) -> None:
    chat = leader_chat(sessions, clock)
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok(LEADER, "目标 德化街 谋划 1 签约 1")
    await chat.ok(LEADER, "目标 长江路 谋划 1 签约 1")
    junk = ("华润万象城", "杉杉奥特莱斯", "比亚迪电池", "宁德时代基地", "蜜雪冰城总部", "胖东来商场", "京东物流园",
            "顺丰速运中心")
    for name in junk:  # 800 % of the 谋划 target, nothing signed: without the cap (1 × 8 + 0) / 4 = 200 %
        await chat.ok("张伟", f"谋划 {name}")
    await chat.ok("刘洋", "签约 宇通客车基地 2亿")  # 谋划 and 签约 both met: 100 %
    async with sessions() as session:
        rows = await compute_ranking(session, settings=chat.core.settings, now=clock.now)
    assert [(r.team_name, round(r.score, 1)) for r in rows] == [("长江路", 100.0), ("德化街", 25.0)]


def test_the_scheme_file_is_checked_with_one_line_errors(tmp_path: Path) -> None:
    assert default_scheme().signed["fifty_yi"] == 20 and "华为" in default_scheme().bonus_companies
    text = Path("handlers/assessment_default.toml").read_text(encoding="utf-8")
    own = tmp_path / "scheme.toml"
    own.write_text(text.replace("per_yi = 2", "per_yi = 3"), encoding="utf-8")
    assert load_scheme(own).funds_per_yi == 3 and load_scheme(own).source == str(own)
    for broken, expected in (
        (text.replace("per_yi = 2", "per_yi = -1"), "[funds] per_yi 不能为负数"),
        (text.replace("visit = 1", "visit = \"一\""), "[activity] visit 应为数字"),
        (text.replace("fifty_yi = 20", ""), "[signed] 缺少 fifty_yi"),
        (text.replace("[deductions]", "[deduction]"), "缺少 [deductions] 段"),
        (text + "\n[extra]\nx = 1\n", "不认识的段"),
        (text.replace("signings = 1\nstarts = 1\nvisits = 1\nreceptions = 1\npromotions = 1\npublicity = 1",
                      "signings = 0\nstarts = 0\nvisits = 0\nreceptions = 0\npromotions = 0\npublicity = 0"),
         "至少一个权重大于0"),
        ("[signed\n", "TOML 格式错误"),
    ):
        own.write_text(broken, encoding="utf-8")
        with pytest.raises(SchemeError) as error:
            load_scheme(own)
        assert expected in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(SchemeError, match="无法读取考核方案"):
        load_scheme(tmp_path / "missing.toml")


def test_cli_refuses_a_bad_scheme_or_ranking_setting_in_one_line(tmp_path: Path) -> None:
    from tests.test_cli_errors import one_line_error, zsbot

    (tmp_path / "bad.toml").write_text("[signed]\nbelow_yi = 1\n", encoding="utf-8")
    import os
    os.environ["ZSBOT_ASSESSMENT_FILE"] = str(tmp_path / "bad.toml")
    try:
        assert "[signed] 缺少 yi" in one_line_error(zsbot(tmp_path, "jobs", "list"), 2)
    finally:
        del os.environ["ZSBOT_ASSESSMENT_FILE"]
    os.environ["ZSBOT_RANKING_BY"] = "points"
    try:
        assert "ZSBOT_RANKING_BY" in one_line_error(zsbot(tmp_path, "jobs", "list"), 2)
    finally:
        del os.environ["ZSBOT_RANKING_BY"]


def test_periods_and_their_year_boundary() -> None:
    assert period_of("last_quarter", date(2027, 2, 10)) == Period("last_quarter", date(2026, 10, 1), date(2026, 12, 31))
    assert period_of("last_month", date(2027, 1, 6)) == Period("last_month", date(2026, 12, 1), date(2026, 12, 31))
    assert period_of("last_week", date(2027, 1, 6)) == Period("last_week", date(2026, 12, 28), date(2027, 1, 3))
    assert period_of("quarter", date(2026, 11, 24)) == Period("quarter", date(2026, 10, 1), date(2026, 11, 24))
    assert period_of("year", date(2027, 1, 6)).first == date(2027, 1, 1)
    assert split_period("德化街 本季度") == ("quarter", "德化街")
    assert split_period("上季度德化街") == ("last_quarter", "德化街")
    # Weeks assessed in January: the one ending Sunday 01-03 (begun in December) is the new year's.
    weeks = assessed_weeks(period_of("year", date(2027, 1, 6)), date(2027, 1, 6))
    assert weeks == [(date(2026, 12, 28), date(2027, 1, 3))]


async def test_the_weekly_race_is_posted_once_per_week_even_across_restarts(world: World) -> None:
    await district(world)
    await world.say("telegram", "1001", "拜访 @深圳 公司:比亚迪集团")  # Tuesday 11-24: this week
    world.clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=TZ).astimezone(UTC)  # the next Monday
    outcomes = await world.scheduler.tick()
    assert statuses(outcomes, "weekly_race") == ["sent"]
    (race,) = [t for t in world.telegram_texts(LEADERS_GROUP) if "赛马榜" in t]
    assert "11月23日–11月29日" in race and "1. 德化街 16.7" in race and "拜访1" in race
    # The same minute again, then a restarted scheduler (a new process) later that morning: nothing more.
    assert statuses(await world.scheduler.tick(), "weekly_race") == ["done"]
    world.clock.now = datetime(2026, 11, 30, 9, 20, tzinfo=TZ).astimezone(UTC)
    restarted = world.new_scheduler()
    assert "sent" not in statuses(await restarted.tick(), "weekly_race")
    assert len([t for t in world.telegram_texts(LEADERS_GROUP) if "赛马榜" in t]) == 1
    assert not [t for t in world.robot_texts(world.keys["长江路"]) if "赛马榜" in t]  # leaders only
    rows = [row for row in await world.ledger("weekly_race")]
    assert [(row.state, row.period) for row in rows] == [("sent", "2026-11-30")]
    assert all(isinstance(row, JobRun) for row in rows)
