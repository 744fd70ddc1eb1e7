"""The report builders (排行, 进度, 问题清单, lights, forecast, 待核实, weekly, ledger) on hand-built data.

Charts are stubbed (they have their own tests) except in one test that renders the real PNG; the stub
records what each chart was asked to draw, so the numbers behind the pictures are checked too.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.chart_drawer import ChartDrawer
from bot.settings import Settings
from handlers import reports
from handlers.reports import composite_completion, compute_ranking, last_week, stage_lacks
from storage import report_queries as rq
from storage.db import SessionFactory, transaction
from tests.test_reports_queries import BJ, World, bj

# 1 July 2028 is day 183 of a leap year: 序时进度 is exactly 50 %.
HALF_YEAR = bj(2028, 7, 1, 9)


def make_settings(**overrides: Any) -> Settings:
    """Settings as a deployment would have them, without reading the environment's database."""
    return Settings(_env_file=None, database_url="sqlite:///unused.db", timezone="Asia/Shanghai",  # type: ignore[call-arg]
                    **overrides)


class RecordingCharts(list[tuple[str, tuple[Any, ...], dict[str, Any]]]):
    """The chart port as a recorder: each drawing asked for (its name, data and titles), a tiny fake PNG back."""

    async def ranking_and_funnel(self, *args: Any, **kwargs: Any) -> bytes:
        self.append(("combined_chart", args, kwargs))
        return b"\x89PNG fake"

    async def funnel(self, *args: Any, **kwargs: Any) -> bytes:
        self.append(("funnel_chart", args, kwargs))
        return b"\x89PNG fake"


@pytest.fixture
def drawn() -> RecordingCharts:
    """The charts the reports ask the port for."""
    return RecordingCharts()


def test_composite_completion_weights_the_stages() -> None:
    tally = rq.StageTally(planned=10, signed=10)
    weights = {"planned": 1.0, "attracting": 2.0, "signed": 3.0, "landed": 4.0}
    # (1 × 10/20 + 3 × 10/10) / (1 + 3) = 87.5 %
    assert composite_completion(tally, {"planned": 20, "signed": 10}, weights) == pytest.approx(87.5)
    assert composite_completion(rq.StageTally(signed=15), {"signed": 10}, weights) == pytest.approx(100.0)


def test_each_pool_is_capped_at_its_target_in_the_composite() -> None:
    weights = {"planned": 1.0, "attracting": 2.0, "signed": 3.0, "landed": 4.0}
    targets = {"planned": 10, "attracting": 10, "signed": 10, "landed": 10}
    # 400 junk 谋划 entries and nothing else: (1 × 1 + 0) / 10 = 10 %, not (1 × 40) / 10 = 400 %.
    junk = rq.StageTally(planned=400)
    assert composite_completion(junk, targets, weights) == pytest.approx(10.0)
    # Every pool exactly on target: 100 %; a squad at 100 % in every pool is not beaten by the junk.
    full = rq.StageTally(planned=10, attracting=10, signed=10, landed=10)
    assert composite_completion(full, targets, weights) == pytest.approx(100.0)
    assert composite_completion(junk, targets, weights) < composite_completion(full, targets, weights)
    # Over target in one pool, short in another: the surplus does not fill the gap.
    mixed = rq.StageTally(planned=30, attracting=10, signed=5, landed=10)
    assert composite_completion(mixed, targets, weights) == pytest.approx((1 + 2 + 1.5 + 4) / 10 * 100)


def test_catch_up_numbers_round_up() -> None:
    # Target 10 signed at 序时进度 50 %: 5 due; with 3, two are missing. 9 × 50 % = 4.5 rounds up to 5.
    assert stage_lacks(rq.StageTally(signed=3), {"signed": 10}, 0.5) == {"signed": 2}
    assert stage_lacks(rq.StageTally(signed=3, landed=5), {"signed": 9, "landed": 4}, 0.5) == {"signed": 2}
    assert stage_lacks(rq.StageTally(planned=9), {"planned": 10}, 0.896) == {}
    assert stage_lacks(rq.StageTally(), {"landed": 60}, 0.896) == {"landed": 54}


