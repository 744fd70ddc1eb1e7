"""The score maths and the targets the reports share: a pool's capped completion, the composite and weighted
scores, how far a tally is from 序时进度, the district's targets and the funnel a chart draws."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from handlers.chart_data import FunnelStage
from handlers.commands import Lang
from handlers.format import stage_name
from handlers.report_calendar import ceil_share
from handlers.wording import say
from storage import report_queries as rq
from storage.models import STAGES

if TYPE_CHECKING:
    from handlers.rules import Rules


def stage_weights(settings: Rules) -> dict[str, float]:
    """Each stage's weight in the weighted score (ZSBOT_STAGE_WEIGHTS), 0 for a stage left out."""
    return {stage: float(settings.stage_weights.get(stage, 0)) for stage in STAGES}


def pool_completion(tally: rq.StageTally, stage: str, target: int) -> float:
    """One pool's completion as a share of its target, capped at 1 (DESIGN §5d): entries beyond the target
    in one pool (junk 谋划 entries, say) cannot make up for another pool that lags."""
    return min(tally.count(stage) / target, 1.0)


def composite_completion(tally: rq.StageTally, targets: dict[str, int], weights: dict[str, float]) -> float:
    """Weighted mean of each pool's capped completion over the stages with a target, in percent (≤ 100)."""
    total_weight = sum(weights[stage] for stage in targets)
    if total_weight <= 0:  # every targeted stage weighs 0: fall back to an unweighted mean
        return sum(pool_completion(tally, s, n) for s, n in targets.items()) / len(targets) * 100
    return sum(weights[s] * pool_completion(tally, s, n) for s, n in targets.items()) / total_weight * 100


def weighted_score(tally: rq.StageTally, weights: dict[str, float]) -> float:
    """The weighted stage score: Σ weight × projects counted toward the stage."""
    return sum(weights[stage] * tally.count(stage) for stage in STAGES)


def stage_lacks(tally: rq.StageTally, targets: dict[str, int], share: float) -> dict[str, int]:
    """Per stage, how many more projects are needed to be on 序时进度 (target × share, rounded up)."""
    lacking: dict[str, int] = {}
    for stage in STAGES:
        target = targets.get(stage, 0)
        if target > 0:
            missing = ceil_share(target, share) - tally.count(stage)
            if missing > 0:
                lacking[stage] = missing
    return lacking


def lack_text(lacking: dict[str, int], lang: Lang) -> str:
    """What a tally lacks, said: 签约 3 个，落地 1 个 (stage_lacks)."""
    return say(lang, "report.comma").join(say(lang, "report.lack", stage=stage_name(stage, lang), count=n)
                                          for stage, n in lacking.items())


def district_targets_or_sum(targets: rq.Targets) -> tuple[dict[str, int], bool]:
    """The district's targets; with none set for a stage, the sum of the teams' (flag says so)."""
    return targets.district_or_sum()


def funnel_stages(tally: rq.StageTally, targets: dict[str, int], lang: Lang) -> list[FunnelStage]:
    """The four pools as a chart's funnel: count, target and amount per stage."""
    return [
        FunnelStage(
            stage_name(stage, lang), tally.count(stage), targets.get(stage), tally.amount(stage)
        )
        for stage in STAGES
    ]


def sum_tallies(tallies: Sequence[rq.StageTally]) -> rq.StageTally:
    """The teams' tallies added up (the district's)."""
    total = rq.StageTally()
    for tally in tallies:
        total.add(tally)
    return total
