"""One length limit per text field, the same on both backends.

SQLite stores a VARCHAR(200) of any length; PostgreSQL refuses it mid-transaction. So the limits are read
from the models (every VARCHAR's length) plus the few TEXT columns that need one, and checked before a
write (the core refuses with a clear answer) and before a restore (every offending row is reported).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)

MESSAGE_LIMIT = 2000  # a message is refused past this (handlers.parse.MAX_LENGTH): no text grows beyond it
ALIAS_LIMIT = 100  # one alias, like a name (its key is a project_key row, VARCHAR(200))
ALIASES_LIMIT = 2000  # all of a project's aliases, "|"-joined
# TEXT columns, unbounded in both databases, bounded here so a backup moves between them unchanged.
TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("event", "text"): MESSAGE_LIMIT,
    ("event", "data"): 20_000,
    ("problem", "text"): MESSAGE_LIMIT,
    ("problem", "resolution"): MESSAGE_LIMIT,
    ("project", "aliases"): ALIASES_LIMIT,
    ("pendingchoice", "command_text"): MESSAGE_LIMIT,
    ("inboundmessage", "reply"): 100_000,
}


def limits() -> dict[tuple[str, str], int]:
    """(table, column) → the most characters it may hold, for every bounded text column."""
    return dict(_limits())


@functools.cache
def _limits() -> Mapping[tuple[str, str], int]:
    # Read once: the tables are fixed once the models are imported, and every update checks its fields
    # against them (walking the sorted metadata on every message showed in bench.core_micro's profile).
    found: dict[tuple[str, str], int] = {}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            length = getattr(column.type, "length", None)
            if isinstance(length, int):
                found[(table.name, column.name)] = length
    return MappingProxyType(found | TEXT_LIMITS)


@functools.cache
def table_limits(table: str) -> Mapping[str, int]:
    """column → limit, for the bounded text columns of one table."""
    return MappingProxyType({column: limit for (name, column), limit in _limits().items() if name == table})


def clip_to(table: str, column: str, text: str) -> str:
    """`text` cut to the most characters the column may hold (for what is kept as context, never a name)."""
    return text[:table_limits(table)[column]]


@dataclass(frozen=True)
class Violation:
    """A value longer than its column allows."""

    table: str
    key: str  # the row's primary key, as written
    column: str
    length: int
    limit: int

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.column} has {self.length} characters, at most {self.limit}"


def violations(table: str, rows: Iterable[Mapping[str, Any]], key: Iterable[str] = ("id",)) -> list[Violation]:
    """Every value in `rows` (of `table`) longer than its limit."""
    bounded = table_limits(table)
    key_columns = tuple(key)
    found = []
    for row in rows:
        for column, limit in bounded.items():
            value = row.get(column)
            if isinstance(value, str) and len(value) > limit:
                where = ",".join(f"{k}={row.get(k)}" for k in key_columns)
                found.append(Violation(table, where, column, len(value), limit))
    return found
