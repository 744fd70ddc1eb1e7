"""Handlers for people and squads: newteam, invite, join, start, bind, target, away, help."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rapidfuzz import process

from handlers import access, codes, roster
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command
from handlers.context import Context
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.records import headline_for, record_event
from handlers.refusal import refuse_key
from handlers.vocabulary import describe, usage, verb_word
from handlers.wording import both, in_lang
from storage import bindings, people_queries, project_queries, roster_queries
from storage.models import STAGES, ChatBinding, Member, Target, Team

TEAM_KINDS_ZH = {"squad": "小分队", "street": "街道", "bureau": "局"}


async def _named_team(ctx: Context, name: str) -> Team:
    team = await people_queries.team_by_name(ctx.session, name=name)
    if team is None:
        names = await people_queries.team_names(ctx.session)
        close = [match for match, _, _ in process.extract(name, names, limit=3, score_cutoff=50)]
        hint = ctx.say("named_team.did_mean", close=ctx.say("list.separator").join(close)) if close else ""
        raise refuse_key(ctx, "named_team.squad_named", name=name, hint=hint)
    return team


async def handle_newteam(cmd: Command, ctx: Context) -> Reply:
    """newteam: an admin creates a squad and gets its invite code."""
    name = (cmd.value or "").strip()
    if not name or len(name) > 50:
        raise refuse_key(ctx, "newteam.give_squad_name_characters", 'newteam')
    if await people_queries.team_by_name(ctx.session, name=name):
        raise refuse_key(ctx, "newteam.squad_named_already_exists", name=name)
    code = await codes.fresh_invite_code(ctx.session)
    kind = cmd.kind or "squad"
    team = Team(name=name, kind=kind, invite_code=code, created_at=ctx.now)
    ctx.session.add(team)
    await ctx.session.flush()
    return Reply(text=ctx.say("newteam.created", kind=TEAM_KINDS_ZH.get(kind, "小分队"), name=name, code=code))


async def handle_invite(cmd: Command, ctx: Context) -> Reply:
    """invite: show (or, with 换/rotate, replace) a squad's invite code (access policy: captains their own
    squad's, leaders and admins any)."""
    if cmd.value:
        team = await _named_team(ctx, cmd.value)
    elif ctx.team is not None:
        team = ctx.team
    else:
        raise refuse_key(ctx, "invite.name_squad", 'invite')
    access.require(ctx, "invite", team_id=team.id, target=ctx.say("access.squad", name=team.name), squad=True)
    if cmd.flag == "rotate":
        code = await codes.fresh_invite_code(ctx.session)
        team.invite_code = code
        ctx.session.add(team)
        return Reply(text=ctx.say("invite.new_code_old_one", name=team.name, code=code))
    return Reply(text=ctx.say("invite.invite_code_join_join", name=team.name, invite_code=team.invite_code))


async def handle_join(cmd: Command, ctx: Context) -> Reply:
    """join: link this identity to a squad with its invite code (the only update an unknown user may send).

    A wrong code is counted (codes.py): after a few, the sender waits, and the answer never tells a wrong
    code from an expired one. A member moving to another squad is asked first; the old squad's captains are
    told.
    """
    code = (cmd.value or "").strip()
    if not code:
        raise refuse_key(ctx, "join.give_invite_code", 'join')
    await codes.check_not_locked(ctx, "invite")
    team = await people_queries.team_by_invite(ctx.session, code=code)
    if team is None:
        raise codes.wrong_code(ctx, "invite")
    if ctx.member is None:
        name = ctx.incoming.display_name or ctx.incoming.user_id
        ctx.member = await people_queries.add_member(ctx.session, identity=ctx.incoming.identity, name=name,
                                              now=ctx.now, team_id=team.id)
        welcome = ctx.say("join.welcome", name=name, team_name=team.name)
    else:
        if ctx.member.team_id == team.id:
            return Reply(text=ctx.say("join.already", name=team.name))
        old_team = ctx.team
        if old_team is not None and old_team.id is not None:
            if cmd.flag != "confirmed":
                raise NeedsChoice(
                    *both("join.move_squad", old=old_team.name, new=team.name),
                    [Choice(*both("join.move_to", new=team.name), replace(cmd, flag="confirmed"))],
                    confirm=True,
                )
            for captain in await roster_queries.captains_of(ctx.session, team_id=old_team.id):
                if captain.id == ctx.member.id:
                    continue  # a captain who moves knows it already
                ctx.tell(captain.id, f"📤 {ctx.member.name} 已从「{old_team.name}」转到「{team.name}」。")
        before = ctx.member.team_id
        ctx.member.team_id = team.id
        if ctx.member.role == "captain":
            ctx.member.role = "member"  # a captain of the old squad is not one of the new
        ctx.session.add(ctx.member)
        await record_event(ctx, project=None, kind="roster", team_id=team.id,
                           text=f"{ctx.member.name} → {team.name}", data={"member_id": ctx.member.id, "from": before})
        welcome = headline_for(ctx, ctx.say("join.now", name=team.name))
    return Reply(text=welcome + "\n" + ctx.say("join.try_pursue_project_name"))


