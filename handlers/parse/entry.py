"""The entry: a message to its verb's parser; never raises."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import date

from handlers.catalog import Catalog
from handlers.commands import Command, ParseError
from handlers.normalize import normalize, scan
from handlers.parse.activity import _parse_lead, _parse_promo, _parse_publicity, _parse_reception
from handlers.parse.admin import (
    _parse_away,
    _parse_bind,
    _parse_dashboard,
    _parse_help,
    _parse_invite,
    _parse_join,
    _parse_newteam,
    _parse_remove,
    _parse_rename,
    _parse_role_change,
    _parse_settings,
    _parse_start,
    _parse_target,
    _parse_unbind,
)
from handlers.parse.assess import _parse_activity, _parse_assess
from handlers.parse.common import _CHOICE, MAX_LENGTH, _Ctx
from handlers.parse.reads import _parse_bare, _parse_find, _parse_team_value
from handlers.parse.scoring import _parse_clashes, _parse_funds, _parse_transfer
from handlers.parse.updates import (
    _parse_drop,
    _parse_edit,
    _parse_expect,
    _parse_note,
    _parse_problem,
    _parse_resolve,
    _parse_stage,
    _parse_undo,
    _parse_verify,
    _parse_visit,
)
from handlers.parse.verbs import match_verb, unknown_verb
from handlers.vocabulary import usage

_PARSERS: dict[str, Callable[[_Ctx], Command | ParseError]] = {
    "plan": _parse_stage, "pursue": _parse_stage, "sign": _parse_stage, "land": _parse_stage,
    "note": _parse_note, "visit": _parse_visit, "problem": _parse_problem, "resolve": _parse_resolve,
    "drop": _parse_drop, "undo": _parse_undo, "edit": _parse_edit, "verify": _parse_verify,
    "expect": _parse_expect, "funds": _parse_funds, "transfer": _parse_transfer, "clashes": _parse_clashes,
    "assess": _parse_assess, "activity": _parse_activity,
    "reception": _parse_reception, "promo": _parse_promo, "lead": _parse_lead, "publicity": _parse_publicity,
    "find": _parse_find, "mine": _parse_team_value, "rank": _parse_bare,
    "status": _parse_team_value, "problems": _parse_team_value, "export": _parse_bare,
    "away": _parse_away, "newteam": _parse_newteam, "invite": _parse_invite, "join": _parse_join,
    "link": _parse_start,
    "bind": _parse_bind, "target": _parse_target, "settings": _parse_settings, "help": _parse_help,
    "start": _parse_start,
    "appoint": _parse_role_change, "dismiss": _parse_role_change, "remove": _parse_remove,
    "rename": _parse_rename, "unbind": _parse_unbind, "dashboard": _parse_dashboard,
}

logger = logging.getLogger(__name__)


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
