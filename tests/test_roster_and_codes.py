"""Issue 15 through the real core, on SQLite and PostgreSQL: roles from the settings computed per message,
roles given in chat (confirmed, recorded, told), and running the roster from the chat (移出, 改名, 解绑,
绑定, moving squads). The codes (invite, link, lockout) are in test_roster_codes_guessing.py; the
verb × role × scope matrix in test_access_matrix.py."""

from __future__ import annotations

from sqlmodel import col, func, select

from storage.db import SessionFactory
from storage.models import ChatBinding, Event, Member, Team
from tests.helpers import ADMIN, Chat, Notices, make_core, squad_with_members


async def member(sessions: SessionFactory, name: str) -> Member:
    async with sessions() as session:
        return (await session.exec(select(Member).where(Member.name == name))).one()


async def events(sessions: SessionFactory, kind: str) -> list[Event]:
    async with sessions() as session:
        return list((await session.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id)))).all())


async def team_names(sessions: SessionFactory) -> list[str]:
    async with sessions() as session:
        return sorted((await session.exec(select(Team.name))).all())


def link_code(text: str) -> str:
    return text.split("关联码：", 1)[1].split("（", 1)[0]


# --- roles from the settings ------------------------------------------------------------------------------


async def test_an_admin_removed_from_the_settings_cannot_create_squads_after_a_restart(sessions, clock) -> None:
    """The settings are read on every message: the next Core without 老王 in ZSBOT_ADMINS refuses him."""
    before = Chat(make_core(sessions, clock, admins=["console:admin", "console:老王"]), clock)
    await before.ok("老王", "建队 甲队")
    after = Chat(make_core(sessions, clock, admins=["console:admin"]), clock)  # a restart without him
    reply = await after.refused("老王", "建队 乙队")
    assert reply.text == "只有管理员可以建队。"
    assert await team_names(sessions) == ["甲队"]
    assert (await member(sessions, "老王")).role == "member"  # nothing stored would bring it back


async def test_a_leader_removed_from_the_settings_loses_the_leaders_verbs(sessions, clock) -> None:
    before = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(before, "甲队", "队员甲")
    await before.ok("领导", "目标 签约 80")
    await before.ok("领导", "进度 甲队")
    after = Chat(make_core(sessions, clock, leaders=[]), clock)
    assert (await after.refused("领导", "目标 签约 90")).text == "只有领导和管理员可以设定目标。"
    # Now a member of no squad: not even a squad's drill-down.
    assert (await after.refused("领导", "进度 甲队")).text == "只有队长、领导和管理员可以看小分队的完整进度。"


async def test_an_identity_linked_to_an_admin_is_an_admin_only_while_the_setting_holds(sessions, clock) -> None:
    """关联 makes a second identity the same person: admin while the admin is listed, not after."""
    before = Chat(make_core(sessions, clock, admins=["console:admin"]), clock)
    code = link_code((await before.ok(ADMIN, "关联")).text)
    assert len(code) == 10
    await before.ok("99", f"关联 {code}", platform="telegram")
    await before.ok("99", "建队 甲队", platform="telegram")
    after = Chat(make_core(sessions, clock, admins=[]), clock)
    assert (await after.refused("99", "建队 乙队", platform="telegram")).text == "只有管理员可以建队。"
    assert (await after.refused(ADMIN, "建队 乙队")).text == "只有管理员可以建队。"
    assert await team_names(sessions) == ["甲队"]


async def test_a_linked_identity_has_the_persons_roles_and_no_more(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "甲队", "队员甲")
    await squad_with_members(chat, "乙队", "队员乙")
    number = (await chat.ok("队员乙", "谋划 格力电器 3亿")).text.split("#", 1)[1].split()[0]
    code = link_code((await chat.ok("队员甲", "关联")).text)
    await chat.ok("7", f"关联 {code}", platform="telegram")
    for text, refusal in (("建队 丙队", "只有管理员可以建队。"), ("目标 签约 80", "只有领导和管理员可以设定目标。"),
                          ("设为队长 队员甲", "只有领导和管理员可以任免队长。"),
                          ("邀请码 甲队", "只有队长、领导和管理员可以查看或更换邀请码。")):
        assert (await chat.refused("7", text, platform="telegram")).text == refusal
    reply = await chat.refused("7", f"进展 #{number} 路过看看", platform="telegram")
    assert "不属于你的小分队" in reply.text
    await chat.ok("7", "谋划 比亚迪电池 2亿", platform="telegram")  # what the person may do, it may
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Member))).one() == 3  # admin, 甲, 乙


# --- roles given in chat ----------------------------------------------------------------------------------


