"""The inbox (a platform message handled once, with its answer for a redelivery) and the questions the bot asked (PendingChoice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    insert,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    InboundMessage,
    PendingChoice,
)

# A stored message's inbox row is a plain insert on the session's connection (see storage.event_queries).
_INBOX_TABLE: Table = InboundMessage.__table__  # type: ignore[attr-defined]  # SQLModel adds __table__ at runtime
_INSERT_INBOX = insert(_INBOX_TABLE)


async def add_inbox_row(
    session: AsyncSession, *, platform: str, message_id: str, identity: str, reply: str, now: datetime,
) -> None:
    """Record a handled platform message with its reply (IntegrityError if it was handled before)."""
    connection = await session.connection()
    await connection.execute(_INSERT_INBOX, {"platform": platform, "message_id": message_id, "identity": identity,
                                             "reply": reply, "created_at": now})


async def stored_reply(session: AsyncSession, *, platform: str, message_id: str) -> str | None:
    """The reply stored for a message already handled, if it was."""
    statement = select(InboundMessage.reply).where(
        InboundMessage.platform == platform, InboundMessage.message_id == message_id
    )
    return (await session.exec(statement)).first()


_PENDING_TABLE: Table = PendingChoice.__table__  # type: ignore[attr-defined]
_PENDING_CHOICE = select(PendingChoice).where(
    col(PendingChoice.identity) == bindparam("identity"), col(PendingChoice.chat_id) == bindparam("chat_id"))
_DROP_PENDING = delete(_PENDING_TABLE).where(
    _PENDING_TABLE.c.identity == bindparam("identity"), _PENDING_TABLE.c.chat_id == bindparam("chat_id"))
_INSERT_PENDING = insert(_PENDING_TABLE)


async def pending_choice(session: AsyncSession, *, identity: str, chat_id: str) -> PendingChoice | None:
    """The question this person was last asked in this chat, if still open."""
    return (await session.exec(_PENDING_CHOICE, params={"identity": identity, "chat_id": chat_id})).first()


async def drop_choice(session: AsyncSession, *, identity: str, chat_id: str) -> None:
    """Forget the question this person was asked in this chat (answered, cancelled or moved on from)."""
    connection = await session.connection()
    await connection.execute(_DROP_PENDING, {"identity": identity, "chat_id": chat_id})


async def ask_choice(
    session: AsyncSession, *, identity: str, chat_id: str, command_text: str, options: str, now: datetime,
) -> None:
    """Store the question just asked in this chat, replacing the one still open there (at most one each)."""
    connection = await session.connection()
    key = {"identity": identity, "chat_id": chat_id}
    await connection.execute(_DROP_PENDING, key)
    await connection.execute(_INSERT_PENDING, {**key, "command_text": command_text, "options": options,
                                               "created_at": now})
