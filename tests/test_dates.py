"""Dates and times as squad members write them, relative to the district's local today (DESIGN §4b)."""

from __future__ import annotations

import dataclasses
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import holidays
from handlers.dates import DateReading, find_dates, read_date
from handlers.times import read_time

TODAY = date(2026, 11, 24)  # a Tuesday; chinese_calendar knows 2026 but not 2027
YEAR_END = date(2026, 12, 30)  # a Wednesday, for year roll-over
MONTH_END = date(2026, 1, 31)  # a Saturday, for month-end clamping (and 2026's official holidays ahead)
SUNDAY = date(2026, 11, 29)


def _d(text: str) -> date:
    return date.fromisoformat(text)


# ------------------------------------------------------------------------------- read_date, today=TODAY

# text, day, granularity, relation, approximate
READ_CASES = [
    # relative days
    ("今天", "2026-11-24", "day", "on", False),
    ("今日", "2026-11-24", "day", "on", False),
    ("当天", "2026-11-24", "day", "on", False),
    ("明天", "2026-11-25", "day", "on", False),
    ("明日", "2026-11-25", "day", "on", False),
    ("后天", "2026-11-26", "day", "on", False),
    ("大后天", "2026-11-27", "day", "on", False),
    ("昨天", "2026-11-23", "day", "on", False),
    ("昨日", "2026-11-23", "day", "on", False),
    ("前天", "2026-11-22", "day", "on", False),
    ("大前天", "2026-11-21", "day", "on", False),
    # weekdays: bare = next on or after today
    ("周三", "2026-11-25", "day", "on", False),
    ("周二", "2026-11-24", "day", "on", False),
    ("周一", "2026-11-30", "day", "on", False),
    ("星期五", "2026-11-27", "day", "on", False),
    ("礼拜六", "2026-11-28", "day", "on", False),
    ("周日", "2026-11-29", "day", "on", False),
    ("周天", "2026-11-29", "day", "on", False),
    ("星期天", "2026-11-29", "day", "on", False),
    ("礼拜天", "2026-11-29", "day", "on", False),
    ("周3", "2026-11-25", "day", "on", False),
    ("周7", "2026-11-29", "day", "on", False),
    ("本周一", "2026-11-23", "day", "on", False),
    ("这周五", "2026-11-27", "day", "on", False),
    ("这个星期五", "2026-11-27", "day", "on", False),
    ("下周三", "2026-12-02", "day", "on", False),
    ("下星期一", "2026-11-30", "day", "on", False),
    ("下礼拜二", "2026-12-01", "day", "on", False),
    ("下个星期三", "2026-12-02", "day", "on", False),
    ("下下周三", "2026-12-09", "day", "on", False),
    ("上周五", "2026-11-20", "day", "on", False),
    ("上星期一", "2026-11-16", "day", "on", False),
    ("上上周一", "2026-11-09", "day", "on", False),
    # weeks
    ("下周", "2026-11-30", "week", "on", False),
    ("下星期", "2026-11-30", "week", "on", False),
    ("本周", "2026-11-24", "week", "on", False),
    ("这周", "2026-11-24", "week", "on", False),
    ("上周", "2026-11-16", "week", "on", False),
    ("本周内", "2026-11-29", "week", "by", False),
    ("这周内", "2026-11-29", "week", "by", False),
    ("下周内", "2026-12-06", "week", "by", False),
    ("周末前", "2026-11-29", "day", "by", False),
    ("周末", "2026-11-28", "day", "on", False),
    ("下周末", "2026-12-05", "day", "on", False),
    # month and day without a year: the next one
    ("12月5号", "2026-12-05", "day", "on", False),
    ("12月5日", "2026-12-05", "day", "on", False),
    ("3月1日", "2027-03-01", "day", "on", False),
    ("11月24日", "2026-11-24", "day", "on", False),
    ("11月23日", "2027-11-23", "day", "on", False),
    ("2月29日", "2028-02-29", "day", "on", False),
    ("十二月五号", "2026-12-05", "day", "on", False),
    ("十一月三十日", "2026-11-30", "day", "on", False),
    ("三月二十一日", "2027-03-21", "day", "on", False),
    ("12.5", "2026-12-05", "day", "on", False),
    ("12-5", "2026-12-05", "day", "on", False),
    ("12/5", "2026-12-05", "day", "on", False),
    ("1.5", "2027-01-05", "day", "on", False),
    ("5号", "2026-12-05", "day", "on", False),
    ("30号", "2026-11-30", "day", "on", False),
    ("24日", "2026-11-24", "day", "on", False),
    ("五号", "2026-12-05", "day", "on", False),
    ("二十八号", "2026-11-28", "day", "on", False),
    # a month alone: its first day, this month counting
    ("3月", "2027-03-01", "month", "on", False),
    ("三月", "2027-03-01", "month", "on", False),
    ("3月份", "2027-03-01", "month", "on", False),
    ("12月", "2026-12-01", "month", "on", False),
    ("11月", "2026-11-01", "month", "on", False),
    ("3月底", "2027-03-31", "day", "on", False),
    ("2月底", "2027-02-28", "day", "on", False),
    ("12月初", "2026-12-01", "day", "on", True),
    ("3月中旬", "2027-03-11", "day", "on", True),
    ("3月下旬", "2027-03-21", "day", "on", True),
    # full dates
    ("2027-03-05", "2027-03-05", "day", "on", False),
    ("2027/3/5", "2027-03-05", "day", "on", False),
    ("2027.3.5", "2027-03-05", "day", "on", False),
    ("20270305", "2027-03-05", "day", "on", False),
    ("2027年3月5日", "2027-03-05", "day", "on", False),
    ("2027年3月5号", "2027-03-05", "day", "on", False),
    ("2027-03", "2027-03-01", "month", "on", False),
    ("2027/3", "2027-03-01", "month", "on", False),
    ("2027年3月", "2027-03-01", "month", "on", False),
    ("2027年", "2027-01-01", "year", "on", False),
    ("二〇二七年三月", "2027-03-01", "month", "on", False),
    ("二〇二六年十二月五日", "2026-12-05", "day", "on", False),
    ("2025-03-01", "2025-03-01", "day", "on", False),
    ("2027年底", "2027-12-31", "day", "on", False),
    ("2027年上半年", "2027-06-30", "day", "on", True),
    # months relative to today
    ("月底", "2026-11-30", "day", "on", False),
    ("月末", "2026-11-30", "day", "on", False),
    ("本月底", "2026-11-30", "day", "on", False),
    ("这个月底", "2026-11-30", "day", "on", False),
    ("本月末", "2026-11-30", "day", "on", False),
    ("下个月", "2026-12-01", "month", "on", False),
    ("下月", "2026-12-01", "month", "on", False),
    ("下下个月", "2027-01-01", "month", "on", False),
    ("上个月", "2026-10-01", "month", "on", False),
    ("本月", "2026-11-24", "month", "on", False),
    ("下个月底", "2026-12-31", "day", "on", False),
    ("下月底", "2026-12-31", "day", "on", False),
    ("下月末", "2026-12-31", "day", "on", False),
    ("上月底", "2026-10-31", "day", "on", False),
    ("下个月初", "2026-12-01", "day", "on", True),
    ("下月初", "2026-12-01", "day", "on", True),
    ("下月中旬", "2026-12-11", "day", "on", True),
    ("月初", "2026-12-01", "day", "on", True),
    ("月中", "2026-12-15", "day", "on", True),
    ("上旬", "2026-12-01", "day", "on", True),
    ("中旬", "2026-12-11", "day", "on", True),
    ("下旬", "2026-11-24", "day", "on", True),  # inside the 下旬 already: today
    ("本月内", "2026-11-30", "month", "by", False),
    ("月内", "2026-11-30", "month", "by", False),
    # years
    ("年底", "2026-12-31", "day", "on", False),
    ("年末", "2026-12-31", "day", "on", False),
    ("今年底", "2026-12-31", "day", "on", False),
    ("今年年底", "2026-12-31", "day", "on", False),
    ("明年", "2027-01-01", "year", "on", False),
    ("明年3月", "2027-03-01", "month", "on", False),
    ("明年三月", "2027-03-01", "month", "on", False),
    ("明年3月5日", "2027-03-05", "day", "on", False),
    ("明年3月底", "2027-03-31", "day", "on", False),
    ("明年初", "2027-01-01", "day", "on", True),
    ("明年底", "2027-12-31", "day", "on", False),
    ("明年年底", "2027-12-31", "day", "on", False),
    ("明年下半年", "2027-07-01", "day", "on", True),
    ("后年", "2028-01-01", "year", "on", False),
    ("去年", "2025-01-01", "year", "on", False),
    ("去年底", "2025-12-31", "day", "on", False),
    ("上半年", "2027-06-30", "day", "on", True),
    ("下半年", "2026-11-24", "day", "on", True),  # inside the second half already: today
    ("年初", "2027-01-01", "day", "on", True),
    ("今年内", "2026-12-31", "year", "by", False),
    ("年内", "2026-12-31", "year", "by", False),
    # offsets
    ("3天后", "2026-11-27", "day", "on", False),
    ("三天后", "2026-11-27", "day", "on", False),
    ("三天以后", "2026-11-27", "day", "on", False),
    ("十天之后", "2026-12-04", "day", "on", False),
    ("两天后", "2026-11-26", "day", "on", False),
    ("一周后", "2026-12-01", "day", "on", False),
    ("两周后", "2026-12-08", "day", "on", False),
    ("3个星期后", "2026-12-15", "day", "on", False),
    ("两个礼拜后", "2026-12-08", "day", "on", False),
    ("3个月后", "2027-02-24", "day", "on", False),
    ("三个月后", "2027-02-24", "day", "on", False),
    ("半个月后", "2026-12-09", "day", "on", False),
    ("半年后", "2027-05-24", "day", "on", False),
    ("2年后", "2028-11-24", "day", "on", False),
    ("10天内", "2026-12-04", "day", "by", False),
    ("二十天内", "2026-12-14", "day", "by", False),
    ("5日内", "2026-11-29", "day", "by", False),
    ("一周内", "2026-12-01", "day", "by", False),
    ("一个月内", "2026-12-24", "day", "by", False),
    ("三天前", "2026-11-21", "day", "on", False),
    ("两周前", "2026-11-10", "day", "on", False),
    ("3个工作日后", "2026-11-27", "day", "on", False),
    ("5个工作日内", "2026-12-01", "day", "by", False),
    # holidays (2027 is past chinese_calendar: the fallback tables)
    ("春节后", "2027-02-15", "day", "after", True),
    ("春节以后", "2027-02-15", "day", "after", True),
    ("春节之后", "2027-02-15", "day", "after", True),
    ("春节前", "2027-02-04", "day", "by", True),
    ("春节", "2027-02-05", "day", "on", True),
    ("春节前后", "2027-02-05", "day", "on", True),
    ("年后", "2027-02-15", "day", "after", True),
    ("年前", "2027-02-04", "day", "by", True),
    ("元旦后", "2027-01-04", "day", "after", True),
    ("元旦前", "2026-12-31", "day", "by", True),
    ("五一后", "2027-05-06", "day", "after", True),
    ("五一", "2027-05-01", "day", "on", True),
    ("劳动节前", "2027-04-30", "day", "by", True),
    ("国庆后", "2027-10-08", "day", "after", True),
    ("国庆节前", "2027-09-30", "day", "by", True),
    ("国庆节", "2027-10-01", "day", "on", True),
    ("清明后", "2027-04-06", "day", "after", True),
    ("端午后", "2027-06-10", "day", "after", True),
    ("端午节前", "2027-06-08", "day", "by", True),
    ("中秋后", "2027-09-16", "day", "after", True),
    ("中秋节后", "2027-09-16", "day", "after", True),
    ("节后", "2027-01-04", "day", "after", True),
    ("节前", "2026-12-31", "day", "by", True),
    # prefixes and suffixes
    ("到下周五", "2026-12-04", "day", "until", False),
    ("至12月5日", "2026-12-05", "day", "until", False),
    ("截至12月5日", "2026-12-05", "day", "until", False),
    ("截止12月5日", "2026-12-05", "day", "until", False),
    ("截止到月底", "2026-11-30", "day", "until", False),
    ("直到下周三", "2026-12-02", "day", "until", False),
    ("一直到年底", "2026-12-31", "day", "until", False),
    ("到2027年", "2027-01-01", "year", "until", False),
    ("在下周三之前", "2026-12-02", "day", "by", False),
    ("月底前", "2026-11-30", "day", "by", False),
    ("12月5号前", "2026-12-05", "day", "by", False),
    ("12月5号之前", "2026-12-05", "day", "by", False),
    ("12月5号以前", "2026-12-05", "day", "by", False),
    ("下周三以后", "2026-12-02", "day", "after", False),
    ("下周三之后", "2026-12-02", "day", "after", False),
    ("下周三后", "2026-12-02", "day", "after", False),
    ("今年年底前", "2026-12-31", "day", "by", False),
    ("截止到月底前", "2026-11-30", "day", "by", False),  # the suffix decides
    ("下周三左右", "2026-12-02", "day", "on", True),
    ("于12月5日", "2026-12-05", "day", "on", False),
    # English
    ("today", "2026-11-24", "day", "on", False),
    ("Tomorrow", "2026-11-25", "day", "on", False),
    ("yesterday", "2026-11-23", "day", "on", False),
    ("next monday", "2026-11-30", "day", "on", False),
    ("next Fri", "2026-12-04", "day", "on", False),
    ("this friday", "2026-11-27", "day", "on", False),
    ("friday", "2026-11-27", "day", "on", False),
    ("next week", "2026-11-30", "week", "on", False),
    ("next month", "2026-12-01", "month", "on", False),
    ("next year", "2027-01-01", "year", "on", False),
    ("end of month", "2026-11-30", "day", "on", False),
    ("end of the year", "2026-12-31", "day", "on", False),
    ("end of year", "2026-12-31", "day", "on", False),
    ("in 3 days", "2026-11-27", "day", "on", False),
    ("in 2 weeks", "2026-12-08", "day", "on", False),
    ("Dec 5", "2026-12-05", "day", "on", False),
    ("March 1, 2027", "2027-03-01", "day", "on", False),
    ("until next monday", "2026-11-30", "day", "until", False),
    ("till friday", "2026-11-27", "day", "until", False),
    ("by tomorrow", "2026-11-25", "day", "by", False),
    ("by end of month", "2026-11-30", "day", "by", False),
    ("before Dec 5", "2026-12-05", "day", "by", False),
    ("after next monday", "2026-11-30", "day", "after", False),
    ("2026-12-01", "2026-12-01", "day", "on", False),
]


