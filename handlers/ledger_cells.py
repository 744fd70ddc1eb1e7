"""Reading a ledger's cells: which header means which field, and values as offices write them.

Headers: our own (English keys and Chinese names) and the words district offices use (项目名称, 责任单位,
所属产业, 项目进展, 备注, 投资方, 项目地址, 计划签约时间 …), compared after NFKC (full-width brackets become
ASCII), without spaces, * marks or a trailing bracketed note (「责任单位（牵头）」 is 责任单位).
Values: amounts as numbers under a header with a unit or as words ("2亿"), dates as Excel dates, Excel
serial numbers, 2026/3/5, 2026.3.5, 2026年3月5日 or just a month (2026.3, 2026年3月: its first day).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Fields read but not columns of LedgerRow: 序号 (a row number), 备注 (joins the note), the planned dates
# of a next stage (计划签约时间 …: the expected stage and date).
SEQ, REMARK = "seq", "remark"
EXPECT_FIELDS: dict[str, str] = {"expect_attracting": "attracting", "expect_signed": "signed",
                                 "expect_landed": "landed"}

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "项目编号", "项目id"),
    "name": ("项目名称", "项目名", "名称", "项目", "项目全称"),
    "team": ("责任单位", "小分队", "招商小分队", "责任小分队", "牵头单位", "招商单位", "责任部门", "责任主体",
             "牵头部门"),
    "stage": ("所处阶段", "阶段", "项目阶段", "所处项目库", "项目库", "项目状态", "当前阶段", "进展阶段"),
    "industry": ("行业", "所属行业", "产业", "产业类型", "所属产业", "产业类别", "行业类别", "产业领域", "所属领域",
                 "产业方向"),
    "wheel": ("轮(服务业/工业)", "轮", "服务业/工业", "产业轮", "两轮"),
    "zone": ("区域", "所在区域", "片区", "所属区域", "落地区域", "所在片区", "所属片区", "落户区域", "所在街道"),
    "place": ("对接地点", "地点", "城市", "对接城市", "所在地", "项目地址", "项目地点", "建设地点", "建设地址",
              "企业所在地", "来源地"),
    "company": ("对接企业", "企业", "企业名称", "对接公司", "投资方", "投资主体", "投资企业", "签约企业", "签约主体",
                "投资方名称", "合作企业", "对接企业/投资方"),
    "created_at": ("录入时间", "创建时间"),
    "updated_at": ("更新时间", "最后更新", "最后更新时间"),
    "planned_at": ("谋划时间", "谋划日期", "入库时间", "储备时间"),
    "attracting_at": ("招引时间", "洽谈时间", "对接时间", "招引日期", "洽谈日期", "首次对接时间"),
    "signed_at": ("签约时间", "签约日期"),
    "landed_at": ("落地时间", "开工时间", "落地日期", "开工日期", "注册落地时间"),
    "open_problems": ("未解决问题", "未解决问题(个)", "未解决问题数", "问题数"),
    "latest_note": ("最新进展", "项目进展", "进展情况", "推进情况", "最新进展情况", "工作进展", "项目推进情况", "进展",
                    "项目进展情况"),
    "problems": ("存在问题", "存在的问题", "问题及困难", "困难问题", "需协调解决的问题", "存在问题及建议"),
    "expected_stage": ("预计阶段",),
    "expected_date": ("预计时间", "预计日期"),
    "expect_attracting": ("预计招引时间", "计划对接时间", "计划招引时间"),
    "expect_signed": ("计划签约时间", "预计签约时间", "计划签约", "预计签约", "拟签约时间", "计划签约日期",
                      "预计签约日期"),
    "expect_landed": ("计划落地时间", "预计落地时间", "计划开工时间", "预计开工时间", "拟开工时间", "拟落地时间",
                      "预计落地", "计划开工", "预计开工"),
    SEQ: ("序号", "序"),
    REMARK: ("备注", "备注说明"),
}


def norm(text: str) -> str:
    """Header/stage key: NFKC (full-width brackets become ASCII), lower case, no spaces or * marks."""
    return re.sub(r"[\s*]+", "", unicodedata.normalize("NFKC", text)).lower()


HEADERS: dict[str, str] = {}
for _field, _names in HEADER_SYNONYMS.items():
    for _name in (_field, *_names):
        HEADERS[norm(_name)] = _field

# Amount columns carry their unit in the header; a header without one takes only amounts with words.
_AMOUNT_HEADER = re.compile(r"^(amount|投资额|总投资|总投资额|投资金额|计划总投资|项目总投资|协议投资额|投资规模|计划投资额"
                            r"|合同投资额|拟投资额|投资总额|计划投资)(?:_?\(?(yuan|元|万元|亿元)\)?)?$")
_AMOUNT_UNITS: dict[str | None, int | None] = {"yuan": 1, "元": 1, "万元": 10_000, "亿元": 100_000_000,
                                               None: None}
_AMOUNT_PRIORITY = (1, 10_000, 100_000_000, None)
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")

STAGE_WORDS: dict[str, str] = {}
for _stage, _words in {
    "planned": ("谋划", "储备", "谋划中"),
    "attracting": ("招引", "洽谈", "在谈", "对接", "招引中", "洽谈中", "对接中"),
    "signed": ("签约", "已签约", "已签"),
    "landed": ("落地", "已落地", "开工", "已开工", "注册落地"),
    "dropped": ("已放弃", "放弃", "终止", "已终止"),
}.items():
    for _word in (_stage, *_words):
        STAGE_WORDS[norm(_word)] = _stage


def stage_key(text: str) -> str | None:
    """The stage a word names (签约, 已签约, 签约项目库 …), or None."""
    key = norm(text)
    for suffix in ("项目库", "库", "项目"):
        if key not in STAGE_WORDS and key.endswith(suffix):
            key = key[: -len(suffix)]
    return STAGE_WORDS.get(key)


@dataclass
class Column:
    """Which field a column of the file holds."""

    index: int
    field: str
    header: str  # as written in the file, for error messages
    multiplier: int | None = 1  # amount columns only


def header_field(header: str) -> tuple[str, int | None] | None:
    """(field, amount multiplier) a header names, or None."""
    key = norm(header)
    for candidate in (key, _TRAILING_NOTE.sub("", key)):
        if candidate in HEADERS:
            return HEADERS[candidate], 1
        match = _AMOUNT_HEADER.match(candidate)
        if match:
            return "amount_yuan", _AMOUNT_UNITS[match.group(2)]
    return None


def map_header(cells: Sequence[Any]) -> dict[str, Column]:
    """Which column holds which field; the first header wins, the best amount unit wins."""
    found: dict[str, Column] = {}
    amounts: list[Column] = []
    for index, cell in enumerate(cells):
        if cell is None or not isinstance(cell, str) or not cell.strip():
            continue  # a header is text: a number or date in a row is data
        header = cell.strip()
        named = header_field(header)
        if named is None:
            continue
        field, multiplier = named
        if field == "amount_yuan":
            amounts.append(Column(index, field, header, multiplier))
        else:
            found.setdefault(field, Column(index, field, header))
    if amounts:
        found["amount_yuan"] = min(amounts, key=lambda c: _AMOUNT_PRIORITY.index(c.multiplier))
    return found


def blank(value: Any) -> bool:
    """An empty cell."""
    return value is None or (isinstance(value, str) and not value.strip())


_TOTAL = re.compile(r"^(合计|小计|总计|共计|累计)")
_FOOTNOTE = re.compile(r"^(注|说明|填表说明|备注)(\d|[:：、.]|$)")


def is_total_or_note(cells: Sequence[Any]) -> bool:
    """A 合计/小计 row or a footnote (注：…) under the table, not a project."""
    for cell in cells:
        if blank(cell):
            continue
        text = norm(str(cell))
        return bool(_TOTAL.match(text) or _FOOTNOTE.match(text))
    return False


def text(raw: Any) -> str:
    """A cell as text (a whole number typed into a number cell loses its .0)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def count(raw: Any, what: str, *, prefix: str = "", suffix: str = "") -> int | None:
    """A non-negative whole number, or None for an empty cell."""
    if blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{what}应为非负整数：“{raw}”")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError(f"{what}应为非负整数：“{raw}”")
        return raw
    value = unicodedata.normalize("NFKC", str(raw)).strip()
    value = value.removeprefix(prefix) if prefix else value
    value = value.removesuffix(suffix) if suffix else value
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{what}应为非负整数：“{raw}”")
    return int(value)


