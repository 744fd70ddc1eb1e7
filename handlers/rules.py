"""The district's rules the core and the scheduled posts read: its time zone, who the admins and leaders are,
and the domain knobs. Built from the deployment's settings by the composition root (`Settings.rules()`), so
the core never sees a token, a URL or a port, and is typed against this small object only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from handlers.assessment_scheme import Scheme, default_scheme

RankingBy = Literal["pools", "assessment", "activity"]
RANKING_BY: tuple[RankingBy, ...] = ("pools", "assessment", "activity")


@dataclass(frozen=True)
class Rules:
    """What a district decides (ZSBOT_TIMEZONE, ZSBOT_ADMINS … in the README's configuration table)."""

    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    admins: tuple[str, ...] = ()
    leaders: tuple[str, ...] = ()
    bot_names: tuple[str, ...] = ("招商助手", "zsbot")
    require_verification: bool = False
    captains_verify: bool = False
    undo_window_minutes: int = 30
    fuzzy_threshold: float = 72.0
    usd_cny_rate: float = 7.1
    stage_weights: Mapping[str, float] = field(
        default_factory=lambda: {"planned": 1.0, "attracting": 2.0, "signed": 3.0, "landed": 4.0})
    stale_months: tuple[int, int, int] = (2, 3, 6)
    schedule_yellow_points: float = 10
    schedule_red_points: float = 30
    problem_escalation_days: int = 14
    job_grace_minutes: int = 180
    files_max_mb: float = 10.0
    # The assessment scheme (考核) and activity-index weights (活跃, 赛马榜): ZSBOT_ASSESSMENT_FILE or the default.
    scheme: Scheme = field(default_factory=default_scheme)
    # What the morning 比学赶超 ranks by (ZSBOT_RANKING_BY): pool completion, assessment points or activity index.
    ranking_by: RankingBy = "pools"

    @property
    def files_max_bytes(self) -> int:
        """The largest evidence file downloaded, in bytes."""
        return int(self.files_max_mb * 1024 * 1024)
