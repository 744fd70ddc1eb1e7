"""Files sent without a command: held for the sender's next update in that chat, then its evidence.

A WeCom image carries no caption, and on Telegram people often send the photo first and the words after.
So a member's bare photo or file is not refused: it is held (`HeldFile`, platform handle only, nothing
downloaded) and the next update the member stores in the same chat within ATTACH_WINDOW takes it as
evidence, like a caption would have. A stranger's file is refused and not held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.commands import Lang
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.wording import bilingual, say
from storage import evidence
from storage.models import Member

ATTACH_WINDOW = timedelta(minutes=30)


def stranger_file() -> str:
    """The answer to a file from someone who has not joined a squad (no words: both languages)."""
    return bilingual("attachments.stranger_file")


async def hold(session: AsyncSession, incoming: Incoming, member: Member, now: datetime) -> Reply:
    """Keep a member's bare files for their next update in this chat; the answer says so."""
    await keep_for_next_update(session, incoming, member, now)
    minutes = int(ATTACH_WINDOW.total_seconds() // 60)
    return Reply(text=bilingual("attachments.held", count=len(incoming.files), minutes=minutes))


async def keep_for_next_update(session: AsyncSession, incoming: Incoming, member: Member, now: datetime) -> None:
    """Hold the message's files for the member's next update here (a bare photo, or a message asked about:
    the confirming answer carries no files of its own)."""
    if member.id is not None:
        await evidence.mark_holding(session, member_id=member.id, now=now)
    for item in incoming.files:
        await evidence.hold_file(session, identity=incoming.identity, chat_id=incoming.chat_id, kind=item.kind,
                                 file_ref=item.file_ref, file_name=item.file_name, mime_type=item.mime_type,
                                 size_bytes=item.size, now=now)


async def take_held(session: AsyncSession, incoming: Incoming, member: Member,
                    now: datetime) -> tuple[IncomingFile, ...]:
    """The files this sender holds in this chat (sent within ATTACH_WINDOW), as the message's own files; no
    query at all unless the member sent one lately."""
    if member.files_held_at is None or member.files_held_at < now - ATTACH_WINDOW:
        return ()
    held = await evidence.held_files(session, identity=incoming.identity, chat_id=incoming.chat_id,
                                     since=now - ATTACH_WINDOW)
    return tuple(IncomingFile(kind="document" if kind == "document" else "photo", file_ref=ref, file_name=name,
                              mime_type=mime, size=size)
                 for kind, ref, name, mime, size in held)


async def release_held(session: AsyncSession, incoming: Incoming, member: Member) -> None:
    """The held files became evidence of this message: forget them."""
    await evidence.drop_held(session, identity=incoming.identity, chat_id=incoming.chat_id)
    if member.id is not None:
        await evidence.mark_holding(session, member_id=member.id, now=None)


def kept_note(lang: Lang, count: int, too_large: int, limit_mb: float) -> str:
    """The card's line about the files kept as evidence."""
    note = say(lang, "evidence.kept", count=count)
    if too_large:
        note += say(lang, "evidence.too_large", too_large=too_large, limit_mb=limit_mb)
    return note
