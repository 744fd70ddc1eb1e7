"""PNG charts for the 比学赶超 posts: the squad ranking and the district's four-pool funnel.

Charts are made for a phone: 1080 px wide, large type, at most ~2400 px tall (Telegram scales photos
down to 2560 px on the long side; anything taller would shrink the text). Every string is checked
against the chosen font's character map before the image is rendered, so a chart never shows empty
boxes: a character the font lacks raises `MissingGlyphError` (or, with ``strict=False``, becomes "?").

Everything here is synchronous and CPU-bound (tens of milliseconds per chart): async callers must run
these functions with ``await asyncio.to_thread(ranking_chart, ...)``. They use matplotlib's object API
(`Figure` + the Agg canvas, never pyplot), so they keep no global figure state and are safe to call from
several threads at once; nothing here changes matplotlib's rcParams.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle

from bot.chart_fonts import Glyphs, MissingGlyphError, chart_font, find_cjk_font, missing_glyphs
from handlers.chart_data import FunnelStage, RankBar
from handlers.commands import Lang
from handlers.format import format_amount

__all__ = [
    "LIGHT_COLOURS",
    "FunnelStage",
    "MissingGlyphError",
    "RankBar",
    "combined_chart",
    "find_cjk_font",
    "funnel_chart",
    "missing_glyphs",
    "ranking_chart",
]

# Geometry, in pixels: fonts are given in px and converted to points, so the layout is exact.
DPI = 100
WIDTH_PX = 1080
MAX_HEIGHT_PX = 2400
MAX_BARS = 60  # up to this many squads every one gets a bar ...
TOP_WHEN_TRUNCATED = 30  # ... beyond it, only the top 30 (and the title says so)

LIGHT_COLOURS: dict[str, str] = {"green": "#2DA44E", "yellow": "#E3B100", "red": "#D1242F"}
# The chart's own words, Chinese first; English when the report was asked for in English.
_WORDS: dict[str, tuple[str, str]] = {
    "green": ("达到序时进度", "On schedule"),
    "yellow": ("稍有落后", "Slightly behind"),
    "red": ("明显落后", "Behind"),
    "schedule": ("序时进度 {pct:.1f}%", "Schedule {pct:.1f}%"),
    "due": ("序时进度应达 ({pct:.1f}%)", "Due by schedule ({pct:.1f}%)"),
    "actual": ("实际", "Actual"),
    "target": ("目标", "Target"),
    "no_target": ("{count}（未设目标）", "{count} (no target)"),
    "no_data": ("暂无数据", "No data"),
    "top": ("{title}（前{top}名，共{total}队）", "{title} (top {top} of {total})"),
}
_FUNNEL_COLOURS = ("#9CC3E6", "#5B9BD5", "#2E75B6", "#1F4E79")
_SCHEDULE_COLOUR = "#C00000"
_TEXT_COLOUR = "#222222"
_MUTED_COLOUR = "#666666"

class _Canvas:
    """A white figure laid out in pixels from the top edge, with the chart font at px sizes."""

    def __init__(self, height_px: int, glyphs: Glyphs, lang: Lang) -> None:
        self.lang = lang
        self.height = max(int(height_px), 200)
        self.fig = Figure(figsize=(WIDTH_PX / DPI, self.height / DPI), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.fig)
        self.g = glyphs

    def say(self, key: str, **values: object) -> str:
        """One of the chart's own words in the reader's language, checked against the font."""
        zh, en = _WORDS[key]
        return self.g((en if self.lang == "en" else zh).format(**values))

    def font(self, px: float) -> FontProperties:
        return FontProperties(fname=self.g.font_path, size=px * 72 / DPI)

    def text_at(self, x_px: float, top_px: float, text: str, px: float, *, ha: str = "left",
                color: str = _TEXT_COLOUR) -> None:
        """Text whose top edge is `top_px` below the figure's top edge."""
        self.fig.text(
            x_px / WIDTH_PX, 1 - top_px / self.height, self.g(text), fontproperties=self.font(px),
            va="top", ha=ha, color=color, parse_math=False,
        )

    def axes(self, left: float, top: float, width: float, height: float) -> Axes:
        return self.fig.add_axes(
            (left / WIDTH_PX, 1 - (top + height) / self.height, width / WIDTH_PX, height / self.height)
        )

    def png(self) -> bytes:
        self.g.check()
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        return buffer.getvalue()


