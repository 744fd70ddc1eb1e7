"""Typed commands: what `handlers.parse.parse` makes of a message, and what the handlers take.

One `Command` class serves every verb; which fields a verb uses is listed in `VERB_FIELDS` (the parser
fills only those, the handlers read only those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from handlers.wording import say

Verb = Literal[
    # project updates
    "plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "undo", "edit",
    "verify", "expect", "funds", "transfer",
    # activity without a project stage (issue 20): 接待, 活动, 线索, 宣传
    "reception", "promo", "lead", "publicity",
    # questions
    "find", "mine", "rank", "status", "problems", "export", "clashes", "assess", "activity",
    # people and squads
    "away", "newteam", "invite", "join", "link", "bind", "target", "settings", "help", "start",
    # running the district from the chat
    "appoint", "dismiss", "remove", "rename", "unbind",
    # the leaders' 驾驶舱: a signed link to the dashboard pages (看板), or 看板 作废
    "dashboard",
    # the answer to a numbered question ("1", "2" …)
    "choose",
]
Lang = Literal["zh", "en"]

# Verbs that move a project into a pool, and the pool they move it to.
STAGE_VERBS: dict[str, str] = {
    "plan": "planned", "pursue": "attracting", "sign": "signed", "land": "landed",
}

# Which Command fields each verb uses (documentation for the parser and the handlers alike).
VERB_FIELDS: dict[str, tuple[str, ...]] = {
    # when: the day it happened, when the message says so (昨天签约了 …); the move is dated that day.
    "plan": ("project", "amount", "industry", "zone", "place", "company", "note", "when"),
    "pursue": ("project", "amount", "industry", "zone", "place", "company", "note", "when"),
    "sign": ("project", "amount", "industry", "zone", "place", "company", "note", "when"),
    "land": ("project", "amount", "industry", "zone", "place", "company", "note", "when"),
    "note": ("project", "note", "amount"),  # note: the rest verbatim; amount: also set (a confirmed reading)
    "visit": ("project", "place", "company", "note", "when"),  # project optional
    "problem": ("project", "category", "note"),  # category: first word after the project, default 其他
    "resolve": ("project", "category", "number", "note"),  # number: a problem id written `问题3`/`p3`
    "drop": ("project", "note"),  # note: the reason
    "undo": ("number",),  # number: a specific event id (from an undo button: `撤销 event:42`)
    "edit": ("project", "field_name", "value", "amount"),  # amount filled when field_name == "amount"
    "verify": ("project",),
    "expect": ("project", "stage", "when"),
    # funds: amount arrived (到位), the day it arrived (default today; never in the future), note
    "funds": ("project", "amount", "when", "note"),
    "transfer": ("project", "value"),  # value: the squad the project moves to (转交)
    # reception (接待): the company that came (or a project's #id), where from, note
    "reception": ("project", "company", "place", "note", "when"),
    # promo (活动): kind = the event type (推介会), place, number = companies attending (optional), note
    "promo": ("kind", "place", "number", "note", "when"),
    # lead (线索): company, industry, place, note; flag "promote" + number (the lead's event id): 立项
    "lead": ("company", "industry", "place", "note", "flag", "number", "when"),
    "publicity": ("value", "note"),  # publicity (宣传): value = the outlet or item, note = what it says
    "clashes": ("flag",),  # 撞单: open first-contact clashes; flag "all" lists the resolved ones too
    # assess (考核): value the squad (None: one's own, or the ranking for someone without a squad); flag
    # "rank" for 考核 排行 (every squad); kind the period key (handlers.score_periods, None: this quarter)
    "assess": ("value", "flag", "kind"),
    "activity": ("kind",),  # 活跃: the activity index ranking; kind the period key (None: this week)
    "find": ("project",),
    "mine": ("value",),  # value: optional team name (leaders)
    "rank": (),
    "status": ("value",),  # value: optional team name
    "problems": ("value",),  # value: optional team name
    "export": (),
    "away": ("when", "value"),  # when: last day away; value "cancel" to end it early
    "newteam": ("value", "kind"),  # value: the new team's name; kind: squad/street/bureau
    "invite": ("value", "flag"),  # value: optional team name; flag "rotate" for a new code
    "join": ("value",),  # value: the invite code
    "link": ("value",),  # value: a link code from my other platform; none: make one
    "bind": ("value", "secret"),  # value: team name or "leaders"; secret: WeCom robot key
    "target": ("value", "year", "targets"),  # value: team name or None for the district
    "settings": ("value", "flag"),  # value: job key (排行/提醒/点名 …); flag: "HH:MM", "on", "off"
    "help": ("value",),  # value: a verb to explain
    "appoint": ("value", "kind", "flag"),  # value: the person (a name, or #member id once chosen); kind: captain/leader
    "dismiss": ("value", "kind", "flag"),  # flag "confirmed": the sender saw the card and said yes
    "remove": ("value", "flag"),  # value: the person to take out of their squad
    "rename": ("value", "note", "flag"),  # value: the squad; note: its new name
    "unbind": ("value", "secret", "flag"),  # value: a squad (lists its bindings); secret: a WeCom robot key
    "start": ("value",),  # value: Telegram deep-link payload (an invite code)
    "choose": ("number",),
    "dashboard": ("flag",),  # flag "revoke": 看板 作废 voids the sender's links
}


@dataclass(frozen=True)
class ProjectRef:
    """How the user named a project: `#12` (id) or a name to match (exact, alias, fuzzy)."""

    id: int | None = None
    name: str | None = None
    new: bool = False  # a new project with this name, even if existing names are close (the user chose it)

    def __str__(self) -> str:
        return f"#{self.id}" if self.id is not None else (self.name or "")


@dataclass(frozen=True)
class Amount:
    """An investment amount, as integer yuan, with the words the user wrote."""

    yuan: int
    text: str
    currency: str = "CNY"  # the currency written; yuan is already converted
    vague: bool = False  # a guess such as 十来个亿 or 3个多亿: the bot must confirm it before storing


@dataclass(frozen=True)
class Command:
    """A parsed message. Only the fields listed in VERB_FIELDS[verb] are meaningful."""

    verb: Verb
    lang: Lang = "zh"
    text: str = ""  # the normalised message
    project: ProjectRef | None = None
    amount: Amount | None = None
    industry: str | None = None  # canonical industry name from the industries file
    zone: str | None = None
    place: str | None = None
    company: str | None = None
    category: str | None = None  # 规划, 土地, 技术, 资金, 审批, 其他
    stage: str | None = None  # planned / attracting / signed / landed
    field_name: str | None = None  # edit: amount, name, alias, industry, zone, place, company
    value: str | None = None
    secret: str | None = None
    kind: str | None = None
    flag: str | None = None
    year: int | None = None
    when: date | None = None
    number: int | None = None
    targets: tuple[tuple[str, int], ...] = ()  # (stage, number) pairs
    note: str = ""


@dataclass(frozen=True)
class ParseError:
    """Why a message could not be understood, and the right form to show the user."""

    reason: str
    usage: str = ""
    lang: Lang = "zh"
    verb: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        """The text the user reads: the reason, then the right form."""
        if not self.usage:
            return self.reason
        return say(self.lang, "parse.reason_usage", reason=self.reason, usage=self.usage)
