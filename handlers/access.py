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

from handlers.commands import Lang
from handlers.context import Context
from handlers.refusal import Refusal
from handlers.wording import both, in_lang, say

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
        "plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "edit", "expect",
        "funds")},
    # activity (接待, 活动, 线索, 宣传): members and captains for their squad; leaders and admins any (outside a
    # squad, for the district)
    **{verb: _UPDATE for verb in ("reception", "promo", "lead", "publicity")},
    "transfer": _LEADERS,  # 转交: only a leader reassigns a project between squads (首谈负责制)
    "undo": _ONESELF,  # one's own changes (the handler checks whose)
    "verify": _LEADERS,
    # reading
    "find": _READ_ALL, "rank": _READ_ALL,
    "mine": _OWN_DETAIL, "problems": _OWN_DETAIL,
    "status": _READ_ALL,  # the district summary, and one's own squad's lines
    "status_detail": _CAPTAINS_UP,  # 进度 队名: a squad's full drill-down
    "status_district": _LEADERS,  # 进度 按产业 / 按小分队 / 详细: the district's breakdowns
    "problem_texts": _OWN_DETAIL,  # a card's problems spelled out (others see categories and counts)
    "export": _CAPTAINS_UP,
    "clashes": _CAPTAINS_UP,  # 撞单: leaders all; captains the clashes their squad is in
    "assess": _OWN_DETAIL,  # 考核 队名: one squad's points explained (members and captains: their own)
    "assess_rank": _READ_ALL,  # 考核 排行: every squad's total, like 排行
    "activity": _READ_ALL,  # 活跃: the activity index ranking (赛马榜)
    # oneself
    "away": _ONESELF,
    "join": _ANYONE, "link": _ANYONE, "start": _ANYONE, "help": _ANYONE, "choose": _ANYONE,
    # running the district
    "target": _LEADERS,
    "invite": _CAPTAINS_UP, "settings": _CAPTAINS_UP, "remove": _CAPTAINS_UP,
    "appoint_captain": _LEADERS, "appoint_leader": _ADMINS,
    "newteam": _ADMINS, "rename": _ADMINS, "bind": _ADMINS, "unbind": _ADMINS,
    "bind_list": _ONESELF,  # 绑定 alone in a group: what this group is bound to
    "bind_list_all": _ADMINS,  # 绑定 alone in private: every binding
    "dashboard": _ONESELF,  # 看板: a link to the 驾驶舱 for oneself (what it shows: DASH_PAGES); 看板 作废
}
# The 驾驶舱's pages (bot/dashboard), page → role → scope, by the same rules as the chat: everyone reads the
# district overview, the ranking and the movers (信息共享); a squad's page and its problems are for its own
# members and captains, and leaders and admins see any; the forecast, the breakdowns and the big screen
# are the leaders'. `own` on the problem board means the viewer's squad's problems only.
DASH_PAGES: dict[str, dict[str, Scope]] = {
    "overview": _READ_ALL, "rank": _READ_ALL, "movers": _READ_ALL,
    "squad": _OWN_DETAIL, "problems": _OWN_DETAIL,
    "forecast": _LEADERS, "breakdowns": _LEADERS, "screen": _LEADERS,
}
# Grants a setting adds to the table (setting → verb → role → scope); off by default.
BY_SETTING: dict[str, dict[str, dict[str, Scope]]] = {
    "captains_verify": {"verify": {"captain": "own"}},  # ZSBOT_CAPTAINS_VERIFY: captains verify their squad's
}
ROLE_NAMES = {"stranger": ("未加入的人", "people who have not joined"), "member": ("队员", "members"),
              "captain": ("队长", "captains"), "leader": ("领导", "leaders"), "admin": ("管理员", "admins")}


def role_of(stored_role: str, *, admin: bool, leader: bool) -> Role:
    """A member's role: admin or leader from the settings (any of their identities listed), else as stored."""
    if admin:
        return "admin"
    if leader or stored_role == "leader":
        return "leader"
    return "captain" if stored_role == "captain" else "member"


def scope_of(verb: str, role: str, settings: object = None) -> Scope:
    """What a role may do with a verb: none, self, own or any (with the grants `settings` switch on)."""
    for name, grants in BY_SETTING.items():
        if getattr(settings, name, False) and role in grants.get(verb, {}):
            return grants[verb][role]
    return POLICY.get(verb, {}).get(role, "none")


def allowed(verb: str, role: str, *, own_team: int | None, team_id: int | None, settings: object = None) -> bool:
    """Whether `role` may use `verb` on squad `team_id` (None: district-wide or no squad in particular)."""
    scope = scope_of(verb, role, settings)
    if scope == "any" or scope == "self":
        return True
    if scope == "own":
        return team_id is not None and own_team is not None and team_id == own_team
    return False


def dash_scope(page: str, role: str) -> Scope:
    """What a role may see of a dashboard page: none, own (its squad) or any."""
    return DASH_PAGES.get(page, {}).get(role, "none")


def dash_allowed(page: str, role: str, *, own_team: int | None, team_id: int | None) -> bool:
    """Whether `role` may open dashboard `page` about squad `team_id` (None: the district)."""
    scope = dash_scope(page, role)
    if scope == "any":
        return True
    if scope == "own":
        return team_id is not None and own_team is not None and team_id == own_team
    return False


