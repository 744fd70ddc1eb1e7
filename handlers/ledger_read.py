"""Reading a ledger file (.xlsx, .csv incl. GBK, .json) into LedgerRows: ours, or a district office's own.

An office's 台账 has a merged title above the header (sometimes a second header row under a merged group
such as 时间节点), a 序号 column, blank rows, 合计/小计 rows and footnotes (注：…): the header is looked
for in the first rows, a second header row is merged into the first, and blank, pre-numbered empty, total
and footnote rows are skipped. A row's stage is its stage cell, else its sheet's pool (签约项目库), else the
latest stage it has a date for, else 谋划. 项目进展 and 备注 become the row's note; 计划签约时间 and the like
its expected stage and date. Text longer than its database column allows is refused with the row named.
The whole file is validated before anything is returned: LedgerFormatError names every problem found.

All functions are synchronous and CPU-bound (openpyxl): async callers run them via asyncio.to_thread.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import tzinfo
from pathlib import PurePath
from typing import Any

from handlers import ledger_cells as cells_
from handlers import ledger_columns
from handlers.ledger_cells import EXPECT_FIELDS, REMARK, SEQ, Column, blank, map_header, norm, stage_key
from handlers.ledger_columns import SUMMARY_SHEET, LedgerFormatError, csv_unguard
from storage.ledger_rows import LedgerRow
from storage.limits import limits
from storage.models import STAGE_ORDER, STAGES

HEADER_SEARCH_ROWS = 10
SKIPPED_SHEETS = frozenset(norm(name) for name in (SUMMARY_SHEET, "说明", "填表说明"))
_TEXT_FIELDS = ("name", "team", "industry", "wheel", "zone", "place", "company", "latest_note", "problems", REMARK)
_TIME_FIELDS = ("created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at")


def _field_limits() -> dict[str, int]:
    """The most characters each text field may hold once stored (storage.limits)."""
    known = limits()
    found = {name: known[("project", name)] for name in ("name", "industry", "wheel", "zone", "place", "company")}
    found["team"] = known[("team", "name")]
    found["latest_note"] = known[("event", "text")]
    return found


class _Reader:
    """Turns raw records into LedgerRows, collecting every problem instead of stopping at the first."""

    def __init__(self, tz: tzinfo, usd_rate: float | None, *, csv_escaped: bool = False) -> None:
        self.tz = tz
        self.csv_escaped = csv_escaped
        self.usd_rate = usd_rate
        self.problems: list[str] = []
        self.rows: list[LedgerRow] = []
        self._ids: dict[int, str] = {}
        self.seen = 0
        self.limits = _field_limits()

    def fail(self, where: str, column: Column | None, why: str) -> None:
        """Note one problem, with its place in the file."""
        self.problems.append(f"{where}「{column.header}」：{why}" if column else f"{where}：{why}")

    def add(self, where: str, columns: Mapping[str, Column], get: Callable[[int], Any],
            default_stage: str | None) -> None:
        """Read one record (a table row or a JSON object)."""
        self.seen += 1
        most = ledger_columns.MAX_ROWS  # read at call time: tests lower it
        if self.seen > most:
            if self.seen == most + 1:
                self.problems.append(f"行数超过 {most}，文件过大")
            return
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for name, column in columns.items():
            try:
                values[name] = self._convert(name, column, get(column.index))
            except ValueError as problem:
                self.fail(where, column, str(problem))
                failed.add(name)
        ok = not failed
        if "name" in columns and "name" not in failed and not values.get("name"):
            self.fail(where, columns["name"], "项目名称不能为空")
            ok = False
        note = _note(values.pop("latest_note", "") or "", values.pop(REMARK, "") or "")
        values["latest_note"] = note
        for field, limit in self.limits.items():
            value = values.get(field)
            if isinstance(value, str) and len(value) > limit:
                self.fail(where, columns.get(field) or columns.get(REMARK), f"太长（{len(value)}字），最多{limit}字")
                ok = False
        if not ok:
            return
        values.pop(SEQ, None)
        expected = {stage: values.pop(field, None) for field, stage in EXPECT_FIELDS.items()}
        if values.get("stage") is None:
            values["stage"] = default_stage or _stage_from_dates(values) or "planned"
        _expect(values, expected)
        if values.get("open_problems") is None:
            values["open_problems"] = 0
        project_id = values.get("id")
        if project_id is not None:
            if project_id in self._ids:
                self.fail(where, columns["id"], f"编号 {project_id} 与{self._ids[project_id]}重复")
                return
            self._ids[project_id] = where
        self.rows.append(LedgerRow(**values, source=where))

    def _convert(self, name: str, column: Column, raw: Any) -> Any:
        if name in _TEXT_FIELDS:
            value = cells_.text(raw)
            return csv_unguard(value) if self.csv_escaped else value
        if name in ("stage", "expected_stage"):
            if blank(raw):
                return None if name == "stage" else ""
            stage = stage_key(str(raw))
            if stage is None or (name == "expected_stage" and stage not in STAGES):
                raise ValueError(f"无法识别的阶段“{raw}”（可用：谋划、招引、签约、落地、已放弃）")
            return stage
        if name == "amount_yuan":
            return cells_.amount(raw, column.multiplier, self.usd_rate)
        if name in _TIME_FIELDS or name in EXPECT_FIELDS:
            return cells_.moment(raw, self.tz)
        if name == "expected_date":
            found = cells_.moment(raw, self.tz)
            return found.date() if found else None
        if name == "id":
            return cells_.count(raw, "编号", prefix="#")
        if name == "open_problems":
            return cells_.count(raw, "未解决问题数", suffix="个")
        if name == SEQ:
            return None  # a row number, not our project id
        raise AssertionError(name)  # pragma: no cover


def _note(progress: str, remark: str) -> str:
    """项目进展 and 备注 as one note."""
    if remark and progress:
        return f"{progress}（备注：{remark}）"
    return f"备注：{remark}" if remark else progress


def _stage_from_dates(values: Mapping[str, Any]) -> str | None:
    dated = [stage for stage in STAGES if values.get(f"{stage}_at") is not None]
    return dated[-1] if dated else None


def _expect(values: dict[str, Any], planned: Mapping[str, Any]) -> None:
    """The expected stage and date from 计划签约时间 and the like: the first stage not yet reached."""
    if values.get("expected_stage") or values.get("expected_date"):
        return
    reached = STAGE_ORDER.get(values["stage"], len(STAGES))
    for stage, moment in planned.items():
        if moment is not None and STAGE_ORDER[stage] > reached:
            values["expected_stage"], values["expected_date"] = stage, moment.date()
            return


def _cell_getter(cells: Sequence[Any]) -> Callable[[int], Any]:
    return lambda index: cells[index] if index < len(cells) else None


def _sub_header(cells: Sequence[Any], columns: Mapping[str, Column]) -> dict[str, Column] | None:
    """The second row of a two-row header (谋划时间/签约时间 under a merged 时间节点), or None."""
    name = columns["name"].index
    if name < len(cells) and not blank(cells[name]):
        return None
    if any(not blank(cell) and not isinstance(cell, str) for cell in cells):
        return None  # numbers or dates: data, not headers
    mapped = map_header(cells)
    return mapped or None


def _only_seq(cells: Sequence[Any], columns: Mapping[str, Column]) -> bool:
    """A pre-numbered empty row of a template (序号 and nothing else)."""
    seq = columns.get(SEQ)
    filled = [index for index, cell in enumerate(cells) if not blank(cell)]
    return seq is not None and filled == [seq.index]


def read_table(
    rows: Iterable[Sequence[Any]], reader: _Reader, *, where: str, default_stage: str | None,
) -> None:
    """One sheet or CSV: find the header (within the first rows), then read every project row."""
    columns: dict[str, Column] | None = None
    has_content = False
    sub_checked = False
    for number, cells in enumerate(rows, start=1):
        if all(blank(cell) for cell in cells):
            continue
        has_content = True
        if columns is None:
            # A district's own ledger often has a title line or two above the header.
            mapped = map_header(cells)
            if "name" in mapped:
                columns = mapped
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not sub_checked:  # only the row right under the header can be its second row
            sub_checked = True
            sub = _sub_header(cells, columns)
            if sub is not None:
                columns = {**columns, **sub}
                continue
        # Our machine formats (English headers) hold projects only: a project may be called 合计 there.
        office = norm(columns["name"].header) != "name"
        if office and (cells_.is_total_or_note(cells) or _only_seq(cells, columns)):
            continue
        reader.add(f"{where}第{number}行", columns, _cell_getter(cells), default_stage)
    if columns is None and has_content:
        reader.problems.append(f"{where}找不到表头（至少需要 name 或「项目名称」列）")


def _read_xlsx(content: bytes, reader: _Reader) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        raise LedgerFormatError([f"不是有效的 .xlsx 文件（{type(error).__name__}）"]) from None
    try:
        for worksheet in workbook.worksheets:
            if norm(worksheet.title) in SKIPPED_SHEETS:
                continue
            read_table(worksheet.iter_rows(values_only=True), reader, where=f"工作表「{worksheet.title}」",
                       default_stage=stage_key(worksheet.title))
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as error:  # a truncated workbook fails mid-read
        raise LedgerFormatError([f"不是有效的 .xlsx 文件（{type(error).__name__}）"]) from None
    finally:
        workbook.close()


def _decode_text(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page, i.e. GBK (a subset of GB18030).
        return content.decode("gb18030")


def _read_csv(content: bytes, reader: _Reader) -> None:
    try:
        decoded = _decode_text(content)
    except UnicodeDecodeError:
        raise LedgerFormatError(["CSV 文件编码无法识别（请保存为 UTF-8）"]) from None
    try:
        read_table(csv.reader(io.StringIO(decoded, newline="")), reader, where="", default_stage=None)
    except csv.Error as error:
        raise LedgerFormatError([f"CSV 格式错误：{error}"]) from None


def _read_json(content: bytes, reader: _Reader) -> None:
    try:
        data = json.loads(_decode_text(content))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LedgerFormatError([f"不是有效的 JSON：{error}"]) from None
    if not isinstance(data, list):
        raise LedgerFormatError(["JSON 台账应为对象数组：[{\"name\": …, \"stage\": …}, …]"])
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            reader.problems.append(f"第{number}条：应为对象")
            continue
        keys = list(record)
        columns = map_header(keys)
        if "name" not in columns:
            reader.problems.append(f"第{number}条：缺少 name（项目名称）")
            continue
        reader.add(f"第{number}条", columns, _cell_getter([record[key] for key in keys]), None)


def read_rows(content: bytes, filename: str, *, tz: tzinfo, usd_rate: float | None = None) -> list[LedgerRow]:
    """Rows of an .xlsx/.csv/.json ledger (either header language); raises LedgerFormatError, all or nothing.

    Naive times are read as local times in `tz`; `usd_rate` converts amounts written in dollars
    (default: the amounts parser's).
    """
    suffix = PurePath(filename).suffix.lower()
    reader = _Reader(tz, usd_rate, csv_escaped=suffix == ".csv")
    if suffix in (".xlsx", ".xlsm"):
        _read_xlsx(content, reader)
    elif suffix == ".csv":
        _read_csv(content, reader)
    elif suffix == ".json":
        _read_json(content, reader)
    elif suffix in (".xls", ".et", ".wps"):
        raise LedgerFormatError([f"不支持 {suffix} 格式：请在 Excel/WPS 中另存为 .xlsx 再导入"])
    else:
        raise LedgerFormatError([f"不支持的文件类型“{suffix or filename}”：请用 .xlsx、.csv 或 .json"])
    if reader.problems:
        raise LedgerFormatError(reader.problems)
    return reader.rows
