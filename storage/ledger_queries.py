"""The ledger's (台账) queries: its rows for export (with the last note and the open problems) and what an
import needs (how many projects, the projects of a name, each project's last note)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import exists, false, func, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel import select as sqlmodel_select  # ORM entities back (sqlalchemy's select gives rows)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_select import run_select
from storage.funds_queries import funds_in_place_by_project
from storage.ledger_rows import LedgerRow
from storage.models import Event, Problem, Project, Team

_UNDO = aliased(Event, name="undo_of_note")


def _team_filter(query: Any, team_id: int | None) -> Any:
    if team_id is None:
        return query
    return query.join(Project, col(Project.id) == col(Event.project_id)).where(col(Project.team_id) == team_id)


async def last_notes(
    session: AsyncSession, *, team_id: int | None = None, project_ids: Iterable[int] | None = None,
) -> dict[int, str]:
    """Project id → the text of its last progress note (最新进展) that was not undone."""
    newest: Any = (
        select(col(Event.project_id).label("project_id"), func.max(col(Event.id)).label("event_id"))
        .where(
            col(Event.kind) == "note", col(Event.text) != "",
            ~exists().where(col(_UNDO.undoes_event_id) == col(Event.id)),
        )
        .group_by(col(Event.project_id))
    )
    newest = _team_filter(newest, team_id)
    if project_ids is not None:
        ids = list(project_ids)
        if not ids:
            return {}
        newest = newest.where(col(Event.project_id).in_(ids))
    latest = newest.subquery()
    query = select(col(Event.project_id), col(Event.text)).join(latest, latest.c.event_id == col(Event.id))
    return {int(row[0]): str(row[1]) for row in (await run_select(session, query)).all()}


async def open_problem_texts(session: AsyncSession, *, team_id: int | None = None) -> dict[int, str]:
    """Project id → its open problems (存在问题), one `[类别] 内容` per line, oldest first."""
    query = (
        select(col(Problem.project_id), col(Problem.category), col(Problem.text))
        .where(col(Problem.resolved_at).is_(None), col(Problem.withdrawn) == false())
        .order_by(col(Problem.project_id), col(Problem.opened_at), col(Problem.id))
    )
    if team_id is not None:
        query = query.join(Project, col(Project.id) == col(Problem.project_id)).where(col(Project.team_id) == team_id)
    found: dict[int, list[str]] = {}
    for project_id, category, problem in (await run_select(session, query)).all():
        found.setdefault(int(project_id), []).append(f"[{category}] {problem}".strip())
    return {project_id: "\n".join(lines) for project_id, lines in found.items()}


async def ledger_rows(session: AsyncSession, *, tz: tzinfo, team_id: int | None = None) -> list[LedgerRow]:
    """Every project not removed (dropped ones too, for their own sheet), by id, times in `tz`.

    Open problems are counted in SQL (a grouped subquery joined once), not per project; the last notes
    and the problems' texts come in one query each.
    """
    open_counts = (
        select(col(Problem.project_id).label("project_id"), func.count().label("n"))
        .where(col(Problem.resolved_at).is_(None), col(Problem.withdrawn) == false())
        .group_by(col(Problem.project_id))
        .subquery()
    )
    query = (
        select(
            col(Project.id), col(Project.name), col(Team.name), col(Project.stage), col(Project.amount_yuan),
            col(Project.industry), col(Project.wheel), col(Project.zone), col(Project.place),
            col(Project.company), col(Project.created_at), col(Project.updated_at), col(Project.planned_at),
            col(Project.attracting_at), col(Project.signed_at), col(Project.landed_at),
            func.coalesce(open_counts.c.n, 0), col(Project.expected_stage), col(Project.expected_date),
        )
        .join(Team, col(Team.id) == col(Project.team_id))
        .outerjoin(open_counts, open_counts.c.project_id == col(Project.id))
        .where(col(Project.removed).is_not(True))
        .order_by(col(Project.id))
    )
    if team_id is not None:
        query = query.where(col(Project.team_id) == team_id)
    notes = await last_notes(session, team_id=team_id)
    funds = await funds_in_place_by_project(session)
    problems = await open_problem_texts(session, team_id=team_id)

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment is not None else None

    return [
        LedgerRow(
            id=r[0], name=r[1], team=r[2], stage=r[3], amount_yuan=r[4], industry=r[5], wheel=r[6],
            zone=r[7], place=r[8], company=r[9], created_at=local(r[10]), updated_at=local(r[11]),
            planned_at=local(r[12]), attracting_at=local(r[13]), signed_at=local(r[14]),
            landed_at=local(r[15]), open_problems=int(r[16]), latest_note=notes.get(r[0], ""),
            problems=problems.get(r[0], ""), expected_stage=r[17] or "", expected_date=r[18],
            funds_yuan=funds.get(r[0], 0), funds_rate=_rate(funds.get(r[0], 0), r[4], r[3]),
        )
        for r in (await run_select(session, query)).all()
    ]


def _rate(funds: int, amount: int | None, stage: str) -> float | None:
    """到位率 as a fraction, where it means something: an amount, and funds or a signed/landed stage."""
    if not amount or amount <= 0 or not (funds or stage in ("signed", "landed")):
        return None
    return round(funds / amount, 4)


async def project_count(session: AsyncSession) -> int:
    """How many projects the database holds (removed ones too)."""
    return int((await run_select(session, select(func.count()).select_from(Project))).scalar_one())


async def project_in_team(session: AsyncSession, *, key: str, team_id: int) -> Project | None:
    """The project of this name key in this squad (removed ones too), the oldest first."""
    query = sqlmodel_select(Project).where(col(Project.name_key) == key, col(Project.team_id) == team_id)
    return (await session.exec(query.order_by(col(Project.id)))).first()
