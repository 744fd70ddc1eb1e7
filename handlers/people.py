"""Handlers for people and squads: newteam, invite, join, start, bind, target, away, help."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rapidfuzz import process

from handlers import access, codes, roster
from handlers.choices import Choice, NeedsChoice
from handlers.commands import Command
from handlers.context import Context
from handlers.format import stage_name
from handlers.messages import Reply
from handlers.records import headline_for, record_event
from handlers.refusal import refuse
from handlers.vocabulary import VERB_NAMES, describe, usage
from storage import bindings, queries, roster_queries
from storage.models import STAGES, ChatBinding, Member, Target, Team

TEAM_KINDS_ZH = {"squad": "小分队", "street": "街道", "bureau": "局"}


async def _named_team(ctx: Context, name: str) -> Team:
    team = await queries.team_by_name(ctx.session, name=name)
    if team is None:
        names = await queries.team_names(ctx.session)
        close = [match for match, _, _ in process.extract(name, names, limit=3, score_cutoff=50)]
        hint = ctx.t(f"，是不是：{'、'.join(close)}", f"; did you mean: {', '.join(close)}") if close else ""
        raise refuse(ctx, f"没有名为「{name}」的小分队{hint}", f"No squad named \"{name}\"{hint}")
    return team


async def handle_newteam(cmd: Command, ctx: Context) -> Reply:
    """newteam: an admin creates a squad and gets its invite code."""
    name = (cmd.value or "").strip()
    if not name or len(name) > 50:
        raise refuse(ctx, "请写上队名（50字以内）。", "Give the squad a name (50 characters at most).", "newteam")
    if await queries.team_by_name(ctx.session, name=name):
        raise refuse(ctx, f"已有名为「{name}」的小分队。", f"A squad named \"{name}\" already exists.")
    code = await codes.fresh_invite_code(ctx.session)
    kind = cmd.kind or "squad"
    team = Team(name=name, kind=kind, invite_code=code, created_at=ctx.now)
    ctx.session.add(team)
    await ctx.session.flush()
    return Reply(text=ctx.t(
        f"✅ 已建立{TEAM_KINDS_ZH.get(kind, '小分队')}「{name}」\n邀请码：{code}\n队员发送「加入 {code}」即可加入。",
        f"✅ Squad \"{name}\" created.\nInvite code: {code}\nMembers join with `join {code}`.",
    ))


async def handle_invite(cmd: Command, ctx: Context) -> Reply:
    """invite: show (or, with 换/rotate, replace) a squad's invite code (access policy: captains their own
    squad's, leaders and admins any)."""
    if cmd.value:
        team = await _named_team(ctx, cmd.value)
    elif ctx.team is not None:
        team = ctx.team
    else:
        raise refuse(ctx, "请写明队名。", "Name the squad.", "invite")
    access.require(ctx, "invite", team_id=team.id, target_zh=f"「{team.name}」", target_en=f'"{team.name}"', squad=True)
    if cmd.flag == "rotate":
        code = await codes.fresh_invite_code(ctx.session)
        team.invite_code = code
        ctx.session.add(team)
        return Reply(text=ctx.t(f"🔑 「{team.name}」的新邀请码：{code}（旧码已失效）",
                                f"🔑 New code for \"{team.name}\": {code} (the old one no longer works)"))
    return Reply(text=ctx.t(f"🔑 「{team.name}」的邀请码：{team.invite_code}\n队员发送「加入 {team.invite_code}」",
                            f"🔑 \"{team.name}\" invite code: {team.invite_code}\nJoin with `join {team.invite_code}`"))


