"""Running the district from the chat: appoint and dismiss captains (and, for admins, leaders), take a
member out of a squad, rename a squad, list and remove bindings.

Every change is shown first and applied only when confirmed (the handler asks with `NeedsChoice`; the
confirmed command carries flag "confirmed"), is recorded as an event, and tells the person it is about.
Who may do which is the access policy's (handlers.access): the handler names the squad it touches.
"""

from __future__ import annotations

from dataclasses import replace

from handlers import access
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command
from handlers.context import Context
from handlers.messages import Reply
from handlers.records import headline_for, record_event
from handlers.refusal import refuse
from storage import bindings, queries, roster_queries
from storage.models import ChatBinding, Member

ROLE_WORDS = {"captain": ("队长", "captain"), "leader": ("领导", "leader")}


async def _person(ctx: Context, cmd: Command, *, prefer_team: int | None = None) -> Member:
    """The member a command names: `#id` once chosen, else by name (in `prefer_team` first, so a captain's
    小李 is their own squad's); several of that name are asked about."""
    value = (cmd.value or "").strip()
    if value.startswith("#") and value[1:].isdigit():
        member = await roster_queries.member_by_id(ctx.session, member_id=int(value[1:]))
        if member is not None:
            return member
    found: list[Member] = []
    if prefer_team is not None:
        found = list(await roster_queries.members_named(ctx.session, name=value.lstrip("#"), team_id=prefer_team))
    if not found:
        found = list(await roster_queries.members_named(ctx.session, name=value.lstrip("#"), team_id=None))
    if not found:
        raise refuse(ctx, f"没有叫「{value}」的队员。", f'No member is called "{value}".', cmd.verb)
    if len(found) > 1:
        teams = await queries.team_names_by_id(ctx.session, team_ids={m.team_id for m in found if m.team_id})
        raise NeedsChoice(
            f"有 {len(found)} 位叫「{value}」的队员，是哪一位？", f'{len(found)} members are called "{value}"; which one?',
            [Choice(f"{m.name}（{teams.get(m.team_id or 0, '未入队')}）", f"{m.name} ({teams.get(m.team_id or 0, '-')})",
                    replace(cmd, value=f"#{m.id}")) for m in found],
            confirm=False,
        )
    return found[0]


def _confirm(ctx: Context, cmd: Command, member: Member | None, zh: str, en: str) -> None:
    """Ask before applying (the confirmed command names the person by id, so the answer is exact)."""
    if cmd.flag == "confirmed":
        return
    value = f"#{member.id}" if member is not None else cmd.value
    raise NeedsChoice(zh, en, [Choice("确认", "confirm", replace(cmd, value=value, flag="confirmed"))], confirm=True)


async def _team_label(ctx: Context, team_id: int | None) -> str:
    team = await queries.team_by_id(ctx.session, team_id=team_id) if team_id else None
    return team.name if team else ctx.t("未入队", "no squad")


async def handle_appoint(cmd: Command, ctx: Context) -> Reply:
    """appoint: make someone a captain of their squad (leaders, admins) or a district leader (admins)."""
    kind = cmd.kind or "captain"
    person = await _person(ctx, cmd)
    squad = await _team_label(ctx, person.team_id)
    access.require(ctx, "appoint_leader" if kind == "leader" else "appoint_captain", team_id=person.team_id,
                   target_zh=f"「{squad}」", target_en=f'"{squad}"', squad=True)
    zh, en = ROLE_WORDS[kind]
    if kind == "captain" and person.team_id is None:
        raise refuse(ctx, f"{person.name} 还没有加入小分队，不能当队长。", f"{person.name} is in no squad yet.")
    if person.role == kind:
        raise refuse(ctx, f"{person.name} 已经是{zh}了。", f"{person.name} is already a {en}.", unchanged=True)
    if kind == "captain" and person.role == "leader":
        # Making a leader a captain would take their leader role away: that is 取消领导, an admin's alone.
        raise refuse(ctx, f"{person.name} 是领导，本来就能做队长能做的事；要改为队长，请管理员先发送「取消领导 {person.name}」。",
                     f"{person.name} is a leader and can already do what a captain does; an admin dismisses "
                     f"leaders first.", unchanged=True)
    _confirm(ctx, cmd, person, f"将设 {person.name}（{squad}）为{zh}：", f"This makes {person.name} ({squad}) a {en}:")
    before = person.role
    person.role = kind
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="role", team_id=person.team_id, text=f"{person.name}: {before} → {kind}",
                       data={"member_id": person.id, "before": before, "after": kind})
    where = f"「{squad}」的" if kind == "captain" else "全区"
    ctx.tell(person.id, f"👑 {ctx.member.name if ctx.member else '管理员'} 已设你为{where}{zh}。发送「帮助」看你现在能做的事。")
    return Reply(text=headline_for(ctx, ctx.t(f"👑 已设 {person.name}（{squad}）为{zh}",
                                              f"👑 {person.name} ({squad}) is now a {en}")))


