"""The scheduled posts' defaults: their times, Chinese names and the words that name them in `设置`.

Plain data with no imports of the rest of the bot, so `zsbot --help` can list the jobs without loading
the reports or the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class JobDefault:
    """A scheduled post's default time, who gets it, and its names in the `设置` verb."""

    key: str
    time: time
    zh: str
    words: tuple[str, ...]
    weekday: int | None = None  # 0 = Monday, for weekly posts


JOB_DEFAULTS: dict[str, JobDefault] = {
    job.key: job for job in (
        JobDefault("daily_rank", time(8, 30), "比学赶超排行", ("排行", "排名", "比学赶超", "rank")),
        JobDefault("daily_remind", time(17, 30), "报送提醒", ("提醒", "remind", "reminder")),
        JobDefault("stale_projects", time(9, 0), "项目亮灯预警", ("预警", "亮灯", "超期", "stale")),
        JobDefault("problem_escalation", time(9, 0), "问题督办", ("问题", "督办", "problems", "escalation")),
        JobDefault("weekly_summary", time(9, 0), "每周小结", ("周报", "小结", "weekly"), weekday=0),
        # 赛马榜: last week's 招商活跃指数 ranking for the leaders (handlers.reports.activity_index).
        JobDefault("weekly_race", time(9, 0), "赛马榜", ("赛马榜", "赛马", "race"), weekday=0),
    )
}

__all__ = ["JOB_DEFAULTS", "JobDefault"]
