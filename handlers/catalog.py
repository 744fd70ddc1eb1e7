"""The configurable catalogue of industries (with their wheel), zones and axes (DESIGN §4).

Loaded from a TOML file (the packaged `handlers/industries.toml` by default) with tomllib.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_FILE = "industries.toml"
# Suffixes people add to an industry name (汽车产业, 医药行业); stripped when the full word is unknown.
_INDUSTRY_SUFFIXES = ("产业", "行业", "业")


def _key(word: str) -> str:
    return word.strip().lower()


@dataclass(frozen=True)
class Catalog:
    """Industries (canonical name → wheel), their synonyms, sub-industry parents, zones and axes."""

    industries: dict[str, str]
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased synonym → canonical industry
    parents: dict[str, str] = field(default_factory=dict)  # sub-industry → parent industry
    zones: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    zone_synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased synonym → zone or axis

    def industry_of(self, word: str) -> str | None:
        """The canonical industry a word names (name, synonym, or either plus 产业/行业), or None."""
        key = _key(word)
        if not key:
            return None
        for name in self.industries:
            if _key(name) == key:
                return name
        if key in self.synonyms:
            return self.synonyms[key]
        for suffix in _INDUSTRY_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                found = self.industry_of(key[: -len(suffix)])
                if found is not None:
                    return found
        return None

    def wheel_of(self, industry: str) -> str:
        """The wheel (服务业/工业) of an industry or synonym; empty string when the industry is unknown."""
        canonical = self.industry_of(industry)
        return self.industries[canonical] if canonical is not None else ""

    def zone_of(self, word: str) -> str | None:
        """The zone or axis a word names (exact or synonym), or None."""
        key = _key(word)
        if not key:
            return None
        for name in (*self.zones, *self.axes):
            if _key(name) == key:
                return name
        return self.zone_synonyms.get(key)

    @property
    def wheels(self) -> list[str]:
        """The distinct wheels, in file order."""
        return list(dict.fromkeys(self.industries.values()))


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings")
    return [v.strip() for v in value]


def _synonym_table(table: Any, targets: list[str], what: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ValueError(f"{what} must be a table of synonym = name")
    out: dict[str, str] = {}
    for word, target in table.items():
        if target not in targets:
            raise ValueError(f"{what}: {word!r} points to unknown {target!r}")
        out[_key(word)] = target
    return out


def catalog_from_dict(data: dict[str, Any]) -> Catalog:
    """Build and validate a Catalog from parsed TOML data (raises ValueError on a bad file)."""
    industries: dict[str, str] = {}
    synonyms: dict[str, str] = {}
    parents: dict[str, str] = {}
    entries = data.get("industry", [])
    if not isinstance(entries, list) or not entries:
        raise ValueError("the catalogue needs at least one [[industry]]")
    for entry in entries:
        name, wheel = entry.get("name"), entry.get("wheel")
        if not isinstance(name, str) or not name.strip() or not isinstance(wheel, str) or not wheel.strip():
            raise ValueError(f"every [[industry]] needs a name and a wheel: {entry!r}")
        name = name.strip()
        if name in industries:
            raise ValueError(f"industry {name!r} is listed twice")
        industries[name] = wheel.strip()
        if "parent" in entry:
            parents[name] = str(entry["parent"]).strip()
        for synonym in _strings(entry.get("synonyms", []), f"synonyms of {name}"):
            key = _key(synonym)
            if key in synonyms and synonyms[key] != name:
                raise ValueError(f"synonym {synonym!r} belongs to both {synonyms[key]!r} and {name!r}")
            synonyms[key] = name
    for child, parent in parents.items():
        if parent not in industries:
            raise ValueError(f"industry {child!r} has unknown parent {parent!r}")
    clash = {_key(n) for n in industries} & set(synonyms)
    for key in clash:
        if synonyms[key] not in industries or _key(synonyms[key]) != key:
            raise ValueError(f"{key!r} is both an industry and a synonym of {synonyms[key]!r}")
    zones_table = data.get("zones", {})
    axes_table = data.get("axes", {})
    zones = _strings(zones_table.get("names", []), "zones.names")
    axes = _strings(axes_table.get("names", []), "axes.names")
    zone_synonyms = _synonym_table(zones_table.get("synonyms", {}), zones, "zones.synonyms")
    zone_synonyms |= _synonym_table(axes_table.get("synonyms", {}), axes, "axes.synonyms")
    return Catalog(
        industries=industries, synonyms=synonyms, parents=parents, zones=zones, axes=axes,
        zone_synonyms=zone_synonyms,
    )


def load_catalog(path: Path | None = None) -> Catalog:
    """Read the catalogue from a TOML file; None reads the packaged default (handlers/industries.toml)."""
    if path is None:
        text = resources.files("handlers").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return catalog_from_dict(tomllib.loads(text))
