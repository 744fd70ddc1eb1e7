"""Chinese public-holiday periods, for 春节后 / 国庆前 / 节后 and working-day counts.

`chinese_calendar` knows the official arrangements (days off, make-up working Saturdays) for the years it
ships (2004–2026 in 1.11); later years fall back to the small tables below, which give the festival day
and a typical length but not the make-up days, so every reading built on them is only a guess (callers
mark holiday readings approximate anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import chinese_calendar

SPRING_FESTIVAL = "Spring Festival"
NEW_YEAR = "New Year's Day"
TOMB_SWEEPING = "Tomb-sweeping Day"
LABOUR_DAY = "Labour Day"
DRAGON_BOAT = "Dragon Boat Festival"
MID_AUTUMN = "Mid-autumn Festival"
NATIONAL_DAY = "National Day"
NAMES = (NEW_YEAR, SPRING_FESTIVAL, TOMB_SWEEPING, LABOUR_DAY, DRAGON_BOAT, MID_AUTUMN, NATIONAL_DAY)

LAST_FALLBACK_YEAR = 2035
# 正月初一 after chinese_calendar's last year; the official break (since 2025) starts on 除夕, the day before.
_SPRING_FESTIVAL_DAYS = {
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
    2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31), 2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}
# Rough lunar dates (五月初五, 八月十五), each checked against 初一 + the lunar months in between; a day off
# would only shift a reading that is approximate anyway. 清明 is 4 April in a leap year and the year after,
# 5 April otherwise (true for 2024–2035).
_DRAGON_BOAT_DAYS = {
    2027: date(2027, 6, 9), 2028: date(2028, 5, 28), 2029: date(2029, 6, 16), 2030: date(2030, 6, 5),
    2031: date(2031, 6, 24), 2032: date(2032, 6, 12), 2033: date(2033, 6, 1), 2034: date(2034, 6, 20),
    2035: date(2035, 6, 10),
}
_MID_AUTUMN_DAYS = {
    2027: date(2027, 9, 15), 2028: date(2028, 10, 3), 2029: date(2029, 9, 22), 2030: date(2030, 9, 12),
    2031: date(2031, 10, 1), 2032: date(2032, 9, 19), 2033: date(2033, 9, 8), 2034: date(2034, 9, 27),
    2035: date(2035, 9, 16),
}


@dataclass(frozen=True)
class HolidayPeriod:
    """A run of consecutive days off around a named festival."""

    name: str
    first: date
    last: date


def _known(year: int) -> bool:
    """Whether chinese_calendar has the official arrangement for this year."""
    try:
        chinese_calendar.is_holiday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@cache
def _named_days(year: int) -> dict[str, tuple[date, ...]]:
    """The festival days of a year by name (official where known, else the fallback tables)."""
    if _known(year):
        days: dict[str, list[date]] = {}
        for day, name in chinese_calendar.holidays.items():
            if day.year == year:
                days.setdefault(str(name), []).append(day)
        return {name: tuple(sorted(found)) for name, found in days.items()}
    if year not in _SPRING_FESTIVAL_DAYS:
        return {}
    qingming = date(year, 4, 4 if year % 4 in (0, 1) else 5)
    starts = {
        NEW_YEAR: (date(year, 1, 1), 1),
        SPRING_FESTIVAL: (_SPRING_FESTIVAL_DAYS[year] - timedelta(days=1), 8),
        TOMB_SWEEPING: (qingming, 1),
        LABOUR_DAY: (date(year, 5, 1), 5),
        DRAGON_BOAT: (_DRAGON_BOAT_DAYS[year], 1),
        MID_AUTUMN: (_MID_AUTUMN_DAYS[year], 1),
        NATIONAL_DAY: (date(year, 10, 1), 7),
    }
    return {name: tuple(first + timedelta(days=i) for i in range(length)) for name, (first, length) in starts.items()}


@cache
def _fallback_days_off(year: int) -> frozenset[date]:
    return frozenset(day for days in _named_days(year).values() for day in days)


def is_day_off(day: date) -> bool:
    """Whether nobody works that day: the official calendar where known, else weekends and the fallback table."""
    try:
        return bool(chinese_calendar.is_holiday(day))
    except NotImplementedError:
        return day.weekday() >= 5 or day in _fallback_days_off(day.year)


@cache
def _period(name: str, year: int) -> HolidayPeriod | None:
    days = _named_days(year).get(name)
    if not days:
        return None
    first, last = days[0], days[-1]
    # Widen over the weekend next to the festival (and a festival merged with another, like 2025's
    # 中秋 inside 国庆): "after the holiday" means when people are back at work.
    for _ in range(14):
        if not is_day_off(first - timedelta(days=1)):
            break
        first -= timedelta(days=1)
    for _ in range(14):
        if not is_day_off(last + timedelta(days=1)):
            break
        last += timedelta(days=1)
    return HolidayPeriod(name, first, last)


def next_period(name: str | None, today: date) -> HolidayPeriod | None:
    """The first period of this festival (any festival when name is None) that has not ended by today."""
    found: list[HolidayPeriod] = []
    for year in range(today.year, min(today.year + 2, LAST_FALLBACK_YEAR + 1)):
        for each in (name,) if name else NAMES:
            period = _period(each, year)
            if period is not None and period.last >= today:
                found.append(period)
        if found:
            return min(found, key=lambda p: p.first)
    return None


def last_workday_before(day: date) -> date:
    """The last working day before this one."""
    day -= timedelta(days=1)
    for _ in range(30):
        if not is_day_off(day):
            break
        day -= timedelta(days=1)
    return day


def add_workdays(day: date, count: int) -> date:
    """The day `count` working days after this one (days off are skipped)."""
    for _ in range(count):
        day += timedelta(days=1)
        while is_day_off(day):
            day += timedelta(days=1)
    return day