async def handle_dismiss(cmd: Command, ctx: Context) -> Reply:
    """dismiss: take back a captain's (or, for admins, a leader's) role; they stay in their squad."""
    kind = cmd.kind or "captain"
    person = await _person(ctx, cmd)
    squad = await _team_label(ctx, person.team_id)
    access.require(ctx, "appoint_leader" if kind == "leader" else "appoint_captain", team_id=person.team_id,
                   target_zh=f"「{squad}」", target_en=f'"{squad}"', squad=True)
    zh, en = ROLE_WORDS[kind]
    if person.role != kind:
        if kind == "leader" and person.id is not None:
            setting = set(await roster_queries.identities_of(ctx.session, member_id=person.id)) & {
                *ctx.settings.leaders, *ctx.settings.admins}
            if setting:  # a role from the settings is not the chat's to take back
                raise refuse(ctx, f"{person.name} 的领导身份来自服务器设置（ZSBOT_LEADERS / ZSBOT_ADMINS），"
                                  "不能在聊天中取消：请从设置中去掉并重启。",
                             f"{person.name} is a leader by the server settings (ZSBOT_LEADERS / ZSBOT_ADMINS); "
                             "remove them there and restart.", unchanged=True)
        raise refuse(ctx, f"{person.name} 不是{zh}。", f"{person.name} is not a {en}.", unchanged=True)
    _confirm(ctx, cmd, person, f"将取消 {person.name}（{squad}）的{zh}：", f"This takes back {person.name}'s {en} role:")
    person.role = "member"
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="role", team_id=person.team_id, text=f"{person.name}: {kind} → member",
                       data={"member_id": person.id, "before": kind, "after": "member"})
    ctx.tell(person.id, f"你已不再担任{zh}（{ctx.member.name if ctx.member else '管理员'} 取消）。")
    return Reply(text=headline_for(ctx, ctx.t(f"✅ 已取消 {person.name} 的{zh}", f"✅ {person.name} is no longer a {en}")))


async def handle_remove(cmd: Command, ctx: Context) -> Reply:
    """remove: take a member out of their squad (captains their own squad's, leaders and admins any)."""
    person = await _person(ctx, cmd, prefer_team=ctx.team.id if ctx.team else None)
    if person.team_id is None:
        raise refuse(ctx, f"{person.name} 不在任何小分队里。", f"{person.name} is in no squad.", unchanged=True)
    squad = await _team_label(ctx, person.team_id)
    access.require(ctx, "remove", team_id=person.team_id, target_zh=f"「{squad}」", target_en=f'"{squad}"', squad=True)
    _confirm(ctx, cmd, person, f"将把 {person.name} 移出「{squad}」（历史报送保留）：",
             f"This takes {person.name} out of \"{squad}\" (their reports stay):")
    before_team, before_role = person.team_id, person.role
    # A captain taken out is no longer one; a leader (a district role, an admin's to take back) stays one.
    person.team_id, person.role = None, "member" if person.role == "captain" else person.role
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="roster", team_id=before_team, text=f"{person.name} ✕ {squad}",
                       data={"member_id": person.id, "team_id": before_team, "role": before_role})
    ctx.tell(person.id, f"你已被移出「{squad}」。如需加入其他小分队，请向队长索取邀请码后发送「加入 邀请码」。")
    return Reply(text=headline_for(ctx, ctx.t(f"✅ 已将 {person.name} 移出「{squad}」", f"✅ {person.name} left \"{squad}\"")))


async def handle_rename(cmd: Command, ctx: Context) -> Reply:
    """rename: give a squad a new name (admins)."""
    team = await queries.team_by_name(ctx.session, name=cmd.value or "")
    if team is None:
        raise refuse(ctx, f"没有名为「{cmd.value}」的小分队。", f'No squad named "{cmd.value}".', "rename")
    new = cmd.note.strip()
    if not new or len(new) > 50:
        raise refuse(ctx, "新队名不能为空，最多50字。", "The new name must be 1 to 50 characters.", "rename")
    if await queries.team_by_name(ctx.session, name=new):
        raise refuse(ctx, f"已有名为「{new}」的小分队。", f'A squad named "{new}" already exists.')
    _confirm(ctx, cmd, None, f"将把「{team.name}」改名为「{new}」：", f'This renames "{team.name}" to "{new}":')
    old = team.name
    await roster_queries.rename_team(ctx.session, team=team, name=new)
    await record_event(ctx, project=None, kind="team", team_id=team.id, text=f"{old} → {new}",
                       data={"before": old, "after": new})
    return Reply(text=headline_for(ctx, ctx.t(f"✅ 已改名：{old} → {new}", f"✅ Renamed: {old} → {new}")))


