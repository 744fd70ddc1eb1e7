"""The district's assessment scheme (考核方案) and activity-index weights, from a TOML file.

The default is handlers/assessment_default.toml (documented line by line); ZSBOT_ASSESSMENT_FILE names a
district's own. `load_scheme` checks every key and raises SchemeError (a ValueError, so the CLI prints it
as one line) naming the file and the key at fault.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).with_name("assessment_default.toml")
YI = 100_000_000
# The size bands, lowest first: (key, lowest amount in yuan). A project's band is the last one it reaches.
BANDS: tuple[tuple[str, int], ...] = (("below_yi", 0), ("yi", YI), ("ten_yi", 10 * YI), ("fifty_yi", 50 * YI))
ACTIVITY_ITEMS: tuple[str, ...] = ("visit", "reception", "promo", "lead", "publicity")
# The activity index's sub-indices and the activity counter kind each one counts.
INDEX_KINDS: dict[str, str] = {
    "signings": "sign", "starts": "land", "visits": "visit", "receptions": "reception",
    "promotions": "promo", "publicity": "publicity",
}
_SECTIONS: dict[str, tuple[str, ...]] = {
    "signed": tuple(key for key, _ in BANDS),
    "landed": tuple(key for key, _ in BANDS),
    "funds": ("per_yi",),
    "activity": ACTIVITY_ITEMS,
    "bonus": ("points", "companies"),
    "deductions": ("no_report_week",),
    "activity_index": tuple(INDEX_KINDS),
}


class SchemeError(ValueError):
    """An assessment file that cannot be used, with the reason in one line."""


@dataclass(frozen=True)
class Scheme:
    """Points per item, bonus list, deductions and the activity index's weights."""

    signed: Mapping[str, float]  # band key → points per project
    landed: Mapping[str, float]
    funds_per_yi: float
    activity: Mapping[str, float]  # activity kind → points each
    bonus_points: float
    bonus_companies: tuple[str, ...]
    no_report_week: float
    index_weights: Mapping[str, float]  # sub-index → weight
    source: str = "default"  # the file it came from, for messages

    def band_points(self, stage: str) -> tuple[float, ...]:
        """Points per project of each band (BANDS order) for 'signed' or 'landed'."""
        table = self.signed if stage == "signed" else self.landed
        return tuple(table[key] for key, _ in BANDS)


def band_of(amount_yuan: int | None) -> int:
    """The index in BANDS of a project with this amount (no amount: the lowest band)."""
    index = 0
    for position, (_, lowest) in enumerate(BANDS):
        if (amount_yuan or 0) >= lowest:
            index = position
    return index


def _number(data: Mapping[str, Any], section: str, key: str, where: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemeError(f"{where}: [{section}] {key} 应为数字 / must be a number, not {value!r}")
    if value < 0:
        raise SchemeError(f"{where}: [{section}] {key} 不能为负数 / must not be negative ({value})")
    return float(value)


def scheme_from_dict(data: Mapping[str, Any], where: str = "default") -> Scheme:
    """A Scheme from parsed TOML, every key checked (SchemeError names the first one at fault)."""
    for section, keys in _SECTIONS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            raise SchemeError(f"{where}: 缺少 [{section}] 段 / missing the [{section}] table")
        for key in keys:
            if key not in table:
                raise SchemeError(f"{where}: [{section}] 缺少 {key} / missing {key}")
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise SchemeError(f"{where}: [{section}] 不认识的项 / unknown key {unknown[0]!r}")
    unknown_sections = sorted(set(data) - set(_SECTIONS))
    if unknown_sections:
        raise SchemeError(f"{where}: 不认识的段 / unknown table [{unknown_sections[0]}]")

    def numbers(section: str) -> dict[str, float]:
        return {key: _number(data[section], section, key, where) for key in _SECTIONS[section]
                if key != "companies"}

    companies = data["bonus"]["companies"]
    if not isinstance(companies, list) or not all(isinstance(c, str) and c.strip() for c in companies):
        raise SchemeError(f"{where}: [bonus] companies 应为公司名列表 / must be a list of company names")
    weights = numbers("activity_index")
    if not any(weights.values()):
        raise SchemeError(f"{where}: [activity_index] 至少一个权重大于0 / at least one weight must be above 0")
    return Scheme(
        signed=numbers("signed"), landed=numbers("landed"), funds_per_yi=numbers("funds")["per_yi"],
        activity=numbers("activity"), bonus_points=numbers("bonus")["points"],
        bonus_companies=tuple(dict.fromkeys(c.strip() for c in companies)),
        no_report_week=numbers("deductions")["no_report_week"], index_weights=weights, source=where,
    )


def load_scheme(path: Path | None = None) -> Scheme:
    """The scheme in `path` (None: the default file); SchemeError when it is missing or wrong."""
    if path is None:
        return default_scheme()
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SchemeError(f"{where}: 无法读取考核方案 / cannot read the assessment file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise SchemeError(f"{where}: 不是 UTF-8 文本 / not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SchemeError(f"{where}: TOML 格式错误 / not valid TOML ({error})") from None
    return scheme_from_dict(data, where)


@functools.cache
def default_scheme() -> Scheme:
    """The shipped scheme (read once)."""
    return scheme_from_dict(tomllib.loads(DEFAULT_FILE.read_text(encoding="utf-8")), "default")
