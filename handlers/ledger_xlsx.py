"""The ledger as an Excel workbook for people: 汇总, one sheet per pool, 说明; ready to print.

Every sheet prints landscape, one page wide, with its header row repeated on each printed page; every
table ends with a 合计 row (read back, it is skipped: handlers.ledger_read skips 合计/小计 rows).
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from handlers.format import STAGE_ZH
from handlers.ledger_columns import (
    AMOUNT_WAN_HEADER,
    LEDGER_COLUMNS,
    LEDGER_HEADERS_ZH,
    POOL_SHEETS,
    SUMMARY_SHEET,
)
from storage.ledger_rows import LedgerRow, LedgerSummary, TeamSummaryRow
from storage.models import ALL_STAGES, STAGES

NOTES_SHEET = "说明"
TOTAL_LABEL = "合计"
_TIME_FIELDS = ("created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at")
_LONG_TEXT = ("latest_note", "problems")  # wrapped, not widened past a readable column
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_XLSX_COLUMNS: tuple[str, ...] = (*LEDGER_COLUMNS[:5], "amount_wan", *LEDGER_COLUMNS[5:])


def _display_width(value: str) -> int:
    """Column width in Excel character units: CJK (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _cell_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return 16
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    if isinstance(value, int):
        return len(f"{value:,}")
    return max((_display_width(line) for line in str(value).splitlines()), default=0)


class _Sheet:
    """Writes cells with types and formats and tracks how wide each column needs to be."""

    def __init__(self, worksheet: Any) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # lazy: openpyxl is only needed for xlsx

        self.ws = worksheet
        self.widths: dict[int, int] = {}
        self._illegal = ILLEGAL_CHARACTERS_RE

    def put(self, row: int, column: int, value: Any, *, number_format: str | None = None,
            measure: bool = True) -> Any:
        """Write one cell (text stays text) and note its width."""
        if isinstance(value, str):
            value = self._illegal.sub("", value)  # control characters make openpyxl refuse the file
        cell = self.ws.cell(row=row, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text stays text: a name starting with "=" is not a formula
        if number_format:
            cell.number_format = number_format
        if measure:
            self.widths[column] = max(self.widths.get(column, 0), _cell_width(value))
        return cell

    def header(self, row: int, values: Sequence[str]) -> None:
        """A bold, shaded header row."""
        from openpyxl.styles import Alignment, Font, PatternFill

        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="DDEBF7")
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for column, value in enumerate(values, start=1):
            cell = self.put(row, column, value)
            cell.font, cell.fill, cell.alignment = bold, fill, centre

    def bold_row(self, row: int, columns: int) -> None:
        """A 合计 row stands out."""
        from openpyxl.styles import Font

        for column in range(1, columns + 1):
            self.ws.cell(row=row, column=column).font = Font(bold=True)

    def apply_widths(self) -> None:
        """Columns as wide as their content, within reason."""
        from openpyxl.utils import get_column_letter

        for column, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 60)

    def print_setup(self, title_rows: str | None) -> None:
        """Landscape, one page wide (as long as needed), the header row on every printed page."""
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # 0: as many pages down as the rows need
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        if title_rows:
            ws.print_title_rows = title_rows


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r} in a ledger row: times must be timezone-aware")
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _wan(yuan: int | None) -> float | None:
    return None if yuan is None else yuan / 10_000


