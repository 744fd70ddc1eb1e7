"""The ledger (台账): its rows and its three file formats, as plain functions over bytes (no database).

Formats, decided once:
- CSV and JSON are for machines: English column names (`LEDGER_COLUMNS`, DESIGN §6 order), stage keys
  (`planned` …), ISO 8601 times with their UTC offset. CSV is UTF-8 *with* a BOM: Excel decodes a
  BOM-less CSV in the system code page (GBK on Chinese Windows) and would garble every Chinese name.
  Text cells that Excel would run as a formula (starting with = + - @) get a leading apostrophe in CSV
  (the usual CSV-injection guard); reading removes it again.
- XLSX is for people: a 汇总 summary sheet first, then one sheet per pool (谋划, 招引, 签约, 落地, 已放弃)
  with Chinese headers (`LEDGER_HEADERS_ZH`), Chinese stage names, an extra 投资额(万元) column, and
  times as Excel dates in the district's local time (Excel has no time zones), to the second.
- Reading accepts either form in any of the three formats: English or Chinese headers (and common
  synonyms from districts' own ledgers: 项目名称, 责任单位, 总投资(万元) …), stage keys or Chinese names,
  amounts as numbers or as words such as "2亿" or "5000万元". Unknown columns are ignored. The whole
  file is validated before anything is returned: bad data raises `LedgerFormatError` naming the sheet,
  row and column of every problem found.

All functions are synchronous and CPU-bound (openpyxl): async callers run them via asyncio.to_thread.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from handlers.format import STAGE_ZH
from storage.models import ALL_STAGES, STAGES

__all__ = [
    "LEDGER_COLUMNS",
    "LEDGER_HEADERS_ZH",
    "LedgerFormatError",
    "LedgerRow",
    "LedgerSummary",
    "TeamSummaryRow",
    "read_ledger",
    "write_csv",
    "write_json",
    "write_xlsx",
]

LEDGER_COLUMNS: tuple[str, ...] = (
    "id", "name", "team", "stage", "amount_yuan", "industry", "wheel", "zone", "place", "company",
    "created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at", "open_problems",
)
LEDGER_HEADERS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "项目名称",
    "team": "责任单位",
    "stage": "所处阶段",
    "amount_yuan": "投资额(元)",
    "industry": "行业",
    "wheel": "轮(服务业/工业)",
    "zone": "区域",
    "place": "对接地点",
    "company": "对接企业",
    "created_at": "录入时间",
    "updated_at": "更新时间",
    "planned_at": "谋划时间",
    "attracting_at": "招引时间",
    "signed_at": "签约时间",
    "landed_at": "落地时间",
    "open_problems": "未解决问题",
}
AMOUNT_WAN_HEADER = "投资额(万元)"
SUMMARY_SHEET = "汇总"
POOL_SHEETS: dict[str, str] = {stage: STAGE_ZH[stage] for stage in ALL_STAGES}  # 谋划 … 已放弃
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
MAX_ROWS = 100_000  # far beyond any district; stops a hostile or broken file early
MAX_REPORTED_PROBLEMS = 20
_HEADER_SEARCH_ROWS = 10

_TEXT_FIELDS = ("name", "team", "industry", "wheel", "zone", "place", "company")
_TIME_FIELDS = ("created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at")
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


class LedgerFormatError(ValueError):
    """A ledger file that cannot be read; `problems` lists every bad cell (sheet, row, column, why)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        tail = f"\n……共 {len(self.problems)} 处问题，另有 {more} 处未列出" if more else ""
        super().__init__("\n".join(shown) + tail)


@dataclass(frozen=True)
class LedgerRow:
    """One project in the ledger. Times are aware datetimes (read back in the district's zone)."""

    id: int | None = None  # None: a project not yet in the database (a district's own ledger)
    name: str = ""
    team: str = ""
    stage: str = "planned"  # a key of ALL_STAGES
    amount_yuan: int | None = None
    industry: str = ""
    wheel: str = ""
    zone: str = ""
    place: str = ""
    company: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    planned_at: datetime | None = None
    attracting_at: datetime | None = None
    signed_at: datetime | None = None
    landed_at: datetime | None = None
    open_problems: int = 0


@dataclass(frozen=True)
class TeamSummaryRow:
    """One squad's line in the 汇总 sheet: yearly counts and targets per stage, signed/landed amounts."""

    name: str
    counts: dict[str, int]
    targets: dict[str, int | None]
    signed_amount_yuan: int = 0
    landed_amount_yuan: int = 0


