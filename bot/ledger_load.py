"""`zsbot import FILE`: a ledger (ours or a district office's 台账) into the database, all rows or none.

Never creates a squad: every 责任单位 must name an existing one (exactly, ignoring spaces and width) or
be mapped (`--map 德化街办事处=德化街`, `--map-file`); otherwise the import lists each unknown name with
the closest squads and stops before changing anything. Every change is an event, as from the chat
(create, stage, edit, drop, note, expect; source_platform "import"), written through the ORM so the year
counters (storage.tallies) and the name index move with it. A dry run does the same work in a
transaction it rolls back, so what it prints is exactly what the import would do.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import ZsBot
from handlers import ledger
from handlers.format import STAGE_ZH, project_label
from handlers.ledger import LedgerFormatError, LedgerRow
from handlers.records import snapshot
from handlers.reports import close_names
from storage import event_queries, name_lookup
from storage import ledger_queries as lq
from storage import report_queries as rq
from storage.db import follow_explicit_ids
from storage.limits import clip_to
from storage.models import STAGE_ORDER, STAGES, Project

_EDIT_FIELDS = ("amount_yuan", "industry", "wheel", "zone", "place", "company")
_FIELD_ZH = {"amount_yuan": "金额", "industry": "行业", "wheel": "轮", "zone": "区域", "place": "地点",
             "company": "企业", **{f"{stage}_at": f"{STAGE_ZH[stage]}时间" for stage in STAGES}}
_STAGE_FIELDS = ("stage", *(f"{stage}_at" for stage in STAGES), "dropped_at", "signed_verified_at",
                 "landed_verified_at", "expected_stage", "expected_date", "expected_slips")


@dataclass
class ImportReport:
    """What an import did (or, dry, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: int = 0
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def _squad_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def parse_mapping(pairs: Sequence[str], *, origin: str = "--map") -> dict[str, str]:
    """`a=b` pairs (a 责任单位 in the file = an existing squad); raises ValueError naming a bad one."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        line = unicodedata.normalize("NFKC", pair).strip()
        if not line or line.startswith("#"):
            continue
        source, sep, target = line.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"{origin} 应写成 原名=小分队（例：德化街办事处=德化街），不是“{pair.strip()}”")
        mapping[source.strip()] = target.strip()
    return mapping


def read_mapping_file(path: Path) -> dict[str, str]:
    """A mapping file: one `a=b` per line, blank lines and # comments ignored (UTF-8 or GBK)."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("gb18030")
    return parse_mapping(content.splitlines(), origin=str(path))


def resolve_squads(rows: Sequence[LedgerRow], teams: Mapping[int, str], mapping: Mapping[str, str],
                   *, threshold: float = 60) -> dict[str, int]:
    """责任单位 as written → squad id; raises LedgerFormatError listing every unknown name and bad mapping."""
    by_key = {_squad_key(name): team_id for team_id, name in teams.items()}
    names = list(teams.values())
    problems: list[str] = []
    mapped: dict[str, int] = {}
    for source, target in mapping.items():
        team_id = by_key.get(_squad_key(target))
        if team_id is None:
            close = close_names(target, names, threshold=threshold, limit=3)
            problems.append(f"--map {source}={target}：没有叫「{target}」的小分队" +
                            (f"（最接近：{'、'.join(close)}）" if close else ""))
        else:
            mapped[_squad_key(source)] = team_id
    found: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for row in rows:
        if not row.team.strip():
            problems.append(f"{row.source}：没有填写责任单位")
            continue
        key = _squad_key(row.team)
        team_id = mapped.get(key, by_key.get(key))
        if team_id is None:
            unknown[row.team] = unknown.get(row.team, 0) + 1
        else:
            found[row.team] = team_id
    if unknown:
        problems.insert(0, f"台账里有 {len(unknown)} 个责任单位不是已有的小分队；导入不会新建小分队，已停止，未做任何更改：")
        for position, (name, count) in enumerate(unknown.items(), start=1):
            close = close_names(name, names, threshold=threshold, limit=3)
            hint = f"最接近：{'、'.join(close)}" if close else "没有相近的小分队"
            problems.insert(position, f"  {name}（{count} 行）→ {hint}")
        example = next(iter(unknown))
        target = (close_names(example, names, threshold=threshold, limit=1) or ["小分队名"])[0]
        problems.append(f"用 --map {example}={target} 指定（可重复），或 --map-file 文件（每行一个 原名=小分队）；"
                        "确是新的小分队，请先在聊天里「建队 名称」。")
    if problems:
        raise LedgerFormatError(problems)
    return found


class _Importer:
    """One import's work in one session (committed by the caller, or rolled back for a dry run)."""

    def __init__(self, bot: ZsBot, session: Any, report: ImportReport, source: str, now: datetime) -> None:
        self.bot, self.session, self.report, self.source, self.now = bot, session, report, source, now

    async def event(self, project: Project, kind: str, *, text: str = "", from_stage: str = "",
                    to_stage: str = "", data: dict[str, Any] | None = None) -> None:
        """Append an event as the chat does, marked as coming from this file."""
        await event_queries.add_event(
            self.session, project_id=project.id, member_id=None, team_id=project.team_id, kind=kind,
            from_stage=from_stage, to_stage=to_stage, text=text,
            data=json.dumps({**(data or {}), "import": self.source}, ensure_ascii=False, default=str),
            undoes_event_id=None, source_platform="import", source_chat=clip_to("event", "source_chat", self.source),
            source_message_id="", created_at=self.now,
        )

    def _dates(self, project: Project, row: LedgerRow, stage: str) -> None:
        """Reached dates up to `stage`: the file's where it has one, then filled and ordered so that no
        earlier stage is dated after a later one (a project that signed on a day was planned by then)."""
        reached = STAGE_ORDER[stage]
        label = f"{row.source}「{row.name}」"
        for later in STAGES[reached + 1:]:
            moment = getattr(row, f"{later}_at")
            if moment is not None and getattr(project, f"{later}_at") is None:
                self.report.warnings.append(
                    f"{label}：在{STAGE_ZH[stage]}库却填了{STAGE_ZH[later]}时间 {moment:%Y-%m-%d}，记为预计{STAGE_ZH[later]}")
                if not project.expected_stage and not row.expected_stage:
                    project.expected_stage, project.expected_date = later, moment.date()
        for earlier in STAGES[: reached + 1]:
            moment, current = getattr(row, f"{earlier}_at"), getattr(project, f"{earlier}_at")
            # A spreadsheet keeps whole seconds: the same second is the same moment, not an edit.
            if moment is not None and (current is None or abs((moment - current).total_seconds()) >= 1):
                setattr(project, f"{earlier}_at", moment)
        fallback = row.created_at or self.now
        if getattr(project, f"{stage}_at") is None:
            setattr(project, f"{stage}_at", fallback)
            self.report.warnings.append(f"{label}：没有{STAGE_ZH[stage]}时间，按 {fallback:%Y-%m-%d} 计")
        for index in range(reached - 1, -1, -1):
            earlier, later_field = STAGES[index], f"{STAGES[index + 1]}_at"
            moment, bound = getattr(project, f"{earlier}_at"), getattr(project, later_field)
            if moment is None:
                setattr(project, f"{earlier}_at", bound)
            elif moment > bound:
                self.report.warnings.append(f"{label}：{STAGE_ZH[earlier]}时间 {moment:%Y-%m-%d} 晚于"
                                            f"{STAGE_ZH[STAGES[index + 1]]}时间 {bound:%Y-%m-%d}，改为 {bound:%Y-%m-%d}")
                setattr(project, f"{earlier}_at", bound)

    def _fields(self, project: Project, row: LedgerRow) -> list[str]:
        changed = []
        industry = self.bot.catalog.industry_of(row.industry) if row.industry else None
        wanted = {
            "amount_yuan": row.amount_yuan if row.amount_yuan is not None else project.amount_yuan,
            "industry": (industry or row.industry) or project.industry,
            "wheel": row.wheel or (self.bot.catalog.wheel_of(industry) if industry else "") or project.wheel,
            "zone": row.zone or project.zone, "place": row.place or project.place,
            "company": row.company or project.company,
        }
        for name, value in wanted.items():
            if getattr(project, name) != value:
                setattr(project, name, value)
                changed.append(_FIELD_ZH[name])
        return changed

    def _expect(self, project: Project, row: LedgerRow) -> bool:
        if not row.expected_stage or row.expected_date is None:
            return False
        if project.stage != "dropped" and STAGE_ORDER[row.expected_stage] <= STAGE_ORDER[project.stage]:
            return False  # reached: closed, not a forecast
        if (project.expected_stage, project.expected_date) == (row.expected_stage, row.expected_date):
            return False
        if project.expected_stage == row.expected_stage and project.expected_date is not None:
            if row.expected_date > project.expected_date:
                project.expected_slips += 1
        else:
            project.expected_slips = 0
        project.expected_stage, project.expected_date = row.expected_stage, row.expected_date
        return True

    async def create(self, row: LedgerRow, team_id: int, explicit_id: bool) -> Project:
        """A new project from a row, recorded as a creation."""
        project = Project(name=row.name, name_key=name_lookup.name_key(row.name), team_id=team_id, stage=row.stage,
                          created_at=row.created_at or self.now, updated_at=self.now, last_event_at=self.now)
        if explicit_id and row.id is not None:
            project.id = row.id
        self._fields(project, row)
        if row.stage == "dropped":
            project.dropped_at = row.updated_at or self.now
            for stage in STAGES:
                setattr(project, f"{stage}_at", getattr(row, f"{stage}_at"))
        else:
            self._dates(project, row, row.stage)
        self._expect(project, row)
        self.session.add(project)
        await self.session.flush()
        await self.event(project, "create", to_stage=project.stage, text=f"导入台账 {self.source}")
        self.report.created += 1
        self.report.details.append(f"新建 {row.name}（{STAGE_ZH[project.stage]}）← {row.source}")
        return project

    async def update(self, project: Project, row: LedgerRow, team_id: int) -> list[str]:
        """Bring a project in line with its row; each kind of change is its own event."""
        label = project_label(project.id, project.name)
        changes: list[str] = []
        before = snapshot(project, [*_STAGE_FIELDS, *_EDIT_FIELDS, "removed", "team_id"])
        from_stage = project.stage
        stage = row.stage
        if project.removed:
            project.removed = False
            changes.append("恢复到项目库")
        if project.team_id != team_id:
            project.team_id = team_id  # matched by its #id: the office's 责任单位 is the one that holds it now
            changes.append("责任单位")
        if from_stage not in ("dropped",) and stage != "dropped" and STAGE_ORDER[stage] < STAGE_ORDER[from_stage]:
            self.report.warnings.append(f"{row.source}「{row.name}」：库里已是{STAGE_ZH[from_stage]}，台账写"
                                        f"{STAGE_ZH[stage]}：保留{STAGE_ZH[from_stage]}（要退回请在聊天里「撤销」或「改」）")
            stage = from_stage
        if stage == "dropped":
            if from_stage != "dropped":
                project.stage, project.dropped_at = "dropped", row.updated_at or self.now
                await self.event(project, "drop", from_stage=from_stage, to_stage="dropped",
                                 text=f"导入台账 {self.source}", data={"before": before})
                changes.append(f"{STAGE_ZH[from_stage]}→已放弃")
        else:
            dates_before = [getattr(project, f"{s}_at") for s in STAGES]
            project.stage = stage
            self._dates(project, row, stage)
            if from_stage != stage:
                project.dropped_at, project.drop_reason = None, ""
                for reached in ("signed", "landed"):
                    if STAGE_ORDER[stage] >= STAGE_ORDER[reached] and getattr(project, f"{reached}_at") != \
                            dates_before[STAGE_ORDER[reached]]:
                        setattr(project, f"{reached}_verified_at", None)  # a new move needs a new 核实
                if project.expected_stage and STAGE_ORDER.get(project.expected_stage, 9) <= STAGE_ORDER[stage]:
                    project.expected_stage, project.expected_date, project.expected_slips = "", None, 0
                await self.event(project, "stage", from_stage=from_stage, to_stage=stage,
                                 text=f"导入台账 {self.source}", data={"before": before})
                changes.append(f"{STAGE_ZH.get(from_stage, from_stage)}→{STAGE_ZH[stage]}")
            elif dates_before != [getattr(project, f"{s}_at") for s in STAGES]:
                changes.append("阶段时间")
        fields = self._fields(project, row)
        if fields or (changes and from_stage == stage and stage != "dropped"):
            await self.event(project, "edit", text=f"导入台账 {self.source}",
                             data={"before": before, "fields": fields or changes})
        changes += fields
        if changes:
            self.report.details.append(f"更新 {label}：{'、'.join(changes)} ← {row.source}")
        return changes

    async def follow_up(self, project: Project, row: LedgerRow, last_note: str | None) -> bool:
        """The row's note (if new) and expected date (if changed) as their own events."""
        changed = False
        if row.latest_note and row.latest_note != last_note:
            await self.event(project, "note", text=row.latest_note)
            self.report.notes += 1
            changed = True
        before = snapshot(project, ["expected_stage", "expected_date", "expected_slips"])
        if self._expect(project, row) and project.expected_date is not None:
            await self.event(project, "expect", to_stage=project.expected_stage,
                             text=project.expected_date.isoformat(), data={"before": before})
            self.report.details.append(f"预计 {project_label(project.id, project.name)}："
                                       f"{project.expected_date:%Y-%m-%d} {STAGE_ZH[project.expected_stage]}")
            changed = True
        return changed


async def _run(bot: ZsBot, session: Any, rows: Sequence[LedgerRow], mapping: Mapping[str, str],
               source: str, report: ImportReport) -> None:
    teams = await rq.team_names(session)
    squads = resolve_squads(rows, teams, mapping)
    now = bot.clock()
    importer = _Importer(bot, session, report, source, now)
    explicit_ids = await lq.project_count(session) == 0
    for row in rows:
        team_id = squads[row.team]
        project = await _match(session, row, team_id)
        if project is None:
            project = await importer.create(row, team_id, explicit_ids)
            changed, last_note = True, None
        else:
            changed = bool(await importer.update(project, row, team_id))
            last_note = (await lq.last_notes(session, project_ids=[project.id or 0])).get(project.id or 0)
            report.updated += changed
        followed = await importer.follow_up(project, row, last_note)
        if changed or followed:
            project.updated_at = project.last_event_at = now
        elif project.id is not None:
            report.unchanged += 1
        await session.flush()
    if explicit_ids and not report.dry_run:
        await follow_explicit_ids(session, "project")


async def _match(session: Any, row: LedgerRow, team_id: int) -> Project | None:
    key = name_lookup.name_key(row.name)
    if row.id is not None:
        project = await session.get(Project, row.id)
        if project is not None and project.name_key == key:
            return project
    return await lq.project_in_team(session, key=key, team_id=team_id)


async def import_ledger(bot: ZsBot, path: Path, *, mapping: Mapping[str, str] | None = None,
                        dry_run: bool = False) -> ImportReport:
    """Load a ledger file, all rows or none; with `dry_run`, do it in a transaction that is rolled back.

    A row updates the project with its id when that project has the same name, else the project of the
    same name in the same squad; otherwise it creates one (keeping the file's id when the database has no
    projects yet, so a district's own #numbers survive its first import).
    """
    content = await asyncio.to_thread(path.read_bytes)
    rows = await asyncio.to_thread(ledger.read_ledger, content, path.name, tz=bot.settings.tz,
                                   usd_rate=bot.settings.usd_cny_rate)
    report = ImportReport(dry_run=dry_run)
    async with bot.sessions() as session:
        try:
            await _run(bot, session, rows, mapping or {}, path.name, report)
        except BaseException:
            await session.rollback()
            raise
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    return report
