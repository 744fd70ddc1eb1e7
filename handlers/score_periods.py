"""The periods 考核 and 活跃 are computed over: a local week, month, quarter or year, this one or the last.

A current period runs from its first day to today; a past one is whole. Weeks start on Monday. The year
boundary is the calendar's: 上月 in January is last December, 上季度 in the first quarter is last year's
fourth, 上周 may straddle two years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from handlers.commands import Lang
from handlers.wording import in_lang

# Words → period key (longest first when matched).
PERIOD_WORDS: dict[str, str] = {
    "本周": "week", "这周": "week", "本星期": "week", "this week": "week", "week": "week",
    "上周": "last_week", "last week": "last_week",
    "本月": "month", "这个月": "month", "this month": "month", "month": "month",
    "上月": "last_month", "上个月": "last_month", "last month": "last_month",
    "本季度": "quarter", "本季": "quarter", "这个季度": "quarter", "this quarter": "quarter", "quarter": "quarter",
    "上季度": "last_quarter", "上季": "last_quarter", "上个季度": "last_quarter", "last quarter": "last_quarter",
    "本年": "year", "今年": "year", "本年度": "year", "全年": "year", "this year": "year", "year": "year",
    "去年": "last_year", "上年": "last_year", "上一年": "last_year", "last year": "last_year",
}
PERIOD_KEYS: tuple[str, ...] = (
    "week", "last_week", "month", "last_month", "quarter", "last_quarter", "year", "last_year")


@dataclass(frozen=True)
class Period:
    """A named period: its key, first and last local day (inclusive)."""

    key: str
    first: date
    last: date

    def label(self, lang: str) -> str:
        """How a reply names it: 2026年第4季度 (11月1日–11月24日) or Q4 2026."""
        first, last = self.first, self.last
        if lang == "en":
            span = f"{first.isoformat()} – {last.isoformat()}"
            if self.key in ("quarter", "last_quarter"):
                return f"Q{(first.month - 1) // 3 + 1} {first.year} ({span})"
            return span
        span = f"{first.month}月{first.day}日–{last.month}月{last.day}日"
        if self.key in ("quarter", "last_quarter"):
            return f"{first.year}年第{(first.month - 1) // 3 + 1}季度（{span}）"
        if self.key in ("month", "last_month"):
            return f"{first.year}年{first.month}月（{span}）"
        if self.key in ("year", "last_year"):
            return f"{first.year}年（{span}）"
        return f"{first.year}年{span}" if first.year == last.year else \
            f"{first.year}年{first.month}月{first.day}日–{last.year}年{last.month}月{last.day}日"


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def period_of(key: str, today: date) -> Period:
    """The period `key` (PERIOD_KEYS) around `today`."""
    if key == "week":
        return Period(key, today - timedelta(days=today.weekday()), today)
    if key == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(key, monday, monday + timedelta(days=6))
    if key == "month":
        return Period(key, today.replace(day=1), today)
    if key == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(key, last.replace(day=1), last)
    if key == "quarter":
        return Period(key, _quarter_start(today), today)
    if key == "last_quarter":
        last = _quarter_start(today) - timedelta(days=1)
        return Period(key, _quarter_start(last), last)
    if key == "year":
        return Period(key, date(today.year, 1, 1), today)
    if key == "last_year":
        return Period(key, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    raise ValueError(f"unknown period {key!r}")


def split_period(text: str) -> tuple[str | None, str]:
    """The period word at the end or start of `text` (its key, or None) and the rest of the text."""
    stripped = text.strip()
    lowered = stripped.lower()
    for word in sorted(PERIOD_WORDS, key=len, reverse=True):
        if lowered.endswith(word):
            return PERIOD_WORDS[word], stripped[: len(stripped) - len(word)].strip()
        if lowered.startswith(word):
            return PERIOD_WORDS[word], stripped[len(word):].strip()
    return None, stripped


# The word a period is written back with (render), per language.
_CANONICAL: dict[str, tuple[str, str]] = {
    "week": ("本周", "this week"), "last_week": ("上周", "last week"), "month": ("本月", "this month"),
    "last_month": ("上月", "last month"), "quarter": ("本季度", "this quarter"),
    "last_quarter": ("上季度", "last quarter"), "year": ("本年", "this year"), "last_year": ("去年", "last year"),
}


def period_word(key: str, lang: Lang) -> str:
    """The canonical word of a period key in a language (本季度, this quarter)."""
    return in_lang(lang, *_CANONICAL[key])
