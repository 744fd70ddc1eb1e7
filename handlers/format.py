"""Small formatting helpers every reply uses: stage names, amounts, dates, project labels."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from handlers.commands import Lang
from handlers.wording import say

STAGE_ZH: dict[str, str] = {
    "planned": "谋划", "attracting": "招引", "signed": "签约", "landed": "落地", "dropped": "已放弃",
}
STAGE_EN: dict[str, str] = {
    "planned": "planned", "attracting": "attracting", "signed": "signed", "landed": "landed",
    "dropped": "dropped",
}


def stage_name(stage: str, lang: Lang = "zh") -> str:
    """A stage key in the reader's language."""
    return (STAGE_EN if lang == "en" else STAGE_ZH).get(stage, stage)


def _trim(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_amount(yuan: int | None, lang: Lang = "zh") -> str:
    """An amount the way a district writes it: 2.5亿元, 3000万元, 8000元 (or 250 million yuan)."""
    if yuan is None:
        return say(lang, "amount.none")
    value = Decimal(yuan)
    if lang == "en":
        if abs(value) >= 1_000_000_000:
            return f"{_trim(value / 1_000_000_000)} billion yuan"
        if abs(value) >= 1_000_000:
            return f"{_trim(value / 1_000_000)} million yuan"
        return f"{yuan:,} yuan"
    if abs(value) >= 100_000_000:
        return f"{_trim(value / 100_000_000)}亿元"
    if abs(value) >= 10_000:
        return f"{_trim(value / 10_000)}万元"
    return f"{yuan}元"


def format_local(moment: datetime | None, tz: tzinfo, *, with_time: bool = True) -> str:
    """A stored UTC time as local `2026-11-24 08:30` (or just the date)."""
    if moment is None:
        return "-"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def project_label(project_id: int | None, name: str) -> str:
    """`#12 比亚迪河南体验中心`."""
    return f"#{project_id} {name}"


def clip(text: str, width: int) -> str:
    """One line of at most `width` characters (whitespace folded, … when cut)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def undo_hint(lang: Lang, minutes: int, *, whole_message: bool = False) -> str:
    """How to undo what was just stored (`whole_message`: several updates undone together)."""
    if whole_message:
        return say(lang, "undo.hint_whole", minutes=minutes)
    return say(lang, "undo.hint", minutes=minutes)
