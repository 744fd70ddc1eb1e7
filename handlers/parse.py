"""The command-language parser (DESIGN §4): a message text becomes a `Command` or a `ParseError`.

`parse` never raises: garbage, huge texts and unknown verbs come back as a ParseError that says why and
shows the right form. `render` writes a Command back as canonical text (parse(render(c)) == c).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rapidfuzz import fuzz

from handlers.amounts import amount_at
from handlers.catalog import Catalog
from handlers.commands import Amount, Command, Lang, ParseError, ProjectRef, Verb
from handlers.dates import DateReading, find_dates, read_date, read_time
from handlers.normalize import COLON_KEYWORDS, SEPARATORS, Token, normalize, scan
from handlers.understand.words import ADVERBS_BEFORE, FUNCTION_WORDS, PARTICLES_AFTER
from handlers.vocabulary import (
    ALL_VERBS,
    CANCEL_WORDS,
    CATEGORY_NAMES_EN,
    CATEGORY_WORDS,
    COMMON_VERBS,
    DEFAULT_CATEGORY,
    EN_VERBS,
    FIELD_NAMES,
    FIELD_WORDS,
    KIND_NAMES,
    KIND_WORDS,
    LEADER_WORDS,
    OFF_WORDS,
    ON_WORDS,
    ROTATE_WORDS,
    SETTING_JOBS,
    SETTING_NAMES_EN,
    STAGE_NAMES,
    STAGE_WORDS,
    ZH_VERBS,
    usage,
    verb_word,
)

logger = logging.getLogger(__name__)

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

    def error(self, zh: str, en: str, **extra: str) -> ParseError:
        return ParseError(
            reason=en if self.lang == "en" else zh, usage=usage(self.verb, self.lang), lang=self.lang,
            verb=self.verb, extra=dict(extra),
        )


# ---------------------------------------------------------------------------------------------- helpers


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
    return ctx.error("缺少项目：请写项目名或 #编号。", "Which project? Give its name or #id.")


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


# ---------------------------------------------------------------------------------------- verb parsers


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


def _parse_stage(ctx: _Ctx) -> Command | ParseError:
    """plan / pursue / sign / land: project, amount, industry, zone, place, company, date, note."""
    tokens = ctx.tokens
    texts = [t.text if not t.quoted else "\0" for t in tokens]  # a quoted word is never an amount
    kinds: list[str] = ["plain"] * len(tokens)
    amount: Amount | None = None
    industry = zone = place = company = None
    when: date | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.quoted:
            kinds[i] = "quoted"
        elif id_of(token) is not None:
            kinds[i] = "id"
        elif _is_filler(token):
            kinds[i] = "filler"
        elif amount is None and (found := amount_at(texts, i, usd_rate=ctx.usd_rate)) is not None:
            amount, span = found
            for k in range(i, i + span):
                kinds[k] = "amount"
            i += span
            continue
        elif place is None and (value := _place_of(token)) is not None:
            place, kinds[i] = value, "place"
        elif company is None and (value := _company_of(token)) is not None:
            company, kinds[i] = value, "company"
        elif industry is None and (value := ctx.catalog.industry_of(token.text)) is not None:
            industry, kinds[i] = value, "industry"
        elif zone is None and (value := ctx.catalog.zone_of(token.text)) is not None:
            zone, kinds[i] = value, "zone"
        elif when is None and (day := read_date(token.text, ctx.today)) is not None:
            when, kinds[i] = day.day, "date"
        i += 1
    candidates = [
        k for k, (t, kind) in enumerate(zip(tokens, kinds, strict=True))
        if kind in ("plain", "quoted", "id") and not _is_empty_keyword(t)
    ]
    pick = _pick_project(
        [tokens[k] for k in candidates],
        skip=lambda t: _is_word(t, CATEGORY_WORDS) or _is_word(t, STAGE_WORDS),
    )
    if pick is None:
        return _missing_project(ctx)
    first = candidates[pick]
    last = _english_name(tokens, kinds, first) if kinds[first] == "plain" else first + 1
    name_tokens = set(range(first, last))
    absorbed = {kinds[k] for k in name_tokens}
    industry = None if "industry" in absorbed else industry
    zone = None if "zone" in absorbed else zone
    if len(name_tokens) > 1:
        project = ProjectRef(name=ctx.rest[tokens[first].start : tokens[last - 1].end])
    else:
        project = _ref(tokens[first])
    note = _joined(ctx.rest, [tokens[k] for k in candidates if k not in name_tokens])
    return ctx.command(
        project=project, amount=amount, industry=industry, zone=zone, place=place, company=company,
        note=note, when=when,
    )


def _parse_note(ctx: _Ctx) -> Command | ParseError:
    """note: project, then the rest of the message verbatim."""
    pick = _first_project(ctx.tokens)
    if pick is None:
        return _missing_project(ctx)
    project = ctx.tokens[pick]
    note = _verbatim(ctx.rest, [project])
    if not note:
        return ctx.error("缺少进展内容。", "What is the progress? Add the text after the project.")
    return ctx.command(project=_ref(project), note=note)


def _parse_visit(ctx: _Ctx) -> Command | ParseError:
    """visit: optional project (#12 or a quoted name only), place, company, note."""
    project: Token | None = None
    place = company = None
    rest: list[Token] = []
    for token in ctx.tokens:
        if project is None and (id_of(token) is not None or token.quoted):
            project = token
        elif place is None and (value := _place_of(token)) is not None:
            place = value
        elif company is None and (value := _company_of(token)) is not None:
            company = value
        elif not _is_empty_keyword(token):
            rest.append(token)
    if project is None and place is None and company is None and not rest:
        return ctx.error(
            "拜访了哪里？请写 @城市 或 公司:企业名。", "Where did you go? Add @city or company:NAME."
        )
    return ctx.command(
        project=_ref(project) if project is not None else None, place=place, company=company,
        note=_joined(ctx.rest, rest),
    )


def _parse_problem(ctx: _Ctx) -> Command | ParseError:
    """problem: project, category (first word after the project, default 其他), text verbatim."""
    tokens = ctx.tokens
    pick = _first_project(tokens, skip=lambda t: _is_word(t, CATEGORY_WORDS))
    if pick is None:
        return _missing_project(ctx)
    removed = [tokens[pick]]
    category = DEFAULT_CATEGORY
    for k in (pick + 1, 0):
        if k < len(tokens) and k != pick and (found := _lookup(tokens[k], CATEGORY_WORDS)) is not None:
            category = found
            removed.append(tokens[k])
            break
    note = _verbatim(ctx.rest, removed)
    if not note:
        return ctx.error(
            "缺少问题描述：请写明卡在哪里。", "Describe the problem after the project (and category)."
        )
    return ctx.command(project=_ref(tokens[pick]), category=category, note=note)


def _parse_resolve(ctx: _Ctx) -> Command | ParseError:
    """resolve: project and/or problem id (`问题3`, `p3`), optional category, optional note."""
    project: Token | None = None
    number: int | None = None
    category: str | None = None
    removed: list[Token] = []
    # The leading words are the reference (project, problem id, category, any order); the note starts
    # at the first word that is none of them.
    for token in ctx.tokens:
        if number is None and not token.quoted and (match := _PROBLEM_ID.fullmatch(token.text)):
            number = int(match.group(1))
        elif category is None and (found := _lookup(token, CATEGORY_WORDS)) is not None:
            category = found
        elif project is None and (id_of(token) is not None or token.quoted):
            project = token
        elif project is None and number is None:
            project = token  # a bare project name
        else:
            break
        removed.append(token)
    if project is None and number is None:
        return ctx.error(
            "解决哪个问题？请写项目名、#编号或问题编号（如 问题3）。",
            "Which problem? Give the project (#id or name) or the problem id (p3).",
        )
    return ctx.command(
        project=_ref(project) if project is not None else None, category=category, number=number,
        note=_verbatim(ctx.rest, removed),
    )


def _parse_drop(ctx: _Ctx) -> Command | ParseError:
    """drop: project, then the reason verbatim."""
    pick = _first_project(ctx.tokens)
    if pick is None:
        return _missing_project(ctx)
    reason = _verbatim(ctx.rest, [ctx.tokens[pick]])
    if not reason:
        return ctx.error("请写明放弃的原因。", "Give the reason for dropping the project.")
    return ctx.command(project=_ref(ctx.tokens[pick]), note=reason)


def _parse_undo(ctx: _Ctx) -> Command | ParseError:
    """undo: optionally a specific event (`event:42`, from an undo button)."""
    for token in ctx.tokens:
        match = _EVENT.fullmatch(token.text)
        if match and not token.quoted:
            if int(match.group(1)) > MAX_ROW_ID:  # no such row; PostgreSQL would reject the lookup itself
                return ctx.error("没有这条记录，无法撤销。", "There is no such change to undo.")
            return ctx.command(number=int(match.group(1)))
    return ctx.command()


def _parse_edit(ctx: _Ctx) -> Command | ParseError:
    """edit: project, field word, new value (the rest verbatim)."""
    tokens = ctx.tokens
    field_index = next((k for k, t in enumerate(tokens) if _lookup(t, FIELD_WORDS) is not None), None)
    pick = _pick_project(tokens[:field_index] if field_index is not None else tokens)
    if pick is None:
        return _missing_project(ctx)
    if field_index is None:
        return ctx.error(
            "改哪一项？字段：金额 名称 别名 行业 区域 地点 公司。",
            "Which field? amount, name, alias, industry, zone, place or company.",
        )
    field_name = _lookup(tokens[field_index], FIELD_WORDS)
    value = _unquote(ctx.rest[tokens[field_index].end :].strip(_EDGE_CHARS))
    if not value:
        return ctx.error("缺少新的值。", "What is the new value?")
    project = _ref(tokens[pick])
    amount: Amount | None = None
    if field_name == "amount":
        words = [t.text for t in scan(value)]
        found = amount_at(words, 0, usd_rate=ctx.usd_rate) if words else None
        if found is None:
            return ctx.error(
                f"看不懂金额“{value[:30]}”，请写如 3亿、5000万、300万美元。",
                f"Cannot read the amount {value[:30]!r}; write e.g. 300m, 2b, CNY 200,000,000.",
            )
        amount = found[0]
        value = amount.text  # words after the amount are not part of it
    elif field_name == "industry":
        industry = ctx.catalog.industry_of(value)
        if industry is None:
            known = "、".join(ctx.catalog.industries)
            return ctx.error(
                f"没有“{value[:30]}”这个行业。可选：{known}", f"Unknown industry. Known: {known}"
            )
        value = industry
    elif field_name == "zone":
        zone = ctx.catalog.zone_of(value)
        if zone is None:
            known = "、".join([*ctx.catalog.zones, *ctx.catalog.axes])
            return ctx.error(
                f"没有“{value[:30]}”这个区域。可选：{known}", f"Unknown zone. Known: {known}"
            )
        value = zone
    elif field_name == "place":
        place = _place_of(Token(value, 0, len(value)))
        value = place if place is not None else value
    return ctx.command(project=project, field_name=field_name, value=value, amount=amount)


def _parse_verify(ctx: _Ctx) -> Command | ParseError:
    """verify: a project; alone, the list of moves awaiting verification."""
    if not ctx.tokens:
        return ctx.command()
    pick = _pick_project(ctx.tokens)
    if pick is None:
        return _missing_project(ctx)
    return ctx.command(project=_ref(ctx.tokens[pick]))


def _date_in(token: Token, today: date) -> tuple[DateReading, str] | None:
    """A date written in a word, alone (`下周三`) or glued to another word (`下周三签约`), with the rest."""
    if token.quoted:
        return None
    whole = read_date(token.text, today)
    if whole is not None:
        return whole, ""
    for found in find_dates(token.text, today):
        if found.start == 0 or found.end == len(token.text):
            return found, (token.text[: found.start] + token.text[found.end:]).strip()
    return None


def _parse_expect(ctx: _Ctx) -> Command | ParseError:
    """expect: project, next stage, a date as people write it (下周三, 12月5号, 明年3月, 2027-03); alone, the
    forecast. An approximate date (春节后) is flagged so the reading is confirmed first."""
    if not ctx.tokens:
        return ctx.command()
    stage: str | None = None
    reading: DateReading | None = None
    others: list[Token] = []
    for token in ctx.tokens:
        if stage is None and (found := _lookup(token, STAGE_WORDS)) is not None:
            stage = found
            continue
        if reading is None and id_of(token) is None and (dated := _date_in(token, ctx.today)) is not None:
            reading, rest = dated
            if rest and stage is None and (found := STAGE_WORDS.get(rest)) is not None:
                stage = found
            elif rest:
                others.append(Token(rest, token.start, token.end))
            continue
        others.append(token)
    if reading is None and (bad := _impossible_date(others)) is not None:
        return ctx.error(f"日期“{bad.text}”不存在。", f"{bad.text!r} is not a valid date.")
    pick = _pick_project(others)
    if pick is None:
        return _missing_project(ctx)
    if stage is None:
        return ctx.error("预计进入哪个阶段？请写 签约 或 落地 等。", "Which stage? e.g. sign or land.")
    if reading is None:
        return ctx.error("缺少预计日期，如 2027-03、下个月、12月5号。", "When? Give a date such as 2027-03.")
    return ctx.command(project=_ref(others[pick]), stage=stage, when=reading.day,
                       flag="approximate" if reading.approximate else None,
                       note=reading.text if reading.approximate else "")


def _parse_find(ctx: _Ctx) -> Command | ParseError:
    """find: `#12`, or the whole rest of the message as a name."""
    for token in ctx.tokens:
        if id_of(token) is not None:
            return ctx.command(project=_ref(token))
    name = _unquote(ctx.rest.strip(_EDGE_CHARS))
    if not name:
        return _missing_project(ctx)
    return ctx.command(project=ProjectRef(name=name))


# Words around a report's name that are not a squad's name: 我的项目, 问题清单发一下, 进度看看.
_TEAM_VALUE_NOISE = re.compile(
    r"^(?:项目|的项目|情况|进度|清单|列表|一下|看看|看一下|发一下|发我|给我|发给我|呢|吧|啊|了|吗|[?？!！。]|\s)+$"
)


def _parse_team_value(ctx: _Ctx) -> Command | ParseError:
    """mine / status / problems: an optional team name (the words people add around it are not one)."""
    if ctx.verb == "status" and ctx.text.startswith("全区"):
        return ctx.command()
    value = _unquote(ctx.rest.strip(_EDGE_CHARS))
    if _TEAM_VALUE_NOISE.match(value):
        value = ""
    return ctx.command(value=value or None)


def _parse_bare(ctx: _Ctx) -> Command | ParseError:
    """rank / export: no arguments (extra words are ignored)."""
    return ctx.command()


def _parse_away(ctx: _Ctx) -> Command | ParseError:
    """away: the last day away (`至12月5日`, `到下周五`, `到月底`, `2026-12-05`), or `取消`."""
    for token in ctx.tokens:
        if _is_word(token, CANCEL_WORDS):
            return ctx.command(value="cancel")
    found = [d for d in find_dates(ctx.rest, ctx.today)] or [
        d for token in ctx.tokens if (d := read_date(token.text, ctx.today)) is not None
    ]
    if not found:
        if (bad := _impossible_date(ctx.tokens)) is not None:
            return ctx.error(f"日期“{bad.text}”不存在。", f"{bad.text!r} is not a valid date.")
        return ctx.error("请假到哪一天？", "Until which day?")
    last = max(found, key=lambda reading: reading.day)  # 下周一到周三: until the Wednesday
    day, approximate = last.day, last.approximate
    if last.granularity == "week":  # 请假 下周: the whole week, probably
        day, approximate = last.day + timedelta(days=6 - last.day.weekday()), True
    elif last.granularity == "month":  # 出差 下个月: to its end, probably
        day, approximate = (last.day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1), True
    if day < ctx.today:
        return ctx.error(f"日期 {day.isoformat()} 已经过去了。", f"{day.isoformat()} is already past.")
    return ctx.command(when=day, flag="approximate" if approximate else None,
                       note=last.text if approximate else "")


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


def _parse_target(ctx: _Ctx) -> Command | ParseError:
    """target: [team] [year] then stage/number pairs."""
    tokens = ctx.tokens
    pairs: dict[str, int] = {}
    year: int | None = None
    team: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        stage = _lookup(token, STAGE_WORDS)
        glued = None if token.quoted else _STAGE_NUMBER.fullmatch(token.text)
        if stage is not None:
            if i + 1 < len(tokens) and tokens[i + 1].text.isdigit() and tokens[i + 1].text.isascii():
                pairs[stage] = int(tokens[i + 1].text[:6])
                i += 2
                continue
            return ctx.error(
                f"“{token.text}”后面缺少数量。", f"How many for {token.text!r}? Put a number after it."
            )
        glued_stage = _lookup(Token(glued.group(1), 0, 0), STAGE_WORDS) if glued else None
        if glued and glued_stage is not None:
            pairs[glued_stage] = int(glued.group(2))
        elif year is None and not token.quoted and (match := _YEAR.fullmatch(token.text)):
            year = int(match.group(1))
        elif pairs or (year is not None and team):
            return ctx.error(f"看不懂“{token.text[:30]}”。", f"Cannot read {token.text[:30]!r}.")
        else:
            team.append(token.text)
        i += 1
    if not pairs:
        return ctx.error("缺少目标数量，如 签约 80。", "Give stage and number, e.g. sign 80.")
    return ctx.command(value=" ".join(team) or None, year=year, targets=tuple(pairs.items()))


def _parse_newteam(ctx: _Ctx) -> Command | ParseError:
    """newteam: team name and an optional kind word (default squad)."""
    kind = "squad"
    name: list[str] = []
    for token in ctx.tokens:
        found = _lookup(token, KIND_WORDS)
        if found is not None and name:
            kind = found
        else:
            name.append(token.text)
    if not name:
        return ctx.error("缺少队名。", "Give the new team's name.")
    return ctx.command(value=" ".join(name), kind=kind)


def _parse_invite(ctx: _Ctx) -> Command | ParseError:
    """invite: optional team name, optional rotate word."""
    flag: str | None = None
    team: list[str] = []
    for token in ctx.tokens:
        if _is_word(token, ROTATE_WORDS):
            flag = "rotate"
        else:
            team.append(token.text)
    return ctx.command(value=" ".join(team) or None, flag=flag)


def _parse_join(ctx: _Ctx) -> Command | ParseError:
    """join: the invite code."""
    if not ctx.tokens:
        return ctx.error("缺少邀请码。", "Give the invite code.")
    return ctx.command(value=ctx.tokens[0].text)


def _parse_bind(ctx: _Ctx) -> Command | ParseError:
    """bind: a team name or 领导/leaders, optionally a WeCom group-robot key or webhook URL."""
    secret: str | None = None
    name: list[str] = []
    expect_key = False  # `robot: KEY` written with a space after the colon
    for token in ctx.tokens:
        lowered = token.text.lower()
        if expect_key and not token.quoted:
            secret, expect_key = token.text, False
        elif not token.quoted and lowered.startswith(("robot:", "key:")):
            secret = token.text.split(":", 1)[1].strip() or None
            expect_key = secret is None
        elif not token.quoted and lowered.startswith(("http://", "https://")):
            match = _ROBOT_URL_KEY.search(token.text)
            if match is None:
                return ctx.error(
                    "群机器人地址里没有 key。", "The robot webhook URL has no key= parameter."
                )
            secret = match.group(1)
        else:
            name.append(token.text)
    value = " ".join(name)
    if not value and secret is not None and ctx.verb == "bind":
        return ctx.error("绑定到哪个队？或写 领导。", "Bind to which team? Or say leaders.")
    if value.lower() in LEADER_WORDS:
        value = "leaders"
    return ctx.command(value=value or None, secret=secret)  # bind alone: what this chat is bound to


def _parse_settings(ctx: _Ctx) -> Command | ParseError:
    """settings: job word and a time (HH:MM) or on/off; both optional (none shows the settings)."""
    value: str | None = None
    flag: str | None = None
    for token in ctx.tokens:
        time = None if token.quoted else _TIME.fullmatch(token.text)
        spoken = None if token.quoted or time else read_time(token.text)
        if time:
            hour, minute = int(time.group(1)), int(time.group(2))
            if hour > 23 or minute > 59:
                return ctx.error(f"时间“{token.text}”不对。", f"{token.text!r} is not a time of day.")
            flag = f"{hour:02d}:{minute:02d}"
        elif spoken is not None:  # 8点半, 早上九点
            flag = f"{spoken.hour:02d}:{spoken.minute:02d}"
        elif _is_word(token, ON_WORDS):
            flag = "on"
        elif _is_word(token, OFF_WORDS):
            flag = "off"
        elif value is None:
            value = _lookup(token, SETTING_JOBS) or token.text
        else:
            return ctx.error(f"看不懂“{token.text[:30]}”。", f"Cannot read {token.text[:30]!r}.")
    if flag is not None and value is None:
        return ctx.error("设置哪一项？", "Which setting?")
    return ctx.command(value=value, flag=flag)


def _parse_help(ctx: _Ctx) -> Command | ParseError:
    """help: optionally the verb to explain (value = its key)."""
    found = match_verb(ctx.rest.strip(_EDGE_CHARS))
    return ctx.command(value=found[1] if found else None)


VERB_KEYS: frozenset[str] = frozenset(ALL_VERBS)


def _parse_start(ctx: _Ctx) -> Command | ParseError:
    """start / link: one optional code (a Telegram deep-link payload, a link code)."""
    return ctx.command(value=ctx.tokens[0].text if ctx.tokens else None)


def _person(token: Token) -> str:
    return token.text.lstrip("@").strip()


def _parse_role_change(ctx: _Ctx) -> Command | ParseError:
    """appoint / dismiss: a person, and captain (the default) or leader — from the verb word or a word."""
    kind = "leader" if "领导" in ctx.text[: len(ctx.text) - len(ctx.rest)] else "captain"
    names: list[str] = []
    for token in ctx.tokens:
        word = token.text.lower()
        if not token.quoted and word in ("captain", "队长"):
            kind = "captain"
        elif not token.quoted and word in ("leader", "领导"):
            kind = "leader"
        elif _person(token):
            names.append(_person(token))
    if not names:
        return ctx.error("请写上是谁，例如 设为队长 小李。", "Who? e.g. appoint captain Li.")
    return ctx.command(value=" ".join(names), kind=kind)


def _parse_remove(ctx: _Ctx) -> Command | ParseError:
    """remove: the person to take out of their squad."""
    names = [_person(token) for token in ctx.tokens if _person(token)]
    if not names:
        return ctx.error("请写上移出谁，例如 移出 小李。", "Who? e.g. remove Li.")
    return ctx.command(value=" ".join(names))


def _parse_rename(ctx: _Ctx) -> Command | ParseError:
    """rename: the squad, then its new name."""
    if len(ctx.tokens) != 2:
        return ctx.error("请写上原队名和新队名，例如 改名 德化街 德化街道。", "Give the squad and its new name.")
    return ctx.command(value=ctx.tokens[0].text, note=ctx.tokens[1].text)


def _parse_unbind(ctx: _Ctx) -> Command | ParseError:
    """unbind: this chat (nothing written), a WeCom robot (robot:KEY or its URL), or a squad (to choose)."""
    return _parse_bind(ctx)


_PARSERS: dict[str, Callable[[_Ctx], Command | ParseError]] = {
    "plan": _parse_stage, "pursue": _parse_stage, "sign": _parse_stage, "land": _parse_stage,
    "note": _parse_note, "visit": _parse_visit, "problem": _parse_problem, "resolve": _parse_resolve,
    "drop": _parse_drop, "undo": _parse_undo, "edit": _parse_edit, "verify": _parse_verify,
    "expect": _parse_expect, "find": _parse_find, "mine": _parse_team_value, "rank": _parse_bare,
    "status": _parse_team_value, "problems": _parse_team_value, "export": _parse_bare,
    "away": _parse_away, "newteam": _parse_newteam, "invite": _parse_invite, "join": _parse_join,
    "link": _parse_start,
    "bind": _parse_bind, "target": _parse_target, "settings": _parse_settings, "help": _parse_help,
    "start": _parse_start,
    "appoint": _parse_role_change, "dismiss": _parse_role_change, "remove": _parse_remove,
    "rename": _parse_rename, "unbind": _parse_unbind,
}


# ------------------------------------------------------------------------------------------- the entry


# Verbs that report an action, so a particle may follow them (签约了, 拜访了, 解决了) and a meaning-free
# adverb precede them (已经签约, 也落地了).
_ACTION_VERBS = frozenset({"plan", "pursue", "sign", "land", "note", "visit", "resolve", "drop", "edit"})


def bare_verb(text: str) -> tuple[str, Verb, Lang] | None:
    """The longest verb word at the start of text, as written, with its verb and language."""
    lowered = text.lower()
    for word, verb, lang in _VERB_WORDS:
        if not lowered.startswith(word):
            continue
        if lang == "en":
            after = text[len(word) : len(word) + 1]
            if after and after.isascii() and (after.isalnum() or after == "_"):
                continue
        return text[: len(word)], verb, lang
    return None


def match_verb(text: str) -> tuple[str, Verb, Lang] | None:
    """The verb word at the start of text (longest first), with the adverbs before it and particles after
    it that change nothing (已经签约了 → 签约). Chinese may be glued to what follows, English not."""
    found = bare_verb(text)
    if found is None:
        for adverb in ADVERBS_BEFORE:
            if text.startswith(adverb):
                inner = bare_verb(text[len(adverb):])
                if inner is not None and inner[1] in _ACTION_VERBS and inner[2] == "zh":
                    found = (text[: len(adverb) + len(inner[0])], inner[1], inner[2])
                    break
    if found is None:
        return None
    word, verb, lang = found
    if lang == "zh" and verb in _ACTION_VERBS:
        for particle in PARTICLES_AFTER:
            if text.startswith(particle, len(word)):
                return text[: len(word) + len(particle)], verb, lang
    return found


def unknown_verb(text: str) -> ParseError:
    """The refusal for a message that starts with no verb: the common verbs, and the closest one."""
    first = scan(text)[0].text if scan(text) else text
    first = first[:20]
    lang: Lang = "en" if first.isascii() and any(c.isalpha() for c in first) else "zh"
    candidates = [(w, v) for w, v, wl in _VERB_WORDS if wl == lang and w != "?"]
    best: tuple[float, str, Verb] | None = None
    for word, verb in candidates:
        score = max(fuzz.ratio(word, first.lower()), fuzz.ratio(word, first[: len(word)].lower()))
        if best is None or score > best[0]:
            best = (score, word, verb)
    common = " ".join(verb_word(v, lang) for v in COMMON_VERBS)
    extra: dict[str, str] = {}
    if lang == "en":
        reason = f"Unknown command {first!r}. A message starts with a verb, e.g. {common}."
    else:
        reason = f"不认识的指令“{first}”。消息要以指令开头，常用指令：{common}。"
    # Two-character Chinese verbs that share their first character (签名/签约) only reach 50.
    if best is not None and (
        best[0] >= 60 or (lang == "zh" and best[0] >= 50 and best[1][0] == first[:1])
    ):
        extra["suggestion"] = best[2]
        reason += f" Did you mean {best[1]!r}?" if lang == "en" else f"你是不是想用“{best[1]}”？"
    if _ID.match(first):
        reason += " To see a project: find #12" if lang == "en" else "查看项目请用：查 #12"
    return ParseError(reason=reason, usage=usage("help", lang), lang=lang, verb=None, extra=extra)


def _parse(
    text: str, *, catalog: Catalog, usd_rate: float, bot_names: Collection[str], today: date | None
) -> Command | ParseError:
    if not isinstance(text, str):
        return ParseError(reason="消息不是文字。", usage=usage("help", "zh"))
    if len(text) > MAX_LENGTH:
        return ParseError(
            reason=f"消息太长（{len(text)} 字），上限 {MAX_LENGTH} 字，请分几条发送。",
            usage=usage("help", "zh"), extra={"limit": str(MAX_LENGTH)},
        )
    norm = normalize(text, bot_names).replace("\n", " ")  # one update: its lines are one line
    if not norm:
        return ParseError(reason="消息是空的。", usage=usage("help", "zh"))
    choice = _CHOICE.fullmatch(norm)
    if choice:
        return Command(verb="choose", text=norm, number=int(choice.group(1)))
    found = match_verb(norm)
    if found is None:
        return unknown_verb(norm)
    word, verb, lang = found
    rest = norm[len(word) :]
    ctx = _Ctx(
        verb=verb, lang=lang, text=norm, rest=rest, tokens=scan(rest), catalog=catalog,
        usd_rate=usd_rate, today=today or date.today(),
    )
    return _PARSERS[verb](ctx)


def parse(
    text: str,
    *,
    catalog: Catalog,
    usd_rate: float = 7.1,
    bot_names: Collection[str] = (),
    today: date | None = None,
) -> Command | ParseError:
    """Parse one message into a Command, or a ParseError saying why not (never raises)."""
    try:
        return _parse(text, catalog=catalog, usd_rate=usd_rate, bot_names=bot_names, today=today)
    except Exception:
        # A bug must not take the bot down with it: log it and answer like any unreadable message.
        logger.exception("parser failed on a message of %d characters", len(text) if text else 0)
        return ParseError(
            reason="这条消息没看懂，请换个写法或发“帮助”。", usage=usage("help", "zh"),
            extra={"internal": "1"},
        )


# ------------------------------------------------------------------------------------------- rendering


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
            f"@{c.place}" if c.place else "",
            ("company:" if en else "公司:") + _word_or_quoted(c.company) if c.company else "",
            _date_iso(c.when), c.note,
        ]
    elif verb in ("note", "drop", "verify", "find"):
        parts += [_project_text(c.project), c.note]
    elif verb == "visit":
        parts += [
            _project_text(c.project), f"@{c.place}" if c.place else "",
            ("company:" if en else "公司:") + _word_or_quoted(c.company) if c.company else "", c.note,
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
            parts += [STAGE_NAMES[stage_key][1 if en else 0], str(number)]
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


