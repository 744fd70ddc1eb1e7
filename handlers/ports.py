"""The ports the core talks through: handling an incoming message, and posting to a bound chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from handlers.messages import Incoming, Reply

# What an adapter calls for every message: the core parses, authorises, stores and answers.
MessageHandler = Callable[[Incoming], Awaitable[Reply]]


# Tells one platform identity something outside the conversation (a notice), returning whether it went
# out: the composition root routes it to that platform's Messenger (a private chat).
Notifier = Callable[[str, Reply], Awaitable[bool]]


class DeliveryError(Exception):
    """A send that failed for good (after the adapter's own retries); `permanent` means do not retry."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Messenger(Protocol):
    """Posts a reply into a chat on one platform. Scheduled jobs use it; each adapter implements it."""

    platform: str

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver `reply` to `chat_id` (for a WeCom group robot, the chat id is the robot key).

        Raises DeliveryError when the platform refused it for good.
        """
        ...
