"""Calendar arithmetic of the reports: 序时进度, local years in UTC, workdays, squad and project lights."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers import report_calendar as schedule
from handlers.report_calendar import (
    add_months,
    ceil_share,
    is_workday,
    schedule_share,
    squad_light,
    stale_cutoffs,
    year_bounds_utc,
)
from storage.moments import local_day

BJ = ZoneInfo("Asia/Shanghai")


def test_schedule_share_counts_today_and_leap_years() -> None:
    assert schedule_share(date(2026, 1, 1)) == pytest.approx(1 / 365)
    assert schedule_share(date(2026, 12, 31)) == 1.0
    assert schedule_share(date(2026, 7, 2)) == pytest.approx(183 / 365)
    assert schedule_share(date(2028, 12, 31)) == 1.0  # leap year: 366 of 366
    assert schedule_share(date(2028, 2, 29)) == pytest.approx(60 / 366)
    assert round(schedule_share(date(2026, 11, 23)) * 100, 1) == 89.6


def test_local_day_and_year_bounds_follow_the_district_zone() -> None:
    # 2025-12-31 16:30 UTC is already 2026-01-01 00:30 in Beijing.
    assert local_day(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), BJ) == date(2026, 1, 1)
    assert local_day(datetime(2025, 12, 31, 15, 59, tzinfo=UTC), BJ) == date(2025, 12, 31)
    assert local_day(datetime(2025, 12, 31, 16, 30), BJ) == date(2026, 1, 1)  # naive is UTC, as SQLite returns it
    start, end = year_bounds_utc(2026, BJ)
    assert start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    start, end = year_bounds_utc(2026, "UTC")
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("completion", "schedule_pct", "light"),
    [
        (95.0, 89.6, "green"),  # ahead
        (89.6, 89.6, "green"),  # exactly on schedule
        (80.0, 89.6, "green"),  # 9.6 points behind: less than the yellow threshold
        (79.6, 89.6, "yellow"),  # exactly 10 behind
        (59.6, 89.6, "yellow"),  # exactly 30 behind
        (59.5, 89.6, "red"),  # more than 30 behind
        (0.0, 89.6, "red"),
    ],
)
def test_squad_light_thresholds(completion: float, schedule_pct: float, light: str) -> None:
    assert squad_light(completion, schedule_pct, yellow=10, red=30) == light


def test_squad_light_thresholds_are_configurable() -> None:
    assert squad_light(85.0, 89.6, yellow=3, red=5) == "yellow"
    assert squad_light(84.0, 89.6, yellow=3, red=5) == "red"


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(datetime(2026, 5, 31, 8, tzinfo=UTC), -3) == datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), -2) == datetime(2025, 11, 15, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


def test_stale_cutoffs_per_stage_and_limits() -> None:
    # The moments the SQL lights (storage.report_queries.stale) compare last_event_at against.
    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    months = (2, 3, 6)
    expected = (datetime(2026, 9, 24, 1, 0, tzinfo=UTC), datetime(2026, 8, 24, 1, 0, tzinfo=UTC),
                datetime(2026, 5, 24, 1, 0, tzinfo=UTC))
    for stage in ("planned", "attracting", "signed"):
        assert stale_cutoffs(now, stage, months) == expected
    # A landed project has finished the funnel and a dropped one has left it: they never go stale.
    assert stale_cutoffs(now, "landed", months) is None
    assert stale_cutoffs(now, "dropped", months) is None
    # Per-stage limits: a mapping overrides the single triple; a stage missing from it never goes stale.
    per_stage = {"planned": (1, 2, 3), "signed": (4, 5, 12)}
    assert stale_cutoffs(now, "planned", per_stage) == (datetime(2026, 10, 24, 1, 0, tzinfo=UTC),
                                                        datetime(2026, 9, 24, 1, 0, tzinfo=UTC),
                                                        datetime(2026, 8, 24, 1, 0, tzinfo=UTC))
    assert stale_cutoffs(now, "signed", per_stage) == (datetime(2026, 7, 24, 1, 0, tzinfo=UTC),
                                                       datetime(2026, 6, 24, 1, 0, tzinfo=UTC),
                                                       datetime(2025, 11, 24, 1, 0, tzinfo=UTC))
    assert stale_cutoffs(now, "attracting", per_stage) is None


def test_ceil_share_rounds_up_without_float_noise() -> None:
    assert ceil_share(10, 0.5) == 5
    assert ceil_share(9, 0.5) == 5
    assert ceil_share(60, 0.5) == 30
    assert ceil_share(3, 0.1) == 1
    assert ceil_share(0, 0.9) == 0


def test_is_workday_uses_the_statutory_calendar() -> None:
    assert is_workday(date(2026, 10, 1)) is False  # National Day
    assert is_workday(date(2025, 9, 28)) is True  # a Sunday made a workday (调休)
    assert is_workday(date(2026, 11, 24)) is True  # an ordinary Tuesday
    assert is_workday(date(2026, 11, 22)) is False  # an ordinary Sunday


def test_is_workday_falls_back_to_weekdays_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    schedule._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="handlers.report_calendar"):
        assert is_workday(date(2099, 10, 1)) is True  # a Thursday: no holiday data that far ahead
        assert is_workday(date(2099, 10, 3)) is False  # a Saturday
        assert is_workday(date(2099, 10, 5)) is True
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
