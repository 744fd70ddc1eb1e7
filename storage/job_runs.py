"""The JobRun ledger: each post is claimed before it is sent and marked after, so it goes out once.

States: `claimed` (a process is sending it), `sent`, `skipped` (nothing to say, e.g. everyone reported),
`retry` (a failed attempt that a later tick tries again) and `failed` (given up: reported to the
leaders). The unique key (job, chat_key, period) makes exactly one process win the INSERT; every later
transition is an UPDATE guarded by the state it expects (and the owner, or the lease), so when two
processes race for a row exactly one UPDATE matches.

What "once" means when a process dies: a claimed row whose owner stops renewing it is taken over after
the lease and sent again. A process killed after the platform accepted a post but before it marked the
row sent therefore causes one duplicate; no ledger can close that window without the platform's help,
and it is one database round trip wide.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SessionFactory, transaction
from storage.models import JobRun

CLAIMED, SENT, SKIPPED, RETRY, FAILED = "claimed", "sent", "skipped", "retry", "failed"
FINAL_STATES = frozenset({SENT, SKIPPED, FAILED})
ERROR_LIMIT = 1000  # JobRun.error's column width
INTERRUPTED = "发送中断（进程退出）/ interrupted: the sending process stopped"


def new_owner() -> str:
    """A name for this scheduler instance: host, process and a random tag (two bots in one process differ)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claim:
    """A row this process holds: it may send the post, then must finish the row."""

    run_id: int
    job: str
    chat_key: str
    period: str
    attempt: int  # 1 for the first attempt


@dataclass(frozen=True)
class Policy:
    """How long a claim holds, how soon a failed post is retried, and how often."""

    lease: timedelta = timedelta(minutes=5)
    retry_after: timedelta = timedelta(minutes=1)
    max_attempts: int = 3


async def runs_for(
    session: AsyncSession, *, job: str, period: str, chat_keys: Iterable[str] | None = None
) -> dict[str, JobRun]:
    """The ledger rows of one job and period, by chat key (one query for a whole fan-out)."""
    query = select(JobRun).where(col(JobRun.job) == job, col(JobRun.period) == period)
    if chat_keys is not None:
        query = query.where(col(JobRun.chat_key).in_(list(chat_keys)))
    return {run.chat_key: run for run in (await session.exec(query)).all()}


