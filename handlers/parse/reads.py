"""Questions and lists: 查, 我的 and the verbs that take a squad name or nothing."""

from __future__ import annotations

import re

from handlers.commands import Command, ParseError, ProjectRef
from handlers.parse.common import _EDGE_CHARS, _Ctx, _missing_project, _ref, _unquote, id_of


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
