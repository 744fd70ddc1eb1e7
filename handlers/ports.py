"""The ports the core talks through: handling an incoming message, posting to a bound chat, hearing that a
bound chat moved or went away, and drawing a report's chart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.chart_data import FunnelStage, RankBar
from handlers.commands import Lang
from handlers.messages import Incoming, Reply

# What an adapter calls for every message: the core parses, authorises, stores and answers.
MessageHandler = Callable[[Incoming], Awaitable[Reply]]


# Tells one platform identity something outside the conversation (a notice), returning whether it went
# out: the composition root routes it to that platform's Messenger (a private chat).
Notifier = Callable[[str, Reply], Awaitable[bool]]


class DeliveryError(Exception):
    """A send that failed for good (after the adapter's own retries); `permanent` means do not retry.

    `gone` says the chat itself is lost, not just this message: the bot was removed from the group or
    blocked, the chat no longer exists, a WeCom robot key was revoked. Its binding is paused
    (ChatEvents.chat_lost) until the bot is back.
    """

    def __init__(self, message: str, *, permanent: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent or gone
        self.gone = gone


class Messenger(Protocol):
    """Posts a reply into a chat on one platform. Scheduled jobs use it; each adapter implements it."""

    platform: str

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Deliver `reply` to `chat_id` (for a WeCom group robot, the chat id is the robot key), into the
        forum topic `thread_id` where the platform has topics (Telegram; elsewhere it is ignored).

        Raises DeliveryError when the platform refused it for good.
        """
        ...


class ChatEvents(Protocol):
    """What adapters and the scheduler report about bound chats (jobs.bindings keeps the bindings)."""

    async def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> bool:
        """The chat has a new id (a Telegram group upgraded to a supergroup); True when a binding moved."""
        ...

    async def chat_lost(self, platform: str, chat_id: str, reason: str) -> bool:
        """The bot can no longer post there; True when this paused a binding (the admins are told once)."""
        ...

    async def chat_back(self, platform: str, chat_id: str) -> bool:
        """The bot is back in the chat; True when this resumed a paused binding."""
        ...


class Charts(Protocol):
    """Draws report charts as PNG bytes (bot.chart_drawer, with matplotlib); None when a chart cannot be
    drawn (no CJK font, a failure): a chart is a bonus, the text reply never waits on it failing."""

    async def ranking_and_funnel(self, bars: Sequence[RankBar], stages: Sequence[FunnelStage], *,
                                 ranking_title: str, funnel_title: str, schedule_pct: float | None,
                                 lang: Lang) -> bytes | None:
        """The ranking above the district's funnel (the morning post and 排行)."""
        ...

    async def funnel(self, stages: Sequence[FunnelStage], *, title: str, schedule_pct: float | None,
                     lang: Lang) -> bytes | None:
        """One four-pool funnel (进度, the weekly summary)."""
        ...


@dataclass(frozen=True)
class DashLink:
    """A signed link to the 驾驶舱 and the moment it stops working."""

    url: str
    expires_at: datetime
    web_app_url: str = ""  # the Telegram Mini App's address ("" when it cannot be one: not https, no Telegram)


class DashLinks(Protocol):
    """Issues dashboard links (bot/dashboard/links.py holds the secret and the public address; the core never
    sees either)."""

    @property
    def missing(self) -> str:
        """"" when links can be issued, else the setting lacking: "secret" or "public_url"."""
        ...

    def issue(self, *, member_id: int, identity: str, now: datetime) -> DashLink:
        """A link for the member asking as `identity`, valid from `now` for the configured time."""
        ...