async def test_appointing_and_dismissing_a_captain_is_confirmed_recorded_and_told(sessions, clock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "甲队", "小李", "小王")
    question = await chat.ok(ADMIN, "设为队长 @小李")
    assert "将设 小李（甲队）为队长" in question.text
    assert (await member(sessions, "小李")).role == "member" and not await events(sessions, "role")
    assert notices.to("console:小李") == []
    reply = await chat.ok(ADMIN, "1")
    assert "已设 小李（甲队）为队长" in reply.text
    assert (await member(sessions, "小李")).role == "captain"
    assert notices.to("console:小李") == ["👑 admin 已设你为「甲队」的队长。发送「帮助」看你现在能做的事。"]
    await chat.ok("小李", "邀请码 甲队")  # a captain's verb now works

    await chat.ok(ADMIN, "取消队长 小李")
    assert (await member(sessions, "小李")).role == "captain"  # asked, not yet applied
    await chat.ok(ADMIN, "1")
    assert (await member(sessions, "小李")).role == "member"
    assert notices.to("console:小李")[-1] == "你已不再担任队长（admin 取消）。"
    assert [e.text for e in await events(sessions, "role")] == ["小李: member → captain", "小李: captain → member"]
    assert (await chat.refused("小李", "邀请码 甲队")).text == "只有队长、领导和管理员可以查看或更换邀请码。"


async def test_only_admins_appoint_leaders_and_a_leader_is_revocable(sessions, clock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices, leaders=["console:领导", "console:李局长"]), clock)
    await squad_with_members(chat, "甲队", "小李", "小王")
    assert (await chat.refused("领导", "设为领导 小李")).text == "只有管理员可以任免领导。"
    await chat.ok(ADMIN, "设为领导 小李")
    assert (await member(sessions, "小李")).role == "member"
    await chat.ok(ADMIN, "1")
    assert (await member(sessions, "小李")).role == "leader"
    assert notices.to("console:小李") == ["👑 admin 已设你为全区领导。发送「帮助」看你现在能做的事。"]
    await chat.ok("小李", "目标 签约 80")
    await chat.ok(ADMIN, "取消领导 小李")
    await chat.ok(ADMIN, "1")
    assert notices.to("console:小李")[-1] == "你已不再担任领导（admin 取消）。"
    assert (await chat.refused("小李", "目标 签约 90")).text == "只有领导和管理员可以设定目标。"
    assert [e.text for e in await events(sessions, "role")] == ["小李: member → leader", "小李: leader → member"]
    await chat.ok("李局长", "帮助")  # a leader from the settings: the chat cannot take that back
    refused = await chat.refused(ADMIN, "取消领导 李局长")
    assert "来自服务器设置" in refused.text and "ZSBOT_LEADERS" in refused.text


async def test_a_captain_appoints_no_leader_and_a_member_no_captain(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "甲队", "老张", "小李")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    assert (await chat.refused("老张", "设为领导 小李")).text == "只有管理员可以任免领导。"
    assert (await chat.refused("小李", "设为队长 小李")).text == "只有领导和管理员可以任免队长。"
    assert (await chat.refused("小李", "取消队长 老张")).text == "只有领导和管理员可以任免队长。"
    assert (await member(sessions, "小李")).role == "member" and (await member(sessions, "老张")).role == "captain"
    assert len(await events(sessions, "role")) == 1


async def test_a_leader_given_in_chat_keeps_the_role_through_captain_verbs(sessions, clock) -> None:
    """Only an admin takes a leader's role back: a leader's 设为队长 would have made them a mere captain, and a
    captain's 移出 reset them to member."""
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(chat, "甲队", "老张", "小李")
    for text in ("设为队长 老张", "1", "设为领导 小李", "1"):
        await chat.ok(ADMIN, text)
    reply = await chat.refused("领导", "设为队长 小李")
    assert reply.text.startswith("小李 是领导，本来就能做队长能做的事")
    assert (await member(sessions, "小李")).role == "leader"
    await chat.ok("老张", "移出 小李")
    await chat.ok("老张", "1")
    li = await member(sessions, "小李")
    assert (li.team_id, li.role) == (None, "leader")
    await chat.ok("小李", "目标 签约 80")


