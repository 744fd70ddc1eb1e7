"""A correction in words right after an update: `刚才金额写错了，应该是3.5亿`, `不是3亿是5亿`, `名字写错了，
应该是华润万象城三期`. It becomes an edit (`改`) of the sender's last project, which the dispatcher fills in and
proposes (never stores without asking).
"""

from __future__ import annotations

import re

from handlers.amounts import parse_amount
from handlers.catalog import Catalog
from handlers.commands import Command
from handlers.places import place_of
from handlers.vocabulary import FIELD_WORDS

_MARKERS = re.compile(
    r"写错|打错|搞错|弄错|填错|错了|不对|有误|更正|纠正|应该是|应为|改成|改为|更正为|改一下|不是.{1,12}?[,，]?(?:而)?是"
)
_VALUE = re.compile(
    r"(?:应该是|应该为|应为|改成|改为|更正为|更正成|修改为|订正为|其实是|实际是|正确的是|正确是|[,，](?:而)?是|不是.{1,12}?[,，]?(?:而)?是)"
    r"\s*(.+?)\s*[。.!！]?$"
)
_NOT_X_BUT_Y = re.compile(r"不是(.{1,12}?)[,，]?(?:而)?是(.+?)[。.!！]?$")
_FIELD = re.compile("|".join(sorted((re.escape(w) for w in FIELD_WORDS if not w.isascii()), key=len, reverse=True)))


def read_correction(text: str, *, catalog: Catalog, usd_rate: float) -> Command | None:
    """The edit a correction in words asks for (project left empty: the sender's last), or None."""
    compact = text.strip()
    if not _MARKERS.search(compact):
        return None
    field_match = _FIELD.search(compact)
    field = FIELD_WORDS[field_match.group()] if field_match else None
    value_match = _VALUE.search(compact) or _NOT_X_BUT_Y.search(compact)
    if value_match is None:
        return None
    value = value_match.group(value_match.lastindex or 1).strip(" ,，。")
    if not value:
        return None
    amount = parse_amount(value.replace(" ", ""), usd_rate=usd_rate)
    if amount is not None and field in (None, "amount"):
        return Command(verb="edit", text=text, field_name="amount", value=amount.text, amount=amount)
    if field is None:
        if catalog.industry_of(value):
            field = "industry"
        elif place_of(value):
            field = "place"
        else:
            return None
    if field == "amount":
        return None  # the new amount could not be read: not a correction we can propose
    if field == "industry":
        industry = catalog.industry_of(value)
        if industry is None:
            return None
        value = industry
    elif field == "zone":
        zone = catalog.zone_of(value)
        if zone is None:
            return None
        value = zone
    elif field == "place":
        value = place_of(value) or value
    return Command(verb="edit", text=text, field_name=field, value=value)
