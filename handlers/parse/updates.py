"""The project updates: 谋划/招引/签约/落地, 进展, 拜访, 问题, 解决, 放弃, 撤销, 改, 核实, 预计."""

from __future__ import annotations

from datetime import date

from handlers.amounts import amount_at
from handlers.commands import Amount, Command, ParseError, ProjectRef
from handlers.dates import DateReading, find_dates, read_date
from handlers.normalize import Token, scan
from handlers.parse.common import (
    _EDGE_CHARS,
    _EVENT,
    _PROBLEM_ID,
    MAX_ROW_ID,
    _company_of,
    _Ctx,
    _english_name,
    _first_project,
    _impossible_date,
    _is_empty_keyword,
    _is_filler,
    _is_word,
    _joined,
    _lookup,
    _missing_project,
    _pick_project,
    _place_of,
    _ref,
    _unquote,
    _verbatim,
    id_of,
    in_the_past,
)
from handlers.vocabulary import (
    CATEGORY_WORDS,
    DEFAULT_CATEGORY,
    FIELD_WORDS,
    STAGE_WORDS,
)


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
        return ctx.error(ctx.say("parse.note_text"))
    return ctx.command(project=_ref(project), note=note)


def _parse_visit(ctx: _Ctx) -> Command | ParseError:
    """visit: optional project (#12 or a quoted name only), place, company, note."""
    project: Token | None = None
    place = company = None
    when: date | None = None
    rest: list[Token] = []
    for token in ctx.tokens:
        if project is None and (id_of(token) is not None or token.quoted):
            project = token
        elif place is None and (value := _place_of(token)) is not None:
            place = value
        elif company is None and (value := _company_of(token)) is not None:
            company = value
        elif when is None and (day := read_date(token.text, ctx.today)) is not None:
            when = in_the_past(day.day, token.text, ctx.today)  # 拜访 … 昨天: the day of the visit, not a note
        elif not _is_empty_keyword(token):
            rest.append(token)
    if project is None and place is None and company is None and not rest:
        return ctx.error(
            ctx.say("parse.visit_where")
        )
    return ctx.command(
        project=_ref(project) if project is not None else None, place=place, company=company,
        note=_joined(ctx.rest, rest), when=when,
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
            ctx.say("parse.problem_text")
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
            ctx.say("parse.which_problem"),
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
        return ctx.error(ctx.say("parse.drop_reason"))
    return ctx.command(project=_ref(ctx.tokens[pick]), note=reason)


def _parse_undo(ctx: _Ctx) -> Command | ParseError:
    """undo: optionally a specific event (`event:42`, from an undo button)."""
    for token in ctx.tokens:
        match = _EVENT.fullmatch(token.text)
        if match and not token.quoted:
            if int(match.group(1)) > MAX_ROW_ID:  # no such row; PostgreSQL would reject the lookup itself
                return ctx.error(ctx.say("parse.no_such_event"))
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
            ctx.say("parse.which_field"),
        )
    field_name = _lookup(tokens[field_index], FIELD_WORDS)
    value = _unquote(ctx.rest[tokens[field_index].end :].strip(_EDGE_CHARS))
    if not value:
        return ctx.error(ctx.say("parse.new_value"))
    project = _ref(tokens[pick])
    amount: Amount | None = None
    if field_name == "amount":
        words = [t.text for t in scan(value)]
        found = amount_at(words, 0, usd_rate=ctx.usd_rate) if words else None
        if found is None:
            return ctx.error(
                ctx.say("parse.bad_amount", value=value[:30]),
            )
        amount = found[0]
        value = amount.text  # words after the amount are not part of it
    elif field_name == "industry":
        industry = ctx.catalog.industry_of(value)
        if industry is None:
            known = "、".join(ctx.catalog.industries)
            return ctx.error(
                ctx.say("parse.unknown_industry", value=value[:30], known=known)
            )
        value = industry
    elif field_name == "zone":
        zone = ctx.catalog.zone_of(value)
        if zone is None:
            known = "、".join([*ctx.catalog.zones, *ctx.catalog.axes])
            return ctx.error(
                ctx.say("parse.unknown_zone", value=value[:30], known=known)
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
        return ctx.error(ctx.say("parse.no_such_date", text=bad.text))
    pick = _pick_project(others)
    if pick is None:
        return _missing_project(ctx)
    if stage is None:
        return ctx.error(ctx.say("parse.expect_stage"))
    if reading is None:
        return ctx.error(ctx.say("parse.expect_date"))
    return ctx.command(project=_ref(others[pick]), stage=stage, when=reading.day,
                       flag="approximate" if reading.approximate else None,
                       note=reading.text if reading.approximate else "")
