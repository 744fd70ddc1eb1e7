"""The scheduled posts (DESIGN §5, §5b): one APScheduler tick a minute asks what is due and sends it once.

There is deliberately one APScheduler job, not one per chat: a province has thousands of bound chats and
each may move its own post times (`设置 排行 08:30`). Every tick (and once at start-up) reads the
bindings, and for every job and chat whose local post time today has passed, but by no more than the
grace period, claims the post in the JobRun ledger (storage.job_runs), builds the card (once per audience),
sends it through the platform's Messenger and marks it sent. The ledger makes it exactly once across
several `zsbot run` processes on one database, resumes a fan-out a killed process left unfinished, and
retries a failing chat a few times before reporting it to the leaders' group. A bot that was down at
post time catches up the same day within the grace period; a past day is never posted.

Times are local to ZSBOT_TIMEZONE and come from the injected clock (bot.clock), never from APScheduler,
so tests drive the schedule by moving a clock and calling `tick()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from handlers.chat_settings import job_setting
from handlers.context import Clock
from handlers.ports import Charts, ChatEvents, DeliveryError, Messenger
from jobs.failures import report_failures, safe_error
from jobs.posts import (
    JOBS,
    Card,
    JobSpec,
    Target,
    bound_targets,
    build_card,
    card_key,
    enabled_for,
    save_today_snapshot,
    stand_in_targets,
)
from jobs.timing import is_due, scheduled_at
from storage import job_runs as runs
from storage.db import SessionFactory, transaction
from storage.models import ChatBinding, JobRun
from storage.moments import local_day
from storage.post_queries import mark_escalated

if TYPE_CHECKING:

    from handlers.rules import Rules

log = logging.getLogger(__name__)

SNAPSHOT_JOB = "rank_snapshot"
HOUSEKEEPING_JOB = "housekeeping"  # once a day: prune evidence files, forget expired replays
HOUSEKEEPING_AT = time(3, 0)  # local time: the quietest hour
# Statuses of one (job, chat) in a tick or a manual run, besides the ledger states of storage.job_runs.
HELD = "held"  # another process is sending it, or a retry is not due yet
DONE = "done"  # already sent (or skipped, or given up) for this period
NO_MESSENGER = "no-messenger"  # the chat's platform is not running in this process
PAUSED = "paused"  # the bot lost the chat (removed, key revoked): its binding is paused, the admins told
DRY_RUN = "dry-run"
ERROR = "error"  # the ledger itself failed (database unavailable): retried after the lease

CardTasks = dict[tuple[Any, ...], "asyncio.Task[Card | None]"]


@dataclass
class Outcome:
    """What became of one post in a tick or a manual run."""

    job: str
    target: Target
    status: str  # a storage.job_runs state (sent, skipped, retry, failed) or HELD, DONE, NO_MESSENGER, DRY_RUN
    error: str = ""
    card: Card | None = None  # dry runs: the card that would have been sent


class JobScheduler:
    """Decides which posts are due and sends each once; `tick()` is what APScheduler calls every minute."""

    def __init__(
        self,
        *,
        settings: Rules,
        sessions: SessionFactory,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        owner: str | None = None,
        policy: runs.Policy | None = None,
        concurrency: int = 16,
        charts: Charts | None = None,
        chat_events: ChatEvents | None = None,
        housekeeping: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`messengers` is read at send time, so platforms registered after construction are used.

        `chat_events` pauses a chat the bot lost; `housekeeping` is run once a day (HOUSEKEEPING_AT).
        """
        self.settings = settings
        self.chat_events = chat_events
        self.housekeeping = housekeeping
        self._housekept: date | None = None
        self.sessions = sessions
        self.messengers = messengers
        self.clock = clock
        self.owner = owner or runs.new_owner()
        self.policy = policy or runs.Policy()
        self.concurrency = concurrency
        self.charts = charts
        # A send may not outlive its claim's lease, or another process would take the claim over and
        # post a second time while this one is still trying.
        self.send_timeout = max(1.0, self.policy.lease.total_seconds() * 0.8)
        self._snapshot_day: date | None = None
        self._missing_platforms: set[str] = set()
        self._tick_lock = asyncio.Lock()

    # -- the minute tick ---------------------------------------------------------------------------

    async def tick(self) -> list[Outcome]:
        """Send every post due now that no process has sent yet; returns what happened to each."""
        if self._tick_lock.locked():  # the previous tick's fan-out is still running: it covers this one
            return []
        async with self._tick_lock:
            now = self.clock()
            async with self.sessions() as session:
                pairs = await bound_targets(session)
            outcomes: list[Outcome] = []
            for spec in JOBS.values():
                if spec.key == "daily_rank":
                    await self._snapshot(now)
                due = [
                    target for binding, target in pairs
                    if enabled_for(spec, binding)
                    and is_due(spec, job_setting(binding, spec.key).at, now, self.settings)
                ]
                if due:
                    outcomes += await self._fan_out(spec, due, now, leaders=_leaders(pairs))
            await self._housekeep(now)
            return outcomes

    async def tick_safely(self) -> None:
        """`tick()` for APScheduler: an error is logged and the next minute tries again."""
        try:
            outcomes = await self.tick()
        except Exception:
            log.exception("scheduled posts: tick failed")
            return
        sent = sum(1 for o in outcomes if o.status == runs.SENT)
        if sent:
            log.info("scheduled posts: %d sent", sent)

    async def _snapshot(self, now: datetime, *, force: bool = False) -> None:
        """Store today's ranking once a day, from the leaderboard's default time on (for tomorrow's ↑↓)."""
        spec = JOBS["daily_rank"]
        today = local_day(now, self.settings.tz)
        if self._snapshot_day == today:
            return
        if not force and now < scheduled_at(today, spec.default_time, self.settings):
            return

        async def save(session: Any) -> None:
            await save_today_snapshot(session, settings=self.settings, now=now)

        try:
            await runs.record_once(self.sessions, job=SNAPSHOT_JOB, chat_key="-", period=today.isoformat(),
                                   owner=self.owner, now=now, action=save)
        except Exception:  # the posts matter more than tomorrow's arrows: log, retry next tick
            log.exception("scheduled posts: saving the ranking snapshot failed")
            return
        self._snapshot_day = today

    async def _housekeep(self, now: datetime) -> None:
        """Once a day after HOUSEKEEPING_AT, in one process: claimed in the ledger first, then run (not inside
        the ledger's transaction: on SQLite the work's own writes would wait for it)."""
        today = local_day(now, self.settings.tz)
        if self.housekeeping is None or self._housekept == today:
            return
        if now < scheduled_at(today, HOUSEKEEPING_AT, self.settings):
            return
        self._housekept = today

        async def nothing(session: Any) -> None:
            return None

        try:
            if await runs.record_once(self.sessions, job=HOUSEKEEPING_JOB, chat_key="-", period=today.isoformat(),
                                      owner=self.owner, now=now, action=nothing):
                await self.housekeeping()
        except Exception:  # tomorrow tries again; nothing depends on it today
            log.exception("scheduled posts: housekeeping failed")

    # -- fan-out -----------------------------------------------------------------------------------

    async def _fan_out(
        self, spec: JobSpec, targets: Sequence[Target], now: datetime, *, leaders: Sequence[Target],
        manual: bool = False,
    ) -> list[Outcome]:
        period = spec.period(local_day(now, self.settings.tz))
        async with self.sessions() as session:
            existing = await runs.runs_for(session, job=spec.key, period=period,
                                           chat_keys=[t.chat_key for t in targets])
        outcomes: list[Outcome] = []
        pending: list[Target] = []
        for target in targets:
            row = existing.get(target.chat_key)
            retry_manually = manual and row is not None and row.state == runs.FAILED
            if row is not None and row.state in runs.FINAL_STATES and not retry_manually:
                outcomes.append(Outcome(spec.key, target, DONE, row.error))
            elif target.platform not in self.messengers:
                if target.platform not in self._missing_platforms:
                    self._missing_platforms.add(target.platform)
                    log.warning("scheduled posts: no %s messenger running; its chats wait", target.platform)
                outcomes.append(Outcome(spec.key, target, NO_MESSENGER))
            else:
                pending.append(target)
        if not pending:
            return outcomes
        cards: CardTasks = {}
        semaphore = asyncio.Semaphore(self.concurrency)
        try:
            delivered = await asyncio.gather(*(
                self._deliver(spec, target, period, now, existing.get(target.chat_key), cards, semaphore,
                              manual=manual)
                for target in pending
            ))
        finally:
            for task in cards.values():
                task.cancel()
        outcomes += delivered
        failed = [o for o in delivered if o.status == runs.FAILED]
        if failed:
            await report_failures(spec, period, [(o.target, o.error) for o in failed], leaders,
                                  messengers=self.messengers, admins=self.settings.admins,
                                  send_timeout=self.send_timeout)
        return outcomes

    async def _deliver(
        self, spec: JobSpec, target: Target, period: str, now: datetime, existing: JobRun | None,
        cards: CardTasks, semaphore: asyncio.Semaphore, *,
        manual: bool,
    ) -> Outcome:
        async with semaphore:
            try:
                return await self._deliver_one(spec, target, period, now, existing, cards, manual=manual)
            except Exception as exc:
                # The database failed under us (a claim, a finish): the row stays claimed, so a later
                # tick takes it over after the lease. The other chats go on.
                log.exception("scheduled posts: %s to %s broke off", spec.key, target.label)
                return Outcome(spec.key, target, ERROR, safe_error(repr(exc), target))

    async def _deliver_one(
        self, spec: JobSpec, target: Target, period: str, now: datetime, existing: JobRun | None,
        cards: CardTasks, *, manual: bool,
    ) -> Outcome:
        if manual and existing is not None and existing.state in (runs.FAILED, runs.RETRY):
            claimed: runs.Claim | JobRun | None = await runs.reopen(self.sessions, existing,
                                                                     owner=self.owner, now=now)
        else:
            claimed = await runs.claim(self.sessions, job=spec.key, chat_key=target.chat_key,
                                       period=period, owner=self.owner, now=now, policy=self.policy,
                                       existing=existing)
        if claimed is None:
            return Outcome(spec.key, target, HELD)
        if isinstance(claimed, JobRun):  # the process holding it died on its last attempt
            return Outcome(spec.key, target, runs.FAILED, claimed.error)
        try:
            card = await self._card(spec, target, now, cards)
        except Exception as exc:
            log.exception("scheduled posts: building %s for %s failed", spec.key, target.label)
            error = f"生成内容失败 / building the card failed: {exc!r}"
            return await self._failed(claimed, spec, target, now, error, permanent=False)
        if card is None:
            await runs.finish(self.sessions, claimed, owner=self.owner, state=runs.SKIPPED, now=now)
            return Outcome(spec.key, target, runs.SKIPPED)
        messenger = self.messengers[target.platform]
        try:
            async with asyncio.timeout(self.send_timeout):
                if target.thread_id:  # bound inside a forum topic: posted there
                    await messenger.send(target.chat_id, card.reply, thread_id=target.thread_id)
                else:
                    await messenger.send(target.chat_id, card.reply)
        except DeliveryError as exc:
            if exc.gone:
                return await self._lost(claimed, spec, target, now, safe_error(str(exc), target))
            return await self._failed(claimed, spec, target, now, safe_error(str(exc), target),
                                      permanent=exc.permanent)
        except TimeoutError:
            return await self._failed(claimed, spec, target, now, "发送超时 / send timed out",
                                      permanent=False)
        except Exception as exc:  # an adapter bug must not stop the other chats
            log.exception("scheduled posts: sending %s to %s failed", spec.key, target.label)
            return await self._failed(claimed, spec, target, now, safe_error(repr(exc), target),
                                      permanent=False)
        if card.problem_ids:
            async with transaction(self.sessions) as session:
                await mark_escalated(session, problem_ids=card.problem_ids, now=now)
        if not await runs.finish(self.sessions, claimed, owner=self.owner, state=runs.SENT, now=now):
            log.warning("scheduled posts: %s to %s was sent after its claim was taken over",
                        spec.key, target.label)
        return Outcome(spec.key, target, runs.SENT)

    async def _card(self, spec: JobSpec, target: Target, now: datetime, cards: CardTasks) -> Card | None:
        """The target's card, built once per audience and shared by every chat that gets the same one."""
        key = card_key(spec, target)
        task = cards.get(key)
        if task is None:
            task = asyncio.ensure_future(self.build(spec, target, now))
            cards[key] = task
        # Shielded: one chat's cancellation must not cancel a card other chats are waiting for.
        return await asyncio.shield(task)

    async def build(self, spec: JobSpec, target: Target, now: datetime) -> Card | None:
        """Build one card in its own read-only session."""
        async with self.sessions() as session:
            return await build_card(spec, target, session, settings=self.settings, now=now,
                                    charts=self.charts)

    async def _failed(
        self, claimed: runs.Claim, spec: JobSpec, target: Target, now: datetime, error: str, *,
        permanent: bool,
    ) -> Outcome:
        final = permanent or claimed.attempt >= self.policy.max_attempts
        state = runs.FAILED if final else runs.RETRY
        log.warning("scheduled posts: %s to %s failed (attempt %d%s): %s", spec.key, target.label,
                    claimed.attempt, ", giving up" if final else "", error)
        await runs.finish(self.sessions, claimed, owner=self.owner, state=state, now=now, error=error)
        return Outcome(spec.key, target, state, error)

    async def _lost(self, claimed: runs.Claim, spec: JobSpec, target: Target, now: datetime, error: str) -> Outcome:
        """The bot lost the chat: its binding is paused (the admins hear it once, from jobs.bindings) instead
        of this post being retried and reported as failed every day."""
        log.warning("scheduled posts: %s to %s: the chat is gone (%s); pausing it", spec.key, target.label, error)
        await runs.finish(self.sessions, claimed, owner=self.owner, state=runs.FAILED, now=now,
                          error=f"已暂停 / paused: {error}")
        if self.chat_events is not None:
            await self.chat_events.chat_lost(target.platform, target.chat_id, error)
        return Outcome(spec.key, target, PAUSED, error)

    # -- manual runs (zsbot jobs run) ------------------------------------------------------------------

    async def run_now(self, key: str, *, chat: str | None = None, dry_run: bool = False) -> list[Outcome]:
        """Run one job now, whatever its time (`zsbot jobs run NAME [--chat ID] [--dry-run]`).

        Chats that switched the job off are left out unless named with `chat` (a binding id or the
        platform's chat id). A real run claims today's period like a tick, so the scheduled post does
        not go out a second time; a chat that failed before is tried again. A dry run sends and records
        nothing and returns the cards; with no chat bound it returns the cards a chat would get.
        """
        spec = JOBS[key]
        now = self.clock()
        async with self.sessions() as session:
            pairs = await bound_targets(session)
        chosen = [
            target for binding, target in pairs
            if spec.serves(binding) and (_named(binding, chat) if chat else enabled_for(spec, binding))
        ]
        if dry_run:
            if not chosen and not chat:
                async with self.sessions() as session:
                    chosen = await stand_in_targets(session, spec)
            outcomes = []
            for target in chosen:
                outcomes.append(Outcome(spec.key, target, DRY_RUN, card=await self.build(spec, target, now)))
            return outcomes
        if spec.key == "daily_rank":
            await self._snapshot(now, force=True)
        if not chosen:
            return []
        return await self._fan_out(spec, chosen, now, leaders=_leaders(pairs), manual=True)


def _leaders(pairs: Sequence[tuple[ChatBinding, Target]]) -> list[Target]:
    return [target for binding, target in pairs if binding.is_leaders]


def _named(binding: ChatBinding, chat: str) -> bool:
    """Whether `--chat` names this binding: its id, or the platform's chat id."""
    return chat == str(binding.id) or chat == binding.chat_id


