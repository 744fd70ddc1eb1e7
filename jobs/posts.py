"""What each scheduled post says and where it goes (DESIGN §5, §5b): job specs, audiences and cards.

Platform-free and clock-free like the report builders it reuses: every function takes the moment `now`
(aware) and an open session. The scheduler (jobs.scheduler) decides when and sends; this module decides
what. Cards are built once per audience (the whole district, one squad, one squad on one platform) and
shared by every chat of that audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import reports
from handlers.chat_settings import JOB_DEFAULTS, job_setting
from handlers.format import clip
from handlers.messages import Reply
from handlers.ports import Charts
from handlers.report_calendar import day_bounds_utc, is_workday
from handlers.reports.activity_index import weekly_race
from handlers.reports.common import day_with_weekday
from storage import post_queries
from storage.models import ChatBinding
from storage.moments import local_day
from storage.post_queries import OverdueProblem, Unreported
from storage.report_queries import save_rank_snapshot, team_names

if TYPE_CHECKING:
    from handlers.rules import Rules

ESCALATION_LIMIT = 30  # problems per escalation post; the rest go out the next day
# The identity prefix whose user ids a platform's messages can @-mention.
_MENTION_IDENTITY = {"wecom-robot": "wecom", "wecom-bot": "wecom"}


@dataclass(frozen=True)
class JobSpec:
    """A scheduled post: who gets it and on which days."""

    key: str
    to_teams: bool  # posted in squad groups
    to_leaders: bool  # posted in the leaders' group
    workdays_only: bool  # skipped on statutory holidays and weekends, posted on make-up workdays (调休)
    team_cards: bool  # a squad's group gets its own card (not the district-wide one)

    @property
    def default_time(self) -> time:
        """The post's default local time (handlers.chat_settings.JOB_DEFAULTS)."""
        return JOB_DEFAULTS[self.key].time

    @property
    def weekday(self) -> int | None:
        """0 = Monday for a weekly post, None for a daily one."""
        return JOB_DEFAULTS[self.key].weekday

    @property
    def title(self) -> str:
        """The post's Chinese name."""
        return JOB_DEFAULTS[self.key].zh

    def period(self, day: date) -> str:
        """The ledger's period key for a post due on `day`: the day, or the ISO week's Monday."""
        if self.weekday is not None:
            return (day - timedelta(days=day.weekday())).isoformat()
        return day.isoformat()

    def runs_on(self, day: date) -> bool:
        """Whether the post goes out at all on `day` (weekday of a weekly post, workdays)."""
        if self.weekday is not None and day.weekday() != self.weekday:
            return False
        return not (self.workdays_only and not is_workday(day))

    def serves(self, binding: ChatBinding) -> bool:
        """Whether a bound chat is in this post's audience (regardless of its on/off setting)."""
        if binding.is_leaders:
            return self.to_leaders
        return self.to_teams and binding.team_id is not None


# Reminders follow the holiday rule. Stale-project alerts and problem escalation are workday
# business too (nobody follows up a project on National Day; an escalation waits a day or two at most);
# the leaderboard and the weekly summary go out on their days regardless.
JOBS: dict[str, JobSpec] = {
    spec.key: spec for spec in (
        JobSpec("daily_rank", to_teams=True, to_leaders=True, workdays_only=False, team_cards=False),
        JobSpec("daily_remind", to_teams=True, to_leaders=False, workdays_only=True, team_cards=True),
        JobSpec("stale_projects", to_teams=True, to_leaders=True, workdays_only=True, team_cards=True),
        JobSpec("problem_escalation", to_teams=False, to_leaders=True, workdays_only=True, team_cards=False),
        JobSpec("weekly_summary", to_teams=False, to_leaders=True, workdays_only=False, team_cards=False),
        JobSpec("weekly_race", to_teams=False, to_leaders=True, workdays_only=False, team_cards=False),
    )
}


