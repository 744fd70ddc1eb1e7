"""考核 and 活跃: an optional squad (or 排行) and an optional period (本周 … 去年), in any order."""

from __future__ import annotations

from handlers.commands import Command, ParseError
from handlers.parse.common import _EDGE_CHARS, _Ctx, _unquote
from handlers.score_periods import split_period

RANK_WORDS = frozenset({"排行", "排名", "排行榜", "全区", "各队", "rank", "ranking", "all"})


def _period_and_rest(ctx: _Ctx) -> tuple[str | None, str] | ParseError:
    period, rest = split_period(ctx.rest.strip(_EDGE_CHARS))
    rest = rest.strip(_EDGE_CHARS)
    again, _ = split_period(rest)
    if period is not None and again is not None:
        return ctx.error(ctx.say("parse.one_period"))
    return period, rest


def _parse_assess(ctx: _Ctx) -> Command | ParseError:
    """assess: [排行 | squad] [period], the period first or last."""
    found = _period_and_rest(ctx)
    if isinstance(found, ParseError):
        return found
    period, rest = found
    first, _, after = rest.partition(" ")
    if first.lower() in RANK_WORDS or rest.lower() in RANK_WORDS:
        if after.strip(_EDGE_CHARS) and rest.lower() not in RANK_WORDS:
            return ctx.error(ctx.say("parse.assess_rank_period_only"))
        return ctx.command(flag="rank", kind=period)
    value = _unquote(rest)
    return ctx.command(value=value or None, kind=period)


def _parse_activity(ctx: _Ctx) -> Command | ParseError:
    """activity: [period]; 活跃 排行 is the same ranking."""
    found = _period_and_rest(ctx)
    if isinstance(found, ParseError):
        return found
    period, rest = found
    if rest and rest.lower() not in RANK_WORDS:
        return ctx.error(ctx.say("parse.activity_period_only", rest=rest))
    return ctx.command(kind=period)
