"""SQL aggregations behind the reports (排行, 进度, 问题清单, lights, forecast, ledger), one module per subject.

Every function is keyword-only after the session and answers with one or a few SQL statements (GROUP BY,
CASE); none loops over all projects in Python. Time windows arrive as UTC half-open intervals
[start, end) computed from local days by handlers.report_calendar, so the rows are never converted.

Counting rule (DESIGN §3): `<stage>_at` is the first time a project reached that stage or a later one, so
"counts toward stage S in window W" is `S_at` within W. Removed projects (creation undone) never count.
Dropped projects count neither in pool populations nor toward yearly targets: a target measures projects
that are still in the funnel, so a project signed in March and dropped in June no longer counts.
"""

from storage.ledger_queries import ledger_rows  # the ledger's rows live with the other ledger SQL
from storage.report_queries.common import REPORT_KINDS, GroupBy
from storage.report_queries.counts import (
    Breakdowns,
    StageTally,
    breakdowns,
    stage_tallies,
    team_stage_counts,
    year_breakdowns,
    year_district_tally,
    year_team_tallies,
)
from storage.report_queries.dashboard import (
    SquadProject,
    dash_revoked_at,
    rank_history,
    revoke_dash_links,
    squad_projects,
)
from storage.report_queries.forecast import (
    ForecastInputs,
    PendingMove,
    SlippedProject,
    forecast_inputs,
    pending_verifications,
    slipped_projects,
)
from storage.report_queries.ledger import ledger_summary
from storage.report_queries.movers import Move, reports_by_team, stage_moves
from storage.report_queries.problems import OpenProblem, open_problem_counts, open_problems
from storage.report_queries.snapshots import RankLike, rank_snapshot, save_rank_snapshot
from storage.report_queries.stale import StaleProject, stale_counts, stale_projects, stale_totals
from storage.report_queries.teams import Targets, targets_for_year, team_names

__all__ = [
    "REPORT_KINDS",
    "Breakdowns",
    "ForecastInputs",
    "GroupBy",
    "Move",
    "OpenProblem",
    "PendingMove",
    "RankLike",
    "SlippedProject",
    "SquadProject",
    "StageTally",
    "StaleProject",
    "Targets",
    "breakdowns",
    "dash_revoked_at",
    "forecast_inputs",
    "ledger_rows",
    "ledger_summary",
    "open_problem_counts",
    "open_problems",
    "pending_verifications",
    "rank_history",
    "rank_snapshot",
    "reports_by_team",
    "revoke_dash_links",
    "save_rank_snapshot",
    "slipped_projects",
    "squad_projects",
    "stage_moves",
    "stage_tallies",
    "stale_counts",
    "stale_projects",
    "stale_totals",
    "targets_for_year",
    "team_names",
    "team_stage_counts",
    "year_breakdowns",
    "year_district_tally",
    "year_team_tallies",
]