@pytest.mark.parametrize(("text", "day", "granularity", "relation", "approximate"), READ_CASES)
def test_read_date(text: str, day: str, granularity: str, relation: str, approximate: bool) -> None:
    reading = read_date(text, TODAY)
    assert reading is not None, text
    assert (reading.day, reading.granularity, reading.relation, reading.approximate) == (
        _d(day), granularity, relation, approximate
    )
    assert reading.past == (reading.day < TODAY)
    assert (reading.text, reading.start, reading.end) == (text, 0, len(text))


@pytest.mark.parametrize(
    ("text", "past"),
    [("昨天", True), ("上周五", True), ("2025-03-01", True), ("本周一", True), ("三天前", True), ("上个月", True),
     ("今天", False), ("月底", False), ("下周三", False), ("11月", True), ("去年底", True)],
)
def test_past(text: str, past: bool) -> None:
    reading = read_date(text, TODAY)
    assert reading is not None and reading.past is past


@pytest.mark.parametrize(
    "text",
    ["", "   ", "今年", "this year", "2026-02-30", "2026-13-01", "13月", "2月30日", "32号", "0号", "3.0", "12.32",
     "20261340", "下周三前往", "2亿", "5000万", "3.5亿", "#12", "13812345678", "一期", "二期", "3轮", "5号楼",
     "3号线", "10号地块", "2号厅", "1号门", "3号院", "项目", "签约", "周", "月", "年", "sun", "wed", "month",
     "mon", "marathon 5", "hello", "今年前", "三天", "十十天后", "12:30", "8点半"],
)
def test_read_date_none(text: str) -> None:
    assert read_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "day", "start", "end", "clean"),
    [("  下周三 ", "2026-12-02", 2, 5, "下周三"), ("下周三的", "2026-12-02", 0, 3, "下周三"), ("的月底 ", "2026-11-30", 1, 3, "月底")],
)
def test_read_date_ignores_surrounding_spaces_and_de(text: str, day: str, start: int, end: int, clean: str) -> None:
    reading = read_date(text, TODAY)
    assert reading is not None
    assert (reading.day, reading.start, reading.end, reading.text) == (_d(day), start, end, clean)
    assert text[reading.start : reading.end] == reading.text


