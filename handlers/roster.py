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
from handlers.refusal import refuse_key
from handlers.wording import PerLang, both, key, say
from storage import bindings, people_queries, roster_queries
from storage import report_queries as rq
from storage.models import ChatBinding, Member

ROLE_WORDS = {"captain": key("role.captain"), "leader": key("role.leader")}


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
        raise refuse_key(ctx, "person.member_called", cmd.verb, value=value)
    if len(found) > 1:
        teams = await people_queries.team_names_by_id(ctx.session, team_ids={m.team_id for m in found if m.team_id})
        raise NeedsChoice(
            *both("person.which_member", count=len(found), value=value),
            [Choice(*both("person.member_choice", name=m.name,
                          squad=PerLang(teams.get(m.team_id or 0, "未入队"), teams.get(m.team_id or 0, "-"))),
                    replace(cmd, value=f"#{m.id}")) for m in found],
            confirm=False,
        )
    return found[0]


def _confirm(ctx: Context, cmd: Command, member: Member | None, question: tuple[str, str]) -> None:
    """Ask `question` (zh, en) before applying (the confirmed command names the person by id, so the answer is exact)."""
    if cmd.flag == "confirmed":
        return
    value = f"#{member.id}" if member is not None else cmd.value
    raise NeedsChoice(*question, [Choice(*both("roster.confirm"), replace(cmd, value=value, flag="confirmed"))],
                      confirm=True)


async def _team_label(ctx: Context, team_id: int | None) -> str:
    team = await people_queries.team_by_id(ctx.session, team_id=team_id) if team_id else None
    return team.name if team else ctx.say("team_label.squad")


async def _role_change(ctx: Context, cmd: Command) -> tuple[str, Member, str]:
    """The role (captain or leader), the person and their squad's name, once the policy allows the change."""
    kind = cmd.kind or "captain"
    person = await _person(ctx, cmd)
    squad = await _team_label(ctx, person.team_id)
    access.require(ctx, "appoint_leader" if kind == "leader" else "appoint_captain", team_id=person.team_id,
                   target=ctx.say("access.squad", name=squad), squad=True)
    return kind, person, squad


async def handle_appoint(cmd: Command, ctx: Context) -> Reply:
    """appoint: make someone a captain of their squad (leaders, admins) or a district leader (admins)."""
    kind, person, squad = await _role_change(ctx, cmd)
    zh, en = both(ROLE_WORDS[kind])
    if kind == "captain" and person.team_id is None:
        raise refuse_key(ctx, "appoint.squad_yet", name=person.name)
    if person.role == kind:
        raise refuse_key(ctx, "appoint.already", unchanged=True, name=person.name, role=ctx.say(ROLE_WORDS[kind]))
    if kind == "captain" and person.role == "leader":
        # Making a leader a captain would take their leader role away: that is 取消领导, an admin's alone.
        raise refuse_key(ctx, "appoint.leader_already_do_what", unchanged=True, name=person.name)
    _confirm(ctx, cmd, person, both("appoint.confirm", name=person.name, squad=squad, role=PerLang(zh, en)))
    before = person.role
    person.role = kind
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="role", team_id=person.team_id, text=f"{person.name}: {before} → {kind}",
                       data={"member_id": person.id, "before": before, "after": kind})
    by = ctx.member.name if ctx.member else say("zh", "roster.an_admin")
    told = say("zh", "roster.told_captain", by=by, squad=squad) if kind == "captain" else say(
        "zh", "roster.told_leader", by=by)
    ctx.tell(person.id, told)
    return Reply(text=headline_for(ctx, ctx.say("appoint.now", name=person.name, squad=squad, role=ctx.say(ROLE_WORDS[kind]))))


async def handle_dismiss(cmd: Command, ctx: Context) -> Reply:
    """dismiss: take back a captain's (or, for admins, a leader's) role; they stay in their squad."""
    kind, person, squad = await _role_change(ctx, cmd)
    zh, en = both(ROLE_WORDS[kind])
    if person.role != kind:
        if kind == "leader" and person.id is not None:
            setting = set(await roster_queries.identities_of(ctx.session, member_id=person.id)) & {
                *ctx.settings.leaders, *ctx.settings.admins}
            if setting:  # a role from the settings is not the chat's to take back
                raise refuse_key(ctx, "dismiss.leader_server_settings_zsbot", unchanged=True, name=person.name)
        raise refuse_key(ctx, "dismiss.text", unchanged=True, name=person.name, role=ctx.say(ROLE_WORDS[kind]))
    _confirm(ctx, cmd, person, both("dismiss.confirm", name=person.name, squad=squad, role=PerLang(zh, en)))
    person.role = "member"
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="role", team_id=person.team_id, text=f"{person.name}: {kind} → member",
                       data={"member_id": person.id, "before": kind, "after": "member"})
    ctx.tell(person.id, say("zh", "roster.told_dismissed", role=zh,
                            by=ctx.member.name if ctx.member else say("zh", "roster.an_admin")))
    return Reply(text=headline_for(ctx, ctx.say("dismiss.longer", name=person.name, role=ctx.say(ROLE_WORDS[kind]))))


