"""Times of day as people write them: 8点半, 早上九点, 下午3点, 15:30."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from handlers.calendar_math import read_number
from handlers.dates import CN_DIGITS

Relation = Literal["on", "by", "until", "after"]
Granularity = Literal["day", "week", "month", "year"]


@dataclass(frozen=True)
class TimeReading:
    """A time of day found in text."""

    hour: int
    minute: int
    text: str
    start: int
    end: int


_HOUR = r"(?:[0-9]{1,2}|二十[一二三四]?|十[一二三四五六七八九]?|[零〇一二两三四五六七八九])"
_CN_MINUTE = r"(?:[二三四五]十[一二三四五六七八九]?|十[一二三四五六七八九]?|零[一二三四五六七八九])"
_PERIODS = r"凌晨|清晨|早上|早晨|上午|今早|明早|中午|下午|午后|傍晚|晚上|夜里|夜间|今晚|明晚|昨晚|(?<![最太很更较稍提趁尽])[早晚]"
_PM_PERIODS = frozenset({"下午", "午后", "傍晚", "晚上", "夜里", "夜间", "今晚", "明晚", "昨晚", "晚"})
_TIME = re.compile(
    rf"(?:(?P<per>{_PERIODS})\s*)?(?:(?<![0-9:.])(?P<h>[0-9]{{1,2}}):(?P<m>[0-9]{{2}})(?::[0-9]{{2}})?(?![0-9:])"
    rf"|(?<![0-9{CN_DIGITS}.])(?P<ch>{_HOUR})[点时](?:钟)?(?P<rest>半|一刻|三刻|整|(?P<cm>[0-9]{{1,2}})分|(?P<cm2>[0-9]{{2}})(?![0-9])"
    rf"|(?P<cm3>[{CN_DIGITS}]{{1,3}})分|(?P<cm4>{_CN_MINUTE}))?|(?<![0-9:.])(?P<eh>[0-9]{{1,2}})(?=\s*[ap]\.?m))"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?))?"
    r"(?![0-9〇零一二两三四五六七八九十亿万元%倍多a-z])",
    re.ASCII | re.IGNORECASE,
)


def _time(m: re.Match[str]) -> TimeReading | None:
    """Interpret one time match, or None when the hour or minute is impossible."""
    period, ampm = m.group("per"), (m.group("ampm") or "").lower().replace(".", "")
    if m.group("h") is not None or m.group("eh") is not None:
        hour, minute = int(m.group("h") or m.group("eh")), int(m.group("m") or 0)
    else:
        hour_text, rest = m.group("ch"), m.group("rest")
        minute_text = m.group("cm") or m.group("cm2") or m.group("cm3") or m.group("cm4")
        read_hour = read_number(hour_text)
        read_minute = read_number(minute_text) if minute_text else {"半": 30, "一刻": 15, "三刻": 45}.get(rest or "", 0)
        if read_hour is None or read_minute is None:
            return None
        hour, minute = read_hour, read_minute
    if ampm and not 1 <= hour <= 12:
        return None  # 13pm, 0am
    if period in _PM_PERIODS or ampm == "pm":
        hour += 12 if hour < 12 else 0
    elif period == "中午" and hour < 11:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    start = m.start()
    return TimeReading(hour, minute, m.group(0), start, m.end())


def read_time(text: str) -> TimeReading | None:
    """The time of day a whole word names (8点半, 下午3点, 14:30), or None."""
    stripped = text.strip()
    m = _TIME.fullmatch(stripped) if stripped else None
    reading = _time(m) if m else None
    if reading is None:
        return None
    offset = text.find(stripped)
    return dataclasses.replace(reading, start=reading.start + offset, end=reading.end + offset)
