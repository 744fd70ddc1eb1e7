"""Report builders: 排行 (比学赶超), 进度, 问题清单, project lights, forecast, 待核实, weekly summary, ledger rows.

Platform-free: each takes an open session, the settings and the moment `now` (aware), reads the SQL
aggregations of storage.report_queries and returns a Reply (plain text that stands on its own, a
markdown twin with ** bold only, and a PNG through the chart port where a picture says it better).
One module per report; this package re-exports what the handlers, jobs and exports call.
"""

from handlers.reports.common import LIGHT_EMOJI, MARKDOWN_SAFE, STALE_EMOJI
from handlers.reports.forecast import forecast_report, pending_verification
from handlers.reports.ledger_rows import ledger_export, ledger_summary
from handlers.reports.problems import problem_list
from handlers.reports.ranking import RankRow, compute_ranking, leaderboard
from handlers.reports.scores import composite_completion, stage_lacks, weighted_score
from handlers.reports.stale import stale_report
from handlers.reports.status import close_names, resolve_team, status_report
from handlers.reports.weekly import last_week, weekly_summary

__all__ = [
    "LIGHT_EMOJI", "MARKDOWN_SAFE", "STALE_EMOJI", "RankRow", "close_names", "composite_completion",
    "compute_ranking", "forecast_report", "last_week", "leaderboard", "ledger_export", "ledger_summary",
    "pending_verification", "problem_list", "resolve_team", "stage_lacks", "stale_report", "status_report",
    "weekly_summary", "weighted_score",
]
