"""Telegram updates as they really come: updates the bot has no use for or that PTB cannot parse, service
messages (a group upgraded to a supergroup), the bot's own membership changes, forwards, forum topics,
deep links in the user's language, and the files a message carries.

Pure helpers for bot.telegram_adapter (which does the I/O), plus `TolerantBot`, the PTB bot whose polling
skips an update it cannot parse instead of asking for the same batch forever.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import ChatMember, ChatMemberUpdated, Message, Update
from telegram.error import TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from handlers.messages import IncomingFile
from handlers.vocabulary import VERB_NAMES, verb_word

log = logging.getLogger(__name__)

# The updates the adapter acts on; Telegram is asked for exactly these (allowed_updates).
ROUTED = ("message", "callback_query", "my_chat_member")
# A message carrying one of these is the bot's business: if it cannot be parsed, that is worth a 400.
_WORDS = ("text", "caption")


def kinds(data: Mapping[str, Any]) -> list[str]:
    """The update's kinds (its keys besides update_id), for a log line."""
    return sorted(key for key in data if key != "update_id")


def unused(data: Mapping[str, Any]) -> bool:
    """The update carries nothing the adapter acts on (a poll, a reaction, an edited message …)."""
    return not any(key in data for key in ROUTED)


def worth_refusing(data: Mapping[str, Any]) -> bool:
    """For an update PTB could not parse: whether it carried something the bot would have acted on (a
    message with words, a button press), so that a 400 is the honest answer. Anything else (a message with
    only a poll in a shape this PTB does not know, a membership change) is answered 200 and skipped:
    Telegram would otherwise retry it, and it would fail the same way every time."""
    message = data.get("message")
    if isinstance(message, Mapping) and any(isinstance(message.get(key), str) for key in _WORDS):
        return True
    return isinstance(data.get("callback_query"), Mapping)


class _SkipPtbParseLog(logging.Filter):
    """PTB logs a batch it cannot parse at CRITICAL with the whole batch and a traceback; TolerantBot logs
    one line per update instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Error while parsing updates")


class TolerantBot(ExtBot[Any]):
    """PTB's bot, except that one update it cannot parse no longer fails getUpdates for the whole batch.

    PTB parses a batch at once and raises on the first bad update; the updater then asks for the same batch
    again, forever, and polling is stuck. Here the batch (still unconfirmed) is fetched once more, raw, and
    parsed update by update; one that does not parse becomes an empty Update with its id, which the
    adapter ignores and the updater confirms.
    """

    _FILTER = _SkipPtbParseLog()

    async def initialize(self) -> None:
        """Also install the filter that keeps PTB's own log line about the batch out."""
        for name in ("telegram.Bot", "telegram.ext.ExtBot"):  # the loggers of PTB's Bot and of its ExtBot
            logging.getLogger(name).addFilter(self._FILTER)
        await super().initialize()

    async def get_updates(self, offset: int | None = None, limit: int | None = None,
                          timeout: Any = None,  # noqa: ASYNC109  (PTB's own signature: the long-poll seconds)
                          allowed_updates: Sequence[str] | None = None, **kwargs: Any) -> tuple[Update, ...]:
        """getUpdates, tolerating updates PTB cannot parse."""
        try:
            return await super().get_updates(offset=offset, limit=limit, timeout=timeout,
                                             allowed_updates=allowed_updates, **kwargs)
        except TelegramError:
            raise
        except Exception:  # a parse failure: KeyError, TypeError, ValueError … from some de_json
            with warnings.catch_warnings():  # PTB suggests get_updates, which is what cannot parse this batch
                warnings.simplefilter("ignore", PTBUserWarning)
                raw = await self.do_api_request("getUpdates", api_kwargs={
                    "offset": offset, "limit": limit, "timeout": 0, "allowed_updates": allowed_updates})
        updates: list[Update] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                updates.append(Update.de_json(item, self))
            except Exception:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                if not isinstance(update_id, int):
                    continue
                log.info("telegram: update %s (%s) cannot be parsed; skipped", update_id,
                         ", ".join(kinds(item)))
                updates.append(Update(update_id=update_id))
        return tuple(updates)


# --- what a message is ------------------------------------------------------------------------------

def is_forward(message: Message) -> bool:
    """Someone else's message passed on (forwarded, or a channel post copied into its discussion group)."""
    return message.forward_origin is not None or bool(message.is_automatic_forward)


def topic_of(message: Message | None) -> str:
    """The forum topic a message belongs to ("" outside forums: a reply thread in a plain supergroup has a
    message_thread_id too, and a send there with that id would fail)."""
    if message is None or not message.is_topic_message or message.message_thread_id is None:
        return ""
    return str(message.message_thread_id)


def slash_text(name: str, args: str, language_code: str | None) -> str:
    """A menu command (`/rank`) in the user's language: Telegram allows only Latin command names, but a squad
    member tapping 排行 in the Chinese menu expects a Chinese answer, so a non-English Telegram gets the
    Chinese verb (`排行`); an English one keeps `/rank`, answered in English."""
    verb = name.lower()
    if (language_code or "").lower().startswith("en") or verb not in VERB_NAMES:
        return f"/{name} {args}".strip()
    return f"{verb_word(verb, 'zh')} {args}".strip()


def start_text(payload: str, language_code: str | None) -> str:
    """A deep link's `/start <payload>` as the core's command, in the user's language: `start` is an English
    verb (Telegram allows only Latin command names), so anyone whose Telegram is not English gets the
    Chinese `加入` (with a code) or `帮助` (without)."""
    payload = payload.strip()
    if (language_code or "").lower().startswith("en"):
        return f"start {payload}".strip()
    return f"加入 {payload}" if payload else "帮助"


def files_of(message: Message) -> tuple[IncomingFile, ...]:
    """The message's photo (largest size) and document, as platform handles: nothing is downloaded here."""
    found: list[IncomingFile] = []
    if message.photo:
        photo = message.photo[-1]
        found.append(IncomingFile("photo", photo.file_id, f"{photo.file_unique_id}.jpg", "image/jpeg",
                                  photo.file_size or 0))
    if message.document:
        document = message.document
        found.append(IncomingFile("document", document.file_id, document.file_name or document.file_unique_id,
                                  document.mime_type or "", document.file_size or 0))
    return tuple(found)


def migration(message: Message) -> tuple[str, str] | None:
    """(old chat id, new chat id) when the message is the service message of a group's upgrade."""
    if message.migrate_to_chat_id:
        return str(message.chat.id), str(message.migrate_to_chat_id)
    if message.migrate_from_chat_id:
        return str(message.migrate_from_chat_id), str(message.chat.id)
    return None


_LOST = {ChatMember.LEFT: "机器人已被移出群（left）", ChatMember.BANNED: "机器人已被踢出群（kicked）"}


def membership_change(change: ChatMemberUpdated) -> tuple[str, str] | None:
    """("lost" | "back", reason) when the bot left or rejoined a group; None for other changes."""
    if change.chat.type not in ("group", "supergroup"):
        return None
    old, new = change.old_chat_member.status, change.new_chat_member.status
    member = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED)
    if new in _LOST and old not in _LOST:
        return "lost", _LOST[new]
    if new in member and old in _LOST:
        return "back", ""
    return None
