"""The dashboard's HTML: Jinja2 templates with autoescape (every name, project and problem text members typed
is escaped), and the charts drawn here as SVG from the figures.

Charts are drawn on the server, not by a JavaScript library: the pages then need no script at all (the
big screen reloads with a meta refresh), work on an intranet with no internet access, render in WeCom's and
Telegram's built-in browsers, and no third-party code is copied into the repository or served. The SVG is
geometry computed from numbers (never from user text) with labels escaped by the templates; colours are
presentation attributes, so the strict Content-Security-Policy (no inline style) holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LIGHT_COLOURS = {"green": "#1a9e52", "yellow": "#e0a800", "red": "#d93025", "remove": "#6b1b1b", "": "#9aa0a6"}
LIGHT_WORDS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "remove": "建议出库", "": ""}
STALE_WORDS = {"": "正常", "yellow": "黄灯", "red": "红灯", "remove": "建议出库"}


@dataclass(frozen=True)
class Spark:
    """A rank trend as an SVG polyline (rank 1 at the top)."""

    points: str
    width: int
    height: int
    last_x: float
    last_y: float


def sparkline(trend: list[tuple[date, int]], total: int, *, width: int = 120, height: int = 28) -> Spark | None:
    """The points of a squad's rank over the trend's days; None with fewer than two days stored."""
    if len(trend) < 2:
        return None
    first = trend[0][0]
    span = max((trend[-1][0] - first).days, 1)
    worst = max(total, max(rank for _, rank in trend), 2)
    coords = [(2 + (day - first).days / span * (width - 4), 2 + (rank - 1) / (worst - 1) * (height - 4))
              for day, rank in trend]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    return Spark(points, width, height, coords[-1][0], coords[-1][1])


def bar_width(done: float, *, full: float = 100.0, width: int = 200) -> float:
    """A completion bar's length, capped at the frame (a pool over its target fills it)."""
    return round(max(0.0, min(done, full)) / full * width, 1)


class Renderer:
    """The compiled templates, loaded once."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(Path(__file__).with_name("templates")),
            autoescape=select_autoescape(["html"], default=True), undefined=StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )
        self._env.globals.update(
            LIGHT_COLOURS=LIGHT_COLOURS, LIGHT_WORDS=LIGHT_WORDS, STALE_WORDS=STALE_WORDS,
            sparkline=sparkline, bar_width=bar_width,
        )

    def page(self, template: str, **values: Any) -> str:
        """One page as HTML."""
        values.setdefault("viewer", None)
        values.setdefault("page", "")
        values.setdefault("refresh", 0)
        return self._env.get_template(template).render(**values)
