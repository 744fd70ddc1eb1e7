"""考核 and 活跃: a squad's assessment points explained, the assessment ranking, and the activity index."""

from __future__ import annotations

from handlers import access, reports
from handlers.commands import Command
from handlers.context import Context
from handlers.messages import Reply
from handlers.refusal import refuse_key
from handlers.reports.activity_index import activity_ranking, activity_reply
from handlers.reports.assessment import assess_all, assess_team, ranking_reply, team_reply
from handlers.score_periods import period_of
from storage import report_queries as rq
from storage.moments import local_day

ASSESS_DEFAULT_PERIOD = "quarter"  # assessment schemes are quarterly and yearly
ACTIVITY_DEFAULT_PERIOD = "week"  # the 活跃指数 is published weekly


async def handle_assess(cmd: Command, ctx: Context) -> Reply:
    """assess (考核): one squad's points line by line (default the sender's), or every squad's (排行)."""
    today = local_day(ctx.now, ctx.settings.tz)
    period = period_of(cmd.kind or ASSESS_DEFAULT_PERIOD, today)
    scheme = ctx.settings.scheme
    own = ctx.member.team_id if ctx.member else None
    if cmd.flag == "rank" or (not cmd.value and own is None):
        access.check_verb(ctx, "assess_rank")
        scores = await assess_all(ctx.session, settings=ctx.settings, period=period, today=today)
        return ranking_reply(scores, period, scheme, ctx.lang).reply()
    names = await rq.team_names(ctx.session)
    team_id = own
    if cmd.value:
        found, close = reports.resolve_team(cmd.value, names, threshold=ctx.settings.fuzzy_threshold)
        if found is None:
            hint = ctx.say("assess.close", names=ctx.say("assess.sep").join(close)) if close else ""
            raise refuse_key(ctx, "assess.no_squad", "assess", value=cmd.value, hint=hint)
        team_id = found
    assert team_id is not None  # no name and no squad went to the ranking above
    access.require(ctx, "assess", team_id=team_id, target=ctx.say("access.squad", name=names[team_id]), squad=True)
    score = await assess_team(ctx.session, settings=ctx.settings, period=period, today=today, team_id=team_id,
                              lang=ctx.lang)
    return team_reply(score, period, scheme, ctx.lang).reply()


async def handle_activity(cmd: Command, ctx: Context) -> Reply:
    """activity (活跃): every squad's 招商活跃指数 for the period, best first."""
    period = period_of(cmd.kind or ACTIVITY_DEFAULT_PERIOD, local_day(ctx.now, ctx.settings.tz))
    rows = await activity_ranking(ctx.session, settings=ctx.settings, period=period)
    return activity_reply(rows, period, ctx.settings.scheme.index_weights, ctx.lang).reply()
