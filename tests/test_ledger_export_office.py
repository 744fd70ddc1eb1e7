"""The exported ledger as an office hands it to its leaders: 最新进展 and 存在问题, 合计 rows, squads in
ranking order, print setup, and a 说明 sheet with the counting rule and the day's 序时进度."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.app import ZsBot
from bot.demo import build_demo
from bot.ledger_files import export_ledger
from bot.settings import Settings
from handlers import reports
from handlers.messages import Incoming
from storage import people_queries
from tests.helpers import MovableClock

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, admins=["console:admin"])  # type: ignore[call-arg]


@pytest.fixture
async def demo_bot(db_url):
    async with ZsBot(settings_for(db_url), clock=MovableClock(NOW)) as bot:
        await build_demo(bot, now=NOW)
        reply = await bot.core.handle(Incoming(platform="console", user_id="admin", text="问题 #1 土地 用地指标未落实",
                                               chat_id="c", message_id="p1"))
        assert reply.ok, reply.text
        reply = await bot.core.handle(Incoming(platform="console", user_id="admin", text="进展 #1 已与企业再次对接",
                                               chat_id="c", message_id="n1"))
        assert reply.ok, reply.text
        yield bot


def _table(sheet) -> list[list[object]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


async def test_xlsx_for_leaders(demo_bot: ZsBot, tmp_path: Path) -> None:
    path = tmp_path / "台账.xlsx"
    count = await export_ledger(demo_bot, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["汇总", "谋划", "招引", "签约", "落地", "已放弃", "说明"]
    pooled = 0
    for name in ("谋划", "招引", "签约", "落地", "已放弃"):
        sheet = workbook[name]
        rows = _table(sheet)
        header = rows[0]
        assert "最新进展" in header and "存在问题" in header
        total = rows[-1]
        assert total[0] == "合计" and total[1] == f"{len(rows) - 2} 个项目"
        amounts = [row[header.index("投资额(元)")] or 0 for row in rows[1:-1]]
        assert total[header.index("投资额(元)")] == sum(amounts)
        pooled += len(rows) - 2
        # Printing: landscape, one page wide, the header on every page.
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
    assert pooled == count
    landed = _table(workbook["落地"])
    header = landed[0]
    first = next(row for row in landed[1:] if row[0] == 1)
    assert first[header.index("最新进展")] == "已与企业再次对接"
    assert first[header.index("存在问题")] == "[土地] 用地指标未落实"

    async with demo_bot.sessions() as session:
        ranking = await reports.compute_ranking(session, settings=demo_bot.settings, now=NOW)
    summary = _table(workbook["汇总"])
    start = next(i for i, row in enumerate(summary) if row[0] == "小分队")
    squads = []
    for row in summary[start + 1:]:
        if row[0] == "合计":
            totals = row
            break
        squads.append(row)
    assert [row[0] for row in squads] == [r.team_name for r in ranking]  # the 排行's order
    assert totals[1] == sum(row[1] for row in squads)  # 谋划 across squads
    assert totals[-2] == pytest.approx(sum(row[-2] or 0 for row in squads))
    notes = "\n".join(str(row[0]) for row in _table(workbook["说明"]) if row[0])
    assert "序时进度：89." in notes  # 24 November: 327 of 365 days
    assert "计入该库" in notes and "同时计入谋划、招引、签约" in notes


@pytest.mark.parametrize("suffix", [".csv", ".json"])
async def test_machine_formats_carry_the_new_columns(demo_bot: ZsBot, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"l{suffix}"
    await export_ledger(demo_bot, path)
    if suffix == ".csv":
        records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    else:
        records = json.loads(path.read_text(encoding="utf-8"))
    first = next(r for r in records if str(r["id"]) == "1")
    assert first["latest_note"] == "已与企业再次对接"
    assert first["problems"] == "[土地] 用地指标未落实"
    assert {"expected_stage", "expected_date"} <= set(first)


async def test_captains_export_holds_their_squad_only(demo_bot: ZsBot) -> None:
    async with demo_bot.sessions() as session:
        team = await people_queries.team_by_name(session, name="德化街")
        assert team is not None
        file = await reports.ledger_export(session, settings=demo_bot.settings, now=NOW, team_id=team.id)
    workbook = openpyxl.load_workbook(io.BytesIO(file.content))
    teams = {row[2] for name in ("谋划", "招引", "签约", "落地", "已放弃")
             for row in _table(workbook[name])[1:-1]}
    assert teams <= {"德化街"}
