"""`看板` / `dashboard`: a signed link to the 驾驶舱 for the asker; `看板 作废` voids the asker's links."""

from __future__ import annotations

from handlers.commands import Command
from handlers.context import Context
from handlers.messages import LinkButton, Reply
from storage import report_queries as rq


async def handle_dashboard(cmd: Command, ctx: Context) -> Reply:
    """A link scoped to the asker's role, valid for the configured hours; or every earlier link voided."""
    member = ctx.member
    if member is None or member.id is None:  # the access table refuses strangers first
        return Reply(text=ctx.say("dashboard.in_private"), ok=False)
    if cmd.flag == "revoke":
        await rq.revoke_dash_links(ctx.session, member_id=member.id, at=ctx.now)
        return Reply(text=ctx.say("dashboard.revoked"))
    if ctx.incoming.chat_kind == "group":
        # A link is a key to what the asker may see: in a group everyone could tap it.
        return Reply(text=ctx.say("dashboard.in_private"), ok=False)
    if ctx.dash is None or ctx.dash.missing:
        missing = ctx.dash.missing if ctx.dash is not None else "secret"
        if missing == "public_url":
            return Reply(text=ctx.say("dashboard.no_public_url"), ok=False)
        return Reply(text=ctx.say("dashboard.not_configured"), ok=False)
    if not ctx.is_leader and ctx.team is None:
        return Reply(text=ctx.say("dashboard.no_squad"), ok=False)
    link = ctx.dash.issue(member_id=member.id, identity=ctx.incoming.identity, now=ctx.now)
    if ctx.is_leader:
        scope = ctx.say("dashboard.scope_district")
    else:
        scope = ctx.say("dashboard.scope_squad", team=ctx.team.name if ctx.team else "")
    until = link.expires_at.astimezone(ctx.settings.tz)
    return Reply(text=ctx.say("dashboard.link", url=link.url, scope=scope, until=until),
                 link=LinkButton(ctx.say("dashboard.button"), link.url, link.web_app_url if ctx.incoming.platform == "telegram" else ""))
