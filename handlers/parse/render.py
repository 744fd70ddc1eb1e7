"""A Command written back as the canonical text that parses to it (shown in questions: "按原文：…")."""

from __future__ import annotations

import re
from datetime import date

from handlers.commands import Command, ProjectRef
from handlers.normalize import scan
from handlers.parse.activity import _COMPANIES
from handlers.parse.assess import RANK_WORDS
from handlers.parse.common import VERB_KEYS, _is_empty_keyword, _is_filler, _place_of, id_of
from handlers.score_periods import period_word, split_period
from handlers.vocabulary import (
    CATEGORY_NAMES_EN,
    FIELD_NAMES,
    KIND_NAMES,
    SETTING_NAMES_EN,
    STAGE_NAMES,
    verb_word,
)


def _quote(name: str) -> str:
    for opening, closing in (('"', '"'), ("“", "”"), ("「", "」"), ("『", "』")):
        if opening not in name and closing not in name:
            return f"{opening}{name}{closing}"
    return name


def _word_or_quoted(text: str) -> str:
    tokens = scan(text)
    plain = len(tokens) == 1 and not tokens[0].quoted and tokens[0].text == text
    return text if plain else _quote(text)


def _project_text(project: ProjectRef | None) -> str:
    if project is None:
        return ""
    return f"#{project.id}" if project.id is not None else _quote(project.name or "")


def _kind_text(kind: str) -> str:
    """An event type (推介会) written so that it reads back as the type, not as a place, count or keyword."""
    token = scan(kind)
    plain = len(token) == 1 and not token[0].quoted and token[0].text == kind
    if not plain or _place_of(token[0]) is not None or _COMPANIES.fullmatch(kind) or id_of(token[0]) is not None \
            or _is_filler(token[0]) or _is_empty_keyword(token[0]):
        return _quote(kind)
    return kind


# A Telegram bot's username ends in "bot", so the normaliser drops `@robot` as a mention of one; a place so
# named is written `在robot`, which reads back as the same place.
_LIKE_BOT = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,30}bot", re.IGNORECASE)


def _place_text(place: str | None) -> str:
    if not place:
        return ""
    return f"在{place}" if _LIKE_BOT.fullmatch(place) else f"@{place}"