# -------------------------------------------------------------------------------------- other todays

@pytest.mark.parametrize(
    ("today", "text", "day"),
    [
        # year roll-over
        (YEAR_END, "年底", "2026-12-31"),
        (YEAR_END, "月底", "2026-12-31"),
        (YEAR_END, "月初", "2027-01-01"),
        (YEAR_END, "下个月", "2027-01-01"),
        (YEAR_END, "下个月底", "2027-01-31"),
        (YEAR_END, "明年", "2027-01-01"),
        (YEAR_END, "明年3月", "2027-03-01"),
        (YEAR_END, "下周三", "2027-01-06"),
        (YEAR_END, "周一", "2027-01-04"),
        (YEAR_END, "12月5号", "2027-12-05"),
        (YEAR_END, "12月30日", "2026-12-30"),
        (YEAR_END, "1号", "2027-01-01"),
        (YEAR_END, "30号", "2026-12-30"),
        (YEAR_END, "1月", "2027-01-01"),
        (YEAR_END, "年初", "2027-01-01"),
        (YEAR_END, "三天后", "2027-01-02"),
        (YEAR_END, "1个月后", "2027-01-30"),
        (YEAR_END, "元旦后", "2027-01-04"),
        (YEAR_END, "节后", "2027-01-04"),
        (YEAR_END, "月中", "2027-01-15"),
        # month-end clamping
        (MONTH_END, "1个月后", "2026-02-28"),
        (MONTH_END, "3个月后", "2026-04-30"),
        (MONTH_END, "一个月后", "2026-02-28"),
        (MONTH_END, "下个月底", "2026-02-28"),
        (MONTH_END, "月底", "2026-01-31"),
        (MONTH_END, "30号", "2026-03-30"),
        (MONTH_END, "31号", "2026-01-31"),
        (MONTH_END, "年初", "2026-01-01"),
        (MONTH_END, "下半年", "2026-07-01"),
        (MONTH_END, "上半年", "2026-06-30"),
        (MONTH_END, "周末", "2026-01-31"),
        # official 2026 holidays from chinese_calendar (make-up working Saturday 14 Feb)
        (MONTH_END, "春节后", "2026-02-24"),
        (MONTH_END, "春节前", "2026-02-14"),
        (MONTH_END, "节后", "2026-02-24"),
        (MONTH_END, "清明后", "2026-04-07"),
        (MONTH_END, "五一后", "2026-05-06"),
        (MONTH_END, "端午前", "2026-06-18"),
        (MONTH_END, "中秋后", "2026-09-28"),
        (MONTH_END, "国庆后", "2026-10-08"),
        (MONTH_END, "国庆前", "2026-09-30"),
        # Sunday: week maths
        (SUNDAY, "周一", "2026-11-30"),
        (SUNDAY, "周日", "2026-11-29"),
        (SUNDAY, "周三", "2026-12-02"),
        (SUNDAY, "本周一", "2026-11-23"),
        (SUNDAY, "下周一", "2026-11-30"),
        (SUNDAY, "下周日", "2026-12-06"),
        (SUNDAY, "上周日", "2026-11-22"),
        (SUNDAY, "下周", "2026-11-30"),
        (SUNDAY, "本周内", "2026-11-29"),
        (SUNDAY, "周末前", "2026-11-29"),
        (SUNDAY, "周末", "2026-11-29"),
        (SUNDAY, "next monday", "2026-11-30"),
        (SUNDAY, "sunday", "2026-11-29"),
        # early in the month: 月初 is this month, 上旬 is today
        (date(2026, 11, 3), "月初", "2026-11-01"),
        (date(2026, 11, 3), "上旬", "2026-11-03"),
        (date(2026, 11, 3), "中旬", "2026-11-11"),
        (date(2026, 11, 3), "5号", "2026-11-05"),
        (date(2026, 11, 3), "2号", "2026-12-02"),
        (date(2026, 3, 1), "下半年", "2026-07-01"),
        # 29 Feb waits for a leap year
        (date(2028, 3, 1), "2月29日", "2032-02-29"),
        (date(2027, 12, 1), "29号", "2027-12-29"),
    ],
)
def test_read_date_other_todays(today: date, text: str, day: str) -> None:
    reading = read_date(text, today)
    assert reading is not None, text
    assert reading.day == _d(day)
    assert reading.past == (reading.day < today)