LINK_CODE_LIFETIME = timedelta(minutes=15)


async def handle_link(cmd: Command, ctx: Context) -> Reply:
    """link: one person on two platforms. Alone, make a code; with a code, join this identity to its owner.

    Link codes are long (codes.LINK_CODE_LENGTH characters) and short-lived, wrong ones are counted, and
    the owner is told when theirs is used.
    """
    if not cmd.value:
        if ctx.member is None:
            raise refuse_key(ctx, "link.link_from_platform_where", 'link')
        code = await codes.fresh_link_code(ctx.session)
        ctx.member.link_code, ctx.member.link_code_until = code, ctx.now + LINK_CODE_LIFETIME
        ctx.session.add(ctx.member)
        return Reply(text=ctx.say("link.link_code_valid_minutes", code=code))
    await codes.check_not_locked(ctx, "link")
    owner = await roster_queries.member_by_link_code(ctx.session, code=cmd.value.strip().upper())
    if owner is None or owner.link_code_until is None or owner.link_code_until < ctx.now:
        raise codes.wrong_code(ctx, "link")
    assert owner.id is not None
    owner.link_code, owner.link_code_until = None, None
    ctx.session.add(owner)
    if ctx.member is not None and ctx.member.id == owner.id:
        return Reply(text=ctx.say("link.account_already_yours"))
    if ctx.member is not None:
        if await people_queries.member_has_history(ctx.session, member_id=ctx.member.id or 0):
            raise refuse_key(ctx, "link.account_already_has_reports")
        await people_queries.move_identities(ctx.session, from_member=ctx.member.id or 0, to_member=owner.id)
        await ctx.session.delete(ctx.member)
    else:
        await people_queries.add_identity(ctx.session, identity=ctx.incoming.identity, member_id=owner.id,
                                   name=ctx.incoming.display_name, now=ctx.now)
    platform = {"wecom": "企业微信", "telegram": "Telegram", "console": "控制台"}.get(ctx.incoming.platform,
                                                                                 ctx.incoming.platform)
    ctx.tell(owner.id, f"🔗 你的关联码刚被使用：{platform}账号「{ctx.incoming.display_name or ctx.incoming.user_id}」"
                       f"现在和你是同一人。如果不是你本人操作，请马上告诉管理员。")
    # The Chinese reply names the platform in Chinese, the English one by its key.
    shown = in_lang(ctx.lang, platform, ctx.incoming.platform)
    return Reply(text=ctx.say("link.linked", platform=shown, name=owner.name))


async def handle_start(cmd: Command, ctx: Context) -> Reply:
    """start: Telegram's /start, with an invite code as deep-link payload, or the introduction."""
    if cmd.value:
        return await handle_join(Command(verb="join", lang=cmd.lang, value=cmd.value), ctx)
    return help_reply(ctx, None)


async def handle_bind(cmd: Command, ctx: Context) -> Reply:
    """bind: an admin binds this group (or a WeCom group robot) to a squad or to the leaders; alone, what
    this chat is bound to. Binding a chat or robot again moves its one binding, never adds a second."""
    if not cmd.value and not cmd.secret:
        return await roster.list_bindings(ctx)
    target = (cmd.value or "").strip()
    if not target:
        raise refuse_key(ctx, "bind.say_which_squad_leaders", 'bind')
    leaders = target == "leaders"
    team = None if leaders else await _named_team(ctx, target)
    if cmd.secret:
        platform, chat_id, title = "wecom-robot", cmd.secret, "群机器人 " + cmd.secret[:4] + "****"
    elif ctx.incoming.chat_kind == "group":
        platform, chat_id, title = ctx.incoming.chat_platform, ctx.incoming.chat_id, ""
    else:
        raise refuse_key(ctx, "bind.group_bind_wecom_group", 'bind')
    binding = await bindings.binding_of(ctx.session, platform=platform, chat_id=chat_id)
    moved = binding is not None
    if binding is None:
        binding = ChatBinding(platform=platform, chat_id=chat_id, title=title, created_at=ctx.now)
    binding.team_id = team.id if team else None
    binding.is_leaders = leaders
    # Bound inside a forum topic: the scheduled posts go to that topic. Binding again also ends a pause
    # (a robot key that was revoked and is now replaced, a group the bot was added back to).
    binding.thread_id = "" if cmd.secret else ctx.incoming.thread_id[:50]
    binding.paused_at, binding.paused_reason = None, ""
    ctx.session.add(binding)
    if cmd.secret:
        # A new robot for the same squad replaces the one whose key was revoked (its binding paused): a dead
        # key never comes back, so that binding would otherwise wait forever.
        await bindings.drop_paused(ctx.session, platform=platform, keep_chat=chat_id,
                                   team_id=team.id if team else None, leaders=leaders)
    await ctx.session.flush()
    who = ctx.say("bind.leaders_group") if leaders else f"「{team.name if team else ''}」"
    here = ctx.say("bind.topic") if binding.thread_id else ctx.say("bind.group")
    where = ctx.say("bind.group_robot") + title.split(" ")[-1] if cmd.secret else here
    if leaders:  # what the leaders' group really gets (jobs/): no reminders, those are the squads'
        posts = ctx.say("bind.morning_leaderboard_red_projects")
    else:
        posts = ctx.say("bind.morning_leaderboard_yellow_red")
    again = ctx.say("bind.one_binding_was_updated") if moved else ""
    return Reply(text=ctx.say("bind.bound", where=where, who=who, again=again, posts=posts))