async def handle_join(cmd: Command, ctx: Context) -> Reply:
    """join: link this identity to a squad with its invite code (the only update an unknown user may send).

    A wrong code is counted (codes.py): after a few, the sender waits, and the answer never tells a wrong
    code from an expired one. A member moving to another squad is asked first; the old squad's captains are
    told.
    """
    code = (cmd.value or "").strip()
    if not code:
        raise refuse(ctx, "请写上邀请码。", "Give the invite code.", "join")
    await codes.check_not_locked(ctx, "invite")
    team = await queries.team_by_invite(ctx.session, code=code)
    if team is None:
        raise codes.wrong_code(ctx, "invite")
    if ctx.member is None:
        name = ctx.incoming.display_name or ctx.incoming.user_id
        ctx.member = await queries.add_member(ctx.session, identity=ctx.incoming.identity, name=name,
                                              now=ctx.now, team_id=team.id)
        welcome = ctx.t(f"👋 欢迎 {name} 加入「{team.name}」！", f"👋 Welcome to \"{team.name}\", {name}!")
    else:
        if ctx.member.team_id == team.id:
            return Reply(text=ctx.t(f"你已经在「{team.name}」了。", f"You are already in \"{team.name}\"."))
        old_team = ctx.team
        if old_team is not None and old_team.id is not None:
            if cmd.flag != "confirmed":
                raise NeedsChoice(
                    f"你现在在「{old_team.name}」，要转到「{team.name}」吗？（原队的项目和报送记录不动）",
                    f'You are in "{old_team.name}". Move to "{team.name}"? (your reports stay where they are)',
                    [Choice(f"转到「{team.name}」", f'move to "{team.name}"', replace(cmd, flag="confirmed"))],
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
        welcome = headline_for(ctx, ctx.t(f"✅ 已转入「{team.name}」。", f"✅ You are now in \"{team.name}\"."))
    return Reply(text=welcome + "\n" + ctx.t(
        "报项目试试：「洽谈 项目名 2亿 @深圳」；发送「帮助」查看全部命令。",
        "Try: `pursue \"Project name\" 200m`; send `help` for every command.",
    ))


LINK_CODE_LIFETIME = timedelta(minutes=15)


async def handle_link(cmd: Command, ctx: Context) -> Reply:
    """link: one person on two platforms. Alone, make a code; with a code, join this identity to its owner.

    Link codes are long (codes.LINK_CODE_LENGTH characters) and short-lived, wrong ones are counted, and
    the owner is told when theirs is used.
    """
    if not cmd.value:
        if ctx.member is None:
            raise refuse(ctx, "请在已经加入小分队的那个平台上发送「关联」获取关联码。",
                         "Send `link` from the platform where you already joined a squad to get a code.", "link")
        code = codes.new_link_code()
        while await roster_queries.member_by_link_code(ctx.session, code=code) is not None:
            code = codes.new_link_code()
        ctx.member.link_code, ctx.member.link_code_until = code, ctx.now + LINK_CODE_LIFETIME
        ctx.session.add(ctx.member)
        return Reply(text=ctx.t(
            f"🔗 关联码：{code}（15分钟内有效）\n请在另一个平台（企业微信或 Telegram）发送「关联 {code}」。",
            f"🔗 Link code: {code} (valid 15 minutes)\nSend `link {code}` from your other platform.",
        ))
    await codes.check_not_locked(ctx, "link")
    owner = await roster_queries.member_by_link_code(ctx.session, code=cmd.value.strip().upper())
    if owner is None or owner.link_code_until is None or owner.link_code_until < ctx.now:
        raise codes.wrong_code(ctx, "link")
    assert owner.id is not None
    owner.link_code, owner.link_code_until = None, None
    ctx.session.add(owner)
    if ctx.member is not None and ctx.member.id == owner.id:
        return Reply(text=ctx.t("这个账号本来就是你。", "This account is already yours."))
    if ctx.member is not None:
        if await queries.member_has_history(ctx.session, member_id=ctx.member.id or 0):
            raise refuse(ctx, "这个账号已有报送记录，不能合并到另一个人；如确需合并请联系管理员。",
                         "This account already has reports of its own and cannot be merged; ask an admin.")
        await queries.move_identities(ctx.session, from_member=ctx.member.id or 0, to_member=owner.id)
        await ctx.session.delete(ctx.member)
    else:
        await queries.add_identity(ctx.session, identity=ctx.incoming.identity, member_id=owner.id,
                                   name=ctx.incoming.display_name, now=ctx.now)
    platform = {"wecom": "企业微信", "telegram": "Telegram", "console": "控制台"}.get(ctx.incoming.platform,
                                                                                 ctx.incoming.platform)
    ctx.tell(owner.id, f"🔗 你的关联码刚被使用：{platform}账号「{ctx.incoming.display_name or ctx.incoming.user_id}」"
                       f"现在和你是同一人。如果不是你本人操作，请马上告诉管理员。")
    return Reply(text=ctx.t(f"✅ 已关联：这个{platform}账号就是 {owner.name}，报送和统计合在一起。",
                            f"✅ Linked: this {ctx.incoming.platform} account is {owner.name}."))


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
        raise refuse(ctx, "请写明绑定到哪个小分队，或「领导」。", "Say which squad, or `leaders`.", "bind")
    leaders = target == "leaders"
    team = None if leaders else await _named_team(ctx, target)
    if cmd.secret:
        platform, chat_id, title = "wecom-robot", cmd.secret, "群机器人 " + cmd.secret[:4] + "****"
    elif ctx.incoming.chat_kind == "group":
        platform, chat_id, title = ctx.incoming.chat_platform, ctx.incoming.chat_id, ""
    else:
        raise refuse(ctx, "请在要绑定的群里发送；企业微信群请附上群机器人：「绑定 队名 robot:KEY」。",
                     "Send this in the group to bind; for a WeCom group add its robot: `bind <squad> robot:KEY`.",
                     "bind")
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
    who = ctx.t("领导群", "the leaders' group") if leaders else f"「{team.name if team else ''}」"
    here = ctx.t("本话题", "this topic") if binding.thread_id else ctx.t("本群", "this group")
    where = ctx.t("群机器人 ", "group robot ") + title.split(" ")[-1] if cmd.secret else here
    if leaders:  # what the leaders' group really gets (jobs/): no reminders, those are the squads'
        posts = ctx.t("每天早上推送比学赶超排行，工作日推送红灯项目和超期未解决的问题，每周一推送上周小结。",
                      "the morning leaderboard, red projects and overdue problems on workdays, and Monday's weekly "
                      "summary will be posted here.")
    else:
        posts = ctx.t("每天早上推送比学赶超排行，工作日提示黄灯、红灯项目，下午提醒未报送的队员。",
                      "the morning leaderboard, yellow and red projects on workdays, and afternoon reminders to "
                      "members who have not reported will be posted here.")
    again = ctx.t("（原有绑定已更新，不会重复推送）", " (its one binding was updated, not duplicated)") if moved else ""
    return Reply(text=ctx.t(f"🔗 已将{where}绑定到{who}{again}：{posts}", f"🔗 Bound {where} to {who}{again}: {posts}"))


async def handle_target(cmd: Command, ctx: Context) -> Reply:
    """target: leaders and admins set yearly targets for the district or a squad."""

    if not cmd.targets:
        raise refuse(ctx, "请写上阶段和数量。", "Give stages and numbers.", "target")
    year = cmd.year or ctx.today.year
    team = await _named_team(ctx, cmd.value) if cmd.value else None
    scope = f"team:{team.id}" if team else "district"
    for stage, number in cmd.targets:
        if number < 0 or number > 1_000_000:
            raise refuse(ctx, f"目标数量不合理：{number}", f"Unreasonable target: {number}", "target")
        row = await queries.target_row(ctx.session, year=year, scope=scope, stage=stage)
        if row is None:
            row = Target(year=year, scope=scope, team_id=team.id if team else None, stage=stage, number=number)
        row.number = number
        ctx.session.add(row)
    await ctx.session.flush()
    who = team.name if team else ctx.t("全区", "district")
    parts = "，".join(f"{stage_name(s, ctx.lang)} {n}" for s, n in sorted(cmd.targets, key=lambda t: STAGES.index(t[0])))
    return Reply(text=ctx.t(f"🎯 已设置{who} {year}年目标：{parts}", f"🎯 {year} targets for {who}: {parts}"))


async def handle_away(cmd: Command, ctx: Context) -> Reply:
    """away: pause my reminders until a day (请假/出差), or end the pause."""
    member: Member | None = ctx.member
    if member is None:
        raise refuse(ctx, "你还没有加入小分队。", "Join a squad first.")
    if cmd.value == "cancel":
        member.away_until = None
        ctx.session.add(member)
        return Reply(text=ctx.t("✅ 已取消请假，恢复提醒。", "✅ Reminders are back on."))
    if cmd.when is None:
        raise refuse(ctx, "请写明到哪一天。", "Say until which day.", "away")
    if cmd.when < ctx.today:
        raise refuse(ctx, f"{cmd.when:%Y-%m-%d} 已经过去了。", f"{cmd.when:%Y-%m-%d} is in the past.", "away")
    if cmd.when > ctx.today + timedelta(days=366):
        raise refuse(ctx, "请假最长一年。", "At most a year ahead.", "away")
    member.away_until = cmd.when
    ctx.session.add(member)
    return Reply(text=ctx.t(f"🧳 已登记，{cmd.when:%m月%d日}前不再提醒你报送。发送「请假 取消」可提前恢复。",
                            f"🧳 No reminders for you until {cmd.when:%Y-%m-%d}. Send `away cancel` to end it early."))


GROUP_PRIVACY_ZH = (
    "群聊提示：Telegram 群里机器人默认只看到以 / 开头的命令和 @它 的消息（隐私模式）。"
    "想在群里直接说「网易签了」，请管理员在 @BotFather 里 /setprivacy 关闭隐私模式，或把机器人设为群管理员；"
    "群里的闲聊机器人不会回复。"
)
GROUP_PRIVACY_EN = (
    "Groups: on Telegram the bot only sees /commands and @mentions in groups (privacy mode). To report in plain "
    "words in a group, turn privacy mode off with @BotFather's /setprivacy, or make the bot a group admin; "
    "chatter in the group gets no answer."
)

HELP_ORDER = ("plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "undo", "edit",
              "find", "mine", "rank", "status", "problems", "export", "verify", "expect", "away", "join",
              "link", "target", "newteam", "invite", "bind", "settings", "appoint", "dismiss", "remove", "rename",
              "unbind", "help")


HELP_NATURAL_ZH = (
    "直接说就行，例如：",
    "· 网易签了　·　签约 #12 3个亿　·　昨天签约了 海康威视郑州基地",
    "· 谋划 某某项目 2个亿 汽车 @深圳 对接:某某集团",
    "· 今天去中原数据集团拜访了，对方有意向追加投资2个亿",
    "· 签约 #29；落地 #30（一条消息报几件事，分行、分号都行）",
    "· 预计 #26 签约 下周三　·　请假 到下周五　·　设置 排行 8点半",
    "· 我们队排第几　·　德化街进度怎么样　·　本月新增签约多少",
    "· 刚才金额写错了，应该是3.5亿　·　撤销",
    "拿不准的地方，我会先把理解发给你：回复 1（或 是/对/确认）保存，回复 0 或 取消 放弃。",
)
HELP_NATURAL_EN = (
    "Just say it, for example:",
    "· sign #12 300m  ·  plan Tesla Zhengzhou showroom 200m  ·  note #15 third round done",
    "· sign #29; land #30 (several updates in one message: lines or semicolons)",
    "When I am not sure what you mean I show my reading first: reply 1 (or yes) to store it, 0 to cancel.",
)


def help_reply(ctx: Context, verb: str | None) -> Reply:
    """General help (the natural forms first, then every verb), or the right form of one verb."""
    if verb:
        zh_name, en_name = VERB_NAMES[verb]  # type: ignore[index]  # verb comes from the parser's table
        name = en_name if ctx.lang == "en" else zh_name
        return Reply(text=f"{name}：{describe(verb, ctx.lang)}\n" + ctx.t("格式：", "Form: ") + usage(verb, ctx.lang))
    lines = [ctx.t("🤖 招商助手：出差路上一句话报项目，每天推送比学赶超。", "🤖 zsbot: report projects in a few words.")]
    lines += HELP_NATURAL_EN if ctx.lang == "en" else HELP_NATURAL_ZH
    lines.append(ctx.t("全部指令：", "All commands:"))
    for name in HELP_ORDER:
        if access.scope_of("appoint_captain" if name in ("appoint", "dismiss") else name, ctx.role,
                                       ctx.settings) == "none" \
                and ctx.role != "stranger":
            continue  # what the sender may not do is not offered (a stranger sees the whole language)
        zh_name, en_name = VERB_NAMES[name]  # type: ignore[index]  # every HELP_ORDER verb is in the table
        lines.append(f"· {en_name if ctx.lang == 'en' else zh_name}：{describe(name, ctx.lang)}")
    lines.append(ctx.t("项目可用 #编号 或名称；金额可写 2个亿、5000万、300万美元。发送「帮助 签约」看某个命令。",
                       "Name a project by #id or name; amounts like 200m, 2b. Send `help sign` for one command."))
    if ctx.member is None:
        lines.append(ctx.t("你还没有加入小分队：请发送「加入 邀请码」。", "You are not in a squad yet: send `join <code>`."))
    lines.append(GROUP_PRIVACY_EN if ctx.lang == "en" else GROUP_PRIVACY_ZH)
    return Reply(text="\n".join(lines))


async def handle_help(cmd: Command, ctx: Context) -> Reply:
    """help: general help, or for one verb."""
    return help_reply(ctx, cmd.value)
