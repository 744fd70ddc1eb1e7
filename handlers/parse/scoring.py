"""What districts score: 到位 (funds in place), 转交 (a leader moves a project to another squad), 撞单 (the
first-contact clashes list)."""

from __future__ import annotations

from datetime import date

from handlers.amounts import amount_at
from handlers.commands import Amount, Command, ParseError
from handlers.dates import read_date
from handlers.normalize import Token
from handlers.parse.common import (
    _Ctx,
    _is_empty_keyword,
    _is_filler,
    _joined,
    _missing_project,
    _pick_project,
    _ref,
    id_of,
    in_the_past,
)

_ALL_WORDS = frozenset({"全部", "所有", "含已处理", "all"})


def _parse_funds(ctx: _Ctx) -> Command | ParseError:
    """funds: project, amount (exact), optional day it arrived (never in the future), note."""
    tokens = ctx.tokens
    texts = [t.text if not t.quoted else "\0" for t in tokens]
    amount: Amount | None = None
    when: date | None = None
    others: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.quoted and id_of(token) is None and amount is None and (
                found := amount_at(texts, i, usd_rate=ctx.usd_rate)) is not None:
            amount, span = found
            i += span
            continue
        if not token.quoted and when is None and id_of(token) is None and (
                day := read_date(token.text, ctx.today)) is not None:
            when = in_the_past(day.day, token.text, ctx.today)
        elif not _is_filler(token) and not _is_empty_keyword(token):
            others.append(token)
        i += 1
    pick = _pick_project(others)
    if pick is None:
        return _missing_project(ctx)
    if amount is None:
        return ctx.error(ctx.say("parse.funds_amount"))
    if amount.vague:
        return ctx.error(ctx.say("parse.funds_exact", text=amount.text))
    if amount.yuan <= 0:
        return ctx.error(ctx.say("parse.funds_above_zero"))
    if when is not None and when > ctx.today:
        return ctx.error(ctx.say("parse.funds_future", day=when.isoformat()))
    note = _joined(ctx.rest, [t for k, t in enumerate(others) if k != pick])
    return ctx.command(project=_ref(others[pick]), amount=amount, when=when, note=note)


def _parse_transfer(ctx: _Ctx) -> Command | ParseError:
    """transfer: project (first word or #id), then the squad it moves to (the rest)."""
    tokens = [t for t in ctx.tokens if not _is_filler(t) and t.text not in ("给", "到", "至", "to")]
    if not tokens:
        return _missing_project(ctx)
    pick = next((k for k, t in enumerate(tokens) if id_of(t) is not None), 0)
    squad = " ".join(t.text for k, t in enumerate(tokens) if k != pick).strip()
    if not squad:
        return ctx.error(ctx.say("parse.transfer_to"))
    return ctx.command(project=_ref(tokens[pick]), value=squad[:100])


def _parse_clashes(ctx: _Ctx) -> Command | ParseError:
    """clashes: alone, the open ones; `全部`/`all`, with the settled ones."""
    words = {t.text.lower() for t in ctx.tokens}
    if words - _ALL_WORDS:
        return ctx.error(ctx.say("parse.clashes_only_all"))
    return ctx.command(flag="all" if words else None)