def test_last_week_is_the_previous_monday_to_sunday() -> None:
    assert last_week(date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 22))  # a Monday
    assert last_week(date(2026, 11, 22)) == (date(2026, 11, 9), date(2026, 11, 15))  # a Sunday
    assert last_week(date(2026, 1, 1)) == (date(2025, 12, 22), date(2025, 12, 28))


async def _squads_with_targets(sessions: SessionFactory) -> dict[str, int]:
    """Five squads at 序时进度 50 % (1 July 2028), each with a target of 10 signed but one."""
    async with transaction(sessions) as session:
        w = World(session)
        ids = {name: await w.team(name) for name in ("德化街", "建中街", "淮河路", "解放路", "福华街", "未设队")}
        signed = {"德化街": (6, 100), "建中街": (4, 100), "淮河路": (4, 100), "解放路": (4, 900), "福华街": (1, 100)}
        for name, (n, amount) in signed.items():
            for _ in range(n):
                await w.project(ids[name], stage="signed", at=bj(2028, 3, 1), amount=amount)
            await w.targets(ids[name], 2028, signed=10)
        await w.project(ids["未设队"], stage="landed", at=bj(2028, 3, 1))
    return ids


async def test_ranking_by_targets_lights_and_ties(sessions: SessionFactory) -> None:
    ids = await _squads_with_targets(sessions)
    async with sessions() as session:
        rows = await compute_ranking(session, settings=make_settings(), now=HALF_YEAR)
    table = [(r.team_name, r.rank, round(r.score, 1), r.light) for r in rows]
    assert table == [
        ("德化街", 1, 60.0, "green"),  # ahead of 50 %
        ("解放路", 2, 40.0, "yellow"),  # 10 points behind; beats the other 40 % by its larger investment
        ("建中街", 3, 40.0, "yellow"),  # equal score and equal investment: a shared rank
        ("淮河路", 3, 40.0, "yellow"),
        ("福华街", 5, 10.0, "red"),  # 40 points behind
        ("未设队", 6, 10.0, None),  # no targets: after the others, by weighted score (1 + 2 + 3 + 4)
    ]
    assert rows[1].amount_yuan == 4 * 900  # the tie-breaker: signed + landed investment
    assert rows[-1].team_id == ids["未设队"]