@dataclass(frozen=True)
class LedgerSummary:
    """The 汇总 sheet: report date, 序时进度 (percent), district (stage, actual, target) and squads."""

    as_of: date
    schedule_pct: float
    district: list[tuple[str, int, int | None]] = field(default_factory=list)
    teams: list[TeamSummaryRow] = field(default_factory=list)


# --- writing ---------------------------------------------------------------------------------------


def _check_stage(row: LedgerRow) -> None:
    if row.stage not in ALL_STAGES:
        raise ValueError(f"ledger row {row.id}: unknown stage {row.stage!r}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r} in a ledger row: times must be timezone-aware")
    return moment


# CSV-injection guard: Excel runs a cell starting with one of these as a formula. A leading apostrophe
# is itself escaped, so reading can always undo the guard exactly.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def _csv_text(value: str) -> str:
    return "'" + value if value[:1] in _FORMULA_STARTS and value else value


def _csv_untext(value: str) -> str:
    return value[1:] if value[:1] == "'" and value[1:2] and value[1] in _FORMULA_STARTS else value


def _machine_value(row: LedgerRow, column: str, tz: tzinfo | None) -> Any:
    value = getattr(row, column)
    if isinstance(value, datetime):
        value = _aware(value)
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    return value


def write_csv(rows: Iterable[LedgerRow], *, tz: tzinfo | None = None) -> bytes:
    """The ledger as CSV bytes (UTF-8 with BOM, English headers, stage keys); times converted to `tz`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEDGER_COLUMNS)
    for row in rows:
        _check_stage(row)
        out = []
        for column in LEDGER_COLUMNS:
            value = _machine_value(row, column, tz)
            if value is None:
                out.append("")
            elif column in _TEXT_FIELDS:
                out.append(_csv_text(value))
            else:
                out.append(str(value))
        writer.writerow(out)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_json(rows: Iterable[LedgerRow], *, tz: tzinfo | None = None) -> bytes:
    """The ledger as a UTF-8 JSON array of objects keyed by LEDGER_COLUMNS; times converted to `tz`."""
    records = []
    for row in rows:
        _check_stage(row)
        records.append({column: _machine_value(row, column, tz) for column in LEDGER_COLUMNS})
    return json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8")


def _display_width(value: str) -> int:
    """Column width in Excel character units: CJK (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _cell_width(value: Any, number_format: str | None) -> int:
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
        if isinstance(value, str):
            value = self._illegal.sub("", value)  # control characters make openpyxl refuse the file
        cell = self.ws.cell(row=row, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text stays text: a name starting with "=" is not a formula
        if number_format:
            cell.number_format = number_format
        if measure:
            self.widths[column] = max(self.widths.get(column, 0), _cell_width(value, number_format))
        return cell

    def header(self, row: int, values: Sequence[str]) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="DDEBF7")
        centre = Alignment(horizontal="center", vertical="center")
        for column, value in enumerate(values, start=1):
            cell = self.put(row, column, value)
            cell.font, cell.fill, cell.alignment = bold, fill, centre

    def apply_widths(self) -> None:
        from openpyxl.utils import get_column_letter

        for column, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 60)


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None:
        return None
    return _aware(moment).astimezone(tz).replace(tzinfo=None, microsecond=0)


def _wan(yuan: int | None) -> float | None:
    return None if yuan is None else yuan / 10_000


_XLSX_COLUMNS: tuple[str, ...] = (*LEDGER_COLUMNS[:5], "amount_wan", *LEDGER_COLUMNS[5:])


def _write_pool(sheet: _Sheet, rows: Sequence[LedgerRow], tz: tzinfo) -> None:
    from openpyxl.utils import get_column_letter

    headers = [AMOUNT_WAN_HEADER if c == "amount_wan" else LEDGER_HEADERS_ZH[c] for c in _XLSX_COLUMNS]
    sheet.header(1, headers)
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(_XLSX_COLUMNS, start=1):
            if column == "amount_wan":
                sheet.put(r, c, _wan(row.amount_yuan), number_format="#,##0.00")
            elif column == "amount_yuan":
                sheet.put(r, c, row.amount_yuan, number_format="#,##0")
            elif column == "stage":
                sheet.put(r, c, STAGE_ZH[row.stage])
            elif column in _TIME_FIELDS:
                sheet.put(r, c, _local(getattr(row, column), tz), number_format=_DATETIME_FORMAT)
            else:
                sheet.put(r, c, getattr(row, column) if getattr(row, column) != "" else None)
    sheet.ws.freeze_panes = "C2"  # header row and 编号/项目名称 stay in view when scrolling
    sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"
    sheet.apply_widths()


