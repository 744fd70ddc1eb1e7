"""When a post is due: its local time on the days it runs, and how late a missed one may still go out."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from jobs.posts import (
    JobSpec,
)

if TYPE_CHECKING:

    from handlers.rules import Rules

DEFAULT_GRACE_MINUTES = 180


def grace_period(settings: Rules) -> timedelta:
    """How late a missed post may still go out the same day (ZSBOT_JOB_GRACE_MINUTES, default 180)."""
    return timedelta(minutes=int(getattr(settings, "job_grace_minutes", DEFAULT_GRACE_MINUTES)))


def scheduled_at(day: date, at: time, settings: Rules) -> datetime:
    """The aware moment of local time `at` on local day `day`."""
    return datetime.combine(day, at, tzinfo=settings.tz)


def is_due(spec: JobSpec, at: time, now: datetime, settings: Rules) -> bool:
    """Whether a post set for local time `at` is due at `now`: its day, at or after `at`, within grace.

    Only today's post is ever due, so a bot that was down overnight never posts yesterday's.
    """
    local = now.astimezone(settings.tz)
    if not spec.runs_on(local.date()):
        return False
    start = scheduled_at(local.date(), at, settings)
    return start <= local < start + grace_period(settings)


def next_run(
    spec: JobSpec, at: time, now: datetime, settings: Rules, *, done_today: bool, horizon_days: int = 60
) -> datetime | None:
    """The next moment the post will go out for a chat: now (if due and not done), or a later day's time."""
    local = now.astimezone(settings.tz)
    if is_due(spec, at, now, settings) and not done_today:
        return local
    day = local.date()
    for offset in range(horizon_days + 1):
        candidate = day + timedelta(days=offset)
        when = scheduled_at(candidate, at, settings)
        if when > local and spec.runs_on(candidate):
            return when
    return None
