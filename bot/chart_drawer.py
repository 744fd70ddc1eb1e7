"""The chart port (handlers.ports.Charts) with matplotlib: drawn in a worker thread, loaded on the first
draw (importing matplotlib costs about half of a cold start, and `zsbot --help` or a console without
charts need none of it), and cached by the data a chart was drawn from, so a second 排行 the same day
with nothing changed costs no drawing at all."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from handlers.chart_data import FunnelStage, RankBar
from handlers.commands import Lang

log = logging.getLogger(__name__)

CACHE_SIZE = 64  # charts kept: a district's ranking, its funnel and a funnel per squad, in two languages


class ChartDrawer:
    """Draws and caches the report charts (implements handlers.ports.Charts)."""

    def __init__(self, *, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self._cache_size = cache_size
        self.drawn = 0  # charts actually rendered (the rest came from the cache)

    async def ranking_and_funnel(self, bars: Sequence[RankBar], stages: Sequence[FunnelStage], *,
                                 ranking_title: str, funnel_title: str, schedule_pct: float | None,
                                 lang: Lang) -> bytes | None:
        """The ranking above the district's funnel."""
        key = ("combined", tuple(bars), tuple(stages), ranking_title, funnel_title, schedule_pct, lang)
        return await self._draw(key, "combined_chart", tuple(bars), tuple(stages), ranking_title=ranking_title,
                                funnel_title=funnel_title, schedule_pct=schedule_pct, lang=lang)

    async def funnel(self, stages: Sequence[FunnelStage], *, title: str, schedule_pct: float | None,
                     lang: Lang) -> bytes | None:
        """One four-pool funnel."""
        key = ("funnel", tuple(stages), title, schedule_pct, lang)
        return await self._draw(key, "funnel_chart", tuple(stages), title=title, schedule_pct=schedule_pct,
                                lang=lang)

    async def _draw(self, key: Hashable, name: str, *args: Any, **kwargs: Any) -> bytes | None:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        try:
            png = await asyncio.to_thread(_render, name, args, kwargs)
        except Exception:  # a chart is a bonus: log it and answer with the text
            log.exception("chart rendering failed")
            return None
        if png is not None:
            self.drawn += 1
            self._cache[key] = png
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return png


def _render(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes | None:
    """Draw in the worker thread; a name with a character the font lacks is drawn with "?" instead."""
    from bot import chart_fonts, charts  # matplotlib loads here, on the first chart, off the event loop

    render: Callable[..., bytes] = getattr(charts, name)
    try:
        return render(*args, strict=True, **kwargs)
    except chart_fonts.MissingGlyphError:
        if chart_fonts.find_cjk_font() is None:
            log.warning("no CJK font installed: replies go out without charts")
            return None
        return render(*args, strict=False, **kwargs)
