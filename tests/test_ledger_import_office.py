"""A district office's own 台账 into the database: layouts as offices keep them, squads never created,
mappings, dry runs, notes and expected dates as events, consistent dates and year counters."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import func, select

from bot.app import ZsBot
from bot.ledger_load import import_ledger, parse_mapping, read_mapping_file
from bot.settings import Settings
from handlers.ledger import LedgerFormatError, read_ledger
from handlers.messages import Incoming
from storage.models import STAGE_ORDER, STAGES, Event, Project, Team
from tests.helpers import DISTRICT_TZ as TZ
from tests.helpers import MovableClock
from tests.test_year_tallies import assert_counters_match_projects

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SQUADS = ("德化街", "先进制造小分队", "现代商贸小分队")

OFFICE_HEADER = ["序号", "项目名称", "投资额（亿元）", "责任单位", "所属产业", "项目进展", "签约时间", "备注"]


def office_xlsx(path: Path) -> Path:
    """The layout the issue describes: merged title, 序号, 亿元, 所属产业, 项目进展, blank and 合计 rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["二七区2026年招商引资重点项目台账"])
    sheet.merge_cells("A1:H1")
    sheet.append(["填报单位：区商务局", None, None, None, None, None, "2026年11月20日"])
    sheet.append(OFFICE_HEADER)
    sheet.append([1, "比亚迪河南体验中心", 1.2, "先进制造小分队", "汽车", "已完成选址，月底签约", None, "重点"])
    sheet.append([2, "杉杉奥特莱斯二期", 15, "现代商贸小分队", "商贸", "合同已签", datetime(2026, 3, 5), None])
    sheet.append([None] * 8)
    sheet.append([3, "德化街老字号街区", 0.35, "德化街", "文旅", None, "2026.6", "街道牵头"])
    sheet.append(["合计", None, 16.55, None, None, None, None, None])
    sheet.append(["注：投资额单位为亿元。"])
    sheet.append([4])  # the template's pre-numbered empty rows
    workbook.save(path)
    return path


