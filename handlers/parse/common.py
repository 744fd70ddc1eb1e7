"""What the verb parsers share: limits, the parse context, token helpers, written dates and English names."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date

from handlers.calendar_math import add_months
from handlers.catalog import Catalog
from handlers.commands import Command, Lang, ParseError, ProjectRef, Verb
from handlers.normalize import COLON_KEYWORDS, SEPARATORS, Token, scan
from handlers.understand.words import FUNCTION_WORDS
from handlers.vocabulary import (
    ALL_VERBS,
    EN_VERBS,
    STAGE_WORDS,
    ZH_VERBS,
    usage,
)
from handlers.wording import say

MAX_LENGTH = 2000  # characters; longer messages are refused before any work is done on them

_VERB_WORDS: list[tuple[str, Verb, Lang]] = sorted(
    [(w, v, "zh") for w, v in ZH_VERBS.items()] + [(w, v, "en") for w, v in EN_VERBS.items()],
    key=lambda item: len(item[0]),
    reverse=True,
)
MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns
_ID = re.compile(r"#(\d{1,9})")
_CHOICE = re.compile(r"(\d{1,4})[.、)]?")
_PROBLEM_ID = re.compile(r"(?:问题|#?[pP])(\d{1,9})")
_EVENT = re.compile(r"(?:event:)?(\d{1,12})", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_YEAR = re.compile(r"(20\d{2})年?")
_STAGE_NUMBER = re.compile(r"(\D+?)(\d{1,6})")
_ROBOT_URL_KEY = re.compile(r"[?&]key=([^&#\s]+)")
_DATE_PREFIXES = ("截至", "截止", "直到", "until", "till", "至", "到", "于", "by", "to")
_COMPANY_PREFIXES = ("公司:", "对接:", "企业:", "company:")
_EDGE_CHARS = "".join(SEPARATORS) + " "


@dataclass
class _Ctx:
    verb: Verb
    lang: Lang
    text: str  # the whole normalised message
    rest: str  # what follows the verb word
    tokens: list[Token]
    catalog: Catalog
    usd_rate: float
    today: date

    def command(self, **fields: object) -> Command:
        return Command(verb=self.verb, lang=self.lang, text=self.text, **fields)  # type: ignore[arg-type]

    def say(self, key: str, /, **values: object) -> str:
        return say(self.lang, key, **values)

    def error(self, reason: str, **extra: str) -> ParseError:
        return ParseError(reason=reason, usage=usage(self.verb, self.lang), lang=self.lang, verb=self.verb,
                          extra=dict(extra))


def id_of(token: Token) -> int | None:
    """The project id a `#12` word names, or None."""
    match = None if token.quoted else _ID.fullmatch(token.text)
    return int(match.group(1)) if match else None


def _is_word(token: Token, table: Collection[str]) -> bool:
    return not token.quoted and (token.text in table or token.text.lower() in table)


def _lookup(token: Token, table: dict[str, str]) -> str | None:
    if token.quoted:
        return None
    return table.get(token.text, table.get(token.text.lower()))


def _verbatim(rest: str, removed: Sequence[Token]) -> str:
    """rest with the removed tokens cut out, spaces collapsed and separators trimmed at both ends."""
    pieces: list[str] = []
    position = 0
    for token in sorted(removed, key=lambda t: t.start):
        pieces.append(rest[position : token.start])
        pieces.append(" ")
        position = max(position, token.end)
    pieces.append(rest[position:])
    return re.sub(r"\s+", " ", "".join(pieces)).strip(_EDGE_CHARS)


def _joined(rest: str, tokens: Sequence[Token]) -> str:
    """Leftover words as written (quotes kept, so a quoted `"2亿"` stays a note and not an amount)."""
    return " ".join(rest[t.start : t.end] for t in tokens)


def _unquote(text: str) -> str:
    """A lone quoted value without its quotes."""
    tokens = scan(text)
    if len(tokens) == 1 and tokens[0].quoted and tokens[0].start == 0 and tokens[0].end == len(text):
        return tokens[0].text
    return text


def _pick_project(tokens: Sequence[Token], skip: Callable[[Token], bool] = lambda t: False) -> int | None:
    """Index of the project among words in any order: a `#12`, else the first quoted name, else the first
    word that skip() does not reject."""
    for i, token in enumerate(tokens):
        if id_of(token) is not None:
            return i
    for i, token in enumerate(tokens):
        if token.quoted:
            return i
    for i, token in enumerate(tokens):
        if not skip(token):
            return i
    return None


def _first_project(tokens: Sequence[Token], skip: Callable[[Token], bool] = lambda t: False) -> int | None:
    """Index of the project for verbs whose text follows it: the first word (or `#12`, or quoted) that is
    not a particle standing alone."""
    return next((i for i, token in enumerate(tokens) if not skip(token) and not _is_filler(token)), None)


def _ref(token: Token) -> ProjectRef:
    ident = id_of(token)
    return ProjectRef(id=ident) if ident is not None else ProjectRef(name=token.text)


def _missing_project(ctx: _Ctx) -> ParseError:
    return ctx.error(ctx.say("parse.which_project"))


def _place_of(token: Token) -> str | None:
    if token.quoted:
        return None
    text = token.text
    if text.startswith("@") and len(text) > 1:
        return text[1:]
    if text.startswith("在") and len(text) > 1 and text not in ZH_VERBS and text not in STAGE_WORDS:
        return text[1:]
    return None


def _company_of(token: Token) -> str | None:
    lowered = token.text.lower()
    for prefix in _COMPANY_PREFIXES:
        if lowered.startswith(prefix) and len(token.text) > len(prefix):
            return token.text[len(prefix) :].strip() or None
    return None


def _is_empty_keyword(token: Token) -> bool:
    """A `公司:` with nothing after it: noise, not a note word (and it would swallow the next word)."""
    return not token.quoted and token.text.endswith(":") and token.text[:-1].lower() in COLON_KEYWORDS


def _strip_date_prefix(text: str) -> str:
    lowered = text.lower()
    for prefix in _DATE_PREFIXES:
        if lowered.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :].strip()
    return text


_FULL_DATES = (
    re.compile(r"(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?"),
    re.compile(r"(\d{4})年(\d{1,2})月份?(?:(\d{1,2})[日号]?)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_YEARLESS_DATES = (
    re.compile(r"(\d{1,2})月(?:(\d{1,2})[日号]?)?"),
    re.compile(r"(\d{1,2})[-/.](\d{1,2})"),
)


@dataclass(frozen=True)
class _DateText:
    year: int | None
    month: int
    day: int | None


def _date_text(text: str) -> _DateText | None:
    """The year (if written), month and day (if written) a word names, without checking them."""
    text = _strip_date_prefix(text)
    for pattern in _FULL_DATES:
        match = pattern.fullmatch(text)
        if match:
            day = match.group(3)
            return _DateText(int(match.group(1)), int(match.group(2)), int(day) if day else None)
    for pattern in _YEARLESS_DATES:
        match = pattern.fullmatch(text)
        if match:
            day = match.group(2)
            return _DateText(None, int(match.group(1)), int(day) if day else None)
    return None


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&'.-]*")
# Lower-case English words that end a name written without quotes (`plan Tesla showroom in Zhengzhou`).
_ENGLISH_STOPS = frozenset({"in", "at", "with", "via", "note", "notes", "amount", "industry", "company", "from"})


def _is_filler(token: Token) -> bool:
    """A particle, adverb or pronoun standing alone (`签约 了 网易`): never a name, nothing for a note."""
    return not token.quoted and token.text in FUNCTION_WORDS


def _english_name(tokens: Sequence[Token], kinds: Sequence[str], start: int) -> int:
    """Index after the last word of an English name that starts at tokens[start] (several words, no
    quotes): it runs over plain English words until an amount, industry, place or keyword."""
    end = start + 1
    if not _ENGLISH_WORD.fullmatch(tokens[start].text) or tokens[start].quoted:
        return end
    while end < len(tokens) and not tokens[end].quoted:
        word = tokens[end].text
        # A capitalised industry word inside a name is part of it (`Lenovo Central China HQ`).
        part_of_name = kinds[end] == "plain" or (kinds[end] in ("industry", "zone") and word[:1].isupper())
        if not part_of_name or not _ENGLISH_WORD.fullmatch(word) or word in _ENGLISH_STOPS:
            break
        end += 1
    return end


def _impossible_date(tokens: Sequence[Token]) -> Token | None:
    """A word written like a date that no calendar has (2月30日, 2027-02-30): said so, not ignored."""
    for token in tokens:
        written = None if token.quoted else _date_text(token.text)
        if written is None:
            continue
        year = written.year or 2028  # a leap year: 2月29日 without a year is possible
        if _make_date(year, written.month, written.day or 1) is None:
            return token
    return None


VERB_KEYS: frozenset[str] = frozenset(ALL_VERBS)


_MONTH_DAY = re.compile(r"^\D*\d{1,2}\s*[月/.-]\s*\d{1,2}")  # 11月28日, 11-28: no year written


def in_the_past(day: date, text: str, today: date) -> date:
    """What happened is in the past (money that arrived, a visit made): a month and day without a year read
    as next year's (the date reader looks ahead, for expected dates) is meant this year."""
    if day > today and _MONTH_DAY.match(text) and not re.search(r"\d{4}", text):
        earlier = add_months(day, -12)
        if earlier is not None and earlier <= today:
            return earlier
    return day