def test_holiday_said_during_the_holiday() -> None:
    during = date(2026, 10, 3)
    after = read_date("国庆后", during)
    assert after is not None and after.day == date(2026, 10, 8) and not after.past
    before = read_date("国庆前", during)
    assert before is not None and before.day == date(2026, 9, 30) and before.past
    # 2025: 中秋 (6 Oct) fell inside 国庆; "after 中秋" is after the whole break.
    merged = read_date("中秋后", date(2025, 9, 1))
    assert merged is not None and merged.day == date(2025, 10, 9)


def test_holiday_beyond_tables_is_none() -> None:
    assert read_date("春节后", date(2036, 3, 1)) is None
    assert read_date("中秋后", date(2035, 10, 1)) is None
    assert read_date("国庆后", date(1999, 1, 1)) is None


def test_holiday_fallback_tables() -> None:
    # 除夕 2028 is 25 Jan; the eight-day break ends on Wed 1 Feb.
    period = holidays.next_period(holidays.SPRING_FESTIVAL, date(2027, 11, 1))
    assert period is not None and (period.first, period.last) == (date(2028, 1, 25), date(2028, 2, 1))
    assert holidays.next_period(None, date(2027, 11, 1)) == holidays.next_period(holidays.NEW_YEAR, date(2027, 11, 1))
    assert holidays.last_workday_before(date(2027, 10, 1)) == date(2027, 9, 30)
    assert holidays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert holidays.is_day_off(date(2027, 10, 3)) and not holidays.is_day_off(date(2027, 10, 8))


