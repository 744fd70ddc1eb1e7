"""Calendar arithmetic for reports: 序时进度, local days and years, workdays and the lights of DESIGN §5b.

Everything takes the moment or day explicitly (never reads the clock), so tests can fix "today".
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

from handlers import calendar_math

log = logging.getLogger(__name__)

# Stages whose projects go stale: a landed project has finished the funnel, so silence there is no alarm;
# a dropped one has left it.
STALE_STAGES: tuple[str, ...] = ("planned", "attracting", "signed")

StaleLimits = tuple[int, int, int] | Mapping[str, tuple[int, int, int]]

_warned_years: set[int] = set()


def as_tz(tz: tzinfo | str) -> tzinfo:
    """A tzinfo from a zone name or a tzinfo."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def day_bounds_utc(day: date, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """The UTC half-open interval [start, end) of one local calendar day."""
    zone = as_tz(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def range_bounds_utc(first: date, last: date, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """The UTC half-open interval covering local days `first` through `last` inclusive."""
    return day_bounds_utc(first, tz)[0], day_bounds_utc(last, tz)[1]


def year_bounds_utc(year: int, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """The UTC half-open interval [start, end) of a local calendar year."""
    return range_bounds_utc(date(year, 1, 1), date(year, 12, 31), tz)


def schedule_share(day: date) -> float:
    """序时进度: the elapsed share of `day`'s year, by days, counting `day` itself (Jan 1 → 1/365)."""
    days_in_year = 366 if calendar.isleap(day.year) else 365
    return day.timetuple().tm_yday / days_in_year


def squad_light(completion_pct: float, schedule_pct: float, *, yellow: float, red: float) -> str:
    """A squad's light from its completion and 序时进度, both in percent (0..100).

    DESIGN §5b: green at or ahead (and less than `yellow` points behind), yellow from `yellow` up to
    `red` points behind, red more than `red` points behind.
    """
    # Rounded so that 89.6 - 79.6 counts as exactly 10 points, not 9.999999.
    behind = round(schedule_pct - completion_pct, 6)
    if behind > red:
        return "red"
    if behind >= yellow:
        return "yellow"
    return "green"


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months, the day clamped to the target month's length."""
    day = calendar_math.add_months(moment.date(), months)
    if day is None:
        raise ValueError(f"{moment!r} moved by {months} months leaves the calendar")
    return moment.replace(year=day.year, month=day.month, day=day.day)


def stale_limits(stage: str, months: StaleLimits) -> tuple[int, int, int] | None:
    """The (yellow, red, remove) month limits of `stage`, or None when the stage never goes stale.

    `months` is one triple for every stale-prone stage (planned, attracting, signed) or a mapping from
    stage to triple (a stage missing from the mapping never goes stale).
    """
    if isinstance(months, Mapping):
        limits = months.get(stage)
        return tuple(limits) if limits is not None else None  # type: ignore[return-value]
    return tuple(months) if stage in STALE_STAGES else None  # type: ignore[return-value]


def stale_cutoffs(
    now: datetime, stage: str, months: StaleLimits
) -> tuple[datetime, datetime, datetime] | None:
    """The last-event moments before which a `stage` project is yellow, red, or flagged for removal."""
    limits = stale_limits(stage, months)
    if limits is None:
        return None
    yellow, red, remove = limits
    return add_months(now, -yellow), add_months(now, -red), add_months(now, -remove)


def is_workday(day: date) -> bool:
    """True on a Chinese workday: statutory holidays off, make-up days (调休) on.

    For years the chinese_calendar library has no data for, falls back to Monday–Friday and logs a
    warning once per year.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese_calendar has no holidays for %d: treating Monday–Friday as workdays",
                        day.year)
        return day.weekday() < 5


def ceil_share(target: int, share: float) -> int:
    """How many of `target` are due by a share of the year, rounded up (10 × 50 % → 5, 9 × 50 % → 5)."""
    # The small epsilon keeps float noise (60 × 0.5 = 30.000000000000004) from rounding up a whole unit.
    return max(0, math.ceil(target * share - 1e-9))