FUNDS_TARGET_MAX = 10**14  # 100万亿元: past any district's, under BIGINT by far


async def handle_target(cmd: Command, ctx: Context) -> Reply:
    """target: leaders and admins set yearly targets for the district or a squad."""

    if not cmd.targets:
        raise refuse_key(ctx, "target.give_stages_numbers", 'target')
    year = cmd.year or ctx.today.year
    team = await _named_team(ctx, cmd.value) if cmd.value else None
    scope = f"team:{team.id}" if team else "district"
    for stage, number in cmd.targets:
        if stage == "funds" and not 0 <= number <= FUNDS_TARGET_MAX:  # yuan: 到位 20亿
            raise refuse_key(ctx, "target.unreasonable_target", 'target', number=format_amount(number, ctx.lang))
        if stage != "funds" and (number < 0 or number > 1_000_000):
            raise refuse_key(ctx, "target.unreasonable_target", 'target', number=number)
        row = await project_queries.target_row(ctx.session, year=year, scope=scope, stage=stage)
        if row is None:
            row = Target(year=year, scope=scope, team_id=team.id if team else None, stage=stage, number=number)
        row.number = number
        ctx.session.add(row)
    await ctx.session.flush()
    who = team.name if team else ctx.say("target.district")
    order = (*STAGES, "funds")
    parts = "，".join(
        ctx.say("target.funds", amount=format_amount(n, ctx.lang)) if s == "funds" else f"{stage_name(s, ctx.lang)} {n}"
        for s, n in sorted(cmd.targets, key=lambda t: order.index(t[0])))
    return Reply(text=ctx.say("target.targets", who=who, year=year, parts=parts))


async def handle_away(cmd: Command, ctx: Context) -> Reply:
    """away: pause my reminders until a day (请假/出差), or end the pause."""
    member: Member | None = ctx.member
    if member is None:
        raise refuse_key(ctx, "away.join_squad_first")
    if cmd.value == "cancel":
        member.away_until = None
        ctx.session.add(member)
        return Reply(text=ctx.say("away.reminders_back"))
    if cmd.when is None:
        raise refuse_key(ctx, "away.say_until_which_day", 'away')
    if cmd.when < ctx.today:
        raise refuse_key(ctx, "away.past", 'away', when=cmd.when)
    if cmd.when > ctx.today + timedelta(days=366):
        raise refuse_key(ctx, "away.most_year_ahead", 'away')
    member.away_until = cmd.when
    ctx.session.add(member)
    return Reply(text=ctx.say("away.reminders_until_away_cancel", when=cmd.when))


HELP_ORDER = ("plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "undo", "edit",
              "find", "mine", "rank", "status", "problems", "export", "verify", "expect", "away", "join",
              "link", "target", "newteam", "invite", "bind", "settings", "appoint", "dismiss", "remove", "rename",
              "unbind", "help")


def help_reply(ctx: Context, verb: str | None) -> Reply:
    """General help (the natural forms first, then every verb), or the right form of one verb."""
    if verb:
        name = verb_word(verb, ctx.lang)  # type: ignore[arg-type]  # verb comes from the parser's table
        return Reply(text=f"{name}：{describe(verb, ctx.lang)}\n" + ctx.say("help_reply.form") + usage(verb, ctx.lang))
    lines = [ctx.say("help_reply.zsbot_report_projects_few")]
    lines.append(ctx.say("help.natural"))
    lines.append(ctx.say("help_reply.all_commands"))
    for name in HELP_ORDER:
        if access.scope_of("appoint_captain" if name in ("appoint", "dismiss") else name, ctx.role,
                                       ctx.settings) == "none" \
                and ctx.role != "stranger":
            continue  # what the sender may not do is not offered (a stranger sees the whole language)
        word = verb_word(name, ctx.lang)  # type: ignore[arg-type]  # every HELP_ORDER verb is in the table
        lines.append(f"· {word}：{describe(name, ctx.lang)}")
    lines.append(ctx.say("help_reply.name_project_id_name"))
    if ctx.member is None:
        lines.append(ctx.say("help_reply.squad_yet_join_code"))
    lines.append(ctx.say("help.group_privacy"))
    return Reply(text="\n".join(lines))


async def handle_help(cmd: Command, ctx: Context) -> Reply:
    """help: general help, or for one verb."""
    return help_reply(ctx, cmd.value)
