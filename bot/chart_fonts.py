"""Finding a font that draws Chinese, and checking every string against its character map before a chart is
drawn, so a chart never shows empty boxes (a missing glyph raises, or becomes "?" when not strict)."""

from __future__ import annotations

import functools
import glob
import os
import unicodedata
from collections.abc import Iterable

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no types
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties

_PREFERRED_FAMILIES: tuple[str, ...] = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Droid Sans Fallback",
    "Noto Sans CJK JP",  # face 0 of the common Noto CJK collection; covers simplified Chinese too
)
_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
_FILE_PATTERNS: tuple[str, ...] = (
    "*wqy*",
    "*NotoSansCJK*",
    "*NotoSansSC*",
    "*SourceHanSans*",
    "*simhei*",
    "*msyh*",
    "*.ttc",
)
# A font is accepted only if it has every one of these (the words every chart uses).
_PROBE = "招商比学赶超序时进度谋划招引签约落地亿元暂无数据"


class MissingGlyphError(ValueError):
    """A chart would have drawn characters its font lacks (they would show as empty boxes)."""

    def __init__(self, missing: Iterable[str], font_path: str, texts: Iterable[str] = ()) -> None:
        self.missing = frozenset(missing)
        self.font_path = font_path
        self.texts = tuple(texts)
        shown = " ".join(f"{ch!r}(U+{ord(ch):04X})" for ch in sorted(self.missing))
        super().__init__(
            f"font {font_path} lacks {shown}"
            + (f" (in {', '.join(repr(t) for t in self.texts[:3])})" if self.texts else "")
            + "; install a CJK font such as fonts-wqy-microhei"
        )


@functools.lru_cache(maxsize=32)
def _codepoints(font_path: str) -> frozenset[int]:
    # Face 0 of a collection (.ttc) is the one matplotlib draws with for a plain path.
    with TTFont(font_path, fontNumber=0, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(cmap)


def missing_glyphs(text: str, font_path: str) -> set[str]:
    """The characters of `text` that the font file (face 0 of a .ttc) has no glyph for."""
    have = _codepoints(font_path)
    # Control characters (newline, tab) are layout, not glyphs.
    return {ch for ch in text if ord(ch) not in have and unicodedata.category(ch) != "Cc"}


def _covers_probe(font_path: str) -> bool:
    try:
        return not missing_glyphs(_PROBE, font_path)
    except Exception:  # a broken or unreadable font file must not stop the search for a good one
        return False


@functools.cache
def find_cjk_font() -> str | None:
    """The path of an installed font with Chinese glyphs (registered with matplotlib), or None."""
    by_family: dict[str, list[str]] = {}
    for entry in font_manager.fontManager.ttflist:
        if getattr(entry, "index", 0) == 0:
            by_family.setdefault(entry.name.lower(), []).append(entry.fname)
    for family in _PREFERRED_FAMILIES:
        for path in sorted(by_family.get(family.lower(), ())):
            if _covers_probe(path):
                return path
    known = {path for paths in by_family.values() for path in paths}
    for folder in _FONT_DIRS:
        root = os.path.expanduser(folder)
        if not os.path.isdir(root):
            continue
        for pattern in _FILE_PATTERNS:
            for path in sorted(glob.glob(os.path.join(root, "**", pattern), recursive=True)):
                if not path.lower().endswith((".ttf", ".ttc", ".otf")) or not _covers_probe(path):
                    continue
                if path not in known:
                    font_manager.fontManager.addfont(path)
                return path
    return None


def _fallback_font() -> str:
    # DejaVu Sans ships with matplotlib, so this always resolves; it has no Chinese, and the glyph
    # check then refuses Chinese text with a clear error instead of drawing boxes.
    return str(font_manager.findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=True))


def chart_font() -> str:
    """The font charts are drawn with: a CJK one when installed, else matplotlib's own."""
    return find_cjk_font() or _fallback_font()


class Glyphs:
    """Passes every drawn string through the glyph check; raises at the end (strict) or substitutes."""

    def __init__(self, font_path: str, *, strict: bool) -> None:
        self.font_path = font_path
        self.strict = strict
        self.missing: set[str] = set()
        self.bad_texts: list[str] = []

    def __call__(self, text: str) -> str:
        missing = missing_glyphs(text, self.font_path)
        if not missing:
            return text
        self.missing |= missing
        self.bad_texts.append(text)
        return "".join("?" if ch in missing else ch for ch in text)

    def has(self, chars: str) -> bool:
        return not missing_glyphs(chars, self.font_path)

    def check(self) -> None:
        if self.missing and self.strict:
            raise MissingGlyphError(self.missing, self.font_path, self.bad_texts)
