"""The ledger's (台账) rows as storage reads and writes them: a project's line and the 汇总 summary.

Row types of the storage layer, so its queries (storage.ledger_queries, storage.report_queries) need
nothing from the core; the core's ledger formats (handlers.ledger) import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


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
    latest_note: str = ""  # the last progress note (最新进展); on import, 项目进展 and 备注 of the row
    problems: str = ""  # the open problems' texts (存在问题), one per line; not imported
    expected_stage: str = ""  # a key of STAGES or "": the next stage expected (预计/计划…时间)
    expected_date: date | None = None
    # Funds in place (到位资金, issue 20): all arrivals not undone, and their share of the amount (0.625 for
    # 62.5%; None without an amount, or before 签约 with nothing in place). Exported only: an import ignores
    # them (an arrival needs its day and evidence: `到位`).
    funds_yuan: int = 0
    funds_rate: float | None = None
    # Where the row came from ("工作表「签约」第5行"), for messages only: never written, never compared.
    source: str = field(default="", compare=False, repr=False)


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
    teams: list[TeamSummaryRow] = field(default_factory=list)  # in ranking order (排行), best first
    require_verification: bool = False  # 签约/落地 count only once a leader verified them
