"""Activity without a project stage (issue 20): 接待 (a company visiting), 活动 (a promotion event such as
a 推介会), 线索 (a company worth courting; `线索 立项 N` makes it a 谋划 project) and 宣传 (publicity)."""

from __future__ import annotations

import re
from datetime import date

from handlers.amounts import looks_like_amount
from handlers.commands import Command, ParseError
from handlers.dates import read_date
from handlers.normalize import Token
from handlers.parse.common import (
    _company_of,
    _Ctx,
    _is_empty_keyword,
    _is_filler,
    _joined,
    _place_of,
    _ref,
    _verbatim,
    id_of,
    in_the_past,
)

# 30家, 30家企业, 参会企业30家, 30 companies: how many companies attended an event.
_COMPANIES = re.compile(r"(?:参会企业|参会|企业)?(\d{1,5})(?:家企业|家|companies)")
_BARE_COUNT = re.compile(r"\d{1,5}")
_PROMOTE_WORDS = frozenset({"立项", "转项目", "转为项目", "promote"})
_LEAD_ID = re.compile(r"(?:线索|lead|event:|#)?(\d{1,12})", re.IGNORECASE)
MAX_COMPANIES = 100_000


def _namelike(token: Token) -> bool:
    """Whether a bare word can be a company's name: not a number or an amount (`200,000,000`, `3亿`)."""
    text = token.text
    return token.quoted or not (text.replace(",", "").replace(".", "").isdigit() or looks_like_amount(text)
                                or text.startswith(("#", "＃")) or ":" in text or "：" in text)


def _plain(token: Token) -> bool:
    return not _is_filler(token) and not _is_empty_keyword(token)


def _parse_reception(ctx: _Ctx) -> Command | ParseError:
    """reception: the company (`公司:X`, else the first word when no project is named), `#12`, @from, a day,
    note."""
    project = place = company = None
    when: date | None = None
    rest: list[Token] = []
    for token in ctx.tokens:
        if project is None and id_of(token) is not None:
            project = token
        elif place is None and (value := _place_of(token)) is not None:
            place = value
        elif company is None and (value := _company_of(token)) is not None:
            company = value
        elif when is None and not token.quoted and (day := read_date(token.text, ctx.today)) is not None:
            when = in_the_past(day.day, token.text, ctx.today)
        elif _plain(token):
            rest.append(token)
    first = next((k for k, token in enumerate(rest) if _namelike(token)), None)
    if company is None and project is None and first is not None:
        company = rest.pop(first).text  # 接待 中原数据集团 考察团一行
    if company is None and project is None:
        return ctx.error(ctx.say("parse.which_company_came"))
    return ctx.command(project=_ref(project) if project is not None else None, company=company, place=place,
                       note=_joined(ctx.rest, rest), when=when)


def _parse_promo(ctx: _Ctx) -> Command | ParseError:
    """promo: the event type (first word), @place, the number of companies attending (30家), note."""
    kind = place = None
    number: int | None = None
    when: date | None = None
    rest: list[Token] = []
    for token in ctx.tokens:
        if token.quoted:
            if kind is None:
                kind = token.text
            else:
                rest.append(token)
        elif place is None and (value := _place_of(token)) is not None:
            place = value
        elif number is None and (match := _COMPANIES.fullmatch(token.text)) is not None:
            number = int(match.group(1))
        elif when is None and (day := read_date(token.text, ctx.today)) is not None:
            when = in_the_past(day.day, token.text, ctx.today)
        elif number is None and _BARE_COUNT.fullmatch(token.text):
            number = int(token.text)  # 活动 推介会 @深圳 30: the documented [参会企业数] written bare
        elif kind is None and _plain(token) and id_of(token) is None and not _COMPANIES.fullmatch(token.text) \
                and not token.text.isdigit():
            kind = token.text
        elif _plain(token):
            rest.append(token)
    if kind is None:
        return ctx.error(ctx.say("parse.what_event"))
    if number is not None and not 0 < number <= MAX_COMPANIES:
        return ctx.error(ctx.say("parse.companies_above_zero"))
    return ctx.command(kind=kind[:50], place=place, number=number, note=_joined(ctx.rest, rest), when=when)


def _parse_lead(ctx: _Ctx) -> Command | ParseError:
    """lead: company (`公司:X` or the first word), industry, @place, note; `线索 立项 N`: make lead N a project."""
    tokens = ctx.tokens
    if tokens and not tokens[0].quoted and tokens[0].text.lower() in _PROMOTE_WORDS:
        numbers = [m for t in tokens[1:] if not t.quoted and (m := _LEAD_ID.fullmatch(t.text)) is not None]
        if len(numbers) != 1 or len(tokens) != 2:
            return ctx.error(ctx.say("parse.which_lead"))
        return ctx.command(flag="promote", number=int(numbers[0].group(1)))
    company = industry = place = None
    when: date | None = None
    rest: list[Token] = []
    for token in tokens:
        if place is None and (value := _place_of(token)) is not None:
            place = value
        elif when is None and not token.quoted and (day := read_date(token.text, ctx.today)) is not None:
            when = in_the_past(day.day, token.text, ctx.today)
        elif company is None and (value := _company_of(token)) is not None:
            company = value
        elif company is None and token.quoted:
            company = token.text
        elif industry is None and not token.quoted and (value := ctx.catalog.industry_of(token.text)) is not None:
            industry = value
        elif _plain(token):
            rest.append(token)
    if company is None:
        first = next((k for k, token in enumerate(rest) if id_of(token) is None and _namelike(token)), None)
        if first is not None:
            company = rest.pop(first).text
    if company is None:
        return ctx.error(ctx.say("parse.lead_company"))
    return ctx.command(company=company[:200], industry=industry, place=place, note=_joined(ctx.rest, rest),
                       when=when)


def _parse_publicity(ctx: _Ctx) -> Command | ParseError:
    """publicity: the outlet or item (first word), then what it says, verbatim."""
    first = next((token for token in ctx.tokens if _plain(token)), None)
    if first is None:
        return ctx.error(ctx.say("parse.what_publicity"))
    return ctx.command(value=first.text[:100], note=_verbatim(ctx.rest, [first]))