@dataclass(frozen=True)
class Target:
    """One chat a post goes to. `chat_id` may be a WeCom robot key: it is kept out of repr and logs."""

    binding_id: int | None  # None for a dry run's stand-in when no chat is bound yet
    platform: str
    chat_id: str = field(repr=False)
    team_id: int | None
    team_name: str
    is_leaders: bool
    mentions: bool = True
    thread_id: str = ""  # the forum topic the chat was bound in (Telegram)

    @classmethod
    def of(cls, binding: ChatBinding, team_names: dict[int, str]) -> Target:
        """The target of a bound chat."""
        name = team_names.get(binding.team_id, "") if binding.team_id is not None else ""
        return cls(binding.id, binding.platform, binding.chat_id, binding.team_id, name,
                   binding.is_leaders, binding.mentions, binding.thread_id)

    @property
    def chat_key(self) -> str:
        """The ledger's chat key: platform and binding id, never the chat id (a robot key is a secret)."""
        return f"{self.platform}:{self.binding_id}"

    @property
    def audience(self) -> str:
        """Who reads the chat, for people: 领导群 or the squad's name."""
        return "领导群" if self.is_leaders else (self.team_name or "未知小分队")

    @property
    def label(self) -> str:
        """A log- and print-safe description: chat key and audience."""
        return f"{self.chat_key} {self.audience}"


@dataclass
class Card:
    """A post ready to send, and what to record once it went out."""

    reply: Reply
    problem_ids: tuple[int, ...] = ()  # escalation: these problems are marked escalated after sending


def card_key(spec: JobSpec, target: Target) -> tuple[Any, ...]:
    """Targets with equal keys get the same card, so it is built once per audience."""
    if spec.key == "daily_remind":
        return (target.team_id, target.platform, target.mentions)
    if spec.team_cards:
        return ("leaders",) if target.is_leaders else ("team", target.team_id)
    return ("all",)


async def bound_targets(session: AsyncSession) -> list[tuple[ChatBinding, Target]]:
    """Every bound chat with its target, in binding order."""
    names = await team_names(session)
    return [(binding, Target.of(binding, names)) for binding in await post_queries.all_bindings(session)]


def enabled_for(spec: JobSpec, binding: ChatBinding) -> bool:
    """The chat is in the post's audience, has not switched it off and is not paused (the bot lost it)."""
    return spec.serves(binding) and job_setting(binding, spec.key).enabled and binding.paused_at is None


async def stand_in_targets(session: AsyncSession, spec: JobSpec) -> list[Target]:
    """For a dry run with no chat bound: one stand-in per distinct card (district, or each squad)."""
    targets: list[Target] = []
    if spec.to_leaders or not spec.team_cards:
        targets.append(Target(None, "console", "", None, "", spec.to_leaders))
    if spec.to_teams and spec.team_cards:
        for tid, name in sorted((await team_names(session)).items()):
            targets.append(Target(None, "console", "", tid, name, False, True))
    return targets


async def build_card(
    spec: JobSpec, target: Target, session: AsyncSession, *, settings: Rules, now: datetime,
    charts: Charts | None = None,
) -> Card | None:
    """The card `target` gets for `spec` at `now`, or None when there is nothing to say."""
    if spec.key == "daily_rank":
        return Card(await reports.leaderboard(session, settings=settings, now=now, charts=charts))
    if spec.key == "daily_remind":
        if target.team_id is None:
            return None
        reply = await reminder(session, settings=settings, now=now, team_id=target.team_id,
                               platform=target.platform, mentions=target.mentions)
        return Card(reply) if reply is not None else None
    if spec.key == "stale_projects":
        team = None if target.is_leaders else target.team_id
        if team is None and not target.is_leaders:
            return None
        stale = await reports.stale_report(session, settings=settings, now=now, team_id=team,
                                           reds_only=target.is_leaders)
        return Card(stale) if stale is not None else None
    if spec.key == "problem_escalation":
        return await escalation(session, settings=settings, now=now)
    if spec.key == "weekly_summary":
        return Card(await reports.weekly_summary(session, settings=settings, now=now, charts=charts))
    if spec.key == "weekly_race":
        return Card(await weekly_race(session, settings=settings, now=now))
    raise ValueError(f"unknown job {spec.key!r}")


# --------------------------------------------------------------------------------------------------
# daily_rank: the snapshot behind tomorrow's ↑↓


