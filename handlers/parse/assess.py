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
        return ctx.error("只能写一个期间，例如“本季度”。", "Name one period only, e.g. `this quarter`.")
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
            return ctx.error("考核 排行 后面只能写期间，例如“考核 排行 本月”。",
                             "assess rank takes a period only, e.g. `assess rank this month`.")
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
        return ctx.error(f"活跃后面只能写期间（本周、上周、本月、本季度、本年……），不认识“{rest}”。",
                         f"activity takes a period only (this week, last month, …), not {rest!r}.")
    return ctx.command(kind=period)
