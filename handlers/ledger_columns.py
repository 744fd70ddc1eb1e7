"""The ledger's (台账) columns, sheets and limits, and the error a file that cannot be read raises: what the
ledger's writers and readers (handlers.ledger, ledger_xlsx, ledger_read) share."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from handlers.format import STAGE_ZH
from storage.models import ALL_STAGES

LEDGER_COLUMNS: tuple[str, ...] = (
    "id", "name", "team", "stage", "amount_yuan", "industry", "wheel", "zone", "place", "company",
    "created_at", "updated_at", "planned_at", "attracting_at", "signed_at", "landed_at", "open_problems",
    # Appended by issue 14 (the office's columns); the order above is the public contract.
    "latest_note", "problems", "expected_stage", "expected_date",
    # Appended by issue 20 (funds in place); exported, ignored by an import.
    "funds_yuan", "funds_rate",
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
    "latest_note": "最新进展",
    "problems": "存在问题",
    "expected_stage": "预计阶段",
    "expected_date": "预计时间",
    "funds_yuan": "到位资金(元)",
    "funds_rate": "到位率",
}
AMOUNT_WAN_HEADER = "投资额(万元)"
SUMMARY_SHEET = "汇总"
POOL_SHEETS: dict[str, str] = {stage: STAGE_ZH[stage] for stage in ALL_STAGES}  # 谋划 … 已放弃
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
MAX_ROWS = 100_000  # far beyond any district; stops a hostile or broken file early
MAX_REPORTED_PROBLEMS = 20


# CSV-injection guard: Excel runs a cell starting with one of these as a formula. A leading apostrophe
# is itself escaped, so reading can always undo the guard exactly.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_guard(value: str) -> str:
    """A text cell as written to CSV: an apostrophe before what Excel would run as a formula."""
    return "'" + value if value[:1] in _FORMULA_STARTS and value else value


def csv_unguard(value: str) -> str:
    """A CSV text cell as it was before `csv_guard`."""
    return value[1:] if value[:1] == "'" and value[1:2] and value[1] in _FORMULA_STARTS else value


class LedgerFormatError(ValueError):
    """A ledger file that cannot be read; `problems` lists every bad cell (sheet, row, column, why)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        tail = f"\n……共 {len(self.problems)} 处问题，另有 {more} 处未列出" if more else ""
        super().__init__("\n".join(shown) + tail)