def whole_yuan(value: Decimal) -> int:
    """Yuan rounded half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def amount(raw: Any, multiplier: int | None, usd_rate: float | None) -> int | None:
    """Yuan from a number under a header with a unit, or from words such as 2亿 or 5000万元."""
    if blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"无法识别的金额“{raw}”")
    if isinstance(raw, int | float):
        number = Decimal(str(raw))
    else:
        plain_text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "").replace(" ", "")
        plain = re.fullmatch(r"(-?\d+(?:\.\d+)?)(元)?", plain_text)
        if not plain:
            return _amount_words(str(raw).strip(), usd_rate)
        number = Decimal(plain.group(1))
        if plain.group(2):
            multiplier = 1  # "12000元" says its unit whatever the header says
    if not number.is_finite() or number < 0:
        raise ValueError(f"金额不能为负或非数字：“{raw}”")
    if multiplier is None:
        raise ValueError(f"“{raw}”没有单位：请把表头写成「投资额(元)」或「投资额(万元)」，或写成“2亿”")
    return whole_yuan(number * multiplier)


def _amount_words(words: str, usd_rate: float | None) -> int:
    try:
        from handlers.amounts import DEFAULT_USD_RATE, parse_amount
    except ImportError:  # the amounts parser is optional here: then plain numbers only
        raise ValueError(f"无法识别的金额“{words}”（请填写数字）") from None
    parsed = parse_amount(words, usd_rate=usd_rate if usd_rate is not None else DEFAULT_USD_RATE)
    if parsed is None:
        raise ValueError(f"无法识别的金额“{words}”（例：200000000、2亿、5000万元）")
    if parsed.vague:  # 十来个亿 is a guess; a ledger holds figures
        raise ValueError(f"金额“{words}”是个估计，请填写确切数字（例：10亿）")
    return int(parsed.yuan)


_DATE_PATTERN = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)


def moment(raw: Any, tz: tzinfo) -> datetime | None:
    """An aware datetime in `tz` from a cell; naive values are local wall time."""
    if blank(raw):
        return None
    if isinstance(raw, datetime):
        found = raw
    elif isinstance(raw, date):
        found = datetime.combine(raw, time())
    elif isinstance(raw, int | float) and not isinstance(raw, bool) and 20_000 <= raw <= 80_000:
        found = _EXCEL_EPOCH + timedelta(days=float(raw))  # a date cell that lost its format (.xls era)
        found = found.replace(microsecond=0)
    elif isinstance(raw, str):
        found = _date_text(raw)
    else:
        raise ValueError(f"无法识别的时间“{raw}”")
    if found.tzinfo is None or found.utcoffset() is None:
        return found.replace(tzinfo=tz)
    return found.astimezone(tz)


def _date_text(raw: str) -> datetime:
    value = unicodedata.normalize("NFKC", raw).strip()
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    # Dates as districts write them: 2026/3/5, 2026.3.5, 2026年3月5日, 2026.3 (optionally with a time).
    loose = re.sub(r"[/.年月]", "-", value).replace("日", "").replace("号", "").strip().rstrip("-")
    match = _DATE_PATTERN.fullmatch(loose)
    if not match:
        raise ValueError(f"无法识别的时间“{raw}”（例：2026-03-05 或 2026-03-05 10:30）")
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime(parts[0], parts[1], parts[2] or 1, parts[3], parts[4], parts[5])
    except ValueError:
        raise ValueError(f"不存在的日期“{raw}”") from None
