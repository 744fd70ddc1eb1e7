"""The SQL aggregations behind the reports, on hand-built data, on SQLite and PostgreSQL.

`World` inserts model rows directly (no handlers), so each test states exactly which projects, events
and problems exist; the expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.report_calendar import day_bounds_utc, stale_cutoffs, year_bounds_utc
from storage import report_queries as rq
from storage.db import SessionFactory, transaction
from storage.models import STAGES, Event, Problem, Project, RankSnapshot, Target, Team
from tests.helpers import district_scan

BJ = ZoneInfo("Asia/Shanghai")


def bj(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Beijing wall-clock time, as the aware UTC datetime the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=BJ).astimezone(UTC)


class World:
    """Builds a hand-made data set inside one session (ids are returned for assertions)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.count = 0

    async def team(self, name: str) -> int:
        team = Team(name=name, invite_code=f"code-{name}", created_at=bj(2025, 1, 1))
        self.session.add(team)
        await self.session.flush()
        assert team.id is not None
        return team.id

    async def project(
        self,
        team_id: int,
        name: str = "",
        *,
        stage: str = "planned",
        at: datetime | None = None,
        times: dict[str, datetime] | None = None,
        amount: int | None = None,
        industry: str = "",
        wheel: str = "",
        zone: str = "",
        removed: bool = False,
        last_event_at: datetime | None = None,
        signed_verified_at: datetime | None = None,
        landed_verified_at: datetime | None = None,
        expected_stage: str = "",
        expected_date: date | None = None,
        slips: int = 0,
    ) -> int:
        """A project; with `at` alone, every stage up to `stage` was reached then (a skip fills them)."""
        self.count += 1
        at = at or bj(2026, 3, 1)
        if times is None:
            reached = STAGES[: STAGES.index(stage) + 1] if stage in STAGES else ("planned",)
            times = dict.fromkeys(reached, at)
        project = Project(
            name=name or f"项目{self.count}", name_key=name or f"项目{self.count}", team_id=team_id,
            stage=stage, amount_yuan=amount, industry=industry, wheel=wheel, zone=zone,
            created_at=min(times.values(), default=at), updated_at=at,
            last_event_at=last_event_at or max(times.values(), default=at),
            planned_at=times.get("planned"), attracting_at=times.get("attracting"),
            signed_at=times.get("signed"), landed_at=times.get("landed"),
            dropped_at=at if stage == "dropped" else None, removed=removed,
            signed_verified_at=signed_verified_at, landed_verified_at=landed_verified_at,
            expected_stage=expected_stage, expected_date=expected_date, expected_slips=slips,
        )
        self.session.add(project)
        await self.session.flush()
        assert project.id is not None
        return project.id

    async def event(
        self,
        project_id: int | None,
        team_id: int | None,
        *,
        at: datetime,
        kind: str = "stage",
        to_stage: str = "",
        undone_at: datetime | None = None,
    ) -> int:
        """An event; with `undone_at`, also the undo event that reverses it."""
        event = Event(project_id=project_id, team_id=team_id, kind=kind, to_stage=to_stage, created_at=at)
        self.session.add(event)
        await self.session.flush()
        assert event.id is not None
        if undone_at is not None:
            self.session.add(Event(project_id=project_id, team_id=team_id, kind="undo",
                                   undoes_event_id=event.id, created_at=undone_at))
            await self.session.flush()
        return event.id

    async def problem(
        self,
        project_id: int,
        *,
        opened_at: datetime,
        category: str = "土地",
        text: str = "",
        resolved_at: datetime | None = None,
        withdrawn: bool = False,
        escalated_at: datetime | None = None,
    ) -> int:
        problem = Problem(project_id=project_id, category=category, text=text, opened_at=opened_at,
                          resolved_at=resolved_at, withdrawn=withdrawn, escalated_at=escalated_at)
        self.session.add(problem)
        await self.session.flush()
        assert problem.id is not None
        return problem.id

    async def targets(self, team_id: int | None, year: int, **numbers: int) -> None:
        """Targets per stage for a team (or the district when team_id is None)."""
        scope = "district" if team_id is None else f"team:{team_id}"
        for stage, number in numbers.items():
            self.session.add(Target(year=year, scope=scope, team_id=team_id, stage=stage, number=number))
        await self.session.flush()

    async def snapshot(self, day: date, ranks: dict[int, int]) -> None:
        for team_id, rank in ranks.items():
            self.session.add(RankSnapshot(day=day, team_id=team_id, rank=rank, score=0.0))
        await self.session.flush()