def _due(target: int, schedule_pct: float) -> int:
    # What 序时进度 requires by now; a tiny epsilon keeps 200 × 40% from becoming 81 through float noise.
    return math.ceil(target * schedule_pct / 100 - 1e-9)


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
    sheet.put(row, 1, "各小分队完成情况", measure=False).font = Font(bold=True, size=12)
    row += 1
    headers = ["小分队"]
    for stage in STAGES:
        headers += [STAGE_ZH[stage], f"{STAGE_ZH[stage]}目标"]
    headers += ["签约投资额(万元)", "落地投资额(万元)"]
    sheet.header(row, headers)
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
    row += 2
    note = "说明：完成率 = 实际 ÷ 目标；序时应完成 = 目标 × 序时进度（向上取整）；差额为负即落后。"
    sheet.put(row, 1, note, measure=False)
    sheet.ws.freeze_panes = "A2"
    sheet.apply_widths()


def write_xlsx(rows: Iterable[LedgerRow], summary: LedgerSummary, *, tz: tzinfo) -> bytes:
    """The ledger as an Excel workbook: 汇总 first, then one sheet per pool. Sync: use asyncio.to_thread."""
    from openpyxl import Workbook

    by_stage: dict[str, list[LedgerRow]] = {stage: [] for stage in ALL_STAGES}
    for row in rows:
        _check_stage(row)
        by_stage[row.stage].append(row)
    workbook = Workbook()
    summary_sheet = workbook.active
    summary_sheet.title = SUMMARY_SHEET
    _write_summary(_Sheet(summary_sheet), summary)
    for stage in ALL_STAGES:
        _write_pool(_Sheet(workbook.create_sheet(POOL_SHEETS[stage])), by_stage[stage], tz)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Header/stage key: NFKC (full-width brackets become ASCII), lower case, no spaces or * marks."""
    return re.sub(r"[\s*]+", "", unicodedata.normalize("NFKC", text)).lower()


_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "项目编号", "项目id"),
    "name": ("项目名称", "项目名", "名称", "项目"),
    "team": ("责任单位", "小分队", "招商小分队", "责任小分队", "牵头单位", "招商单位"),
    "stage": ("所处阶段", "阶段", "项目阶段", "所处项目库", "项目库"),
    "industry": ("行业", "所属行业", "产业", "产业类型"),
    "wheel": ("轮(服务业/工业)", "轮", "服务业/工业", "产业轮", "两轮"),
    "zone": ("区域", "所在区域", "片区"),
    "place": ("对接地点", "地点", "城市", "对接城市", "所在地"),
    "company": ("对接企业", "企业", "企业名称", "对接公司", "投资方", "投资主体"),
    "created_at": ("录入时间", "创建时间"),
    "updated_at": ("更新时间", "最后更新", "最后更新时间"),
    "planned_at": ("谋划时间",),
    "attracting_at": ("招引时间", "洽谈时间"),
    "signed_at": ("签约时间",),
    "landed_at": ("落地时间", "开工时间"),
    "open_problems": ("未解决问题", "未解决问题(个)", "未解决问题数", "问题数"),
}
_HEADERS: dict[str, str] = {}
for _field, _names in _HEADER_SYNONYMS.items():
    for _name in (_field, LEDGER_HEADERS_ZH[_field], *_names):
        _HEADERS[_norm(_name)] = _field

# Amount columns carry their unit in the header; a header without one takes only amounts with words.
_AMOUNT_HEADER = re.compile(r"^(amount|投资额|总投资|总投资额|投资金额|计划总投资|项目总投资|协议投资额)"
                            r"(?:_?\(?(yuan|元|万元|亿元)\)?)?$")
_AMOUNT_UNITS: dict[str | None, int | None] = {"yuan": 1, "元": 1, "万元": 10_000, "亿元": 100_000_000,
                                               None: None}
_AMOUNT_PRIORITY = (1, 10_000, 100_000_000, None)

_STAGE_WORDS: dict[str, str] = {}
for _stage, _words in {
    "planned": ("谋划", "储备", "谋划中"),
    "attracting": ("招引", "洽谈", "在谈", "对接", "招引中", "洽谈中"),
    "signed": ("签约", "已签约", "已签"),
    "landed": ("落地", "已落地", "开工", "已开工", "注册落地"),
    "dropped": ("已放弃", "放弃", "终止", "已终止"),
}.items():
    for _word in (_stage, *_words):
        _STAGE_WORDS[_norm(_word)] = _stage


def _stage_key(text: str) -> str | None:
    key = _norm(text)
    for suffix in ("项目库", "库", "项目"):
        if key not in _STAGE_WORDS and key.endswith(suffix):
            key = key[: -len(suffix)]
    return _STAGE_WORDS.get(key)


@dataclass
class _Column:
    index: int
    field: str
    header: str  # as written in the file, for error messages
    multiplier: int | None = 1  # amount columns only


def _map_header(cells: Sequence[Any]) -> dict[str, _Column]:
    """Which column holds which field; the first header wins, the best amount unit wins."""
    found: dict[str, _Column] = {}
    amounts: list[_Column] = []
    for index, cell in enumerate(cells):
        if cell is None or not str(cell).strip():
            continue
        header = str(cell).strip()
        key = _norm(header)
        if key in _HEADERS:
            found.setdefault(_HEADERS[key], _Column(index, _HEADERS[key], header))
            continue
        match = _AMOUNT_HEADER.match(key)
        if match:
            amounts.append(_Column(index, "amount_yuan", header, _AMOUNT_UNITS[match.group(2)]))
    if amounts:
        found["amount_yuan"] = min(amounts, key=lambda c: _AMOUNT_PRIORITY.index(c.multiplier))
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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

    def fail(self, where: str, column: _Column | None, why: str) -> None:
        self.problems.append(f"{where}「{column.header}」：{why}" if column else f"{where}：{why}")

    def add(self, where: str, columns: Mapping[str, _Column], get: Callable[[int], Any],
            default_stage: str | None) -> None:
        self.seen += 1
        if self.seen > MAX_ROWS:
            if self.seen == MAX_ROWS + 1:
                self.problems.append(f"行数超过 {MAX_ROWS}，文件过大")
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
        if values.get("stage") is None and "stage" not in failed:
            if default_stage is None:
                self.fail(where, columns.get("stage"), "缺少所处阶段（谋划/招引/签约/落地/已放弃）")
                ok = False
            values["stage"] = default_stage
        if not ok:
            return
        if values.get("open_problems") is None:
            values["open_problems"] = 0
        project_id = values.get("id")
        if project_id is not None:
            if project_id in self._ids:
                self.fail(where, columns["id"], f"编号 {project_id} 与{self._ids[project_id]}重复")
                return
            self._ids[project_id] = where
        self.rows.append(LedgerRow(**values))

    def _convert(self, name: str, column: _Column, raw: Any) -> Any:
        if name in _TEXT_FIELDS:
            text = _text(raw)
            return _csv_untext(text) if self.csv_escaped else text
        if name == "stage":
            if _blank(raw):
                return None
            stage = _stage_key(str(raw))
            if stage is None:
                raise ValueError(f"无法识别的阶段“{raw}”（可用：谋划、招引、签约、落地、已放弃）")
            return stage
        if name == "amount_yuan":
            return self._amount(raw, column.multiplier)
        if name in _TIME_FIELDS:
            return _moment(raw, self.tz)
        if name == "id":
            return _count(raw, "编号", prefix="#")
        if name == "open_problems":
            return _count(raw, "未解决问题数", suffix="个")
        raise AssertionError(name)  # pragma: no cover

    def _amount(self, raw: Any, multiplier: int | None) -> int | None:
        if _blank(raw):
            return None
        if isinstance(raw, bool):
            raise ValueError(f"无法识别的金额“{raw}”")
        number: Decimal | None = None
        if isinstance(raw, int | float):
            number = Decimal(str(raw))
        else:
            text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "").replace(" ", "")
            plain = re.fullmatch(r"(-?\d+(?:\.\d+)?)(元)?", text)
            if not plain:
                return self._amount_words(str(raw).strip())
            number = Decimal(plain.group(1))
            if plain.group(2):
                multiplier = 1  # "12000元" says its unit whatever the header says
        if not number.is_finite() or number < 0:
            raise ValueError(f"金额不能为负或非数字：“{raw}”")
        if multiplier is None:
            raise ValueError(f"“{raw}”没有单位：请把表头写成「投资额(元)」或「投资额(万元)」，或写成“2亿”")
        return _whole_yuan(number * multiplier)

    def _amount_words(self, text: str) -> int:
        try:
            from handlers.amounts import DEFAULT_USD_RATE, parse_amount
        except ImportError:  # the amounts parser is optional here: then plain numbers only
            raise ValueError(f"无法识别的金额“{text}”（请填写数字）") from None
        amount = parse_amount(text, usd_rate=self.usd_rate if self.usd_rate is not None else DEFAULT_USD_RATE)
        if amount is None:
            raise ValueError(f"无法识别的金额“{text}”（例：200000000、2亿、5000万元）")
        if amount.vague:  # 十来个亿 is a guess; a ledger holds figures
            raise ValueError(f"金额“{text}”是个估计，请填写确切数字（例：10亿）")
        return amount.yuan


def _whole_yuan(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a company called 360 typed into a number cell
    return str(raw).strip()


def _count(raw: Any, what: str, *, prefix: str = "", suffix: str = "") -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{what}应为非负整数：“{raw}”")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError(f"{what}应为非负整数：“{raw}”")
        return raw
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    text = text.removeprefix(prefix) if prefix else text
    text = text.removesuffix(suffix) if suffix else text
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{what}应为非负整数：“{raw}”")
    return int(text)


_DATE_PATTERN = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def _moment(raw: Any, tz: tzinfo) -> datetime | None:
    if _blank(raw):
        return None
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time())
    elif isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            # Dates as districts write them: 2026/3/5, 2026.3.5, 2026年3月5日 (optionally with a time).
            loose = re.sub(r"[/.年月]", "-", text).replace("日", "").strip()
            match = _DATE_PATTERN.fullmatch(loose)
            if not match:
                raise ValueError(f"无法识别的时间“{raw}”（例：2026-03-05 或 2026-03-05 10:30）") from None
            parts = [int(p) if p else 0 for p in match.groups()]
            try:
                moment = datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
            except ValueError:
                raise ValueError(f"不存在的日期“{raw}”") from None
    else:
        raise ValueError(f"无法识别的时间“{raw}”")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=tz)  # local wall time in the district's zone
    return moment.astimezone(tz)


def _read_xlsx(content: bytes, reader: _Reader) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise LedgerFormatError([f"不是有效的 .xlsx 文件（{type(error).__name__}）"]) from None
    try:
        for worksheet in workbook.worksheets:
            if _norm(worksheet.title) == _norm(SUMMARY_SHEET):
                continue
            _read_table(worksheet.iter_rows(values_only=True), reader, where=f"工作表「{worksheet.title}」",
                        default_stage=_stage_key(worksheet.title))
    finally:
        workbook.close()


def _cell_getter(cells: Sequence[Any]) -> Callable[[int], Any]:
    return lambda index: cells[index] if index < len(cells) else None


def _read_table(
    rows: Iterable[Sequence[Any]], reader: _Reader, *, where: str, default_stage: str | None,
) -> None:
    """One sheet or CSV: find the header (within the first rows), then read every non-blank row."""
    columns: dict[str, _Column] | None = None
    has_content = False
    for number, cells in enumerate(rows, start=1):
        if all(_blank(cell) for cell in cells):
            continue
        has_content = True
        if columns is not None:
            reader.add(f"{where}第{number}行", columns, _cell_getter(cells), default_stage)
            continue
        # A district's own ledger often has a title line or two above the header.
        mapped = _map_header(cells)
        if "name" in mapped:
            columns = mapped
        elif number >= _HEADER_SEARCH_ROWS:
            break
    if columns is None and has_content:
        reader.problems.append(f"{where}找不到表头（至少需要 name 或「项目名称」列）")


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
        text = _decode_text(content)
    except UnicodeDecodeError:
        raise LedgerFormatError(["CSV 文件编码无法识别（请保存为 UTF-8）"]) from None
    try:
        _read_table(csv.reader(io.StringIO(text, newline="")), reader, where="", default_stage=None)
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
        columns = _map_header(keys)
        if "name" not in columns:
            reader.problems.append(f"第{number}条：缺少 name（项目名称）")
            continue
        reader.add(f"第{number}条", columns, _cell_getter([record[key] for key in keys]), None)


def read_ledger(
    content: bytes, filename: str, *, tz: tzinfo = DEFAULT_TZ, usd_rate: float | None = None,
) -> list[LedgerRow]:
    """Rows of an .xlsx/.csv/.json ledger (either header language); raises LedgerFormatError, all or nothing.

    Naive times are read as local times in `tz`; `usd_rate` converts amounts written in dollars
    (default: the amounts parser's). Sync: async callers use asyncio.to_thread.
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
