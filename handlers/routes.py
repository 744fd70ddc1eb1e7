"""Which handler runs each verb, and what the dispatcher needs to know of a command before running it:
the access policy's name for it, whether it only reads (no inbox row), what of a message can be stored."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from handlers import activity, assessing, chat_settings, ownership, people, projects, report_requests, roster, undo
from handlers.commands import Command
from handlers.context import Context
from handlers.dashboard.chat import handle_dashboard
from handlers.messages import Incoming, Reply

if TYPE_CHECKING:
    pass

Handler = Callable[[Command, Context], Awaitable[Reply]]

HANDLERS: dict[str, Handler] = {
    "plan": projects.handle_stage,
    "pursue": projects.handle_stage,
    "sign": projects.handle_stage,
    "land": projects.handle_stage,
    "note": projects.handle_note,
    "visit": projects.handle_visit,
    "problem": projects.handle_problem,
    "resolve": projects.handle_resolve,
    "drop": projects.handle_drop,
    "undo": undo.handle_undo,
    "edit": projects.handle_edit,
    "verify": projects.handle_verify,
    "expect": projects.handle_expect,
    "funds": projects.handle_funds,
    "transfer": projects.handle_transfer,
    "clashes": ownership.handle_clashes,
    "assess": assessing.handle_assess,
    "activity": assessing.handle_activity,
    "reception": activity.handle_reception,
    "promo": activity.handle_promo,
    "lead": activity.handle_lead,
    "publicity": activity.handle_publicity,
    "find": projects.handle_find,
    "mine": projects.handle_mine,
    "rank": report_requests.handle_rank,
    "status": report_requests.handle_status,
    "problems": report_requests.handle_problems,
    "export": report_requests.handle_export,
    "away": people.handle_away,
    "newteam": people.handle_newteam,
    "invite": people.handle_invite,
    "join": people.handle_join,
    "link": people.handle_link,
    "start": people.handle_start,
    "bind": people.handle_bind,
    "target": people.handle_target,
    "settings": chat_settings.handle_settings,
    "help": people.handle_help,
    "appoint": roster.handle_appoint,
    "dismiss": roster.handle_dismiss,
    "remove": roster.handle_remove,
    "rename": roster.handle_rename,
    "unbind": roster.handle_unbind,
    "dashboard": handle_dashboard,
}
READ_ONLY_VERBS = frozenset({"find", "mine", "rank", "status", "problems", "export", "help", "clashes",
                             "assess", "activity"})


def lists(command: Command) -> bool:
    """`绑定` alone: the chat's bindings listed, nothing stored."""
    return command.verb == "bind" and not command.value and not command.secret


def policy_verb(command: Command) -> str:
    """The verb the access policy knows a command by (one verb, several powers: 设为队长 / 设为领导)."""
    if command.verb in ("appoint", "dismiss"):
        return "appoint_leader" if command.kind == "leader" else "appoint_captain"
    if command.verb == "bind" and not command.value and not command.secret:
        return "bind_list"  # 绑定 alone: what this chat is bound to, anyone may ask
    return command.verb


def reads_only(command: Command) -> bool:
    """Questions store nothing, so they need no inbox row (bare 核实/预计 and a bare /start are questions too)."""
    return (command.verb in READ_ONLY_VERBS or (command.verb in ("verify", "expect") and command.project is None)
            or (command.verb == "start" and not command.value) or lists(command)
            or (command.verb == "dashboard" and command.flag is None))


# NUL and lone surrogates cannot be stored (PostgreSQL refuses NUL in text; neither backend can encode a
# surrogate), and they mean nothing in a message, so they are dropped before the raw text is kept anywhere
# (a pending question stores it whole).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DISPLAY_NAME = 100  # Member.name; Telegram's first + last name can reach 129 characters


def storable(incoming: Incoming) -> Incoming:
    """The message with what no database column can hold removed, and the sender's name cut to fit."""
    text = _UNSTORABLE.sub("", incoming.text)
    name = _UNSTORABLE.sub("", incoming.display_name)[:MAX_DISPLAY_NAME]
    if text == incoming.text and name == incoming.display_name:
        return incoming
    return replace(incoming, text=text, display_name=name)
