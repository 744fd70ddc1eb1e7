"""Evidence files and files held for a member's next update: the SQL behind bot.evidence and
handlers.attachments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Event, Evidence, HeldFile, Member, Project

PENDING, STORED, TOO_LARGE, FAILED, EXPIRED, PRUNED = "pending", "stored", "too_large", "failed", "expired", "pruned"


# --- files held for the next update ---------------------------------------------------------------

async def mark_holding(session: AsyncSession, *, member_id: int, now: datetime | None) -> None:
    """Note on the member that they hold files since `now` (None: they hold none any more)."""
    statement = (update(Member).where(col(Member.id) == member_id).values(files_held_at=now)
                 .execution_options(synchronize_session=False))
    await session.exec(cast(Any, statement))


async def hold_file(
    session: AsyncSession, *, identity: str, chat_id: str, kind: str, file_ref: str, file_name: str,
    mime_type: str, size_bytes: int, now: datetime,
) -> None:
    """Keep a file a member sent without a command until their next update in the chat."""
    session.add(HeldFile(identity=identity, chat_id=chat_id, kind=kind, file_ref=file_ref[:500],
                         file_name=file_name[:300], mime_type=mime_type[:100], size_bytes=size_bytes,
                         created_at=now))


# Asked for every update a member stores (is there a photo waiting for it?), nearly always answered "no":
# built once, run on the session's connection without the ORM (a third of the cost of an ORM query).
_HELD_TABLE: Table = HeldFile.__table__  # type: ignore[attr-defined]
_HELD = (sa_select(_HELD_TABLE.c.kind, _HELD_TABLE.c.file_ref, _HELD_TABLE.c.file_name, _HELD_TABLE.c.mime_type,
                   _HELD_TABLE.c.size_bytes)
         .where(_HELD_TABLE.c.identity == bindparam("identity"), _HELD_TABLE.c.chat_id == bindparam("chat_id"),
                _HELD_TABLE.c.created_at >= bindparam("since"))
         .order_by(_HELD_TABLE.c.id))


async def held_files(session: AsyncSession, *, identity: str, chat_id: str, since: datetime) -> list[Any]:
    """The files this member sent in this chat since `since`, oldest first: rows of (kind, file_ref,
    file_name, mime_type, size_bytes)."""
    connection = await session.connection()
    result = await connection.execute(_HELD, {"identity": identity, "chat_id": chat_id, "since": since})
    return list(result.all())


async def drop_held(session: AsyncSession, *, identity: str, chat_id: str) -> None:
    """Forget every file this member holds in this chat (they became evidence, or went stale)."""
    statement = delete(HeldFile).where(col(HeldFile.identity) == identity, col(HeldFile.chat_id) == chat_id)
    await session.exec(cast(Any, statement))


async def drop_stale_held(session: AsyncSession, *, before: datetime) -> int:
    """Forget files held since before `before` (no update followed them); returns the count."""
    result = await session.exec(cast(Any, delete(HeldFile).where(col(HeldFile.created_at) < before)))
    return int(result.rowcount or 0)


# --- evidence copies ------------------------------------------------------------------------------

async def pending_for_message(session: AsyncSession, *, platform: str, message_id: str) -> Sequence[Evidence]:
    """The evidence stored by one platform message whose copy is still to be downloaded."""
    statement = (select(Evidence)
                 .join(Event, col(Event.id) == col(Evidence.event_id))
                 .where(col(Evidence.platform) == platform, col(Evidence.fetch_state) == PENDING,
                        col(Event.source_platform) == platform, col(Event.source_message_id) == message_id)
                 .order_by(col(Evidence.id)))
    return (await session.exec(statement)).all()


async def pending(session: AsyncSession, *, platform: str, limit: int = 200) -> Sequence[Evidence]:
    """Evidence of `platform` still to be downloaded (left by a restart or a failed download), oldest first."""
    statement = (select(Evidence).where(col(Evidence.platform) == platform, col(Evidence.fetch_state) == PENDING)
                 .order_by(col(Evidence.id)).limit(limit))
    return (await session.exec(statement)).all()


async def mark(session: AsyncSession, *, evidence_id: int, state: str, expect: str | None = PENDING,
               stored_path: str | None = None, size_bytes: int | None = None, mime_type: str | None = None) -> bool:
    """Move one evidence row to `state` (if it is still in `expect`); True when it moved."""
    values: dict[str, Any] = {"fetch_state": state}
    if stored_path is not None:
        values["stored_path"] = stored_path[:500]
    if size_bytes is not None:
        values["size_bytes"] = size_bytes
    if mime_type:
        values["mime_type"] = mime_type[:100]
    statement = update(Evidence).where(col(Evidence.id) == evidence_id)
    if expect is not None:
        statement = statement.where(col(Evidence.fetch_state) == expect)
    result = await session.exec(cast(Any, statement.values(**values).execution_options(synchronize_session=False)))
    return bool(result.rowcount == 1)


async def expire_pending(session: AsyncSession, *, platform: str, before: datetime) -> int:
    """Pending evidence of `platform` stored before `before`: its platform handle has expired."""
    statement = (update(Evidence)
                 .where(col(Evidence.platform) == platform, col(Evidence.fetch_state) == PENDING,
                        col(Evidence.created_at) < before)
                 .values(fetch_state=EXPIRED).execution_options(synchronize_session=False))
    result = await session.exec(cast(Any, statement))
    return int(result.rowcount or 0)


async def stored_paths(session: AsyncSession) -> set[str]:
    """The local copy of every stored evidence row."""
    statement = select(col(Evidence.stored_path)).where(col(Evidence.fetch_state) == STORED)
    return {path for path in (await session.exec(statement)).all() if path}


async def to_prune(session: AsyncSession, *, older_than: datetime | None) -> Sequence[Evidence]:
    """Stored evidence no longer wanted: its update was undone, its project's creation undone, or (with
    `older_than`) it was kept since before the retention limit."""
    undo = aliased(Event)
    undone = exists().where(col(undo.undoes_event_id) == col(Evidence.event_id))
    removed = exists().where(col(Project.id) == col(Evidence.project_id), col(Project.removed) == true())
    conditions: list[Any] = [undone, removed]
    if older_than is not None:
        conditions.append(col(Evidence.created_at) < older_than)
    statement = select(Evidence).where(col(Evidence.fetch_state) == STORED, or_(*conditions))
    return (await session.exec(statement)).all()