# ------------------------------------------------------------------------------------------ find_dates

@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("下周三去深圳拜访比亚迪", [("下周三", 0, 3, "2026-12-02", "on")]),
        ("请假到下周五回来", [("到下周五", 2, 6, "2026-12-04", "until")]),
        ("昨天签约了万达，预计明年3月开工", [("昨天", 0, 2, "2026-11-23", "on"), ("明年3月", 10, 14, "2027-03-01", "on")]),
        ("12月5号前报材料", [("12月5号前", 0, 6, "2026-12-05", "by")]),
        ("截至11月底共签约5个", [("截至11月底", 0, 6, "2026-11-30", "until")]),
        ("月底前完成环评", [("月底前", 0, 3, "2026-11-30", "by")]),
        ("预计春节后开工", [("春节后", 2, 5, "2027-02-15", "after")]),
        ("过年后再说", [("年后", 1, 3, "2027-02-15", "after")]),
        ("在12月5日签约", [("12月5日", 1, 6, "2026-12-05", "on")]),
        ("在12月5日之前签约", [("在12月5日之前", 0, 8, "2026-12-05", "by")]),
        ("收到12月5号的通知", [("12月5号", 2, 7, "2026-12-05", "on")]),
        ("现在12月了", [("12月", 2, 5, "2026-12-01", "on")]),
        ("下周五到下下周三出差", [("下周五", 0, 3, "2026-12-04", "on"), ("到下下周三", 3, 8, "2026-12-09", "until")]),
        ("下周三下午3点在深圳", [("下周三", 0, 3, "2026-12-02", "on")]),
        ("下周一下午开会", [("下周一", 0, 3, "2026-11-30", "on")]),
        ("本周五前提交", [("本周五前", 0, 4, "2026-11-27", "by")]),
        ("下周三前往深圳", [("下周三", 0, 3, "2026-12-02", "on")]),
        ("马上年底了", [("年底", 2, 4, "2026-12-31", "on")]),
        ("到12.5完成", [("到12.5", 0, 5, "2026-12-05", "until")]),
        ("12-5去郑州", [("12-5", 0, 4, "2026-12-05", "on")]),
        ("2026年签约目标20个", [("2026年", 0, 5, "2026-01-01", "on")]),
        ("2026/11/30前", [("2026/11/30前", 0, 11, "2026-11-30", "by")]),
        ("三年前签的", [("三年前", 0, 3, "2023-11-24", "on")]),
        ("会议定在2026-12-01上午", [("2026-12-01", 4, 14, "2026-12-01", "on")]),
        ("meeting tomorrow at 3pm", [("tomorrow", 8, 16, "2026-11-25", "on")]),
        ("5月中国企业来访", [("5月", 0, 2, "2027-05-01", "on")]),
        ("上周天气不好", [("上周", 0, 2, "2026-11-16", "on")]),
        ("本周日程安排", [("本周", 0, 2, "2026-11-24", "on")]),
        ("本周三期项目开工", [("本周", 0, 2, "2026-11-24", "on")]),
        ("这周一直在忙", [("这周", 0, 2, "2026-11-24", "on")]),
        ("月底前完成环评，下周一起去", [("月底前", 0, 3, "2026-11-30", "by"), ("下周", 8, 10, "2026-11-30", "on")]),
        ("十二月五号到三月", [("十二月五号", 0, 5, "2026-12-05", "on"), ("到三月", 5, 8, "2027-03-01", "until")]),
        ("马上周末了", [("周末", 2, 4, "2026-11-28", "on")]),
        ("马上月底了", [("月底", 2, 4, "2026-11-30", "on")]),
        ("11.30前提交", [("11.30前", 0, 6, "2026-11-30", "by")]),
        ("3-5天内完成", [("5天内", 2, 5, "2026-11-29", "by")]),
        ("本月新增签约多少", [("本月", 0, 2, "2026-11-24", "on")]),
    ],
)
def test_find_dates(sentence: str, expected: list[tuple[str, int, int, str, str]]) -> None:
    found = find_dates(sentence, TODAY)
    assert [(r.text, r.start, r.end, r.day.isoformat(), r.relation) for r in found] == expected
    for reading in found:
        assert sentence[reading.start : reading.end] == reading.text