async def test_a_captain_rotates_the_invite_code_and_the_old_one_stops_working(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    old = await squad_with_members(chat, "甲队", "老张")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    reply = await chat.ok("老张", "邀请码 甲队 换")
    new = reply.text.split("新邀请码：", 1)[1].split("（", 1)[0]
    assert reply.text == f"🔑 「甲队」的新邀请码：{new}（旧码已失效）" and new != old and len(new) == 6
    assert (await chat.refused("小张", f"加入 {old}")).text == "邀请码不对，请向队长或管理员核对。"
    await chat.ok("小赵", f"加入 {new}")
    assert (await member(sessions, "小赵")).team_id is not None
    await chat.ok("老张", "邀请码 换")  # alone: the captain's own squad
    assert (await chat.refused("小钱", f"加入 {new}")).text == "邀请码不对，请向队长或管理员核对。"


# --- the roster from the chat -----------------------------------------------------------------------------


async def test_removing_a_member_is_confirmed_recorded_and_told(sessions, clock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "甲队", "老张", "小李")
    await squad_with_members(chat, "乙队", "小周")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    assert (await chat.refused("小李", "移出 老张")).text == "只有队长、领导和管理员可以移出队员。"
    assert (await chat.refused("老张", "移出 小周")).text == "「乙队」不是你的小分队：移出队员只限本队。"
    question = await chat.ok("老张", "移出 小李")
    assert "将把 小李 移出「甲队」（历史报送保留）" in question.text
    assert (await member(sessions, "小李")).team_id is not None and not await events(sessions, "roster")
    reply = await chat.ok("老张", "1")
    assert "已将 小李 移出「甲队」" in reply.text
    assert (await member(sessions, "小李")).team_id is None
    assert [e.text for e in await events(sessions, "roster")] == ["小李 ✕ 甲队"]
    assert notices.to("console:小李") == [
        "你已被移出「甲队」。如需加入其他小分队，请向队长索取邀请码后发送「加入 邀请码」。"]


async def test_renaming_a_squad_is_confirmed_and_admins_only(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(chat, "德化街", "老张")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    for who in ("老张", "领导"):
        assert (await chat.refused(who, "改名 德化街 德化街道")).text == "只有管理员可以给小分队改名。"
    question = await chat.ok(ADMIN, "改名 德化街 德化街道")
    assert "将把「德化街」改名为「德化街道」" in question.text and await team_names(sessions) == ["德化街"]
    assert (await chat.ok(ADMIN, "1")).text.startswith("✅ 已改名：德化街 → 德化街道")
    assert await team_names(sessions) == ["德化街道"]
    assert [e.text for e in await events(sessions, "team")] == ["德化街 → 德化街道"]
    await chat.ok("老张", "进度 德化街道")  # the captain's squad under its new name


async def test_binding_twice_keeps_one_row_and_bind_alone_lists_it(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock), clock)
    await squad_with_members(chat, "甲队", "小李")
    await squad_with_members(chat, "乙队")
    assert (await chat.ok("小李", "绑定", chat="群1", group=True)).text.startswith("本群还没有绑定。")
    await chat.ok(ADMIN, "绑定 甲队", chat="群1", group=True)
    again = await chat.ok(ADMIN, "绑定 乙队", chat="群1", group=True)
    assert "（原有绑定已更新，不会重复推送）" in again.text
    async with sessions() as session:
        rows = (await session.exec(select(ChatBinding))).all()
    assert len(rows) == 1
    assert (await chat.ok("小李", "绑定", chat="群1", group=True)).text == "🔗 本群：console 群 → 乙队"
    await chat.ok(ADMIN, "绑定 甲队", chat="群2", group=True)
    listing = await chat.ok(ADMIN, "绑定")  # in private: every binding, for an admin only
    assert listing.text.splitlines() == ["🔗 已绑定 2 个：", "· console 群 → 乙队", "· console 群 → 甲队"]
    assert (await chat.refused("小李", "绑定")).text.startswith("只有管理员可以查看所有绑定")


async def test_unbinding_is_confirmed_recorded_and_admins_only(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(chat, "甲队", "小李")
    await chat.ok(ADMIN, "绑定 甲队", chat="群1", group=True)
    for who in ("小李", "领导"):
        assert (await chat.refused(who, "解绑", chat="群1", group=True)).text == "只有管理员可以解绑群。"
    question = await chat.ok(ADMIN, "解绑", chat="群1", group=True)
    assert "将解除绑定：console 群 → 甲队" in question.text
    async with sessions() as session:
        assert len((await session.exec(select(ChatBinding))).all()) == 1
    assert (await chat.ok(ADMIN, "1", chat="群1", group=True)).text.startswith("✅ 已解除绑定：console 群 → 甲队")
    async with sessions() as session:
        assert (await session.exec(select(ChatBinding))).all() == []
    assert [e.text for e in await events(sessions, "binding")] == ["✕ console 群 → 甲队"]


async def test_moving_squads_with_an_invite_code_asks_first_and_tells_the_old_captain(sessions, clock) -> None:
    notices = Notices()
    chat = Chat(make_core(sessions, clock, notifier=notices), clock)
    await squad_with_members(chat, "甲队", "老张", "小李")
    code = await squad_with_members(chat, "乙队")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    jia = (await member(sessions, "小李")).team_id
    told = len(notices.to("console:老张"))  # the appointment
    question = await chat.ok("小李", f"加入 {code}")
    assert "你现在在「甲队」，要转到「乙队」吗？" in question.text
    assert (await member(sessions, "小李")).team_id == jia and len(notices.to("console:老张")) == told
    assert (await chat.ok("小李", "1")).text.startswith("✅ 已转入「乙队」。")
    assert (await member(sessions, "小李")).team_id != jia
    assert notices.to("console:老张")[told:] == ["📤 小李 已从「甲队」转到「乙队」。"]
    assert [e.text for e in await events(sessions, "roster")] == ["小李 → 乙队"]
    await chat.ok("老张", f"加入 {code}")
    await chat.ok("老张", "1")  # the captain moves: no notice to themselves about it
    assert notices.to("console:老张")[-1] == "📤 小李 已从「甲队」转到「乙队」。"