async def _insert(
    session: AsyncSession, *, job: str, chat_key: str, period: str, owner: str, now: datetime, state: str,
) -> int | None:
    """INSERT the row unless it exists; its id when this process won, None when another already has it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(JobRun)
        .values(job=job, chat_key=chat_key, period=period, state=state, attempts=1, owner=owner,
                claimed_at=now, finished_at=None if state == CLAIMED else now, error="")
        .on_conflict_do_nothing(index_elements=["job", "chat_key", "period"])
        .returning(col(JobRun.id))
    )
    row = (await session.exec(cast(Any, statement))).first()
    return int(row[0]) if row is not None else None


async def _guarded_update(sessions: SessionFactory, run_id: int, where: Any, **values: Any) -> bool:
    """UPDATE one row if `where` still holds; True when this process's UPDATE matched."""
    async with transaction(sessions) as session:
        statement = (
            update(JobRun)
            .where(and_(col(JobRun.id) == run_id, where))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await session.exec(statement)
        return bool(result.rowcount == 1)


async def claim(
    sessions: SessionFactory, *, job: str, chat_key: str, period: str, owner: str, now: datetime,
    policy: Policy, existing: JobRun | None,
) -> Claim | JobRun | None:
    """Try to take the post (job, chat, period) for this process.

    Returns a Claim when this process may send; a JobRun when it just gave the post up for good (a
    claim whose owner died on the last attempt: the caller reports the failure); None when the post is
    done, another process holds it, or a retry is not due yet. `existing` is the row as last read (None
    when there was none); every transition re-checks it in the database.
    """
    if existing is None:
        async with transaction(sessions) as session:
            run_id = await _insert(session, job=job, chat_key=chat_key, period=period, owner=owner, now=now,
                                   state=CLAIMED)
        return Claim(run_id, job, chat_key, period, 1) if run_id is not None else None
    if existing.state in FINAL_STATES or existing.id is None:
        return None
    run_id, attempts = existing.id, existing.attempts
    if existing.state == CLAIMED:
        # Taken over only once the owner's lease ran out: it died, or hung past its own send deadline.
        cutoff = now - policy.lease
        stale = and_(col(JobRun.state) == CLAIMED, col(JobRun.claimed_at) < cutoff,
                     col(JobRun.attempts) == attempts)
        if attempts >= policy.max_attempts:
            error = (existing.error or INTERRUPTED)[:ERROR_LIMIT]
            if await _guarded_update(sessions, run_id, stale, state=FAILED, finished_at=now, owner=owner,
                                     error=error):
                existing.state, existing.finished_at, existing.error = FAILED, now, error
                return existing
            return None
        if await _guarded_update(sessions, run_id, stale, owner=owner, claimed_at=now, attempts=attempts + 1):
            return Claim(run_id, job, chat_key, period, attempts + 1)
        return None
    if existing.state == RETRY:
        finished = existing.finished_at
        if finished is not None and finished > now - policy.retry_after:
            return None
        due = and_(col(JobRun.state) == RETRY, col(JobRun.attempts) == attempts)
        if await _guarded_update(sessions, run_id, due, state=CLAIMED, owner=owner, claimed_at=now,
                                 attempts=attempts + 1):
            return Claim(run_id, job, chat_key, period, attempts + 1)
    return None


async def reopen(
    sessions: SessionFactory, run: JobRun, *, owner: str, now: datetime
) -> Claim | None:
    """Take a failed or retry row back for a manual run (`zsbot jobs run`): an operator fixed the cause."""
    if run.id is None or run.state not in (FAILED, RETRY):
        return None
    guard = and_(col(JobRun.state) == run.state, col(JobRun.attempts) == run.attempts)
    if await _guarded_update(sessions, run.id, guard, state=CLAIMED, owner=owner, claimed_at=now,
                             attempts=run.attempts + 1, error=""):
        return Claim(run.id, run.job, run.chat_key, run.period, run.attempts + 1)
    return None


async def finish(
    sessions: SessionFactory, claim_: Claim, *, owner: str, state: str, now: datetime, error: str = ""
) -> bool:
    """Close a claim as sent, skipped, retry or failed; False when the claim was lost to another process."""
    held = and_(col(JobRun.state) == CLAIMED, col(JobRun.owner) == owner,
                col(JobRun.attempts) == claim_.attempt)
    return await _guarded_update(sessions, claim_.run_id, held, state=state, finished_at=now,
                                 error=error[:ERROR_LIMIT])


async def record_once(
    sessions: SessionFactory, *, job: str, chat_key: str, period: str, owner: str, now: datetime,
    action: Callable[[AsyncSession], Awaitable[object]],
) -> bool:
    """Run `action` and record (job, chat, period) as done in one transaction, unless it is done already.

    True for the one process that did it. If `action` raises, nothing is recorded and a later call
    tries again.
    """
    async with transaction(sessions) as session:
        run_id = await _insert(session, job=job, chat_key=chat_key, period=period, owner=owner, now=now,
                               state=SENT)
        if run_id is None:
            return False
        await action(session)
        return True


async def last_runs(session: AsyncSession, *, jobs: Iterable[str]) -> dict[tuple[str, str], JobRun]:
    """The most recent ledger row of every (job, chat key) among `jobs`."""
    latest = (
        select(col(JobRun.job), col(JobRun.chat_key), func.max(col(JobRun.id)).label("last_id"))
        .where(col(JobRun.job).in_(list(jobs)))
        .group_by(col(JobRun.job), col(JobRun.chat_key))
        .subquery()
    )
    rows = (await session.exec(select(JobRun).join(latest, col(JobRun.id) == latest.c.last_id))).all()
    return {(run.job, run.chat_key): run for run in rows}
