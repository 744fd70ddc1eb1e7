"""Issue 15's codes through the real core, on SQLite and PostgreSQL: wrong invite and link codes counted in
the database (shared by two cores, as by two workers), the lockout and its end, the same answer for a wrong
and an expired link code, the owner told, district-wide voiding and the admins' warning; each kind of
refusal's exact wording; and the README's roles table and numbers, checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from handlers import access, codes
from handlers.codes import new_invite_code
from handlers.people import LINK_CODE_LIFETIME
from storage.db import SessionFactory
from storage.models import Member
from tests.helpers import ADMIN, Chat, MovableClock, Notices, make_core, squad_with_members

WRONG_INVITE = "邀请码不对，请向队长或管理员核对。"
WRONG_LINK = "关联码不对或已过期，请重新发送「关联」获取。"
INVITE_LOCKED = "邀请码输错次数太多，请 10 分钟后再试。"
LINK_LOCKED = "关联码输错次数太多，请 10 分钟后再试。"


def link_code(text: str) -> str:
    return text.split("关联码：", 1)[1].split("（", 1)[0]


async def team_of(sessions: SessionFactory, name: str) -> int | None:
    async with sessions() as session:
        found = (await session.exec(select(Member).where(Member.name == name))).first()
    return found.team_id if found else None


README = Path(__file__).parents[1] / "README.md"
CELLS = {"none": "—", "self": "self", "own": "own", "any": "any"}


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## 角色与权限 / Roles and scopes", 1)[1].split("\n## ", 1)[0]


def test_the_readme_roles_table_is_the_access_policy() -> None:
    """Each row of the README's table names policy keys and the scope of each role: exactly the table's."""
    seen: list[str] = []
    for line in readme_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        keys = re.findall(r"`(\w+)`", cells[1]) if len(cells) == 2 + len(access.ROLES) else []
        for key in keys:
            seen.append(key)
            assert cells[2:] == [CELLS[access.scope_of(key, role)] for role in access.ROLES], key
    assert sorted(seen) == sorted(access.POLICY)
    assert access.BY_SETTING == {"captains_verify": {"verify": {"captain": "own"}}}  # the one setting described


def test_the_readme_states_the_codes_limits() -> None:
    """The README's numbers are the constants: 5 wrong in 10 minutes, 10-character link codes for 15 minutes,
    6-character invite codes, 30 and 100 district-wide."""
    section = readme_section()
    minutes = int(codes.ATTEMPT_WINDOW.total_seconds() // 60)
    for claim in (f"after {codes.PER_IDENTITY} wrong codes of a kind (invite or link) within {minutes} minutes",
                  f"{codes.DISTRICT_WIDE['link']} wrong link codes within {minutes} minutes",
                  f"{codes.DISTRICT_WIDE['invite']} wrong invite codes within {minutes} minutes",
                  f"Link codes (`关联`): {codes.LINK_CODE_LENGTH} characters of the same alphabet, valid "
                  f"{int(LINK_CODE_LIFETIME.total_seconds() // 60)} minutes",
                  f"{len(new_invite_code())} characters of `{codes.ALPHABET}`"):
        assert claim in " ".join(section.split()), claim


async def test_five_wrong_invite_codes_lock_an_identity_across_two_cores_until_the_window_ends(
        sessions, clock: MovableClock) -> None:
    """Counted in the database: three wrong tries on one core and two on another lock the guesser on both;
    even the right code waits; ten minutes later it works."""
    first = Chat(make_core(sessions, clock), clock)
    second = Chat(make_core(sessions, clock), clock)  # a second worker on the same database
    code = await squad_with_members(first, "甲队")
    for chat in (first, first, first, second, second):
        assert (await chat.refused("猜", "加入 ZZZZZZ")).text == WRONG_INVITE
        clock.advance(seconds=30)
    for chat in (first, second):
        assert (await chat.refused("猜", f"加入 {code}")).text == INVITE_LOCKED
    await first.ok("别人", f"加入 {code}")  # per identity: someone else is not locked out
    clock.advance(minutes=8)  # the first wrong try is now more than 10 minutes old: one more is allowed
    assert (await second.refused("猜", "加入 ZZZZZY")).text == WRONG_INVITE
    assert (await second.refused("猜", f"加入 {code}")).text == INVITE_LOCKED
    clock.advance(minutes=10, seconds=1)
    await second.ok("猜", f"加入 {code}")
    assert await team_of(sessions, "猜") is not None


async def test_a_redelivered_wrong_code_is_answered_alike_and_counted_once(sessions, clock: MovableClock) -> None:
    """A platform redelivers the same guess (same message id) five times: one wrong try, not a lockout."""
    chat = Chat(make_core(sessions, clock), clock)
    code = await squad_with_members(chat, "甲队")
    for _ in range(5):
        assert (await chat.refused("猜", "加入 ZZZZZZ", message_id="tg-777")).text == WRONG_INVITE
    await chat.ok("猜", f"加入 {code}")


async def test_link_codes_are_long_expire_answer_alike_and_tell_the_owner(sessions, clock: MovableClock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "甲队", "小李", "小王")
    code = link_code((await chat.ok("小李", "关联")).text)
    assert len(code) == codes.LINK_CODE_LENGTH and set(code) <= set(codes.ALPHABET)
    clock.advance(minutes=15, seconds=1)
    expired = await chat.refused("11", f"关联 {code}", platform="telegram")
    wrong = await chat.refused("12", "关联 ABCDEFGHJK", platform="telegram")
    assert expired.text == wrong.text == WRONG_LINK
    code = link_code((await chat.ok("小李", "关联")).text)
    await chat.ok("11", f"关联 {code.lower()}", platform="telegram")
    assert notices.to("console:小李") == ["🔗 你的关联码刚被使用：Telegram账号「11」现在和你是同一人。如果不是你本人操作，请马上告诉管理员。"]
    assert (await chat.refused("13", f"关联 {code}", platform="telegram")).text == WRONG_LINK  # used once only


async def test_five_wrong_link_codes_lock_the_guesser(sessions, clock: MovableClock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "甲队", "小李")
    code = link_code((await chat.ok("小李", "关联")).text)
    for index in range(codes.PER_IDENTITY):
        assert (await chat.refused("21", f"关联 WRONGCODE{index}", platform="telegram")).text == WRONG_LINK
    assert (await chat.refused("21", f"关联 {code}", platform="telegram")).text == LINK_LOCKED
    await chat.ok("22", f"关联 {code}", platform="telegram")  # the code itself is still good for its owner


async def test_many_wrong_link_codes_void_every_open_one_and_tell_their_owners(
        sessions, clock: MovableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(codes.DISTRICT_WIDE, "link", 3)
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "甲队", "小李", "小王", "小赵")
    li = link_code((await chat.ok("小李", "关联")).text)
    wang = link_code((await chat.ok("小王", "关联")).text)
    for guesser in ("31", "32"):
        await chat.refused(guesser, "关联 WRONGCODE2", platform="telegram")
    assert notices.sent == []
    await chat.refused("33", "关联 WRONGCODE3", platform="telegram")  # the third, from a third identity
    assert notices.to("console:小李") == notices.to("console:小王") == [codes.VOIDED_NOTICE]
    assert notices.to("console:小赵") == []  # no open code, nothing to void
    for index, code in enumerate((li, wang)):
        assert (await chat.refused(f"4{index}", f"关联 {code}", platform="telegram")).text == WRONG_LINK


async def test_many_wrong_invite_codes_tell_the_admins_once(
        sessions, clock: MovableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(codes.DISTRICT_WIDE, "invite", 3)
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices, admins=["console:admin", "console:管理员二"]), clock)
    code = await squad_with_members(chat, "甲队", "小李")
    await chat.ok("管理员二", "帮助")
    for guesser in ("51", "52", "53", "54", "55"):
        await chat.refused(guesser, "加入 WRONG1", platform="telegram")
    warning = ("⚠️ 10 分钟内有 3 次输错邀请码，可能有人在猜。邀请码换新后旧码即失效："
               "发送「邀请码 队名 换」，再把新码发给队员。")
    assert notices.to(f"console:{ADMIN}") == notices.to("console:管理员二") == [warning]
    assert notices.to("console:小李") == []
    await chat.ok("56", f"加入 {code}", platform="telegram")  # invite codes keep working until rotated
    clock.advance(minutes=11)  # a new window: guessing again warns again, once
    for guesser in ("61", "62", "63", "64"):
        await chat.refused(guesser, "加入 WRONG2", platform="telegram")
    assert notices.to(f"console:{ADMIN}") == [warning, warning]


# --- the wording of each kind of refusal, exactly once ------------------------------------------------------


async def test_each_kind_of_refusal_has_its_wording(sessions, clock: MovableClock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(chat, "甲队", "队员甲", "老张")
    await squad_with_members(chat, "乙队", "队员乙")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    await chat.ok(ADMIN, "绑定 领导", chat="领导群", group=True)
    number = (await chat.ok("队员乙", "谋划 格力电器 3亿")).text.split("#", 1)[1].split()[0]

    stranger = await chat.refused("路人", "谋划 比亚迪电池 2亿")
    assert stranger.text == access.STRANGER == (
        "你还不是小分队成员，暂时不能使用。请向队长索取邀请码，然后发送「加入 邀请码」。\n"
        "You are not a squad member yet. Ask your leader for the invite code and send `join <code>`.")
    assert (await chat.refused("队员甲", "建队 丙队")).text == "只有管理员可以建队。"
    assert (await chat.refused("队员甲", "newteam Squad3")).text == "Only admins can create squads."
    assert (await chat.refused("队员甲", f"进展 #{number} 顺路看看")).text == (
        f"#{number}不属于你的小分队：只有本队成员、队长或领导可以这样做。")
    assert (await chat.refused("老张", "邀请码 乙队")).text == "「乙队」不是你的小分队：查看或更换邀请码只限本队。"
    assert (await chat.refused("老张", "设置 排行 08:30", chat="领导群", group=True)).text == (
        "本群只有领导和管理员可以设置群推送。")