async def test_ranking_weighted_score_without_targets(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a, b, c = await w.team("甲队"), await w.team("乙队"), await w.team("丙队")
        for _ in range(3):
            await w.project(a, stage="planned", at=bj(2028, 2, 1))
        await w.project(b, stage="landed", at=bj(2028, 2, 1), amount=5)  # also planned/attracting/signed
        await w.project(c, stage="landed", at=bj(2028, 2, 1), amount=9)
    async with sessions() as session:
        rows = await compute_ranking(session, settings=make_settings(), now=HALF_YEAR)
        # Default weights 1/2/3/4: a landed project scores 1 + 2 + 3 + 4 = 10; three planned score 3.
        assert [(r.team_name, r.rank, r.score) for r in rows] == [("丙队", 1, 10), ("乙队", 2, 10), ("甲队", 3, 3)]
        assert all(r.light is None for r in rows)
        heavy_plans = make_settings(stage_weights={"planned": 5, "attracting": 0, "signed": 0, "landed": 0})
        rows = await compute_ranking(session, settings=heavy_plans, now=HALF_YEAR)
        assert [(r.team_name, r.score) for r in rows] == [("甲队", 15), ("丙队", 5), ("乙队", 5)]


async def test_leaderboard_compare_learn_catch_up(sessions: SessionFactory, drawn: list[Any]) -> None:
    now = HALF_YEAR
    yesterday = date(2028, 6, 30)
    async with transaction(sessions) as session:
        w = World(session)
        a, b, c = await w.team("德化街"), await w.team("建中街"), await w.team("新来队")
        for _ in range(3):
            await w.project(a, stage="signed", at=bj(2028, 3, 1))
        byd = await w.project(a, "比亚迪河南体验中心", stage="signed", at=bj(2028, 6, 30, 10), amount=250_000_000)
        await w.event(byd, a, at=bj(2028, 6, 30, 10), to_stage="signed")
        # Moved to 签约 and undone at once: neither a mover nor a report.
        oops = await w.project(b, "杉杉奥特莱斯", stage="attracting", at=bj(2028, 5, 1), amount=900_000_000)
        await w.event(oops, b, at=bj(2028, 6, 30, 11), to_stage="signed", undone_at=bj(2028, 6, 30, 11, 1))
        for hour in (8, 9, 10):
            await w.event(None, b, at=bj(2028, 6, 30, hour), kind="visit")
        mall = await w.project(b, "华润万象城二期", stage="attracting", at=bj(2028, 6, 30, 14), amount=900_000_000)
        await w.event(mall, b, at=bj(2028, 6, 30, 14), kind="create", to_stage="attracting")
        for _ in range(6):
            await w.project(b, stage="signed", at=bj(2028, 2, 1))
        await w.targets(a, 2028, signed=10)  # 4 of 10 = 40 %: needs 5 by now, lacks 1
        await w.targets(b, 2028, signed=10)  # 6 of 10 = 60 %
        await w.targets(c, 2028, signed=10)  # 0 of 10: lacks 5
        await w.targets(None, 2028, signed=30)  # district 10 of 30: needs 15, lacks 5
        await w.snapshot(yesterday, {a: 1, b: 2})

    async with sessions() as session:
        reply = await reports.leaderboard(session, charts=drawn, settings=make_settings(), now=now)
    lines = reply.text.splitlines()
    assert lines[0] == "🏆 比学赶超 · 2028年7月1日（周六）"
    assert "序时进度 50.0%" in lines
    assert "1. 建中街 🟢 60.0% ↑1" in lines
    assert "2. 德化街 🟡 40.0% ↓1" in lines
    assert "3. 新来队 🔴 0.0% 新" in lines
    assert "🎉 签约 #4 比亚迪河南体验中心 2.5亿元（德化街）" in lines
    assert "杉杉" not in reply.text
    # The signing is listed already; the largest other move is the new 招引 project.
    assert "💰 新进大项目：华润万象城二期 9亿元（建中街·招引）" in lines
    assert "📣 报送最多：建中街 4条、德化街 1条" in lines
    catch_up = lines[lines.index("【赶】距序时进度还差"):]
    assert catch_up[1:] == ["🔴 新来队：签约 5 个", "🟡 德化街：签约 1 个", "全区：签约 5 个"]
    assert reply.markdown is not None and "**【比】目标完成率排名**" in reply.markdown
    assert "**" not in reply.text
    assert reply.image == b"\x89PNG fake"
    name, args, kwargs = drawn[-1]
    assert name == "combined_chart"
    bars, funnel = args
    assert [(bar.label, bar.value, bar.light, bar.delta) for bar in bars] == [
        ("建中街", 60.0, "green", 1), ("德化街", 40.0, "yellow", -1), ("新来队", 0.0, "red", None),
    ]
    assert [(stage.count, stage.target) for stage in funnel] == [(12, None), (12, None), (10, 30), (0, None)]
    assert kwargs["schedule_pct"] == pytest.approx(50.0)


async def test_leaderboard_without_targets_or_activity(sessions: SessionFactory, drawn: list[Any]) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        await w.project(await w.team("德化街"), stage="planned", at=bj(2028, 2, 1))
    async with sessions() as session:
        reply = await reports.leaderboard(session, charts=drawn, settings=make_settings(), now=HALF_YEAR, lang="en")
    assert "Schedule 50.0%" in reply.text
    assert "1. 德化街 1 pts (P1 A0 S0 L0)" in reply.text
    assert "No projects signed or landed yesterday." in reply.text
    assert "No targets set for the year yet" in reply.text
    assert drawn[-1][0] == "funnel_chart"  # no lights to colour a ranking with: the funnel alone


async def test_snapshot_saved_by_the_daily_job_feeds_tomorrows_arrows(sessions: SessionFactory) -> None:
    await _squads_with_targets(sessions)
    settings = make_settings()
    async with transaction(sessions) as session:
        rows = await compute_ranking(session, settings=settings, now=HALF_YEAR)
        await rq.save_rank_snapshot(session, day=date(2028, 7, 1), rows=rows)
    async with sessions() as session:
        reply = await reports.leaderboard(session, settings=settings, now=HALF_YEAR + timedelta(days=1),
                                          charts=None)
    assert reply.image is None
    assert "1. 德化街 🟢 60.0% –" in reply.text
    assert "5. 福华街 🔴 10.0% –" in reply.text


async def test_year_boundary_in_the_reports(sessions: SessionFactory, drawn: list[Any]) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, stage="signed", at=bj(2025, 12, 31, 23, 30), amount=100_000_000)
        await w.project(a, stage="signed", at=bj(2026, 1, 1, 0, 10), amount=30_000_000)
    async with sessions() as session:
        settings = make_settings()
        new_year = await reports.status_report(session, charts=drawn, settings=settings, now=bj(2026, 1, 1, 8),
                                               viewer_team_id=a, is_leader=False)
        old_year = await reports.status_report(session, charts=drawn, settings=settings, now=bj(2025, 12, 31, 23, 59),
                                               viewer_team_id=a, is_leader=False)
    assert "签约 1" in new_year.text and "签约金额 3000万元" in new_year.text
    assert "序时进度 0.3%" in new_year.text
    assert "签约金额 1亿元" in old_year.text and "序时进度 100.0%" in old_year.text


