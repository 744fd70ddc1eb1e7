"""The ledger (台账) files: round trips, the Excel layout, districts' own ledgers, and refusals."""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import ledger_columns
from handlers.ledger import (
    LEDGER_COLUMNS,
    LEDGER_HEADERS_ZH,
    LedgerFormatError,
    LedgerRow,
    LedgerSummary,
    TeamSummaryRow,
    read_ledger,
    write_csv,
    write_json,
    write_xlsx,
)

TZ = ZoneInfo("Asia/Shanghai")
EXCEL_DEFAULT_WIDTH = 8.43

ROWS = [
    LedgerRow(
        id=12, name="比亚迪品牌形象河南体验中心", team="先进制造小分队", stage="signed",
        amount_yuan=12_000_000_000, industry="汽车", wheel="工业", zone="三环内", place="深圳",
        company="比亚迪集团", created_at=datetime(2026, 3, 5, 2, 30, tzinfo=UTC),
        updated_at=datetime(2026, 11, 2, 16, 0, 5, tzinfo=TZ),
        planned_at=datetime(2026, 3, 5, 2, 30, tzinfo=UTC),
        attracting_at=datetime(2026, 4, 1, 9, 0, tzinfo=TZ),
        signed_at=datetime(2026, 11, 2, 16, 0, 5, tzinfo=TZ), landed_at=None, open_problems=2,
    ),
    LedgerRow(
        id=13, name="仲景医药健康产业园", team="健康服务小分队", stage="planned", amount_yuan=None,
        industry="生物医药", wheel="服务业", created_at=datetime(2026, 1, 2, 0, 0, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, 0, 0, tzinfo=UTC), planned_at=datetime(2026, 1, 2, 0, 0, tzinfo=UTC),
    ),
    LedgerRow(
        id=14, name="杉杉奥特莱斯", team="现代商贸小分队", stage="landed", amount_yuan=1_500_000_000,
        company="杉杉商业集团", place="上海", open_problems=1,
        created_at=datetime(2025, 12, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        landed_at=datetime(2026, 6, 30, 8, 0, tzinfo=TZ),
    ),
    LedgerRow(id=15, name="=HYPERLINK(\"http://evil\")", team="二队", stage="attracting", amount_yuan=1),
    LedgerRow(id=16, name="华润万象城二期", team="现代商贸小分队", stage="dropped", amount_yuan=800_000_000),
    LedgerRow(id=None, name="国际汽车产业园", team="汽车产业小分队", stage="planned", amount_yuan=0),
]

SUMMARY = LedgerSummary(
    as_of=date(2026, 11, 24), schedule_pct=89.6,
    district=[("planned", 120, 200), ("attracting", 90, 160), ("signed", 40, 80), ("landed", 9, None)],
    teams=[
        TeamSummaryRow("先进制造小分队", {"planned": 10, "signed": 3}, {"planned": 20, "signed": 5},
                       signed_amount_yuan=12_000_000_000, landed_amount_yuan=0),
        TeamSummaryRow("健康服务小分队", {"planned": 4}, {"planned": None}, 0, 150_000_000),
    ],
)


def _by_name(rows: list[LedgerRow]) -> list[LedgerRow]:
    return sorted(rows, key=lambda row: row.name)


def _xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_columns_are_the_public_contract() -> None:
    assert LEDGER_COLUMNS == (
        "id", "name", "team", "stage", "amount_yuan", "industry", "wheel", "zone", "place", "company",
        "created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at", "open_problems",
        "latest_note", "problems", "expected_stage", "expected_date",  # issue 14: appended, order kept
        "funds_yuan", "funds_rate",  # issue 20: funds in place, exported only
    )
    assert tuple(f.name for f in fields(LedgerRow) if f.name != "source") == LEDGER_COLUMNS
    assert tuple(LEDGER_HEADERS_ZH) == LEDGER_COLUMNS
    assert LEDGER_HEADERS_ZH["name"] == "项目名称" and LEDGER_HEADERS_ZH["team"] == "责任单位"


@pytest.mark.parametrize("kind", ["csv", "json", "xlsx"])
def test_round_trip_keeps_every_field(kind: str) -> None:
    if kind == "csv":
        content = write_csv(ROWS, tz=TZ)
    elif kind == "json":
        content = write_json(ROWS)
    else:
        content = write_xlsx(ROWS, SUMMARY, tz=TZ)
    back = read_ledger(content, f"台账.{kind}", tz=TZ)
    assert _by_name(back) == _by_name(ROWS)
    for row in back:  # times come back in the district's zone
        for moment in (row.created_at, row.updated_at, row.signed_at, row.landed_at):
            assert moment is None or moment.utcoffset() == timedelta(hours=8)
    if kind != "xlsx":  # the machine formats keep the order too
        assert back == ROWS


def test_xlsx_keeps_times_to_the_second() -> None:
    moment = datetime(2026, 3, 5, 10, 30, 15, 987_654, tzinfo=TZ)
    row = LedgerRow(id=1, name="项目", team="队", stage="planned", created_at=moment)
    (back,) = read_ledger(write_xlsx([row], SUMMARY, tz=TZ), "a.xlsx", tz=TZ)
    assert back.created_at == moment.replace(microsecond=0)


text_values = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12,
).map(str.strip)
moments = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, TZ, timezone(timedelta(hours=-7, minutes=-30))]),
)
ledger_rows = st.builds(
    LedgerRow,
    id=st.none() | st.integers(1, 10**9),
    name=text_values.filter(bool),
    team=text_values,
    stage=st.sampled_from(["planned", "attracting", "signed", "landed", "dropped"]),
    amount_yuan=st.none() | st.integers(0, 10**13),
    industry=text_values,
    wheel=text_values.map(lambda t: t[:10].strip()),  # 轮 holds 10 characters (storage.limits)
    zone=text_values, place=text_values, company=text_values,
    created_at=moments, updated_at=moments, planned_at=moments, attracting_at=moments, signed_at=moments,
    landed_at=moments, open_problems=st.integers(0, 1000),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ledger_rows, max_size=6, unique_by=lambda row: row.id if row.id is not None else object()))
