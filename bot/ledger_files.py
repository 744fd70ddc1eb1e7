"""`zsbot export` and `zsbot import`: the ledger (台账) between the database and .xlsx/.csv/.json files."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import ZsBot
from handlers import ledger, reports
from handlers.codes import new_invite_code
from handlers.ledger import LedgerFormatError, LedgerRow
from storage import queries
from storage import report_queries as rq
from storage.db import transaction
from storage.models import STAGE_ORDER, STAGES, Event, Project, Team

SUFFIXES = (".xlsx", ".csv", ".json")


async def export_ledger(bot: ZsBot, path: Path) -> int:
    """Write every live project to `path` in the format its suffix names; returns the project count."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LedgerFormatError([f"不支持的文件类型 {suffix or '(无)'}：请用 .xlsx、.csv 或 .json"])
    now = bot.clock()
    async with bot.sessions() as session:
        rows = await rq.ledger_rows(session, tz=bot.settings.tz)
        if suffix == ".xlsx":
            content = (await reports.ledger_export(session, settings=bot.settings, now=now)).content
        elif suffix == ".csv":
            content = await asyncio.to_thread(ledger.write_csv, rows, tz=bot.settings.tz)
        else:
            content = await asyncio.to_thread(ledger.write_json, rows, tz=bot.settings.tz)
    await asyncio.to_thread(path.write_bytes, content)
    return len(rows)


async def import_ledger(bot: ZsBot, path: Path) -> tuple[int, int]:
    """Load a ledger file: all rows or none. Returns (created, updated).

    A row updates the project with its id when that project has the same name, else the project of the
    same name in the same squad; otherwise it creates one (keeping the file's id when the database has no
    projects yet, so a district's own #numbers survive its first import). Squads are created as needed.
    """
    content = await asyncio.to_thread(path.read_bytes)
    rows = await asyncio.to_thread(ledger.read_ledger, content, path.name, tz=bot.settings.tz,
                                   usd_rate=bot.settings.usd_cny_rate)
    now = bot.clock()
    created = updated = 0
    async with transaction(bot.sessions) as session:
        empty = (await session.exec(select(func.count()).select_from(Project))).one() == 0
        teams: dict[str, Team] = {}
        for row in rows:
            team = teams.get(row.team) or await _team(session, row.team, now)
            teams[row.team] = team
            project = await _match(session, row, team)
            if project is None:
                project = Project(name=row.name, name_key=queries.name_key(row.name), team_id=team.id or 0,
                                  created_at=row.created_at or now, updated_at=now, last_event_at=now)
                if empty and row.id is not None:
                    project.id = row.id
                created += 1
                kind = "create"
            else:
                updated += 1
                kind = "edit"
            _apply(bot, project, row, team, now)
            session.add(project)
            await session.flush()
            session.add(Event(project_id=project.id, team_id=project.team_id, kind=kind, to_stage=project.stage,
                              text=f"导入台账 {path.name}", source_platform="import", created_at=now))
        if empty and bot.engine.dialect.name == "postgresql":
            # Explicit ids do not move PostgreSQL's sequence; the next new project must not collide.
            await session.exec(text(  # type: ignore[call-overload]  # raw SQL on purpose
                "SELECT setval(pg_get_serial_sequence('project', 'id'), COALESCE(MAX(id), 1)) FROM project"))
    return created, updated


async def _team(session: AsyncSession, name: str, now: datetime) -> Team:
    if not name.strip():
        raise LedgerFormatError(["有项目没有填写责任单位（team）"])
    team = await queries.team_by_name(session, name=name)
    if team is None:
        code = new_invite_code()
        while await queries.team_by_invite(session, code=code):
            code = new_invite_code()
        team = Team(name=name.strip(), kind="squad", invite_code=code, created_at=now)
        session.add(team)
        await session.flush()
    return team


async def _match(session: AsyncSession, row: LedgerRow, team: Team) -> Project | None:
    key = queries.name_key(row.name)
    if row.id is not None:
        project = await session.get(Project, row.id)
        if project is not None and project.name_key == key:
            return project
    found = (await session.exec(select(Project).where(Project.name_key == key, Project.team_id == team.id))).first()
    return found


def _apply(bot: ZsBot, project: Project, row: LedgerRow, team: Team, now: datetime) -> None:
    project.name, project.name_key = row.name, queries.name_key(row.name)
    project.team_id = team.id or 0
    project.stage = row.stage
    project.amount_yuan = row.amount_yuan
    industry = bot.catalog.industry_of(row.industry) if row.industry else None
    project.industry = industry or row.industry
    project.wheel = row.wheel or (bot.catalog.wheel_of(industry) if industry else "")
    project.zone, project.place, project.company = row.zone, row.place, row.company
    project.removed = False
    for stage in STAGES:
        setattr(project, f"{stage}_at", getattr(row, f"{stage}_at"))
    if row.stage in STAGE_ORDER:
        # The counting rule: a project in a pool has reached every earlier pool, at the latest then.
        reached = getattr(row, f"{row.stage}_at") or row.created_at or now
        for earlier in STAGES[: STAGE_ORDER[row.stage] + 1]:
            if getattr(project, f"{earlier}_at") is None:
                setattr(project, f"{earlier}_at", reached)
    elif row.stage == "dropped" and project.dropped_at is None:
        project.dropped_at = row.updated_at or now
    project.updated_at = row.updated_at or now
    project.last_event_at = now