def who_may(verb: str, lang: Lang, settings: object = None) -> str:
    """The roles that may use a verb, lowest first: 队长、领导和管理员."""
    names = [in_lang(lang, *ROLE_NAMES[role]) for role in ROLES[1:] if scope_of(verb, role, settings) != "none"]
    if len(names) == 1:
        return names[0]
    return say(lang, "list.separator").join(names[:-1]) + say(lang, "access.and") + names[-1]


# What each verb lets one do, for the refusal "只有…可以…" (one wording for every verb).
ACTIONS: dict[str, tuple[str, str]] = {
    "plan": ("新建项目", "create projects"), "pursue": ("更新项目阶段", "move projects"),
    "sign": ("登记签约", "record signings"), "land": ("登记落地", "record landings"),
    "note": ("记录进展", "record progress"), "visit": ("记录拜访", "record visits"),
    "problem": ("登记问题", "record problems"), "resolve": ("销号问题", "resolve problems"),
    "drop": ("放弃项目", "drop projects"), "edit": ("修改项目", "edit projects"),
    "expect": ("填写预计时间", "set expected dates"), "undo": ("撤销", "undo"),
    "funds": ("登记到位资金", "record funds in place"), "transfer": ("转交项目", "move projects between squads"),
    "clashes": ("看撞单清单", "see the first-contact clashes"),
    "assess": ("看小分队的考核明细", "see a squad's assessment"),
    "assess_rank": ("看考核排行", "see the assessment ranking"),
    "activity": ("看活跃指数", "see the activity index"),
    "reception": ("记录接待", "record receptions"), "promo": ("记录招商活动", "record promotion events"),
    "lead": ("登记线索", "record leads"), "publicity": ("记录宣传", "record publicity"),
    "verify": ("核实签约和落地", "verify signings and landings"),
    "find": ("查项目", "look up projects"), "rank": ("看排行", "see the ranking"),
    "mine": ("看小分队的项目", "list a squad's projects"), "problems": ("看问题清单", "see the problem list"),
    "status": ("看进度", "see progress"), "status_detail": ("看小分队的完整进度", "see a squad's full progress"),
    "status_district": ("看全区明细（按产业、区域、小分队）", "see the district's breakdowns"),
    "problem_texts": ("看问题详情", "read problem details"), "export": ("导出台账", "export the ledger"),
    "away": ("请假", "mark yourself away"), "join": ("加入小分队", "join a squad"),
    "link": ("关联账号", "link accounts"), "start": ("开始", "start"), "help": ("看帮助", "get help"),
    "choose": ("回答提问", "answer questions"), "target": ("设定目标", "set targets"),
    "invite": ("查看或更换邀请码", "see or rotate invite codes"), "settings": ("设置群推送", "change group posts"),
    "remove": ("移出队员", "remove members"), "appoint_captain": ("任免队长", "appoint or dismiss captains"),
    "appoint_leader": ("任免领导", "appoint or dismiss leaders"), "newteam": ("建队", "create squads"),
    "rename": ("给小分队改名", "rename squads"), "bind": ("绑定群", "bind groups"), "unbind": ("解绑群", "unbind groups"),
    "bind_list": ("查看本群绑定", "see this group's binding"),
    "bind_list_all": ("查看所有绑定（在群里发送「绑定」查看本群的）", "see every binding (send `bind` in a group for its own)"),
    "dashboard": ("打开驾驶舱", "open the dashboard"),
}

# A stranger's language is not known yet: they are told in both.
STRANGER = "\n".join(both("access.stranger"))


def check_verb(ctx: Context, verb: str) -> None:
    """Refuse, before any handler runs, a verb the sender's role may not use at all."""
    if scope_of(verb, ctx.role, ctx.settings) != "none":
        return
    if ctx.role == "stranger":
        raise Refusal(STRANGER)
    raise Refusal(ctx.say("access.only_roles", roles=who_may(verb, ctx.lang, ctx.settings), action=_action(ctx, verb)))


def require(ctx: Context, verb: str, *, team_id: int | None, target: str, squad: bool = False) -> None:
    """Refuse `verb` on a target outside the sender's scope: another squad's project, a squad not theirs
    (`squad=True`: the target names a squad), or the whole district (`team_id` None) for an own-squad scope.

    `target` names it in the sender's language (`ctx.say("access.squad", name=...)`).
    """
    own = ctx.member.team_id if ctx.member else None
    if allowed(verb, ctx.role, own_team=own, team_id=team_id, settings=ctx.settings):
        return
    check_verb(ctx, verb)
    if team_id is None:  # the district, to a role limited to its own squad
        wider = [role for role in ROLES if scope_of(verb, role, ctx.settings) == "any"]
        roles = ctx.say("access.and").join(in_lang(ctx.lang, *ROLE_NAMES[role]) for role in wider)
        raise Refusal(ctx.say("access.only_roles_for", target=target, roles=roles, action=_action(ctx, verb)))
    if squad:
        raise Refusal(ctx.say("access.not_your_squad", target=target, action=_action(ctx, verb)))
    raise Refusal(ctx.say("access.not_your_squads", target=target))


def _action(ctx: Context, verb: str) -> str:
    """What a verb does, in the sender's language (ACTIONS holds both)."""
    return in_lang(ctx.lang, *ACTIONS[verb])


def may(ctx: Context, verb: str, *, team_id: int | None) -> bool:
    """Whether the sender may (for parts of a reply: problem texts on a card)."""
    return allowed(verb, ctx.role, own_team=ctx.member.team_id if ctx.member else None, team_id=team_id,
                   settings=ctx.settings)