def _binding_label(ctx: Context, binding: ChatBinding, teams: dict[int, str]) -> str:
    who = ctx.t("领导群", "the leaders") if binding.is_leaders else teams.get(binding.team_id or 0, "?")
    if binding.platform == "wecom-robot":
        return ctx.t(f"企业微信群机器人 …{binding.chat_id[-4:]} → {who}", f"WeCom robot …{binding.chat_id[-4:]} → {who}")
    return f"{binding.platform} {binding.title or ctx.t('群', 'group')} → {who}"


async def list_bindings(ctx: Context) -> Reply:
    """绑定 alone: what this chat is bound to (in a group), or every binding (admins, in private)."""
    teams = await roster_queries.team_names_by_id(ctx.session)
    if ctx.incoming.chat_kind == "group":
        binding = await bindings.binding_of(ctx.session, platform=ctx.incoming.chat_platform,
                                                        chat_id=ctx.incoming.chat_id)
        if binding is None:
            return Reply(text=ctx.t("本群还没有绑定。管理员可发送「绑定 队名」或「绑定 领导」。",
                                    "This group is not bound. An admin sends `bind <squad>` or `bind leaders`."))
        return Reply(text=ctx.t("🔗 本群：", "🔗 This group: ") + _binding_label(ctx, binding, teams))
    access.check_verb(ctx, "bind_list_all")  # in a group, 绑定 shows that group's
    found = await roster_queries.bindings(ctx.session)
    if not found:
        return Reply(text=ctx.t("还没有绑定任何群。", "No chat is bound yet."))
    return Reply(text="\n".join([ctx.t(f"🔗 已绑定 {len(found)} 个：", f"🔗 {len(found)} bound:"),
                                 *(f"· {_binding_label(ctx, b, teams)}" for b in found)]))


async def handle_unbind(cmd: Command, ctx: Context) -> Reply:
    """unbind: this group, a WeCom group robot (robot:KEY), or one of a squad's bindings (listed, then chosen)."""
    teams = await roster_queries.team_names_by_id(ctx.session)
    binding: ChatBinding | None = None
    if cmd.secret:
        binding = await bindings.binding_of(ctx.session, platform="wecom-robot", chat_id=cmd.secret)
    elif cmd.value and cmd.value.startswith("binding:") and cmd.value[8:].isdigit():
        found = [b for b in await roster_queries.bindings(ctx.session) if b.id == int(cmd.value[8:])]
        binding = found[0] if found else None
    elif cmd.value:
        leaders = cmd.value == "leaders"
        team = None if leaders else await queries.team_by_name(ctx.session, name=cmd.value)
        if team is None and not leaders:
            raise refuse(ctx, f"没有名为「{cmd.value}」的小分队。", f'No squad named "{cmd.value}".', "unbind")
        choices = await roster_queries.bindings(ctx.session, team_id=team.id if team else None, leaders=leaders)
        if not choices:
            raise refuse(ctx, "没有相应的绑定。", "Nothing of that is bound.", unchanged=True)
        if len(choices) > 1:
            raise NeedsChoice("解绑哪一个？", "Unbind which?", [
                Choice(_binding_label(ctx, b, teams), _binding_label(ctx, b, teams),
                       replace(cmd, value=f"binding:{b.id}")) for b in choices], confirm=False)
        binding = choices[0]
    elif ctx.incoming.chat_kind == "group":
        binding = await bindings.binding_of(ctx.session, platform=ctx.incoming.chat_platform,
                                                        chat_id=ctx.incoming.chat_id)
    else:
        raise refuse(ctx, "请在要解绑的群里发送「解绑」，或写明 robot:key 或队名。",
                     "Send `unbind` in the group, or give robot:KEY or a squad.", "unbind")
    if binding is None or binding.id is None:
        raise refuse(ctx, "没有找到这个绑定。", "No such binding.", unchanged=True)
    label = _binding_label(ctx, binding, teams)
    _confirm(ctx, replace(cmd, value=f"binding:{binding.id}", secret=None), None, f"将解除绑定：{label}", f"This unbinds {label}:")
    await roster_queries.delete_binding(ctx.session, binding_id=binding.id)
    await record_event(ctx, project=None, kind="binding", team_id=binding.team_id, text=f"✕ {label}",
                       data={"platform": binding.platform, "team_id": binding.team_id, "leaders": binding.is_leaders})
    return Reply(text=headline_for(ctx, ctx.t(f"✅ 已解除绑定：{label}", f"✅ Unbound: {label}")))