def _date_iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def render(command: Command) -> str:
    """The canonical text of a Command; parsing it gives the same Command (apart from `text`)."""
    c = command
    en = c.lang == "en"
    parts: list[str] = [verb_word(c.verb, c.lang)]
    verb = c.verb
    if verb == "choose":
        return str(c.number if c.number is not None else "")
    if verb in ("plan", "pursue", "sign", "land"):
        parts += [
            _project_text(c.project), c.amount.text if c.amount else "", c.industry or "", c.zone or "",
            _place_text(c.place),
            ("company:" if en else "公司:") + _word_or_quoted(c.company) if c.company else "",
            _date_iso(c.when), c.note,
        ]
    elif verb in ("note", "drop", "verify", "find"):
        parts += [_project_text(c.project), c.note]
    elif verb == "visit":
        parts += [
            _project_text(c.project), _place_text(c.place),
            ("company:" if en else "公司:") + _word_or_quoted(c.company) if c.company else "", _date_iso(c.when),
            c.note,
        ]
    elif verb == "problem":
        category = (CATEGORY_NAMES_EN.get(c.category or "", "other") if en else c.category) or ""
        parts += [_project_text(c.project), category, c.note]
    elif verb == "resolve":
        category = CATEGORY_NAMES_EN.get(c.category or "", "") if en else (c.category or "")
        parts += [
            _project_text(c.project), category, f"p{c.number}" if c.number is not None else "", c.note,
        ]
    elif verb == "undo":
        parts.append(f"event:{c.number}" if c.number is not None else "")
    elif verb == "edit":
        field = FIELD_NAMES.get(c.field_name or "", ("", ""))[1 if en else 0]
        value = c.amount.text if c.field_name == "amount" and c.amount else (c.value or "")
        parts += [_project_text(c.project), field, value]
    elif verb == "expect":
        stage = STAGE_NAMES.get(c.stage or "", ("", ""))[1 if en else 0]
        # An approximate date is written back in the words it was read from (春节后), not as a day.
        when = c.note if c.flag == "approximate" and c.note else _date_iso(c.when)
        parts += [_project_text(c.project), stage, when]
    elif verb in ("mine", "status", "problems", "join", "start", "link"):
        parts.append(_word_or_quoted(c.value) if c.value else "")
    elif verb == "away":
        approximate = c.note if c.flag == "approximate" and c.note else _date_iso(c.when)
        parts.append(("cancel" if en else "取消") if c.value == "cancel" else approximate)
    elif verb == "target":
        parts += [_word_or_quoted(c.value) if c.value else "", str(c.year) if c.year else ""]
        for stage_key, number in c.targets:
            if stage_key == "funds":  # yuan: `到位 2000000000元`
                parts += ["funds" if en else "到位", f"CNY {number}" if en else f"{number}元"]
            else:
                parts += [STAGE_NAMES[stage_key][1 if en else 0], str(number)]
    elif verb == "funds":
        parts += [_project_text(c.project), c.amount.text if c.amount else "", _date_iso(c.when), c.note]
    elif verb == "transfer":
        parts += [_project_text(c.project), _word_or_quoted(c.value or "")]
    elif verb in ("assess", "activity"):
        rank = ("rank" if en else "排行") if c.flag == "rank" else ""
        value = ""
        if c.value:  # a squad named like a period or 排行 is quoted, so it is read back as a name
            plain = split_period(c.value)[0] is None and c.value.lower() not in RANK_WORDS
            value = _word_or_quoted(c.value) if plain else _quote(c.value)
        parts += [rank, value, period_word(c.kind, c.lang) if c.kind else ""]
    elif verb == "reception":
        parts += [
            _project_text(c.project), _place_text(c.place),
            ("company:" if en else "公司:") + _word_or_quoted(c.company) if c.company else "", _date_iso(c.when),
            c.note,
        ]
    elif verb == "promo":
        parts += [_kind_text(c.kind or ""), _place_text(c.place),
                  f"{c.number}家" if c.number is not None else "", _date_iso(c.when), c.note]
    elif verb == "lead":
        if c.flag == "promote":
            parts += ["promote" if en else "立项", str(c.number)]
        else:
            parts += [("company:" if en else "公司:") + _word_or_quoted(c.company or ""), c.industry or "",
                      _place_text(c.place), _date_iso(c.when), c.note]
    elif verb == "publicity":
        parts += [_word_or_quoted(c.value or ""), c.note]
    elif verb == "clashes":
        parts.append(("all" if en else "全部") if c.flag == "all" else "")
    elif verb == "newteam":
        parts += [
            _word_or_quoted(c.value) if c.value else "",
            KIND_NAMES.get(c.kind or "squad", ("", ""))[1 if en else 0],
        ]
    elif verb == "invite":
        rotate = ("rotate" if en else "换") if c.flag == "rotate" else ""
        parts += [_word_or_quoted(c.value) if c.value else "", rotate]
    elif verb in ("bind", "unbind"):
        value = ("leaders" if en else "领导") if c.value == "leaders" else (_word_or_quoted(c.value) if c.value else "")
        parts += [value, f"robot:{c.secret}" if c.secret else ""]
    elif verb in ("appoint", "dismiss"):
        if c.kind == "leader":
            parts = [("appoint leader" if en else "设为领导") if verb == "appoint" else
                     ("dismiss leader" if en else "取消领导")]
        elif en:
            parts.append("captain")
        parts.append(_word_or_quoted(c.value or ""))
    elif verb == "remove":
        parts.append(_word_or_quoted(c.value or ""))
    elif verb == "rename":
        parts += [_word_or_quoted(c.value or ""), _word_or_quoted(c.note)]
    elif verb == "settings":
        job = SETTING_NAMES_EN.get(c.value or "", c.value or "") if en else (c.value or "")
        flag = {"on": "on" if en else "开", "off": "off" if en else "关"}.get(c.flag or "", c.flag or "")
        parts += [_word_or_quoted(job) if job else "", flag]
    elif verb == "help":
        parts.append(verb_word(c.value, c.lang) if c.value in VERB_KEYS else "")  # type: ignore[arg-type]
    return " ".join(p for p in parts if p)