@pytest.mark.parametrize(
    "sentence",
    ["签约了网易河南区域总部3亿", "谋划某某项目2个亿", "总投资10亿一期3亿", "5000万", "3.5亿", "#12进展", "#12 签约",
     "电话13812345678", "138-1234-5678", "0371-12345678", "一期二期3轮", "5号楼", "3号线周边", "10号地块", "2号厅签约",
     "1号门", "3号院", "第3号", "一号文件", "版本3.0上线", "增长1.5倍", "12.5去深圳", "完成1/3", "3-5亿", "1-2个",
     "比分3:0", "今年签约3个", "每周三例会", "一周三次", "这周边项目", "这个环节后再说", "五一路项目", "10周年庆",
     "好的收到", "环评已经批了", "今后加强对接", "日前，我区", "周报", "年报和月报", "五年规划", "前期后期", "v2.1.3", "投资1.5个亿", "占比12.5%", "12.5万元", "wedding"],
)
def test_find_dates_ignores_non_dates(sentence: str) -> None:
    assert find_dates(sentence, TODAY) == []


def test_find_dates_prefers_the_longest_form() -> None:
    assert [r.text for r in find_dates("下下周三和大后天和下个月底", TODAY)] == ["下下周三", "大后天", "下个月底"]
    assert [r.text for r in find_dates("2027年3月5日签约", TODAY)] == ["2027年3月5日"]