async def _status_world(sessions: SessionFactory) -> dict[str, int]:
    async with transaction(sessions) as session:
        w = World(session)
        ids = {name: await w.team(name) for name in ("德化街", "建中街", "德化路")}
        await w.project(ids["德化街"], stage="signed", at=bj(2028, 3, 1), amount=250_000_000,
                        industry="汽车", wheel="工业", zone="三环内")
        await w.project(ids["德化街"], stage="landed", at=bj(2028, 4, 1), amount=50_000_000,
                        industry="现代商贸", wheel="服务业", zone="四环至绕城")
        await w.project(ids["建中街"], stage="attracting", at=bj(2028, 5, 1), amount=80_000_000,
                        industry="汽车", wheel="工业")
        await w.targets(None, 2028, planned=6, attracting=4, signed=2, landed=2)
        await w.targets(ids["德化街"], 2028, signed=2, landed=2)
    return ids


async def test_status_member_sees_district_and_own_squad(sessions: SessionFactory, drawn: list[Any]) -> None:
    ids = await _status_world(sessions)
    async with sessions() as session:
        reply = await reports.status_report(session, charts=drawn, settings=make_settings(), now=HALF_YEAR,
                                            viewer_team_id=ids["建中街"], is_leader=False)
    lines = reply.text.splitlines()
    assert lines[:2] == ["📊 全区进度 · 2028年7月1日（周六）", "序时进度 50.0%"]
    # District: 3 planned of 6 = 50 % (green); landed 1 of 2 on schedule.
    assert "谋划 3/6 50.0% 🟢" in lines
    assert "签约 2/2 100.0% 🟢" in lines
    assert "签约金额 3亿元 · 落地金额 5000万元" in lines
    assert "🚩 本队：建中街" in lines
    assert "排名 2/3 · 积分 3（未设目标）" in lines
    assert "德化街" not in reply.text and "按产业" not in reply.text
    assert reply.image is not None and drawn[-1][0] == "funnel_chart"


