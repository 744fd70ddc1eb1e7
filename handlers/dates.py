"""Dates as squad members write them (下周三, 12月5号, 到下周五, 月底前, 明年3月, 春节后); times of day are handlers.times.

Hand-written on purpose: jionlp (the one library covering these forms) was measured and rejected for this
issue (wrong or raising results, a GPL segmenter, a slow import: bench/README.md), and dateparser/arrow do not know the
Chinese relative forms. Chinese numerals go through cn2an, holidays through handlers.holidays
(chinese_calendar). Every form is one alternative of a single regex compiled at import, so a sentence is
scanned once; alternatives are ordered longest first, which is how "longest match first" is kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeVar

from handlers import holidays
from handlers.calendar_math import (
    add_months,
    make_date,
    monday_of,
    month_end,
    month_part,
    next_occurrence,
    read_number,
    week_shift,
)

Relation = Literal["on", "by", "until", "after"]
Granularity = Literal["day", "week", "month", "year"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class DateReading:
    """A date found in text; `day` is the calendar day meant, `approximate` asks the bot to confirm."""

    day: date
    text: str
    start: int
    end: int
    granularity: Granularity
    relation: Relation
    approximate: bool
    past: bool


CN_DIGITS = "〇零一二两三四五六七八九十百"
_NUM = rf"(?:[0-9]{{1,3}}|[{CN_DIGITS}]{{1,5}})"
_MON = r"(?:[0-9]{1,2}|十[一二]?|[一二三四五六七八九])"
_DAY = r"(?:[0-9]{1,2}|三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"
_PART = r"(?:上旬|中旬|下旬|初|中(?![国心央关方间部层标期介])|底|末)"
_NOT_AFTER_NUM = rf"(?<![0-9{CN_DIGITS}千万亿个第每#.:/\-])"
_WEEK_MOD = r"(?:下下个?|下个?|上上个?|(?<!马)上个?|本|这个?)"  # 马上周末 is "soon the weekend"
_WEEKDAY = "一二三四五六日天"
# A numeral after 周 that counts something (本周三期, 周一起, 这周一直) is not a weekday.
_NOT_WEEKDAY = (r"(?![0-9期号楼轮个次年月天人家位批千百万亿十元栋层项条件种点起些直样般定共切同道线]|下(?!午))"
                r"(?!(?<=天)[气然津空数])(?!(?<=日)[程报志记子常])")
_HOLIDAY_WORDS = {
    "春节": holidays.SPRING_FESTIVAL, "年": holidays.SPRING_FESTIVAL, "元旦": holidays.NEW_YEAR,
    "清明": holidays.TOMB_SWEEPING, "清明节": holidays.TOMB_SWEEPING, "五一": holidays.LABOUR_DAY,
    "劳动节": holidays.LABOUR_DAY, "端午": holidays.DRAGON_BOAT, "端午节": holidays.DRAGON_BOAT,
    "中秋": holidays.MID_AUTUMN, "中秋节": holidays.MID_AUTUMN, "国庆": holidays.NATIONAL_DAY,
    "国庆节": holidays.NATIONAL_DAY,
}
_SUFFIXES = r"(?:前后|左右|以前|之前|前(?![往来去期面景台沿夕])|以后|之后|后(?![续期面台来勤方备天])|以内|之内|内(?![容部外地蒙资陆]))"
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december")

_CORES = {
    "ymd": r"(?<![0-9.\-/])(?P<ymd_y>(?:19|20)[0-9]{2})(?P<ymd_s>[-/.])(?P<ymd_m>[0-9]{1,2})(?P=ymd_s)(?P<ymd_d>[0-9]{1,2})(?![0-9]|\.[0-9])",
    "compact": r"(?<![0-9])(?P<compact_y>(?:19|20)[0-9]{2})(?P<compact_m>[01][0-9])(?P<compact_d>[0-3][0-9])(?![0-9])",
    "ym": r"(?<![0-9.\-/])(?P<ym_y>(?:19|20)[0-9]{2})[-/.](?P<ym_m>[0-9]{1,2})(?![0-9]|[-/.][0-9]|[亿万元%])",
    "year": rf"(?:(?<![0-9])(?P<year_n>(?:19|20)[0-9]{{2}})年|(?<![{CN_DIGITS}])(?P<year_c>[〇零一二三四五六七八九]{{4}})年"
            rf"|(?P<year_r>今年|明年|后年|去年|前年))(?:(?P<year_m>{_MON})月份?(?:(?P<year_d>{_DAY})[日号]|(?P<year_p>{_PART}))?"
            r"|年?(?P<year_e>[底末初])|(?P<year_h>[上下]半年))?",
    "en": r"(?<![a-z])(?:(?P<en_rel>today|tonight|tomorrow|tmr|yesterday)"
          r"|(?P<en_pm>next|this|last)\s+(?P<en_pu>week|month|year)"
          r"|(?:(?P<en_mod>next|this|last)\s+)?(?P<en_wd>mon|tue|wed|thu|fri|sat|sun)[a-z]*|end\s+of\s+(?:the\s+)?(?P<en_end>week|month|year)"
          r"|(?P<en_eo>eo[wmy])|in\s+(?P<en_n>[0-9]{1,3})\s+(?P<en_u>day|week|month)s?"
          r"|(?P<en_mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<en_d>[0-9]{1,2})(?:st|nd|rd|th)?"
          r"(?:,?\s+(?P<en_y>(?:19|20)[0-9]{2}))?)(?![a-z])",
    "relday": r"(?P<relday>大前天|大后天|前天|后天|今天|今日|当天|明天|明日|昨天|昨日)",
    "weekday": rf"(?<![每隔{CN_DIGITS}0-9个])(?P<weekday_m>{_WEEK_MOD})?(?:周|星期|礼拜)(?P<weekday_d>[{_WEEKDAY}1-7]){_NOT_WEEKDAY}",
    "weekend": rf"(?<![每隔])(?P<weekend_m>{_WEEK_MOD})?周末",
    "week": rf"(?P<week_m>{_WEEK_MOD})(?:周|星期|礼拜)(?![边围期转年])",
    "month": rf"{_NOT_AFTER_NUM}(?P<month_n>{_MON})月份?(?:(?P<month_d>{_DAY})[日号]|(?P<month_p>{_PART}))?",
    "monthrel": r"(?P<monthrel_m>本月|这个?月|下下个?月|下个?月|(?<!马)上个?月)(?P<monthrel_p>" + _PART + ")?",
    "monthpart": rf"(?<![{CN_DIGITS}0-9个每本这下])(?<!(?<!马)上)(?:月(?P<monthpart_p>初|中(?![国心央关方间部层标期介])|底|末|内)|(?P<monthpart_x>[上中下])旬)",
    "yearpart": rf"(?<![{CN_DIGITS}0-9今明去后前每当多几近千万])(?:年(?P<yearpart_p>底|末|初|内)|(?P<yearpart_h>[上下])半年)",
    "holiday": rf"(?P<holiday>春节|元旦|清明节?|五一(?![路广大街村公小])|劳动节|端午节?|中秋节?|国庆节?"
               rf"|(?<![{CN_DIGITS}0-9今明去后前每当多几近千万])年(?=[以之]?[前后])|(?<![环季章关细情礼调音小时中春庆秋午明动旦])节(?=[以之]?[前后]))",
    "dayonly": rf"(?<![0-9{CN_DIGITS}#第月.:/\-])(?P<dayonly>{_DAY})[号日](?!楼|院|线|地块|厅|门|文件|令|工程|仓|库|馆|站|机|车|口|位|店|铺|室|坑|桩|台|栋|游|子)",
    "md": r"(?<![0-9.\-/:#])(?P<md_m>[0-9]{1,2})(?P<md_s>[./-])(?P<md_d>[0-9]{1,2})(?![0-9]|[./-][0-9]|[亿万千百元%个天周月年人家倍次号栋层])",
}
_OFFSET = (rf"(?<![0-9{CN_DIGITS}几多])(?P<off_n>{_NUM}|半)(?P<off_u>个?工作日|天|日(?=[以之]?内)|个?星期|个?礼拜|周|个月|年)"
           r"(?P<off_s>以后|之后|后|以内|之内|内|以前|之前|前)")
_PREFIX = (r"(?:(?P<pre>一直到|截止到|截止至|截止|截至|直到|直至|(?<![收得达做想提遇见报来签拿看听找回走迟感受赶办])到"
           r"|(?<![甚以乃直])至|(?<![由关对属等位基处终至用在便善鉴])于|(?<![现正存实所好])在|(?<![a-z])(?:until|till|by|before|after)\s+)\s*)?")
# Every form starts with one of these; checking it first lets the scan skip most positions at once.
_FIRST = r"(?=[0-9a-z〇零一二两三四五六七八九十百半截直到至于在今明后去前大当昨下上本这周星礼月中年春元清五劳端国节])"
_DATE = re.compile(
    _FIRST + _PREFIX + "(?:" + _OFFSET + "|(?:" + "|".join(f"(?P<k_{k}>{v})" for k, v in _CORES.items()) + f")(?P<suf>{_SUFFIXES})?)",
    re.ASCII | re.IGNORECASE,
)
_KINDS = tuple((_DATE.groupindex[f"k_{k}"], k) for k in _CORES)
_UNTIL_WORDS = frozenset({"一直到", "截止到", "截止至", "截止", "截至", "直到", "直至", "到", "至", "until", "till"})


_Core = tuple[date, Granularity, bool, Relation | None]


def _bare_month_part(m: re.Match[str], today: date) -> _Core | None:
    """月底 / 月初 / 月中 / 上旬 … without a month: this month, or next once that part is over."""
    part, xun = m.group("monthpart_p"), m.group("monthpart_x")
    nxt = add_months(today.replace(day=1), 1) or today
    if part in ("底", "末"):
        return month_end(today.year, today.month), "day", False, None
    if part == "内":
        return month_end(today.year, today.month), "month", False, "by"
    if part == "初":
        return (nxt if today.day > 5 else today.replace(day=1)), "day", True, None
    if part == "中":
        return (today.replace(day=15) if today.day <= 15 else nxt.replace(day=15)), "day", True, None
    # A 旬 is ten days (the last one runs to the month's end); inside it, the day is today.
    first, last = {"上": (1, 10), "中": (11, 20), "下": (21, 31)}[xun]
    if today.day > last:
        return nxt.replace(day=first), "day", True, None
    return today.replace(day=max(first, today.day)), "day", True, None


def _year_form(m: re.Match[str], today: date, suffix: str | None) -> _Core | None:
    """2027年…, 二〇二七年…, 今年/明年/后年/去年 with an optional month, day, 底/初 or half."""
    rel = m.group("year_r")
    if rel:
        year = today.year + {"今年": 0, "明年": 1, "后年": 2, "去年": -1, "前年": -2}[rel]
    else:
        year = read_number(m.group("year_n") or m.group("year_c")) or 0
    if not 1900 <= year <= 2200:
        return None
    month_text, end, half = m.group("year_m"), m.group("year_e"), m.group("year_h")
    if month_text:
        month = read_number(month_text) or 0
        if not 1 <= month <= 12:
            return None
        if m.group("year_d"):
            found = make_date(year, month, read_number(m.group("year_d")) or 0)
            return (found, "day", False, None) if found else None
        if m.group("year_p"):
            day, guess = month_part(year, month, m.group("year_p"))
            return day, "day", guess, None
        return date(year, month, 1), "month", False, None
    if end:
        return (date(year, 12, 31), "day", False, None) if end != "初" else (date(year, 1, 1), "day", True, None)
    if half:
        return (date(year, 6, 30) if half == "上半年" else date(year, 7, 1)), "day", True, None
    if rel == "今年" and suffix not in ("内", "以内", "之内"):
        return None  # 今年 alone names no day anyone means
    return date(year, 1, 1), "year", False, None


def _english(m: re.Match[str], today: date) -> _Core | None:
    """A few English forms: today, next monday, next week, end of month, in 3 days, Dec 5."""
    g = m.group
    monday = monday_of(today)
    if g("en_rel"):
        shift = {"yesterday": -1, "tomorrow": 1, "tmr": 1}.get(g("en_rel").lower(), 0)
        return today + timedelta(days=shift), "day", False, None
    if g("en_wd"):
        word = m.group("k_en").split()[-1].lower()
        full = next((name for name in _EN_WEEKDAYS if name.startswith(word[:3])), "")
        # Bare abbreviations (sun, sat, wed) are words too often; only full names stand alone.
        if not (full.startswith(word) and (len(word) >= 3 if g("en_mod") else word == full)):
            return None
        weekday = _EN_WEEKDAYS.index(full)
        if not g("en_mod"):
            return today + timedelta(days=(weekday - today.weekday()) % 7), "day", False, None
        shift = {"next": 1, "this": 0, "last": -1}[g("en_mod").lower()]
        return monday + timedelta(days=7 * shift + weekday), "day", False, None
    if g("en_pu"):
        shift = {"next": 1, "this": 0, "last": -1}[g("en_pm").lower()]
        unit = g("en_pu").lower()
        if unit == "week":
            return (today if shift == 0 else monday + timedelta(days=7 * shift)), "week", False, None
        if unit == "month":
            first = add_months(today.replace(day=1), shift)
            return ((today if shift == 0 else first), "month", False, None) if first else None
        return (None if shift == 0 else (date(today.year + shift, 1, 1), "year", False, None))
    if g("en_end") or g("en_eo"):
        unit = (g("en_end") or g("en_eo")[2]).lower()[0]
        ends = {"w": monday + timedelta(days=6), "m": month_end(today.year, today.month), "y": date(today.year, 12, 31)}
        return ends[unit], "day", False, None
    if g("en_n"):
        count, unit = int(g("en_n")), g("en_u").lower()
        found = add_months(today, count) if unit == "month" else today + timedelta(days=count * (7 if unit == "week" else 1))
        return (found, "day", False, None) if found else None
    word = m.group("k_en").split()[0].lower().rstrip(".")
    month = next((i for i, name in enumerate(_EN_MONTHS, 1) if name.startswith(word)), 0)
    if not month or len(word) < 3:
        return None
    if g("en_y"):
        found = make_date(int(g("en_y")), month, int(g("en_d")))
    else:
        found = next_occurrence(month, int(g("en_d")), today)
    return (found, "day", False, None) if found else None


def _offset(m: re.Match[str], today: date) -> _Core | None:
    """三天后 / 两周内 / 3个月后 / 半个月后 / 5个工作日内 / 三天前."""
    count_text, unit, suffix = m.group("off_n"), m.group("off_u"), m.group("off_s")
    sign = -1 if suffix.endswith("前") else 1
    relation: Relation | None = "by" if suffix.endswith("内") else None
    if count_text == "半":
        if unit not in ("个月", "年"):
            return None
        count, unit = (15, "天") if unit == "个月" else (6, "个月")
    else:
        number = read_number(count_text)
        if number is None or number > 999:
            return None
        count = number
    try:
        if unit.endswith("工作日"):
            return (holidays.add_workdays(today, count), "day", False, relation) if sign > 0 else None
        if unit in ("天", "日"):
            return today + timedelta(days=sign * count), "day", False, relation
        if unit in ("周", "星期", "个星期", "礼拜", "个礼拜"):
            return today + timedelta(days=sign * 7 * count), "day", False, relation
    except OverflowError:
        return None
    found = add_months(today, sign * count * (12 if unit == "年" else 1))
    return (found, "day", False, relation) if found else None


_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}


def _core(kind: str, m: re.Match[str], today: date, suffix: str | None) -> _Core | None:
    """The day a matched form names, before the prefix and suffix are applied."""
    g = m.group
    monday = monday_of(today)
    if kind in ("ymd", "compact"):
        found = make_date(int(g(f"{kind}_y")), int(g(f"{kind}_m")), int(g(f"{kind}_d")))
        return (found, "day", False, None) if found else None
    if kind == "ym":
        found = make_date(int(g("ym_y")), int(g("ym_m")), 1)
        return (found, "month", False, None) if found else None
    if kind == "year":
        return _year_form(m, today, suffix)
    if kind == "en":
        return _english(m, today)
    if kind == "relday":
        return today + timedelta(days=_RELATIVE_DAYS.get(g("relday"), 0)), "day", False, None
    if kind == "weekday":
        weekday = min(_WEEKDAY.find(g("weekday_d")), 6) if not g("weekday_d").isdigit() else int(g("weekday_d")) - 1
        if g("weekday_m") is None:
            return today + timedelta(days=(weekday - today.weekday()) % 7), "day", False, None
        return monday + timedelta(days=7 * week_shift(g("weekday_m")) + weekday), "day", False, None
    if kind == "weekend":
        week = monday + timedelta(days=7 * week_shift(g("weekend_m")))
        if suffix in ("前", "之前", "以前"):
            return week + timedelta(days=6), "day", False, "by"
        if g("weekend_m") is None and today.weekday() == 6:
            return today, "day", False, None
        return week + timedelta(days=5), "day", False, None
    if kind == "week":
        shift = week_shift(g("week_m"))
        return (today if shift == 0 else monday + timedelta(days=7 * shift)), "week", False, None
    if kind == "month":
        month = read_number(g("month_n")) or 0
        if not 1 <= month <= 12:
            return None
        if g("month_d"):
            found = next_occurrence(month, read_number(g("month_d")) or 0, today)
            return (found, "day", False, None) if found else None
        year = today.year if month >= today.month else today.year + 1
        if g("month_p"):
            day, guess = month_part(year, month, g("month_p"))
            return day, "day", guess, None
        return date(year, month, 1), "month", False, None
    if kind == "monthrel":
        word = g("monthrel_m")
        shift = 0 if word[0] in "本这" else week_shift(word[:-1])
        first = add_months(today.replace(day=1), shift)
        if first is None:
            return None
        if g("monthrel_p"):
            day, guess = month_part(first.year, first.month, g("monthrel_p"))
            return day, "day", guess, None
        return (today if shift == 0 else first), "month", False, None
    if kind == "monthpart":
        return _bare_month_part(m, today)
    if kind == "yearpart":
        part, half = g("yearpart_p"), g("yearpart_h")
        if part in ("底", "末", "内"):
            return date(today.year, 12, 31), ("year" if part == "内" else "day"), False, ("by" if part == "内" else None)
        if part == "初":
            return date(today.year + (today.month > 1), 1, 1), "day", True, None
        if half == "上":
            return date(today.year + (today > date(today.year, 6, 30)), 6, 30), "day", True, None
        return max(date(today.year, 7, 1), today), "day", True, None  # 下半年 runs to 31 Dec: inside it, today
    if kind == "dayonly":
        # This month if still to come, else the next month that has that day (30号 on 31 Jan → 30 Mar).
        number = read_number(g("dayonly")) or 0
        for shift in range(3):
            first = add_months(today.replace(day=1), shift)
            found = make_date(first.year, first.month, number) if first else None
            if found is not None and found >= today:
                return found, "day", False, None
        return None
    if kind == "md":
        found = next_occurrence(int(g("md_m")), int(g("md_d")), today)
        return (found, "day", False, None) if found else None
    return None  # the holiday kind is read by _holiday


def _holiday(m: re.Match[str], today: date, suffix: str | None) -> _Core | None:
    """春节后 / 国庆前 / 节后: the first day after the break, the last workday before it, or its first day."""
    period = holidays.next_period(_HOLIDAY_WORDS.get(m.group("holiday")), today)
    if period is None:
        return None
    if suffix in ("后", "以后", "之后"):
        return period.last + timedelta(days=1), "day", True, "after"
    if suffix in ("前", "以前", "之前"):
        return holidays.last_workday_before(period.first), "day", True, "by"
    return period.first, "day", True, None


def _reading(m: re.Match[str], text: str, today: date, free_text: bool) -> DateReading | None:
    """Interpret one regex match (prefix, form, suffix), or None when it names no real date."""
    prefix, suffix = m.group("pre"), m.group("suf")
    if m.group("off_n") is not None:
        core = _offset(m, today)
    else:
        spans = m.regs
        kind = next(k for index, k in _KINDS if spans[index][0] >= 0)
        # Bare 12.5 or 1/3 in a sentence is a version, an amount or a fraction more often than a date.
        if free_text and kind == "md" and m.group("md_s") in "./" and not (prefix or suffix):
            return None
        core = _holiday(m, today, suffix) if kind == "holiday" else _core(kind, m, today, suffix)
    if core is None:
        return None
    day, granularity, approximate, relation = core
    start = m.start()
    if relation is None:
        relation = "on"
        if suffix in ("前", "以前", "之前", "内", "以内", "之内"):
            relation = "by"
        elif suffix in ("后", "以后", "之后"):
            relation = "after"
        elif prefix:
            word = prefix.strip().lower()
            relation = "until" if word in _UNTIL_WORDS else "by" if word in ("by", "before") else "after" if word == "after" else "on"
        if suffix in ("内", "以内", "之内"):
            day = {"week": monday_of(day) + timedelta(days=6), "month": month_end(day.year, day.month),
                   "year": date(day.year, 12, 31)}.get(granularity, day)
    approximate = approximate or suffix in ("前后", "左右")
    if prefix and prefix.strip() == "在" and relation not in ("by", "after"):
        start = m.start("pre") + len(prefix)  # 在 is part of the date only in 在…之前/之后
    end = m.end()
    while start < end and text[start].isspace():
        start += 1
    return DateReading(day, text[start:end], start, end, granularity, relation, approximate, day < today)


def scan_matches(pattern: re.Pattern[str], text: str, interpret: Callable[[re.Match[str]], _T | None]) -> list[_T]:
    """Left to right, non-overlapping; a match that reads as nothing is retried one character later."""
    found: list[_T] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        reading = interpret(m)
        if reading is None:
            pos = m.start() + 1
        else:
            found.append(reading)
            pos = m.end()
    return found


def _safe_reading(m: re.Match[str], text: str, today: date, free_text: bool) -> DateReading | None:
    try:
        return _reading(m, text, today, free_text)
    except OverflowError:  # a today near date.max or date.min
        return None


def read_date(text: str, today: date) -> DateReading | None:
    """The date a whole word or phrase names (surrounding spaces and 的 ignored), or None."""
    stripped = text.strip().strip("的").strip()
    m = _DATE.fullmatch(stripped) if stripped else None
    reading = _safe_reading(m, stripped, today, free_text=False) if m else None
    if reading is None:
        return None
    offset = text.find(stripped)
    return dataclasses.replace(reading, start=reading.start + offset, end=reading.end + offset)


def find_dates(text: str, today: date) -> list[DateReading]:
    """Every date expression inside free text, non-overlapping, left to right, longest match first."""
    return scan_matches(_DATE, text, lambda m: _safe_reading(m, text, today, free_text=True))
