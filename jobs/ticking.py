"""The minute tick: APScheduler runs the scheduled posts every minute (and once at start-up) inside `zsbot run`."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from jobs.scheduler import JobScheduler
from jobs.timing import grace_period

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler


log = logging.getLogger(__name__)


class SchedulerHandle:
    """The running APScheduler and its tick: what `start_scheduler` returns to the web app."""

    def __init__(self, jobs: JobScheduler, aps: AsyncIOScheduler) -> None:
        self.jobs = jobs
        self.aps = aps
        self._ticks: set[asyncio.Task[None]] = set()

    async def tick(self) -> None:
        """One minute's tick, remembered so that shutdown can cancel it."""
        task = asyncio.current_task()
        if task is not None:
            self._ticks.add(task)
        try:
            await self.jobs.tick_safely()
        finally:
            if task is not None:
                self._ticks.discard(task)

    def shutdown(self, wait: bool = False) -> None:
        """Stop ticking and cancel a fan-out in progress (its unsent chats resume on the next start)."""
        if self.aps.running:
            self.aps.shutdown(wait=wait)
        for task in list(self._ticks):
            task.cancel()

    async def aclose(self) -> None:
        """`shutdown()`, then wait until a cancelled fan-out has unwound."""
        ticks = list(self._ticks)
        self.shutdown(wait=False)
        await asyncio.gather(*ticks, return_exceptions=True)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown() runs on the loop's next turn


async def start_scheduler(jobs: JobScheduler) -> SchedulerHandle:
    """Start `jobs` ticking every minute (and once now), as built by the composition root (bot.app)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger

    tz = jobs.settings.tz
    aps = AsyncIOScheduler(timezone=tz, event_loop=asyncio.get_running_loop())
    handle = SchedulerHandle(jobs, aps)
    # A tick that outlasts its minute makes APScheduler skip the next one (max_instances=1): the
    # running fan-out already covers whatever that tick would have found.
    aps.add_job(handle.tick, CronTrigger(second=0, timezone=tz), id="zsbot-posts",
                name="scheduled posts", max_instances=1, coalesce=True, misfire_grace_time=50,
                next_run_time=datetime.now(tz))
    # APScheduler logs every run at INFO: once a minute is noise in `zsbot run`'s log.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    aps.start()
    log.info("scheduled posts: ticking every minute as %s (grace %s)", jobs.owner,
             grace_period(jobs.settings))
    return handle