async def save_today_snapshot(session: AsyncSession, *, settings: Rules, now: datetime) -> int:
    """Store today's ranking (idempotent: a second run replaces the day's rows); returns the row count."""
    rows = await reports.compute_ranking(session, settings=settings, now=now)
    return await save_rank_snapshot(session, day=local_day(now, settings.tz), rows=rows)


# --------------------------------------------------------------------------------------------------
# daily_remind


async def unreported_members(
    session: AsyncSession, *, team_id: int, day: date, settings: Rules
) -> list[Unreported]:
    """Members of a squad with no report (an event not undone) on `day`, except those away (请假)."""
    start, end = day_bounds_utc(day, settings.tz)
    return await post_queries.unreported_members(session, team_id=team_id, day=day, start=start, end=end)


def mention_ids(people: Sequence[Unreported], platform: str) -> list[str]:
    """The `Reply.mentions` entries that @-mention `people` on `platform` (those with an identity there).

    Telegram entries carry the name (``12345:张伟``) so the link reads @张伟; WeCom takes bare user ids.
    """
    prefix = _MENTION_IDENTITY.get(platform, platform) + ":"
    mentions: list[str] = []
    for person in people:
        for identity in person.identities:
            if identity.startswith(prefix):
                user_id = identity.removeprefix(prefix)
                mentions.append(f"{user_id}:{person.name}" if platform == "telegram" else user_id)
                break
    return mentions


async def reminder(
    session: AsyncSession, *, settings: Rules, now: datetime, team_id: int, platform: str, mentions: bool
) -> Reply | None:
    """The afternoon reminder for one squad's group, or None when everyone reported (or is away)."""
    day = local_day(now, settings.tz)
    people = await unreported_members(session, team_id=team_id, day=day, settings=settings)
    if not people:
        return None
    lines = [f"📝 报送提醒 · {day_with_weekday(day)}"]
    if mentions:
        lines.append(f"今天还有 {len(people)} 位队员没有报送：" + "、".join(p.name for p in people))
    else:
        lines.append(f"今天还有 {len(people)} 位队员没有报送，请大家抽空报送。")
    lines.append("发一条就行，例如「进展 项目名 内容」或「拜访 项目名 @上海」。")
    lines.append("外出请假可发送「请假 至12月5日」，期间不再提醒。")
    return Reply(text="\n".join(lines), mentions=mention_ids(people, platform) if mentions else [])


# --------------------------------------------------------------------------------------------------
# problem_escalation


async def overdue_problems(
    session: AsyncSession, *, settings: Rules, now: datetime, limit: int = ESCALATION_LIMIT
) -> list[OverdueProblem]:
    """Open problems older than the limit that were never escalated, or were escalated today.

    Including today's escalations lets a second leaders' group (or a retry) post the same list the
    same day, while the next day's post leaves them out: each problem reaches the leaders once.
    """
    today_start, _ = day_bounds_utc(local_day(now, settings.tz), settings.tz)
    return await post_queries.overdue_problems(
        session, opened_before=now - timedelta(days=settings.problem_escalation_days),
        escalated_since=today_start, limit=limit)


async def escalation(session: AsyncSession, *, settings: Rules, now: datetime) -> Card | None:
    """The escalation post for the leaders' group, or None when no problem is overdue."""
    problems = await overdue_problems(session, settings=settings, now=now)
    if not problems:
        return None
    today = local_day(now, settings.tz)
    limit = settings.problem_escalation_days
    lines = [f"🚨 问题督办 · {day_with_weekday(today)}",
             f"以下 {len(problems)} 个问题已超过 {limit} 天未解决，请领导协调推动："]
    for index, problem in enumerate(problems, start=1):
        age = (today - local_day(problem.opened_at, settings.tz)).days
        lines.append(f"{index}. 【{problem.category}】#{problem.project_id} {problem.project_name}"
                     f"（{problem.team_name}）已 {age} 天")
        if problem.text.strip():
            lines.append(f"    {clip(problem.text, 40)}")
    lines.append("解决后请发送「解决 #项目号 处理结果」。")
    return Card(Reply(text="\n".join(lines)), problem_ids=tuple(p.id for p in problems))
