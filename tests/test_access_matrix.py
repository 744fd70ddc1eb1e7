"""The access policy's matrix: every verb × role × scope, through the real core, on both backends.

For each key of `handlers.access.POLICY` and each role, the case sends a real message about a target in the
sender's own squad (甲队), in another squad (乙队), or about the district as a whole, and checks what the
table says happens: allowed (the handler ran), or refused with the refusal of its kind. The expectation is
computed from the table itself, so the table is the one place a permission lives and this test checks that
the code does what it says; the wording of each kind of refusal is checked exactly once, below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from bot.dashboard.links import SignedLinks
from bot.settings import Settings
from handlers import access
from handlers.catalog import load_catalog
from handlers.messages import Reply
from handlers.parse import parse
from handlers.routes import HANDLERS, policy_verb
from tests.helpers import ADMIN, Chat, MovableClock, make_core, squad_with_members

ROLE_USERS = {"stranger": "路人", "member": "队员甲", "captain": "队长甲", "leader": "领导", "admin": ADMIN}
# Names no two of which look alike (a look-alike name would be asked about, not created).
PROJECT_NAMES = ("华润万象城", "杉杉奥特莱斯", "比亚迪电池", "宁德时代基地", "蜜雪冰城总部", "胖东来商场", "京东物流园",
                 "顺丰速运中心", "海底捞工厂", "格力电器", "隆基绿能", "中原银行大厦", "宇通客车", "三全食品",
                 "思念食品", "好想你枣业", "白象方便面", "正弘城", "丹尼斯百货", "郑州银行")


@dataclass
class World:
    """Two squads, each with a bound group; a member and a captain of 甲队, a member of 乙队; a leader from
    the settings; a stranger; and the console admin."""

    chat: Chat
    codes: dict[str, str]
    names: Iterator[str] = field(default_factory=lambda: iter(PROJECT_NAMES))

    async def project(self, squad: str, *, stage: str = "谋划", problem: bool = False) -> int:
        """A fresh project of `squad`, reported by its member."""
        author = "队员甲" if squad == "甲队" else "队员乙"
        reply = await self.chat.ok(author, f"{stage} {next(self.names)} 3亿")
        number = int(reply.text.split("#", 1)[1].split()[0])
        if problem:
            await self.chat.ok(author, f"问题 #{number} 用地 缺少用地指标")
        return number

    async def send(self, role: str, text: str, *, group: str | None = None) -> Reply:
        """`text` from the user playing `role` (in a bound group when given)."""
        return await self.chat.say(ROLE_USERS[role], text, chat=group, group=group is not None)


async def make_world(sessions, clock: MovableClock) -> World:
    links = SignedLinks(Settings(_env_file=None, dash_secret="matrix", public_url="http://127.0.0.1"))  # type: ignore[call-arg]
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"], dash=links), clock)
    codes = {"甲队": await squad_with_members(chat, "甲队", "队员甲", "队长甲"),
             "乙队": await squad_with_members(chat, "乙队", "队员乙")}
    await chat.ok(ADMIN, "设为队长 队长甲")
    await chat.ok(ADMIN, "1")
    await chat.ok(ADMIN, "绑定 甲队", chat="群甲", group=True)
    await chat.ok(ADMIN, "绑定 乙队", chat="群乙", group=True)
    return World(chat, codes)


Send = Callable[[World, str], Awaitable[Reply]]


def _on_project(form: str, *, stage: str = "谋划", problem: bool = False, squad: str = "甲队") -> Send:
    """A message about a fresh project of `squad` (`form` has {n} for its number)."""
    async def send(world: World, role: str) -> Reply:
        number = await world.project(squad, stage=stage, problem=problem)
        return await world.send(role, form.format(n=number))
    return send


def _text(text: str, *, group: str | None = None) -> Send:
    async def send(world: World, role: str) -> Reply:
        return await world.send(role, text, group=group)
    return send


async def _undo_own(world: World, role: str) -> Reply:
    number = await world.project("甲队")
    await world.send(role, f"进展 #{number} 矩阵里记一笔")
    return await world.send(role, "撤销")


async def _join(world: World, role: str) -> Reply:
    return await world.send(role, f"加入 {world.codes['甲队']}")


async def _link_use(world: World, role: str) -> Reply:
    code = (await world.chat.ok("队员乙", "关联")).text.split("关联码：", 1)[1].split("（", 1)[0]
    return await world.send(role, f"关联 {code}")


async def _choose(world: World, role: str) -> Reply:
    await world.send(role, "帮助 签约")  # no question open: 1 says so, and is answered, not refused by role
    return await world.send(role, "1")


def _both(squad_form: str, *, group: bool = False) -> dict[str, Send]:
    """The same message about 甲队 (own) and 乙队 (other)."""
    if group:
        return {"own": _text(squad_form.format(squad="甲队"), group="群甲"),
                "other": _text(squad_form.format(squad="乙队"), group="群乙")}
    return {"own": _text(squad_form.format(squad="甲队")), "other": _text(squad_form.format(squad="乙队"))}


def _project_both(form: str, **kwargs: object) -> dict[str, Send]:
    return {"own": _on_project(form, squad="甲队", **kwargs),  # type: ignore[arg-type]
            "other": _on_project(form, squad="乙队", **kwargs)}  # type: ignore[arg-type]


# policy key → target → the message that uses it. Targets: own (甲队's), other (乙队's), none (no squad:
# the district, oneself, this chat).
CASES: dict[str, dict[str, Send]] = {
    "plan": _project_both("谋划 #{n} 5亿"),
    "pursue": _project_both("招引 #{n}"),
    "sign": _project_both("签约 #{n}"),
    "land": _project_both("落地 #{n}"),
    "note": _project_both("进展 #{n} 第三轮洽谈结束"),
    "visit": _project_both("拜访 #{n} 上海"),
    "problem": _project_both("问题 #{n} 资金 配套资金未落实"),
    "resolve": _project_both("解决 #{n}", problem=True),
    "drop": _project_both("放弃 #{n} 企业调整投资计划"),
    "edit": _project_both("改 #{n} 金额 4亿"),
    "expect": _project_both("预计 #{n} 签约 12月"),
    "verify": _project_both("核实 #{n}", stage="签约"),
    "find": _project_both("查 #{n}"),
    "funds": _project_both("到位 #{n} 5000万", stage="签约"),
    "transfer": {"own": _on_project("转交 #{n} 乙队", squad="甲队"), "other": _on_project("转交 #{n} 甲队", squad="乙队")},
    "clashes": {"own": _text("撞单")},
    "assess": _both("考核 {squad}"),
    "assess_rank": {"none": _text("考核 排行")},
    "activity": {"none": _text("活跃")},
    "reception": _project_both("接待 #{n} 公司:华夏幸福集团"),
    "promo": {"own": _text("活动 推介会 @深圳 30家")},
    "lead": {"own": _text("线索 宁德时代 新材料 @宁德")},
    "publicity": {"own": _text("宣传 河南日报 报道我区招商成果")},
    "undo": {"none": _undo_own},
    "rank": {"none": _text("排行")},
    "mine": _both("我的 {squad}"),
    "problems": _both("问题清单 {squad}"),
    "status": {"none": _text("进度")},
    "status_detail": _both("进度 {squad}"),
    "status_district": {"none": _text("进度 按产业")},
    "problem_texts": _project_both("查 #{n}", problem=True),
    "export": {"own": _text("导出")},
    "away": {"none": _text("请假 明天")},
    "join": {"none": _join},
    "link": {"none": _link_use},
    "start": {"none": _text("/start")},
    "help": {"none": _text("帮助")},
    "choose": {"none": _choose},
    "target": {**_both("目标 {squad} 签约 10"), "none": _text("目标 签约 80")},
    "invite": _both("邀请码 {squad}"),
    "settings": _both("设置 排行 08:30", group=True),
    "remove": {"own": _text("移出 队员甲"), "other": _text("移出 队员乙")},
    "appoint_captain": {"own": _text("设为队长 队员甲"), "other": _text("设为队长 队员乙")},
    "appoint_leader": {"own": _text("设为领导 队员甲"), "other": _text("设为领导 队员乙")},
    "newteam": {"none": _text("建队 丙队")},
    "rename": {"none": _text("改名 乙队 乙队新")},
    "bind": {"none": _text("绑定 乙队", group="新群")},
    "unbind": {"none": _text("解绑", group="群乙")},
    "bind_list": {"none": _text("绑定", group="群甲")},
    "bind_list_all": {"none": _text("绑定")},
    "dashboard": {"none": _text("看板")},
}

# Outcomes the table alone does not say: a member naming their own squad in 进度 gets their usual view (the
# district and their squad), not the captains' drill-down and not a refusal.
NARROWED = {("status_detail", "member", "own")}


def expected(key: str, role: str, target: str) -> str:
    """allowed, or the kind of refusal: stranger, role, project, squad, district."""
    if (key, role, target) in NARROWED:
        return "narrowed"
    scope = access.scope_of(key, role)
    if role == "stranger" and scope == "none":
        return "stranger"
    if scope == "none":
        return "role"
    if scope == "own" and target == "other":
        return "squad" if key in ("mine", "problems", "status_detail", "invite", "remove", "appoint_captain",
                                  "target", "assess") else "project"
    if scope == "own" and target == "none" and key not in ("export",):
        return "district"
    return "allowed"


def kind_of(reply: Reply, key: str) -> str:
    """What a reply is, in the matrix's terms."""
    text = reply.text
    if text == access.STRANGER:
        return "stranger"
    action_zh = access.ACTIONS[key][0]
    if text.startswith("只有") and text.endswith(f"可以{action_zh}。"):
        return "role"
    if "不是你的小分队" in text:
        return "squad"
    if "不属于你的小分队" in text:
        return "project"
    if not text.startswith("只有") and text.endswith(f"只有领导和管理员可以{action_zh}。"):
        return "district"
    return "answered"


