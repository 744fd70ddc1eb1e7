"""What every report shares: the period and its 序时进度, lights, wording helpers and the text/markdown document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from handlers.commands import Lang
from handlers.messages import Reply
from handlers.report_calendar import (
    schedule_share,
    squad_light,
    year_bounds_utc,
)
from handlers.wording import say
from storage import report_queries as rq
from storage.models import STAGES
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules


LIGHT_EMOJI: dict[str, str] = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
STALE_EMOJI: dict[str, str] = {"yellow": "🟡", "red": "🔴", "remove": "⛔"}
_SHORT_ZH: dict[str, str] = {"planned": "谋", "attracting": "招", "signed": "签", "landed": "落"}
_SHORT_EN: dict[str, str] = {"planned": "P", "attracting": "A", "signed": "S", "landed": "L"}
_WEEKDAYS_ZH = "一二三四五六日"

# How much a phone screen should show before a list says "… and N more".
RANK_ROWS_ALL = 30  # up to this many squads every one is listed ...
RANK_ROWS_TOP, RANK_ROWS_BOTTOM = 20, 5  # ... beyond it, the top 20 and the bottom 5
LIST_LIMIT = 30
CATCH_UP_LIMIT = 15
BREAKDOWN_LIMIT = 10


def percent(value: float) -> str:
    """A percentage with one decimal: 43.5%."""
    return f"{value:.1f}%"


def day_with_weekday(day: date) -> str:
    """A day as a Chinese post heads it: 3月5日（周四）."""
    return f"{day.month}月{day.day}日（周{_WEEKDAYS_ZH[day.weekday()]}）"


def day_text(day: date, lang: Lang) -> str:
    """A report's day: 2026年3月5日（周四）, or 2026-03-05 in English."""
    return day.isoformat() if lang == "en" else f"{day.year}年{day_with_weekday(day)}"


def short_day(day: date, lang: Lang) -> str:
    """A day without its year: 3月5日, or 2026-03-05 in English."""
    return day.isoformat() if lang == "en" else f"{day.month}月{day.day}日"


def stage_letter(stage: str, lang: Lang) -> str:
    """A stage in one letter, for a line of counts: 谋 招 签 落, or P A S L."""
    return (_SHORT_EN if lang == "en" else _SHORT_ZH)[stage]


def counts_line(tally: rq.StageTally, lang: Lang) -> str:
    """A tally in one short line: 谋12 招5 签3 落1."""
    return " ".join(f"{stage_letter(stage, lang)}{tally.count(stage)}" for stage in STAGES)


def paren(text: str, lang: Lang) -> str:
    """Text in the language's brackets: （一队） or " (一队) "."""
    return say(lang, "report.paren", text=text)


# Lines carry names and problem texts members typed, and the markdown twin has no escape syntax: Telegram
# turns ** into bold, WeCom renders **, [text](url) links, <font>, <@userid> mentions and `code`. So in
# the markdown copy only, the characters that open markup become their full-width look-alikes.
MARKDOWN_SAFE = str.maketrans({"*": "＊", "[": "［", "]": "］", "<": "＜", ">": "＞", "`": "｀"})


class Doc:
    """A reply being written twice at once: plain text, and markdown with ** for headings."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.marked: list[str] = []

    def title(self, text: str) -> None:
        """A heading: bold in the markdown copy."""
        self.plain.append(text)
        self.marked.append(f"**{text.translate(MARKDOWN_SAFE)}**")

    def line(self, text: str) -> None:
        """A line, trailing spaces dropped; markup characters made harmless in the markdown copy."""
        text = text.rstrip()
        self.plain.append(text)
        self.marked.append(text.translate(MARKDOWN_SAFE))

    def blank(self) -> None:
        """An empty line between sections (never two in a row, never first)."""
        if self.plain and self.plain[-1] != "":
            self.line("")

    def reply(self, *, image: bytes | None = None, image_name: str = "chart.png", ok: bool = True) -> Reply:
        """The finished reply, with empty sections and trailing blank lines left out."""
        # A heading with nothing under it (a section that turned out empty) is dropped, not shown bare.
        keep = [index for index in range(len(self.plain))
                if not (self.marked[index].startswith("**") and index > 0
                        and (index + 1 == len(self.plain) or self.plain[index + 1] == ""
                             or self.marked[index + 1].startswith("**")))]
        self.plain = [self.plain[i] for i in keep]
        self.marked = [self.marked[i] for i in keep]
        while self.plain and self.plain[-1] == "":
            self.plain.pop()
            self.marked.pop()
        return Reply(
            text="\n".join(self.plain), markdown="\n".join(self.marked), image=image,
            image_name=image_name, ok=ok,
        )


@dataclass(frozen=True)
class ReportPeriod:
    """The year a report covers, up to today, with its 序时进度."""

    today: date
    year: int
    start: datetime
    end: datetime
    share: float  # 序时进度 as 0..1

    @property
    def pct(self) -> float:
        """序时进度 in percent."""
        return self.share * 100


def report_period(settings: Rules, now: datetime) -> ReportPeriod:
    """The year so far at `now`, in the district's time zone."""
    today = local_day(now, settings.tz)
    start, end = year_bounds_utc(today.year, settings.tz)
    return ReportPeriod(today, today.year, start, end, schedule_share(today))


def light_for(settings: Rules, completion_pct: float, schedule_pct: float) -> str:
    """The light (green, yellow, red) of a completion against 序时进度, by the district's margins."""
    return squad_light(completion_pct, schedule_pct, yellow=settings.schedule_yellow_points,
                       red=settings.schedule_red_points)