async def test_status_leader_sees_breakdowns_and_every_squad(sessions: SessionFactory, drawn: list[Any]) -> None:
    ids = await _status_world(sessions)
    async with sessions() as session:
        settings = make_settings()
        summary = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                              is_leader=True)
        # A short summary first: the pools, the squads' lights, and how to ask for more.
        assert len(summary.text.splitlines()) <= 14
        assert "小分队：🟢 1 个" in summary.text and "进度 详细" in summary.text and "\n按产业\n" not in summary.text
        reply = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                            is_leader=True, view="all")
        lines = reply.text.splitlines()
        for heading in ("按服务业 / 工业", "按产业", "按区域", "按小分队"):
            assert heading in lines
        assert "工业：谋划2 招引2 签约1 落地0，签约+落地 2.5亿元" in lines
        assert "服务业：谋划1 招引1 签约1 落地1，签约+落地 1亿元" in lines  # 5000万 signed + 5000万 landed
        assert "未填：谋划1 招引1 签约0 落地0" in lines  # 建中街's project has no zone: listed last
        assert lines.index("未填：谋划1 招引1 签约0 落地0") > lines.index("三环内：谋划1 招引1 签约1 落地0，签约+落地 2.5亿元")
        # Composite completion of 德化街: (3 × 2/2 + 4 × 1/2) / (3 + 4) = 71.4 %, ahead of 50 %.
        assert "1. 德化街 🟢 71.4% 谋2 招2 签2 落1" in lines
        assert any(line.startswith("2. 建中街") for line in lines)
        industry = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                               is_leader=True, view="industry")
        assert "\n按产业\n" in industry.text and "\n按区域\n" not in industry.text and "\n按小分队\n" not in industry.text

        one = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                          is_leader=True, team_name="德化街")
        assert one.text.splitlines()[0] == "📊 德化街 · 2028年7月1日（周六）"
        assert "签约 2/2 100.0% 🟢" in one.text and "建中街" not in one.text

        unknown = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                              is_leader=True, team_name="德化")
        # "德化" is part of two names: ambiguous, so a refusal offering both.
        assert unknown.ok is False
        assert "没有名为「德化」的小分队。" in unknown.text
        assert "相近的有：德化街、德化路" in unknown.text

        unique = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR, viewer_team_id=None,
                                             is_leader=True, team_name="建中")
        assert unique.ok and unique.text.startswith("📊 建中街")

        captain = await reports.status_report(session, charts=drawn, settings=settings, now=HALF_YEAR,
                                              viewer_team_id=ids["德化街"], is_leader=False, team_name="德化街")
        assert captain.ok and captain.text.startswith("📊 德化街")  # who may ask is handlers.access's to say


async def test_status_counts_follow_the_verification_setting(sessions: SessionFactory, drawn: list[Any]) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, stage="signed", at=bj(2028, 3, 1), signed_verified_at=bj(2028, 3, 2))
        await w.project(a, stage="signed", at=bj(2028, 3, 5))
    async with sessions() as session:
        loose = await reports.status_report(session, charts=drawn, settings=make_settings(), now=HALF_YEAR,
                                            viewer_team_id=a, is_leader=False)
        strict = await reports.status_report(session, charts=drawn, settings=make_settings(require_verification=True),
                                             now=HALF_YEAR, viewer_team_id=a, is_leader=False)
    assert "签约 2\n" in loose.text and "待核实" not in loose.text  # counted, and nobody verifies
    assert "签约 1（另有待核实 1）" in strict.text


async def test_problem_list_by_category_and_age(sessions: SessionFactory) -> None:
    now = bj(2026, 11, 24, 9)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        p1 = await w.project(a, "杉杉奥特莱斯")
        p2 = await w.project(b, "仲景")
        await w.problem(p1, opened_at=bj(2026, 11, 24, 8), category="规划", text="规划调整")
        await w.problem(p2, opened_at=bj(2026, 10, 1), category="土地", text="用地指标未批",
                        escalated_at=bj(2026, 10, 16))
        await w.problem(p1, opened_at=bj(2026, 11, 10), category="土地")
        await w.problem(p1, opened_at=bj(2026, 1, 1), resolved_at=bj(2026, 2, 1))

    async with sessions() as session:
        settings = make_settings()
        reply = await reports.problem_list(session, settings=settings, now=now)
        mine = await reports.problem_list(session, settings=settings, now=now, team_id=a)
        empty = await reports.problem_list(session, settings=settings, now=now, team_id=b + 100)
    lines = reply.text.splitlines()
    assert lines[1:3] == ["未解决 3 个 · 超过14天 1 个", "土地 2 · 规划 1"]
    items = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert items == [
        "1. 【土地】#2 仲景（建中街）54天 ⚠️（已报领导）",
        "2. 【土地】#1 杉杉奥特莱斯（德化街）14天",
        "3. 【规划】#1 杉杉奥特莱斯（德化街）今天",
    ]
    assert "    用地指标未批" in lines
    assert "仲景" not in mine.text and "未解决 2 个" in mine.text
    assert "✅ 暂无未解决的问题。" in empty.text