def _matrix() -> list[tuple[str, str, str]]:
    return [(key, role, target) for key in CASES for target in CASES[key] for role in access.ROLES]


def test_every_policy_key_and_every_handler_is_in_the_matrix() -> None:
    """Nothing escapes the table: each handler's verb has a policy row, and each row has cases."""
    assert set(CASES) == set(access.POLICY)
    catalog = load_catalog(None)
    verbs = {policy_verb(parse(text, catalog=catalog)) for text in ("设为队长 小李", "设为领导 小李", "绑定", "绑定 甲队")}
    assert {"appoint_captain", "appoint_leader", "bind_list", "bind"} <= verbs
    for verb in HANDLERS:
        assert verb in access.POLICY or verb in ("appoint", "dismiss"), f"{verb} has no row in the policy"
    for key, row in access.POLICY.items():
        assert set(row) <= set(access.ROLES), key
        assert key in access.ACTIONS, f"{key} has no words for its refusal"


@pytest.mark.parametrize("key", list(CASES))
async def test_matrix(key: str, sessions, clock: MovableClock) -> None:
    """Every role and target of one policy key: allowed where the table says, refused by kind elsewhere."""
    world = await make_world(sessions, clock)  # one per key: each case makes its own projects
    failures = []
    for target, send in CASES[key].items():
        for role in access.ROLES:
            want = expected(key, role, target)
            reply = await send(world, role)
            got = kind_of(reply, key)
            if want == "allowed":
                # 1 with no question open, or a link code for an account with history: answered, not refused
                ok = got == "answered" and (reply.ok or key in ("choose", "link"))
                if key == "problem_texts":
                    ok = ok and "缺少用地指标" in reply.text
            elif want == "narrowed":
                ok = reply.ok and reply.text.startswith("📊 全区进度")
            elif key == "problem_texts":  # a card anyone may read, with the problem's words held back
                ok = reply.ok and "缺少用地指标" not in reply.text and "土地" in reply.text if role != "stranger" \
                    else got == "stranger"
            else:
                ok = got == want and not reply.ok
            if not ok:
                failures.append(f"{role} × {target}: want {want}, got {got}: {reply.text[:120]!r}")
    assert not failures, f"{key}:\n" + "\n".join(failures)
