"""The SQL behind the scheduled posts (jobs.posts): bound chats, who has not reported, overdue problems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import and_, exists, false, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatBinding, Event, Identity, Member, Problem, Project, Team
from storage.report_queries import REPORT_KINDS


async def all_bindings(session: AsyncSession) -> list[ChatBinding]:
    """Every bound chat, in binding order."""
    return list((await session.exec(select(ChatBinding).order_by(col(ChatBinding.id)))).all())


@dataclass(frozen=True)
class Unreported:
    """A squad member who has not reported today, with their platform identities."""

    member_id: int
    name: str
    identities: tuple[str, ...]


async def unreported_members(session: AsyncSession, *, team_id: int, day: date, start: datetime,
                             end: datetime) -> list[Unreported]:
    """Members of a squad with no report (an event not undone) between `start` and `end` (the UTC bounds of
    the local `day`), except those away (请假) that day."""
    undo = aliased(Event)
    reported = exists().where(
        col(Event.member_id) == col(Member.id),
        col(Event.created_at) >= start,
        col(Event.created_at) < end,
        col(Event.kind).in_(REPORT_KINDS),
        ~exists().where(col(undo.undoes_event_id) == col(Event.id)),
    )
    query = (
        select(col(Member.id), col(Member.name))
        .where(
            col(Member.team_id) == team_id,
            or_(col(Member.away_until).is_(None), col(Member.away_until) < day),
            ~reported,
        )
        .order_by(col(Member.id))
    )
    members = (await session.exec(query)).all()
    if not members:
        return []
    ids = [mid for mid, _ in members if mid is not None]
    rows = (await session.exec(
        select(col(Identity.member_id), col(Identity.identity))
        .where(col(Identity.member_id).in_(ids))
        .order_by(col(Identity.id))
    )).all()
    identities: dict[int, list[str]] = {}
    for member_id, identity in rows:
        identities.setdefault(member_id, []).append(identity)
    return [Unreported(mid, name, tuple(identities.get(mid, ()))) for mid, name in members if mid is not None]


@dataclass(frozen=True)
class OverdueProblem:
    """An open problem past the escalation limit."""

    id: int
    project_id: int
    project_name: str
    team_name: str
    category: str
    text: str
    opened_at: datetime


async def overdue_problems(session: AsyncSession, *, opened_before: datetime, escalated_since: datetime,
                           limit: int) -> list[OverdueProblem]:
    """Open problems opened before `opened_before` never escalated, or escalated since `escalated_since`."""
    query = (
        sa_select(
            col(Problem.id), col(Project.id), col(Project.name), col(Team.name), col(Problem.category),
            col(Problem.text), col(Problem.opened_at),
        )
        .join(Project, col(Project.id) == col(Problem.project_id))
        .join(Team, col(Team.id) == col(Project.team_id))
        .where(
            col(Problem.resolved_at).is_(None),
            col(Problem.withdrawn) == false(),
            col(Project.removed) == false(),
            col(Project.stage) != "dropped",
            col(Problem.opened_at) < opened_before,
            or_(col(Problem.escalated_at).is_(None), col(Problem.escalated_at) >= escalated_since),
        )
        .order_by(col(Problem.opened_at), col(Problem.id))
        .limit(limit)
    )
    rows = (await session.exec(cast(Any, query))).all()
    return [OverdueProblem(*row) for row in rows]


async def mark_escalated(session: AsyncSession, *, problem_ids: Sequence[int], now: datetime) -> None:
    """Record that the leaders heard of these problems (the first escalation time is kept)."""
    if not problem_ids:
        return
    statement = (
        update(Problem)
        .where(and_(col(Problem.id).in_(list(problem_ids)), col(Problem.escalated_at).is_(None)))
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.exec(cast(Any, statement))