def counts(tally: rq.StageTally) -> tuple[int, ...]:
    return tuple(tally.count(stage) for stage in STAGES)


async def test_counting_rule_skips_year_boundary_dropped_and_removed(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        await w.project(a, stage="planned", at=bj(2026, 3, 1), amount=100)
        # Entered directly as signed: counts as planned, attracting and signed that day.
        await w.project(a, stage="signed", at=bj(2026, 5, 1), amount=2_000)
        # Planned in 2025, then landed in 2026 skipping 招引 and 签约 (the core fills them on the jump).
        await w.project(a, stage="landed", amount=30_000, times={
            "planned": bj(2025, 6, 1), "attracting": bj(2026, 2, 1), "signed": bj(2026, 2, 1),
            "landed": bj(2026, 2, 1)})
        # Year boundary in Beijing time: 23:30 on 31 Dec counts in 2025, 00:10 on 1 Jan in 2026.
        await w.project(a, stage="signed", at=bj(2025, 12, 31, 23, 30), amount=400_000)
        await w.project(a, stage="signed", at=bj(2026, 1, 1, 0, 10), amount=5_000_000)
        # Never counted: a dropped project and one whose creation was undone.
        await w.project(a, stage="dropped", times={"planned": bj(2026, 4, 1), "attracting": bj(2026, 4, 2)})
        await w.project(a, stage="signed", at=bj(2026, 4, 1), removed=True, amount=7)
        await w.project(b, stage="attracting", at=bj(2026, 6, 1), amount=60_000_000)

    async with sessions() as session:
        start, end = year_bounds_utc(2026, BJ)
        teams = await rq.team_stage_counts(session, start=start, end=end, require_verification=False)
        assert counts(teams[a]) == (3, 3, 3, 1)
        assert teams[a].signed_amount == 2_000 + 30_000 + 5_000_000
        assert teams[a].landed_amount == 30_000
        assert teams[a].planned_amount == 100 + 2_000 + 5_000_000
        assert counts(teams[b]) == (1, 1, 0, 0)
        district = await district_scan(session, start=start, end=end, require_verification=False)
        assert counts(district) == (4, 4, 3, 1)
        only_b = await district_scan(session, start=start, end=end, require_verification=False, team_id=b)
        assert counts(only_b) == (1, 1, 0, 0)

        start, end = year_bounds_utc(2025, BJ)
        teams = await rq.team_stage_counts(session, start=start, end=end, require_verification=False)
        assert counts(teams[a]) == (2, 1, 1, 0)
        assert teams[a].signed_amount == 400_000
        assert counts(teams.get(b, rq.StageTally())) == (0, 0, 0, 0)


async def test_verification_setting_decides_what_counts(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, stage="signed", at=bj(2026, 5, 1), amount=10, signed_verified_at=bj(2026, 5, 2))
        await w.project(a, stage="signed", at=bj(2026, 5, 3), amount=20)
        await w.project(a, stage="landed", at=bj(2026, 6, 1), amount=40, signed_verified_at=bj(2026, 6, 2))

    async with sessions() as session:
        start, end = year_bounds_utc(2026, BJ)
        strict = (await rq.team_stage_counts(session, start=start, end=end, require_verification=True))[a]
        assert (strict.signed, strict.landed) == (2, 0)
        assert (strict.signed_pending, strict.landed_pending) == (1, 1)
        assert strict.signed_amount == 10 + 40
        loose = (await rq.team_stage_counts(session, start=start, end=end, require_verification=False))[a]
        assert (loose.signed, loose.landed) == (3, 1)
        assert (loose.signed_pending, loose.landed_pending) == (1, 1)
        assert loose.signed_amount == 70

        pending, total = await rq.pending_verifications(session)
        assert total == 2
        assert [(p.stage, p.amount_yuan) for p in pending] == [("signed", 20), ("landed", 40)]
        assert pending[0].reached_at == bj(2026, 5, 3)


async def test_breakdowns_by_wheel_industry_and_zone(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        await w.project(a, stage="signed", amount=100, industry="汽车", wheel="工业", zone="三环内")
        await w.project(a, stage="planned", amount=5, industry="汽车", wheel="工业", zone="")
        await w.project(a, stage="landed", amount=300, industry="现代商贸", wheel="服务业", zone="三环内")
        await w.project(a, stage="planned", at=bj(2025, 3, 1), industry="新材料", wheel="工业")

    async with sessions() as session:
        start, end = year_bounds_utc(2026, BJ)
        groups = await rq.breakdowns(session, start=start, end=end, require_verification=False)
        assert counts(groups.wheel["工业"]) == (2, 1, 1, 0)
        assert counts(groups.wheel["服务业"]) == (1, 1, 1, 1)
        assert groups.wheel["服务业"].landed_amount == 300
        assert set(groups.industry) == {"汽车", "现代商贸"}  # 新材料 was planned in 2025 only
        assert counts(groups.zone["三环内"]) == (2, 2, 2, 1)
        assert counts(groups.zone[""]) == (1, 0, 0, 0)


async def test_moves_and_reports_exclude_undone_and_undo_events(sessions: SessionFactory) -> None:
    yesterday = date(2026, 11, 23)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        big = await w.project(a, "比亚迪", stage="signed", amount=250_000_000)
        small = await w.project(b, "仲景", stage="landed", amount=30_000_000)
        undone = await w.project(a, "杉杉", stage="attracting", amount=900_000_000)
        gone = await w.project(b, "撤回的", stage="signed", amount=800_000_000, removed=True)
        await w.event(big, a, at=bj(2026, 11, 23, 9), to_stage="signed")
        await w.event(small, b, at=bj(2026, 11, 23, 0, 5), to_stage="landed")
        await w.event(undone, a, at=bj(2026, 11, 23, 10), to_stage="signed",
                      undone_at=bj(2026, 11, 23, 10, 5))
        await w.event(gone, b, at=bj(2026, 11, 23, 11), kind="create", to_stage="signed")
        await w.event(big, a, at=bj(2026, 11, 22, 23, 59), to_stage="attracting")  # the day before
        await w.event(big, a, at=bj(2026, 11, 24, 0, 1), kind="note")  # today
        await w.event(big, a, at=bj(2026, 11, 23, 15), kind="note")
        await w.event(big, a, at=bj(2026, 11, 23, 16), kind="visit")
        await w.event(big, a, at=bj(2026, 11, 23, 17), kind="note", undone_at=bj(2026, 11, 23, 17, 1))
        await w.event(small, b, at=bj(2026, 11, 23, 18), kind="verify")  # a leader's, not a report

    async with sessions() as session:
        start, end = day_bounds_utc(yesterday, BJ)
        moves = await rq.stage_moves(session, start=start, end=end, stages=("signed", "landed"))
        assert [(m.name, m.to_stage, m.team_name) for m in moves] == [
            ("比亚迪", "signed", "德化街"), ("仲景", "landed", "建中街"),
        ]
        assert moves[0].verified is False
        top = await rq.stage_moves(session, start=start, end=end, limit=1)
        assert [m.name for m in top] == ["比亚迪"]
        reports = await rq.reports_by_team(session, start=start, end=end)
        # 德化街: signed, note, visit (the undone note and the undone move do not count); 建中街: landed
        # (the removed project's create still was a report, so it counts).
        assert reports == [(a, "德化街", 3), (b, "建中街", 2)]


async def test_open_problems_oldest_first_with_categories_and_age(sessions: SessionFactory) -> None:
    now = bj(2026, 11, 24, 9)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        p1 = await w.project(a, "杉杉奥特莱斯")
        p2 = await w.project(b, "仲景")
        dropped = await w.project(b, "放弃的", stage="dropped")
        newest = await w.problem(p1, opened_at=bj(2026, 11, 20), category="规划", text="规划调整")
        oldest = await w.problem(p2, opened_at=bj(2026, 8, 1), category="土地", text="用地指标未批")
        middle = await w.problem(p1, opened_at=bj(2026, 10, 1), category="土地")
        await w.problem(p1, opened_at=bj(2026, 1, 1), resolved_at=bj(2026, 2, 1))
        await w.problem(p1, opened_at=bj(2026, 1, 2), withdrawn=True)
        await w.problem(dropped, opened_at=bj(2026, 1, 3))

    async with sessions() as session:
        problems = await rq.open_problems(session)
        assert [p.id for p in problems] == [oldest, middle, newest]
        first = problems[0]
        assert (first.team_name, first.project_name, first.text) == ("建中街", "仲景", "用地指标未批")
        assert [p.id for p in await rq.open_problems(session, team_id=a)] == [middle, newest]
        by_category = await rq.open_problem_counts(session, older_than=now - timedelta(days=14))
        assert by_category == {"土地": (2, 2), "规划": (1, 0)}
        assert await rq.open_problem_counts(session, older_than=now, team_id=b) == {"土地": (1, 1)}


async def test_stale_projects_per_stage(sessions: SessionFactory) -> None:
    now = bj(2026, 11, 24, 9)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        fresh = await w.project(a, stage="planned", last_event_at=bj(2026, 10, 1))
        yellow = await w.project(a, stage="planned", last_event_at=bj(2026, 9, 10))  # 2.5 months
        red = await w.project(a, stage="attracting", last_event_at=bj(2026, 7, 20))  # 4 months
        # 7 months silent:
        remove = await w.project(b, stage="signed", at=bj(2026, 1, 5), last_event_at=bj(2026, 5, 1))
        await w.project(a, stage="landed", at=bj(2025, 1, 1), last_event_at=bj(2025, 1, 1))
        await w.project(a, stage="dropped", last_event_at=bj(2025, 1, 1))
        await w.project(a, stage="planned", last_event_at=bj(2025, 1, 1), removed=True)

    cutoffs = {}
    for stage in ("planned", "attracting", "signed"):
        cut = stale_cutoffs(now, stage, (2, 3, 6))
        assert cut is not None
        cutoffs[stage] = cut
    async with sessions() as session:
        found = await rq.stale_projects(session, cutoffs=cutoffs)
        assert [(p.id, p.light) for p in found] == [(remove, "remove"), (red, "red"), (yellow, "yellow")]
        assert fresh not in {p.id for p in found}
        reds = await rq.stale_projects(session, cutoffs=cutoffs, lights=("red", "remove"))
        assert {p.id for p in reds} == {red, remove}
        by_team = await rq.stale_counts(session, cutoffs=cutoffs)
        assert by_team == {a: {"yellow": 1, "red": 1}, b: {"remove": 1}}
        only_a = await rq.stale_counts(session, cutoffs=cutoffs, team_id=a)
        assert only_a == {a: {"yellow": 1, "red": 1}}
        assert await rq.stale_totals(session, cutoffs=cutoffs) == {"yellow": 1, "red": 1, "remove": 1}
        assert await rq.stale_totals(session, cutoffs=cutoffs, team_id=b) == {"yellow": 0, "red": 0, "remove": 1}


async def test_rank_snapshot_upsert_is_safe_to_repeat(sessions: SessionFactory) -> None:
    @dataclass
    class Row:
        team_id: int
        rank: int
        score: float

    day = date(2026, 11, 24)
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
    async with transaction(sessions) as session:
        assert await rq.save_rank_snapshot(session, day=day, rows=[Row(a, 1, 90.0), Row(b, 2, 80.0)]) == 2
    async with transaction(sessions) as session:  # the job ran again the same day: replaced, not doubled
        await rq.save_rank_snapshot(session, day=day, rows=[Row(a, 2, 70.0), Row(b, 1, 85.0)])
        assert await rq.save_rank_snapshot(session, day=day, rows=[]) == 0
    async with sessions() as session:
        assert await rq.rank_snapshot(session, day=day) == {a: (2, 70.0), b: (1, 85.0)}
        assert await rq.rank_snapshot(session, day=day - timedelta(days=1)) == {}


async def test_forecast_inputs_and_slipped_projects(sessions: SessionFactory) -> None:
    today = date(2026, 11, 24)
    async with transaction(sessions) as session:
        w = World(session)
        a = await w.team("德化街")
        # Planned, expects to sign in December: adds to 招引 and 签约.
        await w.project(a, stage="planned", expected_stage="signed", expected_date=date(2026, 12, 10))
        # Attracting, expects to land on the last day: adds to 签约 and 落地.
        await w.project(a, stage="attracting", expected_stage="landed", expected_date=date(2026, 12, 31))
        # Expected next year: not in this year's projection.
        await w.project(a, stage="attracting", expected_stage="signed", expected_date=date(2027, 1, 1))
        # Expected date already past and not reached: overdue.
        await w.project(a, "拖延", stage="attracting", expected_stage="signed",
                        expected_date=date(2026, 10, 1), slips=4)
        # Already signed: expecting 签约 adds nothing.
        await w.project(a, stage="signed", expected_stage="signed", expected_date=date(2026, 12, 1), slips=3)
        await w.project(a, stage="dropped", expected_stage="signed", expected_date=date(2026, 12, 1), slips=5)
        await w.project(a, stage="planned", expected_stage="signed", expected_date=date(2026, 12, 1), slips=2)

    async with sessions() as session:
        inputs = await rq.forecast_inputs(session, today=today, year_end=date(2026, 12, 31))
        assert inputs.expected == {"planned": 0, "attracting": 2, "signed": 3, "landed": 1}
        assert inputs.overdue == {"planned": 0, "attracting": 0, "signed": 1, "landed": 0}
        slipped = await rq.slipped_projects(session, min_slips=3)
        assert [(p.name, p.slips) for p in slipped] == [("拖延", 4), ("项目5", 3)]


async def test_ledger_rows_and_summary(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        w = World(session)
        a, b = await w.team("德化街"), await w.team("建中街")
        p1 = await w.project(a, "比亚迪", stage="signed", at=bj(2026, 1, 1, 0, 10), amount=250_000_000,
                             industry="汽车", wheel="工业")
        await w.project(b, "放弃的", stage="dropped")
        await w.project(b, "撤回的", removed=True)
        await w.problem(p1, opened_at=bj(2026, 2, 1))
        await w.problem(p1, opened_at=bj(2026, 2, 2))
        await w.problem(p1, opened_at=bj(2026, 2, 3), resolved_at=bj(2026, 3, 1))
        await w.targets(a, 2026, signed=4)
        await w.targets(None, 2026, planned=10)

    async with sessions() as session:
        rows = await rq.ledger_rows(session, tz=BJ)
        assert [(r.name, r.team, r.stage, r.open_problems) for r in rows] == [
            ("比亚迪", "德化街", "signed", 2), ("放弃的", "建中街", "dropped", 0),
        ]
        assert rows[0].signed_at is not None and rows[0].signed_at.utcoffset() == timedelta(hours=8)
        assert (rows[0].signed_at.year, rows[0].signed_at.hour) == (2026, 0)
        summary = await rq.ledger_summary(session, year=2026,
                                          as_of=date(2026, 11, 24), schedule_pct=89.9,
                                          require_verification=False)
        assert summary.district == [("planned", 1, 10), ("attracting", 1, None), ("signed", 1, 4),
                                    ("landed", 0, None)]
        by_name = {t.name: t for t in summary.teams}
        assert by_name["德化街"].counts["signed"] == 1
        assert by_name["德化街"].targets == {"planned": None, "attracting": None, "signed": 4, "landed": None}
        assert by_name["德化街"].signed_amount_yuan == 250_000_000
        assert by_name["建中街"].counts == dict.fromkeys(STAGES, 0)
