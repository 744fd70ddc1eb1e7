"""Calendar arithmetic for reading dates: numbers in Chinese or digits, month ends, adding months, the next
occurrence of a day, weeks and parts of a month."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import cn2an

Relation = Literal["on", "by", "until", "after"]
Granularity = Literal["day", "week", "month", "year"]


@lru_cache(maxsize=512)
def read_number(text: str) -> int | None:
    """A count or calendar number in digits or Chinese numerals (三, 十二, 两, 二〇二七), or None."""
    if text.isascii():
        return int(text) if text.isdigit() else None
    try:
        return int(cn2an.cn2an(text, "normal"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date | None:
    """The same day `months` calendar months later, clamped to the month's end (31 Jan + 1 → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def next_occurrence(month: int, day: int, today: date) -> date | None:
    """The first date on or after today with this month and day (29 Feb waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        found = make_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_shift(modifier: str | None) -> int:
    """Weeks from this one a 下/上/本 modifier names."""
    if not modifier:
        return 0
    modifier = modifier.rstrip("个")
    return {"下下": 2, "下": 1, "上上": -2, "上": -1}.get(modifier, 0)


def month_part(year: int, month: int, part: str) -> tuple[date, bool]:
    """The day a part of a month names (初 → 1st …) and whether it is a guess."""
    if part in ("底", "末"):
        return month_end(year, month), False
    first = {"初": 1, "上旬": 1, "中": 15, "中旬": 11, "下旬": 21}[part]
    return date(year, month, first), True


# Returned by the form readers: the day, its granularity, whether it is a guess, a relation it forces.