def test_readings_are_frozen() -> None:
    reading = read_date("明天", TODAY)
    assert isinstance(reading, DateReading)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.day = TODAY  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------- times

@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("8点半", 8, 30), ("早上九点", 9, 0), ("下午3点", 15, 0), ("十点半", 10, 30), ("十二点", 12, 0),
        ("两点", 2, 0), ("一点", 1, 0), ("8:30", 8, 30), ("08:30", 8, 30), ("14:30", 14, 30), ("0:00", 0, 0),
        ("23:59", 23, 59), ("14:30:00", 14, 30), ("中午1点", 13, 0), ("中午12点", 12, 0), ("中午11点", 11, 0),
        ("晚上8点", 20, 0), ("晚上12点", 12, 0), ("凌晨2点", 2, 0), ("上午12点", 12, 0), ("早上12点", 12, 0),
        ("9点一刻", 9, 15), ("3点三刻", 3, 45), ("10点15分", 10, 15), ("10点15", 10, 15), ("10点05", 10, 5),
        ("10点5分", 10, 5), ("三点二十", 3, 20), ("十点十五分", 10, 15), ("三点零五", 3, 5), ("下午3:30", 15, 30),
        ("下午15点", 15, 0), ("下午3点半", 15, 30), ("晚上十点", 22, 0), ("早上8:30", 8, 30), ("早8点", 8, 0),
        ("晚8点", 20, 0), ("傍晚6点", 18, 0), ("今晚8点", 20, 0), ("明早9点", 9, 0), ("夜里11点", 23, 0),
        ("九点钟", 9, 0), ("9点整", 9, 0), ("15时", 15, 0), ("15时30分", 15, 30), ("早上 9点", 9, 0),
        ("3pm", 15, 0), ("9am", 9, 0), ("12am", 0, 0), ("12pm", 12, 0), ("3:30pm", 15, 30), ("3 p.m.", 15, 0),
    ],
)
def test_read_time(text: str, hour: int, minute: int) -> None:
    reading = read_time(text)
    assert reading is not None, text
    assert (reading.hour, reading.minute, reading.text, reading.start, reading.end) == (hour, minute, text, 0, len(text))


