"""The project name index (project_key, project_gram), kept in step with the projects' names and aliases.

A message naming a project ("签约 华润万象城") looks it up twice: exactly, by its name or an alias, and
by substring, for the "did you mean?" candidates ("仲景" → "仲景医药健康产业园"). On the project table
both were scans (`aliases LIKE '%|key|%'`, `name_key LIKE '%key%'`) of every project, per message
(bench/README.md, Name look-ups at scale). The index answers both from B-trees, on SQLite and PostgreSQL alike:

- project_key(key, project_id): every searchable key of a project, its name_key and each alias.
- project_gram(gram, project_id): every two-character piece (bigram) of those keys. A key of two or
  more characters can only be a substring of a project's key if all its bigrams are among the project's,
  so the candidates are the projects holding all of them; a LIKE on the few rows left confirms.

Written by hand: PostgreSQL's pg_trgm needs three characters (most Chinese short names have two to four)
and an extension; SQLite's FTS5 trigram has the same limit, and neither exists on the other backend.
Kept like the year counters (storage.tallies): an after_flush hook on the session class rewrites the
rows of every project whose name_key or aliases changed, in the same transaction; bulk loads call
`rebuild`, and start-up rebuilds when the stored index version is not the current one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, delete, event, select, text, tuple_
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col

from storage.counter_writes import LedgerSession
from storage.models import LedgerMeta, Project, ProjectGram, ProjectKey
from storage.tallies import values_before_flush

VERSION_KEY = "name_index_version"
VERSION = "1"  # bump when the keys or grams change meaning: start-up then rebuilds

_KEY_TABLE: Table = SQLModel.metadata.tables[ProjectKey.__tablename__]
_GRAM_TABLE: Table = SQLModel.metadata.tables[ProjectGram.__tablename__]
_META_TABLE: Table = SQLModel.metadata.tables[LedgerMeta.__tablename__]


def project_keys(name_key: str, aliases: str) -> set[str]:
    """Every searchable key of a project: its name key and each alias ("|"-separated keys)."""
    keys = {alias for alias in aliases.split("|") if alias}
    if name_key:
        keys.add(name_key)
    return keys


def bigrams(key: str) -> set[str]:
    """The two-character pieces of a key (none for a one-character key)."""
    return {key[i:i + 2] for i in range(len(key) - 1)}


def _grams(keys: Iterable[str]) -> set[str]:
    grams: set[str] = set()
    for key in keys:
        grams |= bigrams(key)
    return grams


def _write(connection: Connection, changes: Sequence[tuple[int, set[str], set[str]]]) -> None:
    """Replace the rows of projects: (project id, old keys, new keys); only the differences are written."""
    gone_keys, new_keys, gone_grams, new_grams = [], [], [], []
    for project_id, old, new in changes:
        gone_keys += [(key, project_id) for key in old - new]
        new_keys += [{"key": key, "project_id": project_id} for key in new - old]
        old_grams, grams = _grams(old), _grams(new)
        gone_grams += [(gram, project_id) for gram in old_grams - grams]
        new_grams += [{"gram": gram, "project_id": project_id} for gram in grams - old_grams]
    if gone_keys:
        connection.execute(delete(_KEY_TABLE).where(
            tuple_(_KEY_TABLE.c.key, _KEY_TABLE.c.project_id).in_(gone_keys)))
    if gone_grams:
        connection.execute(delete(_GRAM_TABLE).where(
            tuple_(_GRAM_TABLE.c.gram, _GRAM_TABLE.c.project_id).in_(gone_grams)))
    if new_keys:
        connection.execute(_KEY_TABLE.insert(), new_keys)
    if new_grams:
        connection.execute(_GRAM_TABLE.insert(), new_grams)


def _old_keys(session: Session, project: Project) -> set[str] | None:
    """The project's keys before this flush, or None when neither its name key nor its aliases changed."""
    before = values_before_flush(project, ("name_key", "aliases"))
    if before is None:
        return None
    old, unknown = before
    if unknown:  # set while unloaded: after this flush the database holds the new value, so read both keys
        # from the index itself, which still describes the project before the flush.
        return _indexed_keys(session, project.id or 0)
    return project_keys(old["name_key"] or "", old["aliases"] or "")


@event.listens_for(LedgerSession, "after_flush")
def _after_flush(session: Session, _flush_context: Any) -> None:
    changes: list[tuple[int, set[str], set[str]]] = []
    for obj in session.new:
        if isinstance(obj, Project) and obj.id is not None:
            changes.append((obj.id, set(), project_keys(obj.name_key, obj.aliases)))
    for obj in session.dirty:
        if isinstance(obj, Project) and obj.id is not None:
            old = _old_keys(session, obj)
            if old is not None:
                changes.append((obj.id, old, project_keys(obj.name_key, obj.aliases)))
    if changes:
        _write(session.connection(), changes)


@event.listens_for(LedgerSession, "before_flush")
def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    # A deleted project's rows go before the project itself (they reference it).
    changes = [
        (obj.id, _indexed_keys(session, obj.id), set[str]())
        for obj in session.deleted
        if isinstance(obj, Project) and obj.id is not None
    ]
    if changes:
        _write(session.connection(), changes)


def _indexed_keys(session: Session, project_id: int) -> set[str]:
    """The keys the index holds for a project (its state before this flush)."""
    rows = session.connection().execute(select(_KEY_TABLE.c.key).where(_KEY_TABLE.c.project_id == project_id))
    return set(rows.scalars())


# Every bigram of every key, made by the database from project_key (both backends count characters in
# substr/length, as Python slices do): 30 times faster than sending millions of rows from Python.
_GRAMS_FROM_KEYS = text("""
    WITH RECURSIVE position(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM position WHERE i < :longest)
    INSERT INTO project_gram (gram, project_id)
    SELECT DISTINCT substr(k."key", position.i, 2), k.project_id
    FROM project_key AS k JOIN position ON position.i < length(k."key")
""")


def rebuild(connection: Connection) -> None:
    """Recompute the whole index from the projects and record its version (sync: run it via run_sync)."""
    connection.execute(delete(_GRAM_TABLE))
    connection.execute(delete(_KEY_TABLE))
    result = connection.execute(
        select(col(Project.id), col(Project.name_key), col(Project.aliases)).execution_options(yield_per=5000)
    )
    batch: list[dict[str, Any]] = []
    longest = 1
    for project_id, name_key, aliases in result:
        for key in project_keys(name_key or "", aliases or ""):
            batch.append({"key": key, "project_id": project_id})
            longest = max(longest, len(key))
        if len(batch) >= 5000:
            connection.execute(_KEY_TABLE.insert(), batch)
            batch = []
    if batch:
        connection.execute(_KEY_TABLE.insert(), batch)
    connection.execute(_GRAMS_FROM_KEYS, {"longest": longest})
    if connection.dialect.name == "postgresql":
        # Millions of new rows and no statistics until autovacuum comes by: the planner would guess, and
        # guessed badly (a look-up by name took seconds under load right after a rebuild).
        connection.execute(text("ANALYZE project_key, project_gram"))
    connection.execute(delete(_META_TABLE).where(_META_TABLE.c.key == VERSION_KEY))
    connection.execute(_META_TABLE.insert().values(key=VERSION_KEY, value=VERSION))


def ensure_current(connection: Connection) -> bool:
    """Rebuild the index unless it was built by this version (sync); True if rebuilt."""
    stored = connection.execute(
        select(_META_TABLE.c.value).where(_META_TABLE.c.key == VERSION_KEY)).scalar_one_or_none()
    if stored == VERSION:
        return False
    rebuild(connection)
    return True