def _write_pool(sheet: _Sheet, rows: Sequence[LedgerRow], tz: tzinfo) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    headers = [AMOUNT_WAN_HEADER if c == "amount_wan" else LEDGER_HEADERS_ZH[c] for c in _XLSX_COLUMNS]
    sheet.header(1, headers)
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(_XLSX_COLUMNS, start=1):
            if column == "amount_wan":
                sheet.put(r, c, _wan(row.amount_yuan), number_format="#,##0.00")
            elif column == "amount_yuan":
                sheet.put(r, c, row.amount_yuan, number_format="#,##0")
            elif column in ("stage", "expected_stage"):
                stage = getattr(row, column)
                sheet.put(r, c, STAGE_ZH[stage] if stage else None)
            elif column in _TIME_FIELDS:
                sheet.put(r, c, _local(getattr(row, column), tz), number_format=_DATETIME_FORMAT)
            elif column == "expected_date":
                sheet.put(r, c, row.expected_date, number_format="yyyy-mm-dd")
            elif column == "funds_yuan":
                sheet.put(r, c, row.funds_yuan or None, number_format="#,##0")
            elif column == "funds_rate":
                sheet.put(r, c, row.funds_rate, number_format="0.0%")
            elif column in _LONG_TEXT:
                sheet.put(r, c, getattr(row, column) or None).alignment = wrap
            else:
                sheet.put(r, c, getattr(row, column) if getattr(row, column) != "" else None)
    last = len(rows) + 1
    total = last + 1
    sheet.put(total, 1, TOTAL_LABEL)
    sheet.put(total, 2, f"{len(rows)} 个项目")
    amounts = [row.amount_yuan or 0 for row in rows]
    sheet.put(total, 5, sum(amounts), number_format="#,##0")
    sheet.put(total, 6, sum(amounts) / 10_000, number_format="#,##0.00")
    sheet.put(total, _XLSX_COLUMNS.index("open_problems") + 1, sum(row.open_problems for row in rows))
    sheet.put(total, _XLSX_COLUMNS.index("funds_yuan") + 1, sum(row.funds_yuan for row in rows), number_format="#,##0")
    sheet.bold_row(total, len(headers))
    sheet.ws.freeze_panes = "C2"  # header row and 编号/项目名称 stay in view when scrolling
    sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(last, 1)}"  # the 合计 row stays put
    sheet.apply_widths()
    sheet.print_setup("1:1")


def _due(target: int, schedule_pct: float) -> int:
    # What 序时进度 requires by now; a tiny epsilon keeps 200 × 40% from becoming 81 through float noise.
    return math.ceil(target * schedule_pct / 100 - 1e-9)


def _sum_targets(teams: Sequence[TeamSummaryRow], stage: str) -> int | None:
    values = [team.targets.get(stage) for team in teams]
    return None if all(v is None for v in values) else sum(v or 0 for v in values)


def _write_summary(sheet: _Sheet, summary: LedgerSummary) -> None:
    from openpyxl.styles import Font

    title = sheet.put(1, 1, f"招商引资项目台账（截至 {summary.as_of.isoformat()}）", measure=False)
    title.font = Font(bold=True, size=14)
    sheet.put(2, 1, "报告日期").font = Font(bold=True)
    sheet.put(2, 2, summary.as_of, number_format="yyyy-mm-dd")
    sheet.put(3, 1, "序时进度").font = Font(bold=True)
    sheet.put(3, 2, round(summary.schedule_pct / 100, 6), number_format="0.0%")

    row = 5
    sheet.put(row, 1, "全区目标完成情况", measure=False).font = Font(bold=True, size=12)
    row += 1
    sheet.header(row, ["阶段", "实际", "目标", "完成率", "序时应完成", "差额"])
    for stage, actual, target in summary.district:
        row += 1
        sheet.put(row, 1, STAGE_ZH.get(stage, stage))
        sheet.put(row, 2, actual)
        sheet.put(row, 3, target)
        if target:
            sheet.put(row, 4, actual / target, number_format="0.0%")
            due = _due(target, summary.schedule_pct)
            sheet.put(row, 5, due)
            sheet.put(row, 6, actual - due, number_format="+0;-0;0")

    row += 2
    sheet.put(row, 1, "各小分队完成情况（按排行顺序）", measure=False).font = Font(bold=True, size=12)
    row += 1
    headers = ["小分队"]
    for stage in STAGES:
        headers += [STAGE_ZH[stage], f"{STAGE_ZH[stage]}目标"]
    headers += ["签约投资额(万元)", "落地投资额(万元)"]
    sheet.header(row, headers)
    header_row = row
    for team in summary.teams:
        row += 1
        sheet.put(row, 1, team.name)
        column = 2
        for stage in STAGES:
            sheet.put(row, column, team.counts.get(stage, 0))
            sheet.put(row, column + 1, team.targets.get(stage))
            column += 2
        sheet.put(row, column, _wan(team.signed_amount_yuan), number_format="#,##0.00")
        sheet.put(row, column + 1, _wan(team.landed_amount_yuan), number_format="#,##0.00")
    row += 1
    sheet.put(row, 1, TOTAL_LABEL)
    column = 2
    for stage in STAGES:
        sheet.put(row, column, sum(team.counts.get(stage, 0) for team in summary.teams))
        sheet.put(row, column + 1, _sum_targets(summary.teams, stage))
        column += 2
    signed = sum(team.signed_amount_yuan for team in summary.teams)
    landed = sum(team.landed_amount_yuan for team in summary.teams)
    sheet.put(row, column, _wan(signed), number_format="#,##0.00")
    sheet.put(row, column + 1, _wan(landed), number_format="#,##0.00")
    sheet.bold_row(row, len(headers))
    row += 2
    note = "说明：完成率 = 实际 ÷ 目标；序时应完成 = 目标 × 序时进度（向上取整）；差额为负即落后。计数规则见「说明」表。"
    sheet.put(row, 1, note, measure=False)
    sheet.ws.freeze_panes = "A2"
    sheet.apply_widths()
    sheet.print_setup(f"{header_row}:{header_row}")


