"""Charts: real PNGs, Chinese glyphs present in the font for every drawn string, colours on the bars."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.text import Text
from PIL import Image

from bot import chart_fonts, charts
from bot.charts import (
    LIGHT_COLOURS,
    MAX_HEIGHT_PX,
    WIDTH_PX,
    FunnelStage,
    MissingGlyphError,
    RankBar,
    combined_chart,
    find_cjk_font,
    funnel_chart,
    missing_glyphs,
    ranking_chart,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

TEAMS_20 = [
    "先进制造小分队", "现代商贸小分队", "健康服务小分队", "科技服务招商一分队", "总部经济小分队",
    "楼宇经济小分队", "汽车产业小分队", "新材料小分队", "长江路街道", "大学路街道", "嵩山路街道",
    "京广路街道", "建中街街道", "铭功路街道", "一马路街道", "蜜蜂张街道", "五里堡街道", "淮河路街道",
    "解放路街道", "二七区商务局",
]

STAGES = [
    FunnelStage("谋划", 180, 200, 35_000_000_000),
    FunnelStage("招引", 120, 160, 21_000_000_000),
    FunnelStage("签约", 40, 80, 8_500_000_000),
    FunnelStage("落地", 12, None, 1_200_000_000),
]


def _rows(names: list[str]) -> list[RankBar]:
    lights = ("green", "yellow", "red")
    deltas = (None, 0, 2, -1)
    return [
        RankBar(name, 120.0 - 100.0 * i / len(names), lights[i * 3 // len(names)], deltas[i % 4])
        for i, name in enumerate(names)
    ]


def _image(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def _count_near(pixels: np.ndarray, hex_colour: str, tolerance: int = 12) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=2) <= tolerance).sum())


def _texts(canvas: charts._Canvas) -> list[str]:
    return [t.get_text() for t in canvas.fig.findobj(Text) if t.get_text()]


@pytest.fixture(scope="module")
def font() -> str:
    path = find_cjk_font()
    assert path is not None, "no CJK font installed (Debian: apt-get install fonts-wqy-microhei)"
    return path


def test_find_cjk_font_finds_a_registered_font_with_chinese(font: str) -> None:
    assert os.path.isfile(font)
    assert missing_glyphs("招商比学赶超序时进度谋划招引签约落地亿元", font) == set()
    assert font in {entry.fname for entry in font_manager.fontManager.ttflist}
    assert find_cjk_font() == font  # cached


def test_missing_glyphs_reports_exactly_the_absent_characters(font: str) -> None:
    assert missing_glyphs("比亚迪 #12 ↑2 ↓1 (90.0%)\n", font) == set()
    assert missing_glyphs("仲景𠀀医药😀", font) == {"𠀀", "😀"}
    dejavu = chart_fonts._fallback_font()
    assert missing_glyphs("Tesla 2b", dejavu) == set()
    assert missing_glyphs("签约", dejavu) == {"签", "约"}


def test_ranking_chart_with_20_chinese_teams_is_a_legible_coloured_png(font: str) -> None:
    rows = _rows(TEAMS_20)
    png = ranking_chart(rows, title="比学赶超 综合完成率排名", schedule_pct=90.7)
    pixels = _image(png)
    height, width, _ = pixels.shape
    assert width == WIDTH_PX
    assert 900 <= height <= MAX_HEIGHT_PX
    assert pixels.std() > 20  # not blank
    # Every bar colour in use covers real area (a bar is ~600 x 40 px at most, 1 000 px at least).
    for light in ("green", "yellow", "red"):
        assert _count_near(pixels, LIGHT_COLOURS[light]) > 5_000, light
    # Each label the user reads is fully covered by the font.
    for name in TEAMS_20:
        assert missing_glyphs(name, font) == set()


def test_every_text_drawn_in_the_ranking_is_in_the_font(font: str) -> None:
    canvas = charts._ranking_canvas(_rows(TEAMS_20), title="比学赶超排名", schedule_pct=90.7)
    texts = _texts(canvas)
    joined = "\n".join(texts)
    assert "1. 先进制造小分队" in texts
    assert "序时进度 90.7%" in texts
    assert "↑2" in joined and "↓1" in joined
    for text in texts:
        assert missing_glyphs(text, font) == set(), text


def test_rank_arrows_fall_back_to_signs_when_the_font_lacks_them(monkeypatch: pytest.MonkeyPatch) -> None:
    real = chart_fonts._codepoints
    monkeypatch.setattr(chart_fonts, "_codepoints", lambda path: real(path) - {ord("↑"), ord("↓")})
    texts = "\n".join(_texts(charts._ranking_canvas(_rows(TEAMS_20[:4]), title="排名", schedule_pct=None)))
    assert "↑" not in texts and "↓" not in texts
    assert "+2" in texts and "-1" in texts


def test_a_character_the_font_lacks_is_refused_not_drawn_as_a_box() -> None:
    rows = [*_rows(TEAMS_20[:3]), RankBar("𠀀字小分队", 10.0, "red", None)]
    with pytest.raises(MissingGlyphError) as caught:
        ranking_chart(rows, title="排名", schedule_pct=50.0)
    assert caught.value.missing == {"𠀀"}
    with pytest.raises(MissingGlyphError):
        funnel_chart(STAGES, title="全区四库 😀", schedule_pct=None)
    # Lenient mode still posts a chart, with "?" in place of the missing character.
    lenient = charts._ranking_canvas(rows, title="排名", schedule_pct=50.0, strict=False)
    assert "4. ?字小分队" in _texts(lenient)
    assert ranking_chart(rows, title="排名", schedule_pct=50.0, strict=False).startswith(PNG_SIGNATURE)


def test_without_a_cjk_font_every_chart_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_fonts, "find_cjk_font", lambda: None)
    with pytest.raises(MissingGlyphError, match="fonts-wqy-microhei"):
        ranking_chart([RankBar("Team A", 50.0, "green", 1)], title="Ranking", schedule_pct=None)
    # Lenient mode draws with the bundled DejaVu Sans and "?" for what it lacks: no empty boxes.
    canvas = charts._ranking_canvas([RankBar("Team A", 50.0, "green", 1)], title="Ranking",
                                    schedule_pct=None, strict=False)
    assert canvas.g.font_path == chart_fonts._fallback_font()
    assert "??????" in _texts(canvas)  # 达到序时进度
    assert _count_near(_image(canvas.png()), LIGHT_COLOURS["green"]) > 5_000


def test_empty_input_gives_a_no_data_image() -> None:
    for png in (
        ranking_chart([], title="比学赶超排名", schedule_pct=90.0),
        funnel_chart([], title="全区四库", schedule_pct=None),
    ):
        pixels = _image(png)
        assert pixels.shape[1] == WIDTH_PX
        assert pixels.std() > 5  # the title and 暂无数据 are drawn
        assert _count_near(pixels, LIGHT_COLOURS["green"]) == 0
    assert "暂无数据" in _texts(charts._ranking_canvas([], title="排名", schedule_pct=None))


def test_an_empty_district_draws_no_blank_funnel() -> None:
    empty = [FunnelStage(label, 0, None, 0) for label in ("谋划", "招引", "签约", "落地")]
    assert "暂无数据" in _texts(charts._funnel_canvas(empty, title="全区四库", schedule_pct=None))


def test_a_value_label_never_sits_on_the_schedule_line() -> None:
    rows = [RankBar("甲队", 88.0, "yellow", None), RankBar("乙队", 30.0, "red", 1)]
    canvas = charts._ranking_canvas(rows, title="排名", schedule_pct=90.7)
    labels = {t.get_text(): t.get_position()[0] for ax in canvas.fig.axes for t in ax.texts}
    assert labels["88.0%"] > 90.7  # just short of the line: moved right of it
    assert labels["30.0%  ↑1"] < 90.7  # far from it: where it was


def test_sixty_teams_fit_and_more_are_cut_to_the_top_thirty() -> None:
    names = [f"第{i + 1}小分队" for i in range(60)]
    pixels = _image(ranking_chart(_rows(names), title="排名", schedule_pct=75.0))
    assert pixels.shape[0] <= MAX_HEIGHT_PX
    assert _count_near(pixels, LIGHT_COLOURS["red"]) > 5_000

    many = _rows([f"第{i + 1}小分队" for i in range(75)])
    texts = _texts(charts._ranking_canvas(many, title="排名", schedule_pct=75.0))
    assert "排名（前30名，共75队）" in texts
    assert "30. 第30小分队" in texts
    assert "31. 第31小分队" not in texts


def test_unknown_light_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="light"):
        ranking_chart([RankBar("一队", 1.0, "blue", None)], title="排名", schedule_pct=None)


def test_funnel_shows_actual_target_rate_and_amount_in_yi(font: str) -> None:
    canvas = charts._funnel_canvas(STAGES, title="全区四库完成情况", schedule_pct=90.7)
    texts = _texts(canvas)
    assert "180 / 200 (90.0%)" in texts
    assert "350.00亿元" in texts
    assert "12（未设目标）" in texts
    assert "序时进度应达 (90.7%)" in texts
    for text in texts:
        assert missing_glyphs(text, font) == set(), text
    pixels = _image(funnel_chart(STAGES, title="全区四库完成情况", schedule_pct=90.7))
    assert pixels.shape[1] == WIDTH_PX
    assert _count_near(pixels, charts._FUNNEL_COLOURS[0]) > 10_000  # the widest pool is drawn
    assert _count_near(pixels, charts._SCHEDULE_COLOUR, tolerance=20) > 200  # 序时进度 marks


def test_combined_chart_stacks_both_panels() -> None:
    ranking = _image(ranking_chart(_rows(TEAMS_20), title="排名", schedule_pct=60.0))
    funnel = _image(funnel_chart(STAGES, title="四库", schedule_pct=60.0))
    both = _image(combined_chart(_rows(TEAMS_20), STAGES, ranking_title="排名", funnel_title="四库",
                                 schedule_pct=60.0))
    assert ranking.shape[0] + funnel.shape[0] <= both.shape[0] <= MAX_HEIGHT_PX
    assert _count_near(both, LIGHT_COLOURS["green"]) > 5_000
    assert _count_near(both, charts._FUNNEL_COLOURS[0]) > 10_000


def test_charts_render_identically_from_several_threads() -> None:
    rows = _rows(TEAMS_20[:8])

    def render(_: int) -> bytes:
        return ranking_chart(rows, title="排名", schedule_pct=50.0)

    expected = render(0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render, range(8)))
    assert all(result == expected for result in results)


def test_english_reports_get_english_chart_words() -> None:
    funnel = _texts(charts._funnel_canvas(
        [FunnelStage("planned", 180, None, 3_500_000_000)], title="District pools", schedule_pct=50.0,
        lang="en",
    ))
    expected = {"Actual", "Target", "Due by schedule (50.0%)", "180 (no target)", "3.5 billion yuan"}
    assert expected <= set(funnel)
    ranking = _texts(charts._ranking_canvas(_rows([f"Team {i}" for i in range(61)]), title="Ranking",
                                            schedule_pct=50.0, lang="en"))
    assert {"On schedule", "Behind", "Schedule 50.0%", "Ranking (top 30 of 61)"} <= set(ranking)
    assert "No data" in _texts(charts._ranking_canvas([], title="Ranking", schedule_pct=None, lang="en"))
