"""What a report's chart shows, as plain data: the core builds it, the chart port (handlers.ports.Charts)
draws it. Frozen, so a chart can be cached by the data it was drawn from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankBar:
    """One squad's bar in the ranking chart.

    `value` is the composite completion % (or the stage score, see `value_suffix`), `light` is the
    squad's light against 序时进度 ("green", "yellow", "red"), `delta` the rank change since yesterday
    (+2 means two places up; None for no comparison). `rank` defaults to the position in the list.
    """

    label: str
    value: float
    light: str
    delta: int | None = None
    rank: int | None = None


@dataclass(frozen=True)
class FunnelStage:
    """One pool in the funnel: how many projects it holds against its target, and their amount."""

    label: str
    count: int
    target: int | None
    amount_yuan: int


# --- fonts -----------------------------------------------------------------------------------------
