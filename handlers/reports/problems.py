"""问题清单: the open problems, by squad and age."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.format import clip
from handlers.messages import Reply
from handlers.reports.common import LIST_LIMIT, Doc, day_text, paren
from handlers.wording import say
from storage import report_queries as rq
from storage.moments import local_day

if TYPE_CHECKING:
    from handlers.rules import Rules




async def problem_list(
    session: AsyncSession, *, settings: Rules, now: datetime, team_id: int | None = None, lang: Lang = "zh"
) -> Reply:
    """问题清单: open problems by category and age, oldest first, with the responsible squad."""
    today = local_day(now, settings.tz)
    limit_days = settings.problem_escalation_days
    older = now - timedelta(days=limit_days)
    counts = await rq.open_problem_counts(session, older_than=older, team_id=team_id)
    total = sum(n for n, _ in counts.values())
    overdue = sum(old for _, old in counts.values())

    doc = Doc()
    doc.title(say(lang, "problems.title", day=day_text(today, lang)))
    if total == 0:
        doc.line(say(lang, "problems.none"))
        return doc.reply()
    doc.line(say(lang, "problems.counts", total=total, limit_days=limit_days, overdue=overdue))
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    doc.line(" · ".join(f"{category} {n}" for category, (n, _) in ordered))
    doc.blank()
    problems = await rq.open_problems(session, team_id=team_id, limit=LIST_LIMIT)
    for index, problem in enumerate(problems, start=1):
        age = (today - local_day(problem.opened_at, settings.tz)).days
        age_text = say(lang, "problems.age", age=age) if age else say(lang, "problems.today")
        flag = " ⚠️" if age > limit_days else ""
        if problem.escalated_at is not None:
            flag += say(lang, "problems.escalated")
        doc.line(f"{index}. 【{problem.category}】#{problem.project_id} {problem.project_name}"
                 f"{paren(problem.team_name, lang)}{age_text}{flag}")
        if problem.text.strip():
            doc.line(f"    {clip(problem.text, 40)}")
    if total > len(problems):
        doc.line(say(lang, "problems.more", more=total - len(problems)))
    return doc.reply()