def test_machine_formats_round_trip_any_rows(rows: list[LedgerRow]) -> None:
    assert read_ledger(write_csv(rows), "a.csv") == rows
    assert read_ledger(write_json(rows, tz=TZ), "a.json") == rows


def test_csv_is_excel_friendly_and_machine_readable() -> None:
    content = write_csv(ROWS, tz=TZ)
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    records = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert tuple(records[0]) == LEDGER_COLUMNS
    assert records[0]["stage"] == "signed"
    assert records[0]["amount_yuan"] == "12000000000"
    assert records[0]["created_at"] == "2026-03-05T10:30:00+08:00"
    assert records[1]["amount_yuan"] == "" and records[1]["place"] == ""
    assert records[3]["name"].startswith("'=")  # Excel must not run it as a formula
    data = json.loads(write_json(ROWS))
    assert data[0]["stage"] == "signed" and data[0]["amount_yuan"] == 12_000_000_000
    assert data[1]["amount_yuan"] is None


def test_xlsx_layout_for_people() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(ROWS, SUMMARY, tz=TZ)))
    assert workbook.sheetnames == ["汇总", "谋划", "招引", "签约", "落地", "已放弃", "说明"]

    signed = workbook["签约"]
    headers = [cell.value for cell in signed[1]]
    assert headers[:6] == ["编号", "项目名称", "责任单位", "所处阶段", "投资额(元)", "投资额(万元)"]
    assert headers[6:] == [LEDGER_HEADERS_ZH[c] for c in LEDGER_COLUMNS[5:]]
    assert all(cell.font.bold for cell in signed[1])
    assert signed.freeze_panes == "C2"
    assert signed.max_row == 3  # the project and the 合计 row
    assert [cell.value for cell in signed[3]][:2] == ["合计", "1 个项目"]
    row = {header: cell for header, cell in zip(headers, signed[2], strict=True)}
    assert row["所处阶段"].value == "签约"
    assert row["投资额(元)"].value == 12_000_000_000
    assert row["投资额(万元)"].value == 12_000_000_000 / 10_000
    # Excel has no time zones: local wall time, as a real date with a date format.
    assert row["录入时间"].value == datetime(2026, 3, 5, 10, 30)
    assert row["录入时间"].is_date and "yyyy" in row["录入时间"].number_format
    assert row["落地时间"].value is None
    name_width = signed.column_dimensions["B"].width
    assert name_width > EXCEL_DEFAULT_WIDTH
    assert name_width >= 2 * len("比亚迪品牌形象河南体验中心")  # CJK characters count double
    assert signed.column_dimensions["C"].width >= 2 * len("先进制造小分队")

    attracting = workbook["招引"]
    assert attracting["B2"].value == "=HYPERLINK(\"http://evil\")"
    assert attracting["B2"].data_type == "s"  # text, not a formula
    assert [workbook[name].max_row for name in ("谋划", "落地", "已放弃")] == [4, 3, 3]

    summary = workbook["汇总"]
    assert summary.freeze_panes == "A2"
    values = [[cell.value for cell in row] for row in summary.iter_rows()]
    assert values[1][:2] == ["报告日期", datetime(2026, 11, 24)]
    assert values[2][0] == "序时进度" and values[2][1] == pytest.approx(0.896)
    district = {row[0]: row[1:6] for row in values if row[0] in ("谋划", "招引", "签约", "落地")}
    assert district["谋划"] == [120, 200, pytest.approx(0.6), 180, -60]  # 200 × 89.6% = 179.2 → 180
    assert district["签约"] == [40, 80, pytest.approx(0.5), 72, -32]
    assert district["落地"] == [9, None, None, None, None]
    team_header = next(i for i, row in enumerate(values) if row[0] == "小分队")
    assert values[team_header][1:3] == ["谋划", "谋划目标"]
    assert values[team_header][-2:] == ["签约投资额(万元)", "落地投资额(万元)"]
    assert values[team_header + 1][:3] == ["先进制造小分队", 10, 20]
    assert values[team_header + 1][-2:] == [1_200_000, 0]
    assert values[team_header + 2][-1] == 15_000
    assert all(cell.font.bold for cell in summary[team_header + 1] if cell.value)
    assert summary.column_dimensions["A"].width >= 2 * len("先进制造小分队")