async def test_stale_report_lights_and_reds_for_leaders(sessions: SessionFactory) -> None:
    now = bj(2026, 11, 24, 9)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        await w.project(a, "黄灯", stage="planned", last_event_at=bj(2026, 9, 10))
        await w.project(b, "红灯", stage="attracting", last_event_at=bj(2026, 7, 20))
        await w.project(b, "出库", stage="signed", at=bj(2026, 1, 5), last_event_at=bj(2026, 5, 1))
        await w.project(a, "新鲜", stage="planned", last_event_at=bj(2026, 11, 1))
        quiet = await w.team("安静队")
        await w.project(quiet, "也新鲜", stage="planned", last_event_at=bj(2026, 11, 1))

    async with sessions() as session:
        settings = make_settings()
        squad = await reports.stale_report(session, settings=settings, now=now, team_id=a)
        leaders = await reports.stale_report(session, settings=settings, now=now, reds_only=True)
        nothing = await reports.stale_report(session, settings=settings, now=now, team_id=quiet)
        only_yellow = await reports.stale_report(session, settings=settings, now=now, team_id=a, reds_only=True)
        tighter = await reports.stale_report(session, settings=make_settings(stale_months=(1, 2, 3)), now=now,
                                             team_id=a)
    assert squad is not None and leaders is not None and tighter is not None
    assert "🟡超2个月未更新 1 个" in squad.text
    assert "🟡 #1 黄灯（谋划）75天未更新" in squad.text
    assert "红灯" not in squad.text and "新鲜" not in squad.text
    assert "黄灯" not in leaders.text
    assert "⛔ #3 出库（建中街·签约）207天未更新" in leaders.text
    assert leaders.text.index("出库") < leaders.text.index("红灯")  # the most severe first
    assert nothing is None and only_yellow is None
    assert "🔴超2个月未更新 1 个" in tighter.text


async def test_forecast_report(sessions: SessionFactory) -> None:
    now = bj(2026, 11, 24, 9)
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, stage="signed", at=bj(2026, 3, 1))
        await w.project(a, "比亚迪", stage="attracting", at=bj(2026, 4, 1), expected_stage="signed",
                        expected_date=date(2026, 12, 15))
        await w.project(a, "杉杉", stage="attracting", at=bj(2026, 4, 1), expected_stage="signed",
                        expected_date=date(2026, 11, 1), slips=3)
        await w.targets(None, 2026, signed=4)
    async with sessions() as session:
        reply = await reports.forecast_report(session, settings=make_settings(), now=now)
    lines = reply.text.splitlines()
    # 1 signed + 1 expected by 31 Dec = 2 of 4: one plain sentence per pool.
    assert "签约：已 1，预计年底 2，目标 4，差 2" in lines
    assert "谋划：已 3，预计年底 3" in lines  # no target: no gap
    assert "⚠️ 预计日期已过仍未达到：签约 1 个" in lines
    assert "#3 杉杉（德化街）预计签约 2026-11-01 · 推迟3次" in lines


async def test_pending_verification_list(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, "仲景", stage="signed", at=bj(2026, 11, 20, 23, 30), amount=500_000_000)
        await w.project(a, "已核实", stage="signed", at=bj(2026, 11, 1), signed_verified_at=bj(2026, 11, 2))
    async with sessions() as session:
        strict = await reports.pending_verification(session, settings=make_settings(require_verification=True))
        aged = await reports.pending_verification(session, settings=make_settings(), now=bj(2026, 11, 24, 9))
        loose = await reports.pending_verification(session, settings=make_settings(), team_id=a)
        none = await reports.pending_verification(session, settings=make_settings(), team_id=a + 1)
    assert strict.text.splitlines()[:2] == ["🔍 待核实 1 个", "签约、落地经领导核实后才计入统计。"]
    assert "1. #1 仲景（德化街）签约 5亿元 · 2026-11-20" in strict.text
    assert "已核实" not in strict.text
    assert "发送「核实 #1」确认一个，「核实 全部」" in strict.text
    assert "未核实的签约、落地也计入统计" in loose.text
    assert "· 2026-11-20（等了 3 天）" in aged.text  # how long each has waited
    assert "✅ 没有待核实的签约、落地。" in none.text