def _display_width(text: str) -> float:
    """Width in ems: CJK (wide) characters take a full em, others a little over half."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def _shorten(text: str, max_ems: float) -> str:
    if _display_width(text) <= max_ems:
        return text
    out = ""
    for ch in text:
        if _display_width(out + ch) > max_ems - 1:
            break
        out += ch
    return out + "…"


def _amount(amount_yuan: int, lang: Lang) -> str:
    if lang == "en":
        return format_amount(amount_yuan, "en")
    return f"{amount_yuan / 100_000_000:,.2f}亿元"  # pools are compared in 亿元, always two decimals


# --- ranking ---------------------------------------------------------------------------------------

_TITLE_PX = 44
_TITLE_BAND = 84
_LEGEND_BAND = 64
_BOTTOM_PX = 36
_EMPTY_HEIGHT = 560


def _ranking_layout(count: int, budget_px: int) -> tuple[float, float]:
    """Bar pitch and label size in px: roomy for few squads, squeezed (never illegible) for many."""
    pitch = min(64.0, max(34.0, (budget_px - _TITLE_BAND - _LEGEND_BAND - _BOTTOM_PX) / max(count, 1)))
    return pitch, min(30.0, pitch * 0.62)


def _shown(count: int) -> int:
    return count if count <= MAX_BARS else TOP_WHEN_TRUNCATED


def _ranking_height(count: int, budget_px: int) -> int:
    if count == 0:
        return _EMPTY_HEIGHT
    pitch, _ = _ranking_layout(count, budget_px)
    return math.ceil(_TITLE_BAND + _LEGEND_BAND + count * pitch + _BOTTOM_PX)


def _delta_text(delta: int | None, arrows: bool) -> str:
    if delta is None:
        return ""
    if delta == 0:
        return "-"
    if arrows:
        return f"↑{delta}" if delta > 0 else f"↓{-delta}"
    return f"{delta:+d}"


def _format_value(value: float, suffix: str) -> str:
    return f"{value:.1f}{suffix}" if suffix == "%" else f"{value:g}{suffix}"


def _draw_empty(canvas: _Canvas, top: float, height: float, title: str) -> None:
    canvas.text_at(40, top + 24, title, _TITLE_PX)
    canvas.text_at(WIDTH_PX / 2, top + height / 2 - 30, canvas.say("no_data"), 52, ha="center",
                   color=_MUTED_COLOUR)


def _draw_ranking(
    canvas: _Canvas, top: float, rows: Sequence[RankBar], *, title: str, schedule_pct: float | None,
    value_suffix: str, budget_px: int,
) -> None:
    g = canvas.g
    for row in rows:
        if row.light not in LIGHT_COLOURS:
            raise ValueError(f"unknown light {row.light!r}: expected one of {sorted(LIGHT_COLOURS)}")
    if not rows:
        _draw_empty(canvas, top, _EMPTY_HEIGHT, title)
        return
    total = len(rows)
    if total > MAX_BARS:
        rows = rows[:TOP_WHEN_TRUNCATED]
        title = canvas.say("top", title=title, top=TOP_WHEN_TRUNCATED, total=total)
    count = len(rows)
    pitch, label_px = _ranking_layout(count, budget_px)
    canvas.text_at(40, top + 22, title, _TITLE_PX)

    arrows = g.has("↑↓")
    labels = [
        g(f"{row.rank if row.rank is not None else i + 1}. {_shorten(row.label, 13)}")
        for i, row in enumerate(rows)
    ]
    label_ems = max(_display_width(label) for label in labels)
    left = min(WIDTH_PX * 0.45, 30 + label_ems * label_px)
    right = 30.0
    plot_top = top + _TITLE_BAND + _LEGEND_BAND
    ax = canvas.axes(left, plot_top, WIDTH_PX - left - right, count * pitch)

    values = [row.value for row in rows]
    scale_top = max([*values, schedule_pct or 0.0, 100.0 if value_suffix == "%" else 0.0])
    scale_top = scale_top if scale_top > 0 else 1.0
    # Leave room right of the longest bar for its value label (about 9 characters).
    axes_px = WIDTH_PX - left - right
    label_room = 9.5 * 0.6 * label_px + 16
    xmax = scale_top * axes_px / max(axes_px - label_room, axes_px * 0.4)
    ax.set_xlim(min(0.0, *values), xmax)
    ax.set_ylim(count - 0.5, -0.5)  # first row on top

    positions = list(range(count))
    ax.barh(positions, values, height=0.68, color=[LIGHT_COLOURS[row.light] for row in rows], zorder=2)
    ax.set_yticks(positions, labels, fontproperties=canvas.font(label_px), color=_TEXT_COLOUR)
    ax.tick_params(axis="y", length=0, pad=10)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_facecolor("white")

    value_font = canvas.font(label_px * 0.92)
    for position, row in zip(positions, rows, strict=True):
        delta = _delta_text(row.delta, arrows)
        text = _format_value(row.value, value_suffix) + (f"  {delta}" if delta else "")
        start = max(row.value, 0) + xmax * 0.012
        if schedule_pct is not None:
            # A label that would sit on the 序时进度 line starts just right of it instead.
            span = _display_width(text) * label_px * 0.92 * xmax / axes_px
            if start <= schedule_pct <= start + span:
                start = schedule_pct + xmax * 0.012
        ax.text(
            start, position, g(text), va="center", ha="left",
            fontproperties=value_font, color=_TEXT_COLOUR, parse_math=False, clip_on=False, zorder=5,
            # White behind the label keeps it readable where the 序时进度 line crosses it.
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
        )

    handles: list[Patch | Line2D] = [
        Patch(facecolor=LIGHT_COLOURS[light], label=canvas.say(light)) for light in LIGHT_COLOURS
    ]
    if schedule_pct is not None:
        ax.axvline(schedule_pct, color=_SCHEDULE_COLOUR, linestyle="--", linewidth=2.2, zorder=3)
        handles.append(
            Line2D([], [], color=_SCHEDULE_COLOUR, linestyle="--", linewidth=2.2,
                   label=canvas.say("schedule", pct=schedule_pct))
        )
    _legend(canvas, handles, top, spacing=1.2)


def _legend(canvas: _Canvas, handles: Sequence[Artist], top: float, *, spacing: float) -> None:
    """The legend in its band under the title, its words never read as mathtext."""
    legend = canvas.fig.legend(
        handles=handles, loc="center", ncol=len(handles), frameon=False, prop=canvas.font(24),
        bbox_to_anchor=(0.5, 1 - (top + _TITLE_BAND + _LEGEND_BAND / 2) / canvas.height),
        handlelength=spacing, columnspacing=spacing, handletextpad=0.4,
    )
    for text_artist in legend.get_texts():
        text_artist.set_parse_math(False)


def ranking_chart(
    rows: Sequence[RankBar], *, title: str, schedule_pct: float | None, value_suffix: str = "%",
    strict: bool = True, lang: Lang = "zh",
) -> bytes:
    """The 比 leaderboard as PNG bytes; rows in rank order, best first. Sync: use asyncio.to_thread.

    Bars are coloured by light, labelled with the value and the ↑↓ change since yesterday, with a
    dashed line at 序时进度 when given. More than MAX_BARS squads: only the top 30, said in the title.
    Raises MissingGlyphError if a text needs a character the font lacks (``strict=False``: "?").
    The chart's own words (legend, 暂无数据) follow `lang`; titles and labels come from the caller.
    """
    return _ranking_canvas(rows, title=title, schedule_pct=schedule_pct, value_suffix=value_suffix,
                           strict=strict, lang=lang).png()


def _ranking_canvas(
    rows: Sequence[RankBar], *, title: str, schedule_pct: float | None, value_suffix: str = "%",
    strict: bool = True, lang: Lang = "zh",
) -> _Canvas:
    glyphs = Glyphs(chart_font(), strict=strict)
    canvas = _Canvas(_ranking_height(_shown(len(rows)), MAX_HEIGHT_PX), glyphs, lang)
    _draw_ranking(canvas, 0, rows, title=title, schedule_pct=schedule_pct, value_suffix=value_suffix,
                  budget_px=MAX_HEIGHT_PX)
    return canvas


# --- funnel ----------------------------------------------------------------------------------------

_FUNNEL_PITCH = 150
_FUNNEL_HEIGHT_EMPTY = _EMPTY_HEIGHT


def _funnel_height(count: int) -> int:
    if count == 0:
        return _FUNNEL_HEIGHT_EMPTY
    return _TITLE_BAND + _LEGEND_BAND + count * _FUNNEL_PITCH + _BOTTOM_PX


def _draw_funnel(
    canvas: _Canvas, top: float, stages: Sequence[FunnelStage], *, title: str,
    schedule_pct: float | None,
) -> None:
    g = canvas.g
    if not stages or not any(stage.count or stage.target or stage.amount_yuan for stage in stages):
        _draw_empty(canvas, top, _FUNNEL_HEIGHT_EMPTY, title)  # an empty district: say so, no blank funnel
        return
    canvas.text_at(40, top + 22, title, _TITLE_PX)
    count = len(stages)
    labels = [g(_shorten(stage.label, 6)) for stage in stages]
    label_px = 34.0
    left = 30 + max(_display_width(label) for label in labels) * label_px
    plot_top = top + _TITLE_BAND + _LEGEND_BAND
    ax = canvas.axes(left, plot_top, WIDTH_PX - left - 20, count * _FUNNEL_PITCH)
    # Bars are centred on 0 in [-0.5, 0.5]; the text column sits right of them.
    ax.set_xlim(-0.53, 1.25)
    ax.set_ylim(count - 0.5, -0.5)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks(range(count), labels, fontproperties=canvas.font(label_px), color=_TEXT_COLOUR)
    ax.tick_params(axis="y", length=0, pad=8)

    reference = max([1, *(s.count for s in stages), *(s.target or 0 for s in stages)])
    half_height = 0.34
    previous: tuple[float, float] | None = None  # half-width and y of the bar above
    for y, stage in enumerate(stages):
        colour = _FUNNEL_COLOURS[min(y, len(_FUNNEL_COLOURS) - 1)]
        half = max(stage.count / reference, 0.012 if stage.count else 0.0) / 2
        if previous is not None and (previous[0] or half):
            ax.add_patch(Polygon(
                [(-previous[0], previous[1] + half_height), (previous[0], previous[1] + half_height),
                 (half, y - half_height), (-half, y - half_height)],
                closed=True, facecolor="#DCE6F2", edgecolor="none", zorder=1,
            ))
        previous = (half, y)
        if half:
            ax.add_patch(Rectangle((-half, y - half_height), 2 * half, 2 * half_height,
                                   facecolor=colour, edgecolor="none", zorder=2))
        if stage.target:
            target_half = stage.target / reference / 2
            ax.add_patch(Rectangle((-target_half, y - half_height), 2 * target_half, 2 * half_height,
                                   facecolor="none", edgecolor="#7F7F7F", linestyle="--", linewidth=1.8,
                                   zorder=3))
            if schedule_pct is not None:
                due_half = stage.target * schedule_pct / 100 / reference / 2
                for x in (-due_half, due_half):
                    ax.plot([x, x], [y - half_height - 0.06, y + half_height + 0.06],
                            color=_SCHEDULE_COLOUR, linewidth=2.6, zorder=4)
        if stage.target:
            headline = f"{stage.count} / {stage.target} ({stage.count / stage.target * 100:.1f}%)"
        else:
            headline = canvas.say("no_target", count=stage.count)
        ax.text(0.56, y - 0.1, g(headline), va="bottom", ha="left", fontproperties=canvas.font(32),
                color=_TEXT_COLOUR, parse_math=False)
        ax.text(0.56, y + 0.06, g(_amount(stage.amount_yuan, canvas.lang)), va="top", ha="left",
                fontproperties=canvas.font(27), color=_MUTED_COLOUR, parse_math=False)

    handles: list[Patch | Line2D] = [
        Patch(facecolor=_FUNNEL_COLOURS[2], label=canvas.say("actual")),
        Patch(facecolor="none", edgecolor="#7F7F7F", linestyle="--", label=canvas.say("target")),
    ]
    if schedule_pct is not None:
        handles.append(Line2D([], [], color=_SCHEDULE_COLOUR, linewidth=2.6,
                              label=canvas.say("due", pct=schedule_pct)))
    _legend(canvas, handles, top, spacing=1.4)


def funnel_chart(stages: Sequence[FunnelStage], *, title: str, schedule_pct: float | None,
                 strict: bool = True, lang: Lang = "zh") -> bytes:
    """The four-pool funnel (谋划→招引→签约→落地) as PNG bytes. Sync: use asyncio.to_thread.

    Each pool is a centred bar (width ∝ count) inside its dashed target outline, red marks where
    序时进度 says it should be by now, and "实际 / 目标（完成率%）" with the amount in 亿元 beside it.
    """
    return _funnel_canvas(stages, title=title, schedule_pct=schedule_pct, strict=strict, lang=lang).png()


def _funnel_canvas(stages: Sequence[FunnelStage], *, title: str, schedule_pct: float | None,
                   strict: bool = True, lang: Lang = "zh") -> _Canvas:
    canvas = _Canvas(_funnel_height(len(stages)), Glyphs(chart_font(), strict=strict), lang)
    _draw_funnel(canvas, 0, stages, title=title, schedule_pct=schedule_pct)
    return canvas


def combined_chart(
    rows: Sequence[RankBar], stages: Sequence[FunnelStage], *, ranking_title: str, funnel_title: str,
    schedule_pct: float | None, value_suffix: str = "%", strict: bool = True, lang: Lang = "zh",
) -> bytes:
    """The ranking above the funnel in one PNG, for the morning post. Sync: use asyncio.to_thread."""
    return _combined_canvas(rows, stages, ranking_title=ranking_title, funnel_title=funnel_title,
                            schedule_pct=schedule_pct, value_suffix=value_suffix, strict=strict,
                            lang=lang).png()


def _combined_canvas(
    rows: Sequence[RankBar], stages: Sequence[FunnelStage], *, ranking_title: str, funnel_title: str,
    schedule_pct: float | None, value_suffix: str = "%", strict: bool = True, lang: Lang = "zh",
) -> _Canvas:
    glyphs = Glyphs(chart_font(), strict=strict)
    funnel_height = _funnel_height(len(stages))
    budget = MAX_HEIGHT_PX - funnel_height
    ranking_height = _ranking_height(_shown(len(rows)), budget)
    gap = 30
    canvas = _Canvas(ranking_height + gap + funnel_height, glyphs, lang)
    _draw_ranking(canvas, 0, rows, title=ranking_title, schedule_pct=schedule_pct,
                  value_suffix=value_suffix, budget_px=budget)
    separator_y = 1 - (ranking_height + gap / 2) / canvas.height
    canvas.fig.add_artist(Line2D([0.03, 0.97], [separator_y, separator_y], color="#D0D7DE", linewidth=2,
                                 transform=canvas.fig.transFigure))
    _draw_funnel(canvas, ranking_height + gap, stages, title=funnel_title, schedule_pct=schedule_pct)
    return canvas
