"""How the Telegram adapter takes updates in: its limits, one chat at a time in arrival order, the command
menu, and what a send error means (permanent, or the chat itself gone)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import (
    BotCommand,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    TelegramError,
)
from telegram.ext import (
    BaseUpdateProcessor,
)

from handlers.messages import ChatKind
from handlers.vocabulary import HELP_ORDER, describe, verb_word

log = logging.getLogger(__name__)


def command_menu() -> list[BotCommand]:
    """The setMyCommands menu: English verbs name the commands (Telegram allows only [a-z0-9_]),
    the descriptions are Chinese and start with the Chinese verb, so the menu also teaches it."""
    menu = []
    for verb in HELP_ORDER:
        word, description = verb_word(verb, "zh"), describe(verb, "zh")
        text = description if description.startswith(word) else f"{word}：{description}"
        menu.append(BotCommand(verb, text[:256]))
    return menu


@dataclass(frozen=True)
class TelegramLimits:
    """Flood limits and retry policy. Production uses the defaults; tests shrink them to stay fast."""

    # Messages, seconds: the whole bot. Telegram's 30 a second, in bursts of at most 5 rather than 30:
    # after a full burst of 30 there is no slack left, so ordinary network jitter (a chart upload taking
    # longer than the text after it) lands two sends in one slot and earns 429s at full speed; a burst
    # of 5 keeps the slack and still lets a late timer catch up.
    overall: tuple[float, float] = (5, 1 / 6)
    group: tuple[float, float] = (20, 60.0)  # messages, seconds: per group chat
    max_retries_429: int = 5  # AIORateLimiter retries after 429 (honouring retry_after)
    send_retries: int = 3  # our retries after a network error or 5xx
    backoff: float = 1.0  # seconds before the first retry, doubling
    poll_timeout: float = 10.0  # getUpdates long-poll seconds
    max_concurrent_updates: int = 256
    # Webhook mode: handle the update while Telegram waits and put a one-message text answer in the
    # webhook response (Bot API "Making requests when getting updates"), saving a request per answer.
    webhook_replies: bool = True
    album_wait: float = 1.0  # seconds without a further part before an album counts as complete


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates concurrently across chats but one at a time, in order, within a chat.

    PTB's built-in choices are all-sequential or all-concurrent; the first makes one slow reply hold
    up every chat, the second can run ``签约 X`` and the ``撤销`` sent right after it out of order.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's processing under its chat's lock."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self.chat_turn(chat.id):
            await coroutine

    @contextlib.asynccontextmanager
    async def chat_turn(self, chat_id: int) -> AsyncIterator[None]:
        """Hold a chat's lock: updates of one chat take turns, in arrival order (webhook updates too)."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id]
                del self._locks[chat_id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def chat_kind(chat_type: str) -> ChatKind | None:
    """Private chat, group (a supergroup too), or None for a channel: the bot does not serve channels."""
    if chat_type == "private":
        return "private"
    if chat_type in ("group", "supergroup"):
        return "group"
    return None  # channels are not conversations


def is_permanent(err: TelegramError) -> bool:
    """A refusal no retry changes (forbidden, bad request, bad token, a chat that moved)."""
    return isinstance(err, Forbidden | BadRequest | InvalidToken | ChatMigrated)


_CHAT_GONE = ("chat not found", "group chat was deactivated", "chat was deleted")


def is_gone(err: TelegramError) -> bool:
    """The chat itself is lost to the bot (kicked, blocked, deleted), not just this message refused."""
    if isinstance(err, Forbidden):
        return True
    return isinstance(err, BadRequest) and any(words in str(err).lower() for words in _CHAT_GONE)