def xls_era_xlsx(path: Path) -> Path:
    """An old .xls saved as .xlsx: two title rows, a two-row header (时间节点 merged over three dates,
    the other headers merged down), serial-number dates, a 小计 row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "重点项目"
    sheet.append(["郑州市二七区招商项目推进表"])
    sheet.merge_cells("A1:J1")
    sheet.append(["（截至2026年10月）"])
    sheet.append(["序号", "项目名称", "总投资（亿元）", "责任单位", "产业", "时间节点", None, None,
                  "最新进展", "计划签约时间"])
    sheet.append([None, None, None, None, None, "谋划时间", "签约时间", "落地时间", None, None])
    for column in ("A", "B", "C", "D", "E", "I", "J"):
        sheet.merge_cells(f"{column}3:{column}4")
    sheet.merge_cells("F3:H3")
    sheet.append([1, "国际汽车产业园", 30, "先进制造小分队", "汽车", 46023, None, None, "多轮洽谈", "2026年12月"])
    # 谋划时间 written after 签约时间: the import must not keep dates that contradict each other.
    sheet.append([2, "华润万象城三期", 12, "现代商贸小分队", "商贸", "2026-09-01", "2026-05-10", None,
                  "已签约", None])
    sheet.append([3, "马寨精密制造基地", 8, "先进制造小分队", "装备制造", None, "2026-02-01",
                  datetime(2026, 7, 1), "已开工", None])
    sheet.append(["小计", None, 50, None, None, None, None, None, None, None])
    workbook.save(path)
    return path


def gbk_csv(path: Path, squad: str = "德化街办事处") -> Path:
    lines = [
        ["二七区招商项目台账（街道）"],
        ["序号", "项目名称", "投资额(万元)", "责任单位", "行业", "最新进展", "对接企业", "所在区域", "计划签约时间"],
        ["1", "老城烟火夜市", "5000", squad, "文旅", "完成方案", "郑州文旅集团", "二七广场", "2027/3/1"],
        ["2", "商务楼宇招商", "2亿", "商务局", "商务服务", "", "", "", ""],
        ["", "合计", "25000", "", "", "", "", "", ""],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return path


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, admins=["console:admin"])  # type: ignore[call-arg]


@pytest.fixture
async def bot(db_url):
    async with ZsBot(settings_for(db_url), clock=MovableClock(NOW)) as bot:
        for name in SQUADS:
            reply = await bot.core.handle(Incoming(platform="console", user_id="admin", text=f"建队 {name}",
                                                   chat_id="c"))
            assert reply.ok, reply.text
        yield bot


async def projects(bot: ZsBot) -> dict[str, Project]:
    async with bot.sessions() as session:
        return {p.name: p for p in (await session.exec(select(Project))).all()}


async def events(bot: ZsBot, kind: str | None = None) -> list[Event]:
    async with bot.sessions() as session:
        query = select(Event).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list((await session.exec(query)).all())


async def team_count(bot: ZsBot) -> int:
    async with bot.sessions() as session:
        return (await session.exec(select(func.count()).select_from(Team))).one()


def assert_dates_ordered(project: Project) -> None:
    reached = [getattr(project, f"{stage}_at") for stage in STAGES[: STAGE_ORDER[project.stage] + 1]]
    assert None not in reached, project
    assert reached == sorted(reached), project  # never 谋划时间 after 签约时间


def test_office_layout_reads_every_column() -> None:
    rows = read_ledger(office_xlsx(Path("/tmp") / "unused.xlsx").read_bytes(), "台账.xlsx", tz=TZ)
    assert [(r.name, r.team, r.stage, r.amount_yuan) for r in rows] == [
        ("比亚迪河南体验中心", "先进制造小分队", "planned", 120_000_000),  # no date, no stage: 谋划
        ("杉杉奥特莱斯二期", "现代商贸小分队", "signed", 1_500_000_000),  # stage from its 签约时间
        ("德化街老字号街区", "德化街", "signed", 35_000_000),
    ]  # the blank row, 合计, 注 and the pre-numbered empty row are skipped
    assert rows[0].industry == "汽车"
    assert rows[0].latest_note == "已完成选址，月底签约（备注：重点）"
    assert rows[2].latest_note == "备注：街道牵头"
    assert rows[2].signed_at == datetime(2026, 6, 1, tzinfo=TZ)  # "2026.6": a month, its first day
    assert rows[1].source == "工作表「Sheet1」第5行"


def test_xls_era_layout_merges_its_two_header_rows(tmp_path: Path) -> None:
    rows = read_ledger(xls_era_xlsx(tmp_path / "old.xlsx").read_bytes(), "old.xlsx", tz=TZ)
    assert [(r.name, r.stage) for r in rows] == [
        ("国际汽车产业园", "planned"), ("华润万象城三期", "signed"), ("马寨精密制造基地", "landed"),
    ]
    assert rows[0].planned_at == datetime(2026, 1, 1, tzinfo=TZ)  # Excel serial 46023
    assert (rows[0].expected_stage, rows[0].expected_date) == ("signed", date(2026, 12, 1))
    assert rows[0].latest_note == "多轮洽谈"
    assert rows[2].amount_yuan == 800_000_000


def test_gbk_csv_with_office_columns(tmp_path: Path) -> None:
    rows = read_ledger(gbk_csv(tmp_path / "街道.csv").read_bytes(), "街道.csv", tz=TZ)
    assert [(r.name, r.team, r.amount_yuan) for r in rows] == [
        ("老城烟火夜市", "德化街办事处", 50_000_000), ("商务楼宇招商", "商务局", 200_000_000),
    ]
    assert (rows[0].company, rows[0].zone, rows[0].expected_stage) == ("郑州文旅集团", "二七广场", "signed")


def test_overlong_text_is_refused_with_its_row() -> None:
    content = ("项目名称,责任单位,项目进展\n好项目,德化街,正常\n长项目,德化街," + "进" * 2001 + "\n"
               + "名" * 201 + ",德化街,\n").encode()
    with pytest.raises(LedgerFormatError) as caught:
        read_ledger(content, "a.csv")
    assert caught.value.problems == ["第3行「项目进展」：太长（2001字），最多2000字",
                                     "第4行「项目名称」：太长（201字），最多200字"]


def test_mapping_lines() -> None:
    assert parse_mapping(["德化街办事处=德化街", " ", "# 注释", "商务局 ＝ 现代商贸小分队"]) == {
        "德化街办事处": "德化街", "商务局": "现代商贸小分队"}
    with pytest.raises(ValueError, match="原名=小分队"):
        parse_mapping(["德化街办事处"])


async def test_unknown_squads_stop_the_import_and_change_nothing(bot: ZsBot, tmp_path: Path) -> None:
    path = gbk_csv(tmp_path / "街道.csv")
    before = await team_count(bot)
    with pytest.raises(LedgerFormatError) as caught:
        await import_ledger(bot, path)
    text = str(caught.value)
    assert "德化街办事处（1 行）→ 最接近：德化街" in text
    assert "商务局（1 行）" in text and "--map" in text
    assert await team_count(bot) == before  # never a new squad
    assert await projects(bot) == {}
    # A mapping to a squad that does not exist is refused too.
    with pytest.raises(LedgerFormatError, match="没有叫「德化街道」的小分队"):
        await import_ledger(bot, path, mapping={"德化街办事处": "德化街道", "商务局": "德化街"})


async def test_mapping_resolves_and_dry_run_stores_nothing(bot: ZsBot, tmp_path: Path) -> None:
    path = gbk_csv(tmp_path / "街道.csv")
    mapfile = tmp_path / "map.txt"
    mapfile.write_text("德化街办事处=德化街\n商务局=现代商贸小分队\n", encoding="gbk")
    mapping = read_mapping_file(mapfile)
    dry = await import_ledger(bot, path, mapping=mapping, dry_run=True)
    assert (dry.created, dry.updated, dry.notes) == (2, 0, 1)
    assert any(line.startswith("新建 老城烟火夜市（谋划）") for line in dry.details)
    assert await projects(bot) == {} and await events(bot, "create") == []
    report = await import_ledger(bot, path, mapping=mapping)
    assert (report.created, report.notes) == (2, 1)
    found = await projects(bot)
    async with bot.sessions() as session:
        teams = {t.id: t.name for t in (await session.exec(select(Team))).all()}
    assert teams[found["老城烟火夜市"].team_id] == "德化街"
    assert teams[found["商务楼宇招商"].team_id] == "现代商贸小分队"
    assert found["老城烟火夜市"].expected_stage == "signed"
    assert found["老城烟火夜市"].expected_date == date(2027, 3, 1)
    notes = await events(bot, "note")
    assert [(e.text, e.source_platform) for e in notes] == [("完成方案", "import")]


async def test_office_ledger_imports_with_consistent_dates_events_and_counters(bot: ZsBot, tmp_path: Path) -> None:
    first = await import_ledger(bot, office_xlsx(tmp_path / "台账.xlsx"))
    second = await import_ledger(bot, xls_era_xlsx(tmp_path / "old.xlsx"))
    assert (first.created, second.created) == (3, 3)
    found = await projects(bot)
    for project in found.values():
        assert_dates_ordered(project)
    assert found["比亚迪河南体验中心"].industry == "汽车"
    wanda = found["华润万象城三期"]
    assert wanda.planned_at == wanda.signed_at == datetime(2026, 5, 10, tzinfo=TZ)
    assert any("谋划时间 2026-09-01 晚于" in line for line in second.warnings)
    notes = {e.project_id: e.text for e in await events(bot, "note")}
    assert notes[found["比亚迪河南体验中心"].id] == "已完成选址，月底签约（备注：重点）"
    creates = await events(bot, "create")
    assert len(creates) == 6 and all(e.source_platform == "import" for e in creates)
    await assert_counters_match_projects(bot.sessions)

    # Next month's ledger: 比亚迪 signed, new progress; the same file twice changes nothing the second time.
    path = tmp_path / "十二月.csv"
    path.write_text("项目名称,责任单位,签约时间,项目进展\n"
                    "比亚迪河南体验中心,先进制造小分队,2026-12-01,合同已签\n", encoding="utf-8")
    update = await import_ledger(bot, path)
    assert (update.created, update.updated, update.notes) == (0, 1, 1)
    byd = (await projects(bot))["比亚迪河南体验中心"]
    assert byd.stage == "signed" and byd.signed_at == datetime(2026, 12, 1, tzinfo=TZ)
    assert_dates_ordered(byd)
    moves = [(e.from_stage, e.to_stage) for e in await events(bot, "stage")]
    assert moves == [("planned", "signed")]
    again = await import_ledger(bot, path)
    assert (again.created, again.updated, again.notes, again.unchanged) == (0, 0, 0, 1)
    await assert_counters_match_projects(bot.sessions)

    # A ledger a stage behind the database does not move the project back.
    path.write_text("项目名称,责任单位,所处阶段\n比亚迪河南体验中心,先进制造小分队,招引\n", encoding="utf-8")
    back = await import_ledger(bot, path)
    assert (await projects(bot))["比亚迪河南体验中心"].stage == "signed"
    assert any("保留签约" in line for line in back.warnings)


async def test_json_ledger_with_chinese_keys(bot: ZsBot, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"项目名称": "甲项目", "责任单位": "德化街", "落地时间": "2026-08-08",
                                 "投资方": "甲公司", "项目地址": "郑州"}], ensure_ascii=False), encoding="utf-8")
    report = await import_ledger(bot, path)
    assert report.created == 1
    project = (await projects(bot))["甲项目"]
    assert (project.stage, project.company, project.place) == ("landed", "甲公司", "郑州")
    assert_dates_ordered(project)
