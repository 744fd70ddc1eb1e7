"""Reading a Telegram message as the core's `Incoming`: who sent it, where, whether it was addressed to the
bot (a /command, an @mention, a reply to the bot, a private chat) and what text the core should read."""

from __future__ import annotations

import re

from telegram import Message

from bot.telegram_processing import chat_kind
from bot.telegram_updates import files_of, is_forward, slash_text, start_text, topic_of
from handlers.messages import ChatKind, Incoming

PLATFORM = "telegram"


def addressed_text(message: Message, kind: ChatKind, has_files: bool, *, username: str,
                   bot_id: int) -> tuple[str, bool] | None:
    """The text to give the core and whether it was addressed to the bot, or None when it is not for us
    (bot.telegram_adapter's module doc)."""
    reply_to = message.reply_to_message
    replied_to_bot = (reply_to is not None and reply_to.from_user is not None
                      and reply_to.from_user.id == bot_id)
    language = message.from_user.language_code if message.from_user is not None else None
    return read_text(message.text or message.caption or "", kind, has_files, username=username,
                     replied_to_bot=replied_to_bot, language_code=language)


def read_text(text: str, kind: ChatKind, has_files: bool, *, username: str, replied_to_bot: bool,
              language_code: str | None = None) -> tuple[str, bool] | None:
    """`addressed_text` on the message's text alone."""
    text = text.strip()
    if not text:
        # A bare file (or album, gathered into one message) in a private chat goes to the core, which
        # holds it for the member's next update.
        return ("", True) if kind == "private" and has_files else None
    mention = re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE) if username else None
    command = re.match(r"/(\S+)\s*(.*)", text, re.DOTALL)
    if command is not None:
        name, _, target = command[1].partition("@")
        if target and target.lower() != username.lower():
            return None  # a command for another bot
        if name.lower() == "start":  # /start <invite code> from a deep link, in the user's language
            return start_text(command[2], language_code), True
        return slash_text(name, command[2], language_code), True
    addressed = kind == "private" or replied_to_bot
    if mention is not None and mention.search(text):
        text = re.sub(r"[ \t]+", " ", mention.sub(" ", text)).strip()
        addressed = True
    # Everything else in a group goes to the core too: it answers a report however it is worded
    # (网易签了) and stays silent on chatter, so the group never hears "I did not understand".
    return text, addressed


def incoming_from_message(message: Message, *, username: str, bot_id: int) -> Incoming | None:
    """The Incoming for a PTB Message, without its files' bytes (None when it is not for us)."""
    user, chat = message.from_user, message.chat
    kind = chat_kind(chat.type)
    if user is None or user.is_bot or kind is None:
        return None
    addressed = addressed_text(message, kind, bool(message.photo or message.document), username=username,
                               bot_id=bot_id)
    if addressed is None:
        return None
    text, to_bot = addressed
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        text=text,
        chat_id=str(chat.id),
        chat_kind=kind,
        display_name=user.full_name or "",  # None when a malformed update has no first_name
        message_id=f"{chat.id}:{message.message_id}",
        sent_at=message.date,
        addressed=to_bot,
        forwarded=is_forward(message),
        thread_id=topic_of(message),
        files=files_of(message),  # handles only: downloaded once the core stored them (bot.evidence)
    )