@pytest.mark.parametrize(
    "text",
    ["", "25:00", "24:00", "8:61", "8:6", "3点5", "二十五点", "8点61分", "下午", "点", "3小时", "3amazing", "12.30",
     "明天下午3点", "三点多", "13pm"],
)
def test_read_time_none(text: str) -> None:
    assert read_time(text) is None


def test_read_time_offsets() -> None:
    reading = read_time(" 8点半 ")
    assert reading is not None and (reading.start, reading.end, reading.text) == (1, 4, "8点半")


# ------------------------------------------------------------------------------- properties and speed

_ALPHABET = (
    "0123456789〇零一二两三四五六七八九十百半年月日号周星期礼拜天今明后昨前大本这下上个底末初中旬内以之到至截止直于在"
    "点时分刻钟早晚午凌晨春节元旦国庆五劳动端清秋工作楼线期亿万元. -/:#的next monday of end in days"
)
_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet=_ALPHABET, max_size=40))
_TODAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, today=_TODAYS)
def test_dates_never_raise_and_spans_are_sound(text: str, today: date) -> None:
    single = read_date(text, today)
    if single is not None:
        assert text[single.start : single.end] == single.text
        assert single.past == (single.day < today)
    end = 0
    for reading in find_dates(text, today):
        assert end <= reading.start < reading.end <= len(text)
        assert text[reading.start : reading.end] == reading.text
        assert reading.past == (reading.day < today)
        end = reading.end


@settings(max_examples=300, deadline=None)
@given(text=_TEXT)
def test_times_never_raise_and_spans_are_sound(text: str) -> None:
    single = read_time(text)
    if single is not None:
        assert 0 <= single.hour <= 23 and 0 <= single.minute <= 59


def test_find_dates_is_fast() -> None:
    sentence = "昨天去深圳拜访了比亚迪集团，对方有意向投资3亿建设华中区域总部，预计下周三来郑考察，争取月底前签约"
    assert len(find_dates(sentence, TODAY)) == 3
    runs = 300
    began = time.perf_counter()
    for _ in range(runs):
        find_dates(sentence, TODAY)
    assert (time.perf_counter() - began) / runs < 1e-3
