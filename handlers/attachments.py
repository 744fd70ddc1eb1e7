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
from storage import evidence

ATTACH_WINDOW = timedelta(minutes=30)


STRANGER_FILE = ("你还不是小分队成员，附件不会保存。请先发送「加入 邀请码」。\n"
                 "You are not a squad member yet; the file was not kept. Send `join <code>` first.")


async def hold(session: AsyncSession, incoming: Incoming, now: datetime) -> Reply:
    """Keep a member's bare files for their next update in this chat; the answer says so."""
    for item in incoming.files:
        await evidence.hold_file(session, identity=incoming.identity, chat_id=incoming.chat_id, kind=item.kind,
                                 file_ref=item.file_ref, file_name=item.file_name, mime_type=item.mime_type,
                                 size_bytes=item.size, now=now)
    minutes = int(ATTACH_WINDOW.total_seconds() // 60)
    return Reply(text=f"📎 收到附件 {len(incoming.files)} 个。请在{minutes}分钟内发送它对应的更新，例如「签约 #12」，"
                      f"附件会作为佐证保存到那个项目。\n"
                      f"📎 File received. Send the update it belongs to within {minutes} minutes, e.g. `sign #12`, "
                      f"and it is kept as evidence on that project.")


async def take_held(session: AsyncSession, incoming: Incoming, now: datetime) -> tuple[IncomingFile, ...]:
    """The files this sender holds in this chat (sent within ATTACH_WINDOW), as the message's own files."""
    held = await evidence.held_files(session, identity=incoming.identity, chat_id=incoming.chat_id,
                                     since=now - ATTACH_WINDOW)
    return tuple(IncomingFile(kind="document" if item.kind == "document" else "photo", file_ref=item.file_ref,
                              file_name=item.file_name, mime_type=item.mime_type, size=item.size_bytes)
                 for item in held)


async def release_held(session: AsyncSession, incoming: Incoming) -> None:
    """The held files became evidence of this message: forget them."""
    await evidence.drop_held(session, identity=incoming.identity, chat_id=incoming.chat_id)


def kept_note(lang: Lang, count: int, too_large: int, limit_mb: float) -> str:
    """The card's line about the files kept as evidence."""
    zh = f"📎 已保存附件 {count} 个作为佐证"
    en = f"📎 {count} file(s) kept as evidence"
    if too_large:
        zh += f"（其中 {too_large} 个超过 {limit_mb:g}MB，只记录文件名，不保存副本）"
        en += f" ({too_large} over {limit_mb:g} MB: name recorded, no copy kept)"
    return en if lang == "en" else zh