async def test_weekly_summary_counts_last_monday_to_sunday(sessions: SessionFactory, drawn: list[Any]) -> None:
    now = bj(2026, 11, 23, 9)  # a Monday: last week is 16–22 November
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        await w.team("安静队")
        await w.project(a, stage="signed", at=bj(2026, 11, 16, 0, 10), amount=100_000_000)
        await w.project(a, stage="planned", at=bj(2026, 11, 22, 23, 50))
        await w.project(b, stage="landed", at=bj(2026, 11, 23, 0, 10))  # this week
        await w.project(b, stage="signed", at=bj(2026, 11, 15, 23, 50))  # the week before
        await w.event(None, b, at=bj(2026, 11, 18), kind="visit")
        await w.targets(None, 2026, planned=365)
    async with sessions() as session:
        reply = await reports.weekly_summary(session, charts=drawn, settings=make_settings(), now=now)
    lines = reply.text.splitlines()
    assert lines[0] == "🗓 周报 · 11月16日—11月22日"
    assert "本周新增：谋划 2，招引 1，签约 1，落地 0" in lines
    assert "德化街 谋2 招1 签1 落0 · 报送0条" in lines
    assert "建中街 谋0 招0 签0 落0 · 报送1条" in lines
    assert "本周无进展、无报送：1 队" in lines
    funnel = drawn[-1][1][0]
    assert [(s.count, s.target) for s in funnel] == [(2, 7), (1, None), (1, None), (0, None)]


async def test_ledger_export_writes_a_workbook(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, "比亚迪", stage="signed", at=bj(2026, 3, 1), amount=250_000_000)
        await w.project(a, "放弃的", stage="dropped")
    async with sessions() as session:
        file = await reports.ledger_export(session, settings=make_settings(), now=bj(2026, 11, 24, 9))
    assert file.name == "招商台账-2026-11-24.xlsx"
    book = load_workbook(io.BytesIO(file.content))
    assert book.sheetnames[0] == "汇总"
    values = [cell for row in book["签约"].iter_rows(values_only=True) for cell in row]
    assert "比亚迪" in values
    assert "放弃的" in [cell for row in book["已放弃"].iter_rows(values_only=True) for cell in row]


async def test_leaderboard_renders_a_real_png_once_for_the_same_data(sessions: SessionFactory) -> None:
    """Through the real chart port: a PNG, and the same data a second time is not drawn again."""
    await _squads_with_targets(sessions)
    charts = ChartDrawer()
    async with sessions() as session:
        reply = await reports.leaderboard(session, settings=make_settings(), now=HALF_YEAR, charts=charts)
        again = await reports.leaderboard(session, settings=make_settings(), now=HALF_YEAR, charts=charts)
        english = await reports.leaderboard(session, settings=make_settings(), now=HALF_YEAR, charts=charts,
                                            lang="en")
    assert reply.image is not None and reply.image.startswith(b"\x89PNG\r\n\x1a\n")
    assert reply.image_name == "leaderboard.png"
    assert again.image == reply.image and english.image != reply.image and charts.drawn == 2


def test_tz_constant_matches_settings() -> None:
    assert make_settings().tz == BJ


async def test_a_period_count_names_its_days_as_the_other_reports_do(sessions: SessionFactory) -> None:
    from handlers.period_report import period_count, period_days

    now = bj(2028, 3, 5)
    first, last = period_days("month", date(2028, 3, 5))
    async with sessions() as session:
        zh_reply = await period_count(session, settings=make_settings(), now=now, period="month", stage="signed",
                                      viewer_team_id=None)
        en_reply = await period_count(session, settings=make_settings(), now=now, period="month", stage="signed",
                                      viewer_team_id=None, lang="en")
    assert zh_reply.text.splitlines()[0] == f"📈 本月（3月1日–{last.month}月{last.day}日）"  # not 03月01日
    assert en_reply.text.splitlines()[0] == f"📈 this month ({first.isoformat()} – {last.isoformat()})"
