"""Telegram albums: several photos sent at once arrive as separate messages sharing a `media_group_id`, and
only one of them (usually the first) carries the caption. Gathered here into one message with all the files,
so `签约 #12` with three contract pages keeps three pieces of evidence, not one (the caption-less rest would
otherwise be dropped, or held for a later update they do not belong to).

Telegram sends an album's parts within a moment of each other but gives no count, so the album is complete
when no part has come for `wait` seconds (python-telegram-bot has no album support of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import Message

log = logging.getLogger(__name__)

Flush = Callable[[list[Message]], Awaitable[None]]


class AlbumGatherer:
    """Collects an album's messages per chat and hands them over together, in message order."""

    def __init__(self, flush: Flush, *, wait: float) -> None:
        self._flush = flush
        self._wait = wait
        self._parts: dict[tuple[int, str], list[Message]] = {}
        self._timers: dict[tuple[int, str], asyncio.Task[None]] = {}  # still waiting for more parts
        self._handing: set[asyncio.Task[None]] = set()  # waited enough: being handed over

    def add(self, message: Message) -> None:
        """Take one part of an album; the album is handed over once no part has come for `wait` seconds."""
        key = (message.chat.id, str(message.media_group_id))
        parts = self._parts.setdefault(key, [])
        if all(part.message_id != message.message_id for part in parts):  # a redelivered part counts once
            parts.append(message)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._later(key))

    async def _later(self, key: tuple[int, str]) -> None:
        await asyncio.sleep(self._wait)
        task = self._timers.pop(key)  # from here on it is no longer cancelled by a late part or by close()
        self._handing.add(task)
        try:
            await self._hand_over(key)
        finally:
            self._handing.discard(task)

    async def _hand_over(self, key: tuple[int, str]) -> None:
        parts = sorted(self._parts.pop(key, []), key=lambda part: part.message_id)
        if not parts:
            return
        try:
            await self._flush(parts)
        except Exception:  # one album failing never stops the next
            log.exception("telegram: album %s in chat %s failed", key[1], key[0])

    async def idle(self) -> None:
        """Wait until every album received so far has been handed over and answered."""
        while self._timers or self._handing:
            await asyncio.gather(*self._timers.values(), *self._handing, return_exceptions=True)

    async def close(self) -> None:
        """Hand over every album still gathering and wait for those being handed over (at shutdown:
        nothing received is dropped)."""
        for key, timer in list(self._timers.items()):
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            self._timers.pop(key, None)
        await asyncio.gather(*self._handing, return_exceptions=True)
        for key in list(self._parts):
            await self._hand_over(key)
