"""Places named in free sentences: a gazetteer of Chinese provinces, prefecture-level units, county-level
cities, the districts of six big cities, regions people travel to and foreign places (handlers/places.tsv,
whose header says what is in it and which short names are withheld), and a reader that finds them in text.

Hand-written on purpose: jionlp has a gazetteer but is not used in this project (GPL segmenter dependency,
0.6 s import, a banner on import), and a dictionary scan over ~1,800 names is short and takes microseconds.
The work is in the context rules of `find_places`: a name counts only where it plausibly names a place, not
where it starts a company or project name (郑州宇通, 宁德时代储能项目) or a street (中山路).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

DATA_FILE = "places.tsv"

# Words right before a name that make it a place whatever follows (rule 1). Verbs that take a company as
# object (拜访, 考察, 对接) are deliberately not cues: 拜访郑州宇通 names a company, not a trip.
_CUES = (
    "去", "到", "在", "赴", "飞", "回", "从", "@", "＠",
    "前往", "来自", "来到", "抵达", "飞往", "去往", "途经", "位于", "地处", "落户", "出差", "离开",
)
# 去了深圳, 到过上海, 去了一趟合肥: a travel cue with its aspect particle.
_TRAVEL_CUES = ("去", "到", "赴", "飞", "回", "前往", "来到", "抵达", "飞往", "去往")
_CUES_DONE = tuple(cue + done for cue in _TRAVEL_CUES for done in ("了", "过", "一趟", "了趟", "了一趟", "过一趟"))
_EN_CUE = r"(?<![A-Za-z])(?:to|in|at|from|via|into|visit|visits|visiting|visited)$"
# Between two places: 合肥和芜湖, 合肥、芜湖, Shanghai and Shenzhen.
_CONJUNCTIONS = ("和", "与", "及", "以及", "、", "跟", "或", "或者", "还有", "&", "and")
# What may follow a name that stands for a place (rule 2): administrative words, 的, direction and travel
# words, particles. A CJK character not listed here (or a conjunction followed by another place) makes the
# name part of a longer word, usually a company or project name.
_FOLLOWERS = (
    "市", "省", "的", "等", "那边", "这边", "那里", "这里", "方面", "一带", "周边", "地区", "本地", "当地",
    "之行", "考察", "拜访", "招商", "出差", "参加", "开会", "参会", "调研", "走访", "对接", "洽谈", "签约", "客商",
    "东部", "西部", "南部", "北部", "中部",
    "科技园", "产业园", "工业园", "园区", "高新区", "开发区", "经开区", "自贸区", "保税区", "综保区", "新区", "片区",
    "航空港", "某", "一家", "几家", "多家", "这家", "那家", "企业", "客户",
    "回来", "出发", "返回", "见", "到", "去", "飞", "回", "来",
    "了", "吧", "呢", "吗", "啊",
)
# What makes a name a street, a school, a bank or a company even after a cue (在中山路, 去宁德时代); 路演 and
# 路上 are trips, not streets.
_HARD_BLOCK = ("路", "街", "大道", "大街", "巷", "胡同", "大学", "学院", "银行", "证券", "时代")
_NOT_HARD_BLOCK = ("路演", "路上", "路途", "路过", "街头")
_EN_HARD_BLOCK = r"\s+(?:road|rd|street|st|avenue|ave|university|bank|airlines)\b"
# A full name ending in one of these is a place wherever it stands (深圳市比亚迪, 南京市长江大桥).
_ADMIN_SUFFIXES = ("市", "省", "区", "县", "盟", "自治州", "地区")
# ...unless the suffix starts a word: 河北区域 is 河北 + 区域, not 天津's 河北区.
_SUFFIX_WORDS = frozenset({"区域", "市场"})
# A name followed by a few characters and one of these is a city with its district or county (杭州余杭区,
# 成都天府新区, 郑州航空港区), though the district itself is not in the gazetteer.
_SUBDIVISIONS = ("区", "县", "镇", "街道")
_NOT_SUBDIVISIONS = ("区域", "区别", "区分", "区间")
_SPACES = " \t\u3000"
# Fast exit: ASCII text without a capital letter names nothing (a character class of every CJK place name
# would be slow to compile).
_CAPITAL = re.compile("[A-Z]")


@dataclass(frozen=True)
class PlaceFound:
    """A place named in a text: its canonical short name, the words as written and where they are."""

    name: str  # the short canonical name (深圳)
    text: str  # as written (深圳市)
    start: int
    end: int
    province: str  # 广东 ('' for provinces, regions and foreign places)


class _Surface(NamedTuple):
    """One way of writing a name (深圳, 深圳市, Shenzhen) and what it stands for."""

    name: str
    province: str
    blocker: bool  # a word that contains a place name but is not one (宁德时代)
    strong: bool  # a full name with an administrative suffix (深圳市, 浦东新区)
    latin: bool


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    cjk: dict[str, _Surface]
    lengths: dict[str, tuple[int, ...]]  # first character → lengths of the surfaces starting with it, longest first
    latin: dict[str, _Surface]  # casefolded, spaces collapsed
    # English context, compiled with the data rather than at import
    latin_words: re.Pattern[str]
    en_cue: re.Pattern[str]
    en_hard_block: re.Pattern[str]
    en_next_word: re.Pattern[str]


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0002ffff"


def _is_latin_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _latin_key(text: str) -> str:
    return " ".join(text.split()).casefold()


@functools.cache
def _gazetteer() -> _Gazetteer:
    """Load and index handlers/places.tsv (once)."""
    raw = resources.files("handlers").joinpath(DATA_FILE).read_text(encoding="utf-8")
    cjk: dict[str, _Surface] = {}
    latin: dict[str, _Surface] = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        # An empty province is a trailing tab, which editors may strip: pad the row back to four fields.
        name, aliases, level, province = [*line.split("\t"), "", "", ""][:4]
        blocker = level == "blocker"
        for surface in [name, *filter(None, aliases.split(","))]:
            if surface.isascii():
                latin[_latin_key(surface)] = _Surface(name, province, blocker, False, True)
            else:
                strong = len(surface) >= 3 and surface.endswith(_ADMIN_SUFFIXES) and not blocker
                cjk[surface] = _Surface(name, province, blocker, strong, False)
    by_first: dict[str, set[int]] = {}
    for surface in cjk:
        by_first.setdefault(surface[0], set()).add(len(surface))
    lengths = {ch: tuple(sorted(ls, reverse=True)) for ch, ls in by_first.items()}
    # Latin names have at most three words (Yangtze River Delta); Xi'an keeps its apostrophe, Shanghai's does not.
    word = r"([A-Za-z]+(?:'(?!s\b)[A-Za-z]+)?)"
    return _Gazetteer(
        cjk,
        lengths,
        latin,
        latin_words=re.compile(rf"{word}(?:[ \t]+{word})?(?:[ \t]+{word})?"),
        en_cue=re.compile(_EN_CUE, re.IGNORECASE),
        en_hard_block=re.compile(_EN_HARD_BLOCK, re.IGNORECASE),
        en_next_word=re.compile(r"\s+([A-Za-z][A-Za-z'&.-]*)"),
    )


def place_of(word: str) -> str | None:
    """The place a whole word names (深圳, 深圳市, 广东省, 大湾区, 新加坡, Shenzhen), or None."""
    word = word.strip()
    if not word:
        return None
    g = _gazetteer()
    surface = g.latin.get(_latin_key(word)) if word.isascii() else g.cjk.get(word)
    if surface is None or surface.blocker:
        return None
    return surface.name


def _match(g: _Gazetteer, text: str, i: int) -> tuple[int, _Surface] | None:
    """The longest surface starting at i, as (end, surface), or None."""
    ch = text[i]
    if _is_latin_letter(ch):
        if i > 0 and _is_latin_letter(text[i - 1]):
            return None
        m = g.latin_words.match(text, i)
        if m is None:
            return None
        words = [w for w in m.groups() if w]
        for k in range(len(words), 0, -1):
            surface = g.latin.get(" ".join(words[:k]).casefold())
            if surface is not None:
                return m.end(k), surface
        return None
    for length in g.lengths.get(ch, ()):
        end = i + length
        if end > len(text):
            continue
        surface = g.cjk.get(text[i:end])
        if surface is None:
            continue
        if surface.strong and text[end - 1 : end + 1] in _SUFFIX_WORDS:
            continue  # back off to the shorter name: 深圳市场 is 深圳 + 市场
        return end, surface
    return None


def _related(name: str, province: str, other_province: str) -> bool:
    """Whether a place in other_province sits inside or beside the place (name, province): 广东深圳, 深圳南山."""
    return bool(other_province) and other_province in (name, province)


def _hard_blocked(g: _Gazetteer, text: str, end: int, surface: _Surface) -> bool:
    """Whether what follows makes the name a street, school, bank or company whatever precedes it."""
    if surface.latin and g.en_hard_block.match(text, end):
        return True
    return text.startswith(_HARD_BLOCK, end) and not text.startswith(_NOT_HARD_BLOCK, end)


def _cued(g: _Gazetteer, text: str, start: int, surface: _Surface, prev: PlaceFound | None) -> bool:
    """Rule 1: a cue word, or the previous place (adjacent, or across 和/与/及/、), right before the name."""
    j = start
    while j > 0 and text[j - 1] in _SPACES:
        j -= 1
    if text.endswith(_CUES, 0, j) or text.endswith(_CUES_DONE, 0, j):
        return True
    if j > 0 and _is_latin_letter(text[j - 1]) and g.en_cue.search(text, max(0, j - 8), j):
        return True
    if prev is None:
        return False
    if prev.end == j:
        return _related(prev.name, prev.province, surface.province)
    for conj in _CONJUNCTIONS:
        if text.endswith(conj, 0, j):
            k = j - len(conj)
            while k > 0 and text[k - 1] in _SPACES:
                k -= 1
            if prev.end == k:
                return True
    return False


def _subdivision_follows(text: str, end: int) -> bool:
    """Whether 1-3 CJK characters and 区/县/镇/街道 follow: 杭州余杭区, 成都天府新区, 深圳坂田街道."""
    for k in range(end + 1, min(end + 4, len(text))):
        if not _is_cjk(text[k - 1]):
            return False
        if text.startswith(_SUBDIVISIONS, k) and not text.startswith(_NOT_SUBDIVISIONS, k):
            return True
    return False


def _stands(g: _Gazetteer, text: str, end: int, surface: _Surface, depth: int = 0) -> bool:
    """Rule 2: the name stands for a place by what follows it (a separator, an allowed follower, another place)."""
    if surface.strong or end >= len(text):
        return True
    nxt = text[end]
    if surface.latin and nxt in _SPACES:
        m = g.en_next_word.match(text, end)
        if m is None or not m.group(1)[0].isupper():
            return True
        # Shanghai Electric, Suzhou Industrial Park: a capitalised word after the name makes it part of a name,
        # unless that word is itself a place (Shanghai Beijing).
        after = _match(g, text, m.start(1))
        return after is not None and not after[1].blocker
    if not _is_cjk(nxt):
        return True
    if text.startswith(_FOLLOWERS, end) or _subdivision_follows(text, end):
        return True
    for conj in _CONJUNCTIONS:
        if text.startswith(conj, end):
            k = end + len(conj)
            while k < len(text) and text[k] in _SPACES:
                k += 1
            after = _match(g, text, k) if k < len(text) else None
            if after is not None and not after[1].blocker:
                return True
    if depth < 3:
        after = _match(g, text, end)
        if after is not None and not after[1].blocker and _related(surface.name, surface.province, after[1].province):
            nxt_end, nxt_surface = after
            return not _hard_blocked(g, text, nxt_end, nxt_surface) and _stands(g, text, nxt_end, nxt_surface, depth + 1)
    return False


def find_places(text: str) -> list[PlaceFound]:
    """Places named in free text, left to right, non-overlapping, longest name first."""
    if not text or (text.isascii() and not _CAPITAL.search(text)):
        return []
    g = _gazetteer()
    found: list[PlaceFound] = []
    i, n = 0, len(text)
    shadow = 0  # end of the last name rejected by its context
    while i < n:
        hit = _match(g, text, i)
        if hit is None:
            i += 1
            continue
        end, surface = hit
        if surface.blocker:
            i = end  # skipped whole: nothing inside 宁德时代 or 长白山 is a place
            continue
        prev = found[-1] if found else None
        if i < shadow and not surface.strong:
            # A name starting inside a rejected one borrows its characters: 上海南站 is not 海南 + 站.
            accepted = False
        else:
            accepted = not _hard_blocked(g, text, end, surface) and (
                _cued(g, text, i, surface, prev) or _stands(g, text, end, surface)
            )
        if accepted:
            found.append(PlaceFound(surface.name, text[i:end], i, end, surface.province))
            i = end
        else:
            shadow = max(shadow, end)
            i += 1  # judge what starts inside it too (only a full name such as 南京市 can win there)
    return found