def test_districts_own_chinese_csv_in_gbk_loads() -> None:
    text = (
        "二七区招商项目台账\r\n"
        "序号,项目名称,责任单位,所处阶段,总投资（万元）,签约时间,对接企业,备注\r\n"
        "1,比亚迪河南体验中心,先进制造小分队,已签约,20000,2026/3/5,比亚迪集团,重点项目\r\n"
        "2,仲景医药健康产业园,健康服务小分队,洽谈,\"5,000\",,,\r\n"
        "3,杉杉奥特莱斯,现代商贸小分队,落地项目库,2亿,2026年6月30日 14:00,,\r\n"
    )
    rows = read_ledger(text.encode("gb18030"), "二七区台账.csv", tz=TZ)
    assert [(r.name, r.team, r.stage) for r in rows] == [
        ("比亚迪河南体验中心", "先进制造小分队", "signed"),
        ("仲景医药健康产业园", "健康服务小分队", "attracting"),
        ("杉杉奥特莱斯", "现代商贸小分队", "landed"),
    ]
    assert rows[0].id is None  # 序号 is a row number, not our project id
    assert rows[0].amount_yuan == 200_000_000  # 20000 万元
    assert rows[1].amount_yuan == 50_000_000
    assert rows[0].signed_at == datetime(2026, 3, 5, tzinfo=TZ)
    assert rows[2].signed_at == datetime(2026, 6, 30, 14, 0, tzinfo=TZ)
    assert rows[0].company == "比亚迪集团"


def test_amount_words_use_the_amounts_parser() -> None:
    pytest.importorskip("handlers.amounts")
    content = "项目名称,所处阶段,投资额\n甲,谋划,2亿\n乙,招引,五千万元\n丙,签约,300万美元\n".encode()
    rows = read_ledger(content, "a.csv", usd_rate=7.0)
    assert [row.amount_yuan for row in rows] == [200_000_000, 50_000_000, 21_000_000]


def test_amount_words_are_refused_without_the_amounts_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "handlers.amounts", None)  # import now raises ImportError
    content = "name,stage,amount_yuan\n甲,planned,2亿\n".encode()
    with pytest.raises(LedgerFormatError, match="第2行「amount_yuan」"):
        read_ledger(content, "a.csv")
    (row,) = read_ledger(b"name,stage,amount_yuan\nA,planned,200000000\n", "a.csv")
    assert row.amount_yuan == 200_000_000


def test_amount_parser_gets_the_configured_dollar_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, float]] = []

    def parse_amount(token: str, *, usd_rate: float) -> types.SimpleNamespace:
        seen.append((token, usd_rate))
        return types.SimpleNamespace(yuan=123, vague=False)

    fake = types.ModuleType("handlers.amounts")
    fake.parse_amount = parse_amount  # type: ignore[attr-defined]
    fake.DEFAULT_USD_RATE = 7.1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handlers.amounts", fake)
    rows = read_ledger("name,stage,amount_yuan\n甲,planned,1万美元\n".encode(), "a.csv", usd_rate=6.5)
    assert rows[0].amount_yuan == 123
    assert seen == [("1万美元", 6.5)]


def test_xlsx_district_workbook_with_pool_sheets_and_title_rows() -> None:
    pytest.importorskip("handlers.amounts")  # for "1.5亿"
    content = _xlsx_bytes({
        "说明汇总": [],
        "汇总": [["这张表不读"], ["随便", "什么"]],
        "签约项目库": [
            ["二七区签约项目台账"],
            [],
            ["项目名称", "责任单位", "投资额（元）", "投资额(万元)", "签约时间"],
            ["比亚迪河南体验中心", "先进制造小分队", 200_000_000, 99, datetime(2026, 3, 5, 9, 0)],
            [None, None, None, None, None],
            ["杉杉奥特莱斯", "现代商贸小分队", "1.5亿", None, date(2026, 6, 1)],
        ],
        "谋划": [["name", "stage", "amount_yuan"], ["甲", "attracting", 1.0]],
    })
    rows = read_ledger(content, "district.xlsx", tz=TZ)
    assert [(r.name, r.stage, r.amount_yuan) for r in rows] == [
        ("比亚迪河南体验中心", "signed", 200_000_000),  # the 万元 column is ignored next to 元
        ("杉杉奥特莱斯", "signed", 150_000_000),
        ("甲", "attracting", 1),  # the stage cell wins over the sheet's name
    ]
    assert rows[0].signed_at == datetime(2026, 3, 5, 9, 0, tzinfo=TZ)
    assert rows[1].signed_at == datetime(2026, 6, 1, tzinfo=TZ)