def notes_lines(summary: LedgerSummary) -> list[str]:
    """The 说明 sheet: what the numbers mean, on the export day."""
    year = summary.as_of.year
    lines = [
        f"导出日期：{summary.as_of.isoformat()}",
        f"序时进度：{summary.schedule_pct:.1f}%（{year} 年已过去的天数占全年的比例；序时应完成 = 目标 × 序时进度，向上取整）",
        "",
        "计数规则（汇总表与排行、进度相同）：",
        f"1. 一个项目在 {year} 年首次进入某个库（谋划、招引、签约、落地）或更后面的库，就计入该库的 {year} 年数；"
        "所以它计入今年到达过的每一个库：直接录入为签约的项目同时计入谋划、招引、签约。",
        "2. 年份按本区时区的当地日期计算。",
        "3. 已放弃的项目、撤销了新建的项目不计入任何库（已放弃项目单列在「已放弃」表）。",
    ]
    if summary.require_verification:
        lines.append("4. 本区要求核实：签约、落地经领导「核实」后才计入。")
    lines += [
        "",
        "各库工作表：每个项目只出现在它当前所在的库；「合计」行为该表的项目数和投资额之和。",
        "最新进展：项目最近一条进展记录；存在问题：尚未解决的问题（每行一个）；预计阶段/预计时间：下一个阶段的预计日期。",
        "各小分队按排行顺序排列（有目标的按综合完成率，没有目标的按加权分，同分按签约+落地投资额）。",
    ]
    return lines


def _write_notes(sheet: _Sheet, summary: LedgerSummary) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.put(1, 1, "说明", measure=False).font = Font(bold=True, size=14)
    for row, line in enumerate(notes_lines(summary), start=2):
        sheet.put(row, 1, line or None, measure=False).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.ws.column_dimensions["A"].width = 110
    sheet.print_setup(None)


def write_workbook(rows: Iterable[LedgerRow], summary: LedgerSummary, *, tz: tzinfo) -> bytes:
    """汇总 first, then one sheet per pool, then 说明, as .xlsx bytes. Sync: use asyncio.to_thread."""
    from openpyxl import Workbook

    by_stage: dict[str, list[LedgerRow]] = {stage: [] for stage in ALL_STAGES}
    for row in rows:
        if row.stage not in ALL_STAGES:
            raise ValueError(f"ledger row {row.id}: unknown stage {row.stage!r}")
        by_stage[row.stage].append(row)
    workbook = Workbook()
    summary_sheet = workbook.active
    summary_sheet.title = SUMMARY_SHEET
    _write_summary(_Sheet(summary_sheet), summary)
    for stage in ALL_STAGES:
        _write_pool(_Sheet(workbook.create_sheet(POOL_SHEETS[stage])), by_stage[stage], tz)
    _write_notes(_Sheet(workbook.create_sheet(NOTES_SHEET)), summary)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
