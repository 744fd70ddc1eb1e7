"""Who may do what: the one access policy (verb × role × scope), consulted before any handler runs.

Roles, lowest first: `stranger` (no squad yet), `member`, `captain` (队长, one or more per squad), `leader`
(district) and `admin`. A role from the settings (ZSBOT_ADMINS, ZSBOT_LEADERS) is read from them on every
message, so removing an identity revokes it at the next restart; a role given in chat (设为队长, and by an
admin 设为领导) is stored and revocable. A linked identity is the same person, with the same roles.

Scopes: `self` (the sender's own membership, leave, changes), `own` (the sender's squad: its projects, its
roster, its report detail), `any` (any squad and the district). The dispatcher refuses a verb the sender's
role may not use at all; the project, squad or chat a message is about is checked against the scope by
`require`, called where the target is resolved (resolve.py for projects, and the squad-naming handlers).

The scopes as decided (DESIGN §3, issue 15): every member may read every project card and the district
ranking (信息共享 is the point of 学); problem texts, another squad's 进度 detail and the ledger export are for
captains (their own squad), leaders and admins; members see their own squad's problems.
"""

from __future__ import annotations

from typing import Literal

from handlers.context import Context
from handlers.refusal import Refusal

Role = Literal["stranger", "member", "captain", "leader", "admin"]
Scope = Literal["none", "self", "own", "any"]
ROLES: tuple[Role, ...] = ("stranger", "member", "captain", "leader", "admin")


def _scopes(**by_role: Scope) -> dict[str, Scope]:
    return dict(by_role)


_UPDATE = _scopes(member="own", captain="own", leader="any", admin="any")
_READ_ALL = _scopes(member="any", captain="any", leader="any", admin="any")
_OWN_DETAIL = _scopes(member="own", captain="own", leader="any", admin="any")
_ONESELF = _scopes(member="self", captain="self", leader="self", admin="self")
_ANYONE = _scopes(stranger="self", member="self", captain="self", leader="self", admin="self")
_LEADERS = _scopes(leader="any", admin="any")
_CAPTAINS_UP = _scopes(captain="own", leader="any", admin="any")
_ADMINS = _scopes(admin="any")

# verb → role → scope (a role not listed: none). Sub-verbs name a part of a reply: problem_texts.
POLICY: dict[str, dict[str, Scope]] = {
    # project updates: one's own squad's projects; leaders and admins any
    **{verb: _UPDATE for verb in (
        "plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "edit", "expect")},
    "undo": _ONESELF,  # one's own changes (the handler checks whose)
    "verify": _LEADERS,
    # reading
    "find": _READ_ALL, "rank": _READ_ALL,
    "mine": _OWN_DETAIL, "problems": _OWN_DETAIL,
    "status": _OWN_DETAIL,  # the district summary is everyone's; another squad's detail is scoped
    "problem_texts": _OWN_DETAIL,  # a card's problems spelled out (others see categories and counts)
    "export": _CAPTAINS_UP,
    # oneself
    "away": _ONESELF,
    "join": _ANYONE, "link": _ANYONE, "start": _ANYONE, "help": _ANYONE, "choose": _ANYONE,
    # running the district
    "target": _LEADERS,
    "invite": _CAPTAINS_UP, "settings": _CAPTAINS_UP, "remove": _CAPTAINS_UP,
    "appoint_captain": _LEADERS, "appoint_leader": _ADMINS,
    "newteam": _ADMINS, "rename": _ADMINS, "bind": _ADMINS, "unbind": _ADMINS,
    "bind_list": _ONESELF,  # 绑定 alone: what this group is bound to (in private, the handler lists for admins)
}
ROLE_NAMES = {"stranger": ("未加入的人", "people who have not joined"), "member": ("队员", "members"),
              "captain": ("队长", "captains"), "leader": ("领导", "leaders"), "admin": ("管理员", "admins")}


def scope_of(verb: str, role: str) -> Scope:
    """What a role may do with a verb: none, self, own or any."""
    return POLICY.get(verb, {}).get(role, "none")


def allowed(verb: str, role: str, *, own_team: int | None, team_id: int | None) -> bool:
    """Whether `role` may use `verb` on squad `team_id` (None: district-wide or no squad in particular)."""
    scope = scope_of(verb, role)
    if scope == "any" or scope == "self":
        return True
    if scope == "own":
        return team_id is not None and own_team is not None and team_id == own_team
    return False


def who_may(verb: str, lang: str) -> str:
    """The roles that may use a verb, lowest first: 队长、领导和管理员."""
    names = [ROLE_NAMES[role][1 if lang == "en" else 0] for role in ROLES[1:] if scope_of(verb, role) != "none"]
    if lang == "en":
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]


STRANGER = ("你还不是小分队成员，暂时不能使用。请向队长索取邀请码，然后发送「加入 邀请码」。\n"
            "You are not a squad member yet. Ask your leader for the invite code and send `join <code>`.")


def check_verb(ctx: Context, verb: str, *, what_zh: str, what_en: str) -> None:
    """Refuse, before any handler runs, a verb the sender's role may not use at all."""
    if scope_of(verb, ctx.role) != "none":
        return
    if ctx.role == "stranger":
        raise Refusal(STRANGER)
    raise Refusal(ctx.t(f"只有{who_may(verb, 'zh')}可以{what_zh}。", f"Only {who_may(verb, 'en')} can {what_en}."))


def require(ctx: Context, verb: str, *, team_id: int | None, target_zh: str, target_en: str) -> None:
    """Refuse `verb` on a target outside the sender's scope (another squad's project, a squad not theirs)."""
    own = ctx.member.team_id if ctx.member else None
    if allowed(verb, ctx.role, own_team=own, team_id=team_id):
        return
    if scope_of(verb, ctx.role) == "none":
        check_verb(ctx, verb, what_zh="这样做", what_en="do that")
    raise Refusal(ctx.t(
        f"{target_zh}不属于你的小分队：只有本队成员、队长或领导可以这样做。",
        f"{target_en} is not your squad's: only its members, captains or a leader may do that.",
    ))


def may(ctx: Context, verb: str, *, team_id: int | None) -> bool:
    """Whether the sender may (for parts of a reply: problem texts on a card)."""
    return allowed(verb, ctx.role, own_team=ctx.member.team_id if ctx.member else None, team_id=team_id)