def test_bad_cells_are_all_named_and_nothing_is_returned() -> None:
    content = (
        "项目名称,责任单位,所处阶段,投资额(元),签约时间,未解决问题\n"
        "好项目,一队,签约,100000000,2026-03-05,0\n"
        "坏阶段,一队,已完成,100,,\n"
        "坏金额,一队,谋划,-5,,\n"
        ",一队,谋划,,,\n"
        "坏时间,一队,谋划,,2026-02-30,\n"
        "坏问题数,一队,谋划,,,两个\n"
    ).encode()
    with pytest.raises(LedgerFormatError) as caught:
        read_ledger(content, "a.csv")
    problems = caught.value.problems
    assert len(problems) == 5
    assert problems[0].startswith("第3行「所处阶段」") and "已完成" in problems[0]
    assert problems[1].startswith("第4行「投资额(元)」") and "负" in problems[1]
    assert problems[2].startswith("第5行「项目名称」")
    assert problems[3].startswith("第6行「签约时间」") and "2026-02-30" in problems[3]
    assert problems[4].startswith("第7行「未解决问题」")
    assert "第3行「所处阶段」" in str(caught.value)


def test_bad_xlsx_cell_names_the_sheet_row_and_column() -> None:
    content = _xlsx_bytes(
        {"签约": [["项目名称", "所处阶段", "投资额(元)"], ["甲", "签约", 1], ["乙", "签约", "很多"]]}
    )
    with pytest.raises(LedgerFormatError, match=r"^工作表「签约」第3行「投资额\(元\)」：无法识别的金额"):
        read_ledger(content, "a.xlsx")


def test_plain_number_under_a_header_without_unit_is_refused() -> None:
    with pytest.raises(LedgerFormatError, match="没有单位"):
        read_ledger("项目名称,所处阶段,总投资\n甲,谋划,5000\n".encode(), "a.csv")


def test_duplicate_ids_missing_header_and_wrong_files_are_refused() -> None:
    with pytest.raises(LedgerFormatError, match=r"第3行「id」：编号 7 与第2行重复"):
        read_ledger(b"id,name,stage\n7,A,planned\n#7,B,signed\n", "a.csv")
    with pytest.raises(LedgerFormatError, match="找不到表头"):
        read_ledger("编号,金额\n1,2\n".encode(), "a.csv")
    with pytest.raises(LedgerFormatError, match="工作表「Sheet9」找不到表头"):
        read_ledger(_xlsx_bytes({"Sheet9": [["a", "b"], [1, 2]]}), "a.xlsx")
    with pytest.raises(LedgerFormatError, match=r"另存为 \.xlsx"):
        read_ledger(b"\xd0\xcf\x11\xe0", "old.xls")
    with pytest.raises(LedgerFormatError, match=r"有效的 \.xlsx"):
        read_ledger(b"not a zip", "a.xlsx")
    with pytest.raises(LedgerFormatError, match="对象数组"):
        read_ledger(b'{"name": "A"}', "a.json")
    with pytest.raises(LedgerFormatError, match="不支持的文件类型"):
        read_ledger(b"", "a.txt")


def test_json_accepts_chinese_keys() -> None:
    record = {"项目名称": "甲", "所处阶段": "落地", "投资额(万元)": 12.5, "编号": "#3"}
    content = json.dumps([record]).encode()
    (row,) = read_ledger(content, "a.json")
    assert (row.id, row.name, row.stage, row.amount_yuan) == (3, "甲", "landed", 125_000)


def test_writers_refuse_rows_they_cannot_represent() -> None:
    with pytest.raises(ValueError, match="stage"):
        write_csv([LedgerRow(id=1, name="A", stage="won")])
    with pytest.raises(ValueError, match="aware"):
        write_xlsx([LedgerRow(id=1, name="A", created_at=datetime(2026, 1, 1))], SUMMARY, tz=TZ)


def test_oversized_files_are_refused_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_columns, "MAX_ROWS", 2)  # read by handlers.ledger_read at call time
    with pytest.raises(LedgerFormatError) as caught:
        read_ledger(b"name,stage\nA,planned\nB,planned\nC,planned\nD,planned\n", "a.csv")
    assert caught.value.problems == ["行数超过 2，文件过大"]
