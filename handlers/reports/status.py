"""进度: the district and squads against their targets and 序时进度, with breakdowns on request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.format import format_amount, stage_name
from handlers.messages import Reply
from handlers.ports import Charts
from handlers.reports.common import (
    BREAKDOWN_LIMIT,
    LIGHT_EMOJI,
    STALE_EMOJI,
    Doc,
    ReportPeriod,
    counts_line,
    day_text,
    light_for,
    percent,
    report_period,
)
from handlers.reports.funds import FundsFigures, funds_figures, funds_line
from handlers.reports.ranking import RankRow, delta_text, ranking_excerpt, ranking_with_targets
from handlers.reports.scores import district_targets_or_sum, funnel_stages, stage_lacks, sum_tallies
from handlers.reports.stale import stage_cutoffs
from handlers.wording import say
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from handlers.rules import Rules




def _stage_lines(
    doc: Doc, tally: rq.StageTally, targets: dict[str, int], period: ReportPeriod, settings: Rules, lang: Lang
) -> None:
    lacking = stage_lacks(tally, targets, period.share)
    for stage in STAGES:
        count, target = tally.count(stage), targets.get(stage, 0)
        line = f"{stage_name(stage, lang)} {count}"
        if target:
            done = count / target * 100
            line += f"/{target} {percent(done)} {LIGHT_EMOJI[light_for(settings, done, period.pct)]}"
            if stage in lacking:
                line += say(lang, "status.short", lacking=lacking[stage])
        # Unverified moves are news only where verification is required: with the setting off nobody
        # verifies, and "待核实" on every line would be noise (the 待核实 list still shows them).
        pending = tally.pending(stage)
        if pending and settings.require_verification:
            line += say(lang, "status.pending", pending=pending)
        doc.line(line)
    doc.line(
        say(lang, "status.amounts", signed=format_amount(tally.signed_amount, lang),
            landed=format_amount(tally.landed_amount, lang))
    )


def _breakdown(
    doc: Doc, title: str, groups: dict[Any, rq.StageTally], lang: Lang, *, order: Sequence[str] = ()
) -> None:
    if not groups:
        return
    doc.title(title)

    def weight(item: tuple[Any, rq.StageTally]) -> tuple[int, int, int, str]:
        key, tally = item
        # Fixed keys first (服务业, 工业), then by signed + landed, with "未填" (no value) always last.
        fixed = order.index(key) if key in order else len(order) + (1 if not key else 0)
        return (fixed, -tally.signed - tally.landed, -tally.planned, str(key))

    items = sorted(groups.items(), key=weight)
    for key, tally in items[:BREAKDOWN_LIMIT]:
        label = key or say(lang, "status.unset")
        counts = " ".join(f"{stage_name(stage, lang)}{tally.count(stage)}" for stage in STAGES)
        amount = tally.signed_amount + tally.landed_amount
        money = say(lang, "status.signed_landed", amount=format_amount(amount, lang)) \
            if amount else ""
        doc.line(say(lang, "status.breakdown_line", label=label, counts=counts, money=money))
    if len(items) > BREAKDOWN_LIMIT:
        more = len(items) - BREAKDOWN_LIMIT
        doc.line(say(lang, "status.more", more=more))


def close_names(query: str, names: Sequence[str], *, threshold: float, limit: int = 5) -> list[str]:
    """Team names that look like `query`: containing it (or contained in it), then fuzzy matches."""
    folded = query.casefold()
    contained = [n for n in names if folded in n.casefold() or n.casefold() in folded]
    fuzzy = [
        name for name, _score, _ in process.extract(
            query, list(names), scorer=fuzz.WRatio, limit=limit, score_cutoff=threshold
        )
    ]
    ordered = list(dict.fromkeys([*contained, *fuzzy]))
    return ordered[:limit]


def resolve_team(query: str, names: dict[int, str], *, threshold: float) -> tuple[int | None, list[str]]:
    """A team id for a typed name: exact (ignoring case and spaces) or the only name containing it.

    Returns (team id, []) when found, else (None, close names to offer).
    """
    wanted = "".join(query.split()).casefold()
    for team_id, name in names.items():
        if "".join(name.split()).casefold() == wanted:
            return team_id, []
    containing = [tid for tid, name in names.items() if wanted and wanted in "".join(name.split()).casefold()]
    if len(containing) == 1:
        return containing[0], []
    return None, close_names(query, list(names.values()), threshold=threshold)


async def status_report(
    session: AsyncSession,
    *,
    settings: Rules,
    now: datetime,
    viewer_team_id: int | None,
    is_leader: bool,
    team_name: str | None = None,
    lang: Lang = "zh",
    view: str | None = None,
    charts: Charts | None = None,
) -> Reply:
    """进度: the district's counts per pool against targets and 序时进度, and squad detail.

    A member sees the district lines and their own squad. A leader sees a short summary (the pools, the
    squads' lights, who lags most) and asks for the breakdowns by `view`: "wheel", "industry", "zone",
    "squads" or "all" (进度 按产业, 进度 详细); or one squad by naming it (进度 德化街).
    """
    period = report_period(settings, now)
    names = await rq.team_names(session)

    focus: int | None = None
    if team_name:
        found, close = resolve_team(team_name, names, threshold=settings.fuzzy_threshold)
        if found is None:
            doc = Doc()
            doc.line(say(lang, "status.no_such_squad", team_name=team_name))
            if close:
                doc.line(say(lang, "status.did_you_mean", names=say(lang, "list.separator").join(close)))
            doc.line(say(lang, "status.usage", example=close[0] if close else next(iter(names.values()), "德化街")))
            return doc.reply(ok=False)
        focus = found  # whether the viewer may see it is the caller's to decide (handlers.access)

    rows, targets = await ranking_with_targets(session, settings, period)
    by_team = {row.team_id: row for row in rows}
    district_targets, summed = district_targets_or_sum(targets)
    district = sum_tallies([row.tally for row in rows])
    funds = await funds_figures(session, year=period.year)

    doc = Doc()
    if focus is not None:
        row = by_team[focus]
        doc.title(f"📊 {row.team_name} · {day_text(period.today, lang)}")
        doc.line(say(lang, "report.schedule", pct=percent(period.pct)))
        await _team_section(doc, session, row, len(rows), period, settings, lang, now, funds)
        image = await charts.funnel(
            funnel_stages(row.tally, row.targets, lang),
            title=f"{row.team_name} {period.year}", schedule_pct=period.pct if row.targets else None, lang=lang,
        ) if charts is not None else None
        return doc.reply(image=image, image_name="status.png")

    doc.title(say(lang, "status.district_title", day=day_text(period.today, lang)))
    doc.line(say(lang, "report.schedule", pct=percent(period.pct)))
    if summed:
        doc.line(say(lang, "status.district_targets_summed"))
    _stage_lines(doc, district, district_targets, period, settings, lang)
    if line := funds_line(funds, None, period, settings, lang):
        doc.line(line)

    if is_leader:
        views = {"wheel", "industry", "zone", "squads"} if view == "all" else {view}
        if views & {"wheel", "industry", "zone"}:
            groups = await rq.year_breakdowns(session, year=period.year,
                                              require_verification=settings.require_verification)
            if "wheel" in views:
                doc.blank()
                _breakdown(doc, say(lang, "status.by_sector"), groups.wheel, lang, order=("服务业", "工业"))
            if "industry" in views:
                doc.blank()
                _breakdown(doc, say(lang, "status.by_industry"), groups.industry, lang)
            if "zone" in views:
                doc.blank()
                _breakdown(doc, say(lang, "status.by_zone"), groups.zone, lang)
        if "squads" in views:
            doc.blank()
            doc.title(say(lang, "status.by_squad"))
            has_snapshot = any(row.prev_rank is not None for row in rows)
            top, bottom, hidden = ranking_excerpt(rows)
            for row in top:
                doc.line(_squad_status_line(row, has_snapshot, lang))
            if hidden:
                doc.line(say(lang, "report.rows_hidden", hidden=hidden))
                for row in bottom:
                    doc.line(_squad_status_line(row, has_snapshot, lang))
        if view is None:
            _squads_summary(doc, rows, lang)
        doc.blank()
        doc.line(say(lang, "status.more_views"))
    elif viewer_team_id is not None and viewer_team_id in by_team:
        doc.blank()
        row = by_team[viewer_team_id]
        doc.title(say(lang, "status.your_squad", team_name=row.team_name))
        await _team_section(doc, session, row, len(rows), period, settings, lang, now, funds)

    image = await charts.funnel(
        funnel_stages(district, district_targets, lang),
        title=say(lang, "report.district_pools", year=period.year),
        schedule_pct=period.pct if district_targets else None, lang=lang,
    ) if charts is not None else None
    return doc.reply(image=image, image_name="status.png")


def _squads_summary(doc: Doc, rows: Sequence[RankRow], lang: Lang) -> None:
    """The squads in two lines: how many in each light, and who lags most."""
    lit = [row for row in rows if row.light is not None]
    if not lit:
        return
    doc.blank()
    counts = {light: sum(1 for row in lit if row.light == light) for light in ("green", "yellow", "red")}
    doc.line(say(lang, "status.squad_lights", lights=say(lang, "report.comma").join(
        say(lang, "status.light_count", light=LIGHT_EMOJI[light], count=n) for light, n in counts.items() if n)))
    behind = [row.team_name for row in sorted(lit, key=lambda r: r.completion_pct or 0.0)
              if row.light == "red"][:3]
    if behind:
        doc.line(say(lang, "status.furthest_behind", names=say(lang, "list.separator").join(behind)))


def _squad_status_line(row: RankRow, has_snapshot: bool, lang: Lang) -> str:
    delta = delta_text(row, has_snapshot, lang)
    if row.completion_pct is not None and row.light is not None:
        head = f"{row.rank}. {row.team_name} {LIGHT_EMOJI[row.light]} {percent(row.completion_pct)}"
    else:
        head = f"{row.rank}. {row.team_name}"
    return f"{head} {counts_line(row.tally, lang)} {delta}".rstrip()


async def _team_section(
    doc: Doc, session: AsyncSession, row: RankRow, team_count: int, period: ReportPeriod, settings: Rules,
    lang: Lang, now: datetime, funds: FundsFigures,
) -> None:
    if row.completion_pct is not None and row.light is not None:
        doc.line(say(lang, "status.rank_completion", rank=row.rank, team_count=team_count,
                     pct=percent(row.completion_pct), light=LIGHT_EMOJI[row.light]))
    else:
        doc.line(say(lang, "status.rank_score", rank=row.rank, team_count=team_count, score=row.score))
    _stage_lines(doc, row.tally, row.targets, period, settings, lang)
    if line := funds_line(funds, row.team_id, period, settings, lang):
        doc.line(line)
    older = now - timedelta(days=settings.problem_escalation_days)
    problems = await rq.open_problem_counts(session, older_than=older, team_id=row.team_id)
    open_total = sum(total for total, _ in problems.values())
    cutoffs = stage_cutoffs(settings, now)
    stale = (await rq.stale_counts(session, cutoffs=cutoffs, team_id=row.team_id)).get(row.team_id, {})
    extras = [say(lang, "status.open_problems", open_total=open_total)]
    warn = " ".join(
        f"{STALE_EMOJI[light]}{stale[light]}" for light in ("yellow", "red", "remove") if stale.get(light)
    )
    if warn:
        extras.append(say(lang, "status.stale", counts=warn))
    doc.line(" · ".join(extras))