async def handle_remove(cmd: Command, ctx: Context) -> Reply:
    """remove: take a member out of their squad (captains their own squad's, leaders and admins any)."""
    person = await _person(ctx, cmd, prefer_team=ctx.team.id if ctx.team else None)
    if person.team_id is None:
        raise refuse_key(ctx, "remove.squad", unchanged=True, name=person.name)
    squad = await _team_label(ctx, person.team_id)
    access.require(ctx, "remove", team_id=person.team_id, target=ctx.say("access.squad", name=squad), squad=True)
    _confirm(ctx, cmd, person, both("remove.confirm", name=person.name, squad=squad))
    before_team, before_role = person.team_id, person.role
    # A captain taken out is no longer one; a leader (a district role, an admin's to take back) stays one.
    person.team_id, person.role = None, "member" if person.role == "captain" else person.role
    ctx.session.add(person)
    await record_event(ctx, project=None, kind="roster", team_id=before_team, text=f"{person.name} ✕ {squad}",
                       data={"member_id": person.id, "team_id": before_team, "role": before_role})
    ctx.tell(person.id, say("zh", "roster.told_removed", squad=squad))
    return Reply(text=headline_for(ctx, ctx.say("remove.left", name=person.name, squad=squad)))


async def handle_rename(cmd: Command, ctx: Context) -> Reply:
    """rename: give a squad a new name (admins)."""
    team = await people_queries.team_by_name(ctx.session, name=cmd.value or "")
    if team is None:
        raise refuse_key(ctx, "rename.squad_named", 'rename', value=cmd.value)
    new = cmd.note.strip()
    if not new or len(new) > 50:
        raise refuse_key(ctx, "rename.new_name_must_characters", 'rename')
    if await people_queries.team_by_name(ctx.session, name=new):
        raise refuse_key(ctx, "rename.squad_named_already_exists", new=new)
    _confirm(ctx, cmd, None, both("rename.confirm", old=team.name, new=new))
    old = team.name
    await roster_queries.rename_team(ctx.session, team=team, name=new)
    await record_event(ctx, project=None, kind="team", team_id=team.id, text=f"{old} → {new}",
                       data={"before": old, "after": new})
    return Reply(text=headline_for(ctx, ctx.say("rename.renamed", old=old, new=new)))


def _binding_label(ctx: Context, binding: ChatBinding, teams: dict[int, str]) -> str:
    who = ctx.say("binding_label.leaders") if binding.is_leaders else teams.get(binding.team_id or 0, "?")
    if binding.platform == "wecom-robot":
        return ctx.say("binding_label.wecom_robot", chat_id=binding.chat_id[-4:], who=who)
    title = binding.title or ctx.say("binding_label.group")
    return f"{binding.platform} {title} → {who}"


async def list_bindings(ctx: Context) -> Reply:
    """绑定 alone: what this chat is bound to (in a group), or every binding (admins, in private)."""
    teams = await rq.team_names(ctx.session)
    if ctx.incoming.chat_kind == "group":
        binding = await bindings.binding_of(ctx.session, platform=ctx.incoming.chat_platform,
                                                        chat_id=ctx.incoming.chat_id)
        if binding is None:
            return Reply(text=ctx.say("list_bindings.group_bound_admin_sends"))
        return Reply(text=ctx.say("list_bindings.group") + _binding_label(ctx, binding, teams))
    access.check_verb(ctx, "bind_list_all")  # in a group, 绑定 shows that group's
    found = await roster_queries.bindings(ctx.session)
    if not found:
        return Reply(text=ctx.say("list_bindings.chat_bound_yet"))
    return Reply(text="\n".join([ctx.say("list_bindings.bound", found_count=len(found)),
                                 *(f"· {_binding_label(ctx, b, teams)}" for b in found)]))


async def handle_unbind(cmd: Command, ctx: Context) -> Reply:
    """unbind: this group, a WeCom group robot (robot:KEY), or one of a squad's bindings (listed, then chosen)."""
    teams = await rq.team_names(ctx.session)
    binding: ChatBinding | None = None
    if cmd.secret:
        binding = await bindings.binding_of(ctx.session, platform="wecom-robot", chat_id=cmd.secret)
    elif cmd.value and cmd.value.startswith("binding:") and cmd.value[8:].isdigit():
        found = [b for b in await roster_queries.bindings(ctx.session) if b.id == int(cmd.value[8:])]
        binding = found[0] if found else None
    elif cmd.value:
        leaders = cmd.value == "leaders"
        team = None if leaders else await people_queries.team_by_name(ctx.session, name=cmd.value)
        if team is None and not leaders:
            raise refuse_key(ctx, "unbind.squad_named", 'unbind', value=cmd.value)
        choices = await roster_queries.bindings(ctx.session, team_id=team.id if team else None, leaders=leaders)
        if not choices:
            raise refuse_key(ctx, "unbind.nothing_bound", unchanged=True)
        if len(choices) > 1:
            raise NeedsChoice(*both("unbind.which"), [
                Choice(_binding_label(ctx, b, teams), _binding_label(ctx, b, teams),
                       replace(cmd, value=f"binding:{b.id}")) for b in choices], confirm=False)
        binding = choices[0]
    elif ctx.incoming.chat_kind == "group":
        binding = await bindings.binding_of(ctx.session, platform=ctx.incoming.chat_platform,
                                                        chat_id=ctx.incoming.chat_id)
    else:
        raise refuse_key(ctx, "unbind.unbind_group_give_robot", 'unbind')
    if binding is None or binding.id is None:
        raise refuse_key(ctx, "unbind.such_binding", unchanged=True)
    label = _binding_label(ctx, binding, teams)
    _confirm(ctx, replace(cmd, value=f"binding:{binding.id}", secret=None), None, both("unbind.confirm", label=label))
    await roster_queries.delete_binding(ctx.session, binding_id=binding.id)
    await record_event(ctx, project=None, kind="binding", team_id=binding.team_id, text=f"✕ {label}",
                       data={"platform": binding.platform, "team_id": binding.team_id, "leaders": binding.is_leaders})
    return Reply(text=headline_for(ctx, ctx.say("unbind.unbound", label=label)))
