"""The Telegram adapter's sending half: a reply's parts into a chat (quoting, topics, buttons), retries,
the groups' flood budgets, the webhook-response answer, a chat that became a supergroup followed."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import (
    Bot,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.telegram_pacing import GroupBudgets, group_of
from bot.telegram_processing import TelegramLimits, is_gone, is_permanent
from bot.telegram_render import ANYONE, CallbackCodec, Part, keyboard, plan_parts
from handlers.messages import Reply
from handlers.ports import ChatEvents, DeliveryError

log = logging.getLogger(__name__)

T = TypeVar("T")


class BodyAnswer:
    """Where a webhook update's handling leaves the Bot API method to answer with, if it fits one."""

    def __init__(self) -> None:
        self.method: dict[str, Any] | None = None


class TelegramOutbound:
    """Sends for the adapter (and, through it, for the scheduled posts: the Messenger port)."""

    platform = "telegram"

    def __init__(self, bot: Callable[[], Bot], *, limits: TelegramLimits, codec: CallbackCodec,
                 group_budgets: GroupBudgets, events: ChatEvents | None) -> None:
        """`bot` gives the running PTB bot (there is none before the adapter starts)."""
        self._bot = bot
        self._limits = limits
        self._codec = codec
        self._group_budgets = group_budgets
        self._events = events

    async def show_outcome(self, chat_id: int, pressed: Message | None, reply: Reply, owner: str, *,
                            thread_id: str = "") -> None:
        """Edit the pressed message into the outcome; what does not fit an edit is sent after it."""
        parts = plan_parts(reply, keyboard(reply.buttons, owner, self._codec))
        bot = self._bot()
        if pressed is not None and parts and parts[0].kind == "text" and pressed.text is not None:
            first = parts.pop(0)
            try:
                await self.call(bot.edit_message_text, chat_id=chat_id, message_id=pressed.message_id,
                                 text=first.html or "", parse_mode=ParseMode.HTML, reply_markup=first.markup,
                                 link_preview_options=LinkPreviewOptions(is_disabled=True))
            except BadRequest as err:
                if "not modified" not in str(err).lower():
                    log.warning("telegram: edit failed (%s); sending the outcome instead", err)
                    parts.insert(0, first)
            except TelegramError as err:
                log.error("telegram: edit failed: %s", err)
                parts.insert(0, first)
        elif pressed is not None:
            # A photo or document message: just take its buttons away so they cannot be pressed twice.
            await self.call_logged(bot.edit_message_reply_markup, chat_id=chat_id,
                                    message_id=pressed.message_id, reply_markup=None)
        try:
            await self.send_parts(chat_id, parts, reply_to=None, thread_id=thread_id)
        except TelegramError as err:
            log.error("telegram: outcome for chat %s not delivered: %s", chat_id, err)

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Post `reply` into a chat, in its forum topic `thread_id` if any (Messenger port); raises
        DeliveryError after retries fail (`gone` when the bot lost the chat itself)."""
        parts = plan_parts(reply, keyboard(reply.buttons, ANYONE, self._codec))
        try:
            await self.send_following(chat_id, parts, reply_to=None, thread_id=thread_id)
        except TelegramError as err:
            raise DeliveryError(f"telegram chat {chat_id}: {err}", permanent=is_permanent(err),
                                gone=is_gone(err)) from err

    async def send_following(self, chat_id: int | str, parts: list[Part], *, reply_to: int | None,
                              thread_id: str) -> None:
        """`_send_parts`, following a group that became a supergroup: Telegram answers 400 with the new id,
        the binding moves there (ChatEvents) and the parts go to the new chat (no topic or quote: neither
        exists there yet)."""
        try:
            await self.send_parts(chat_id, parts, reply_to=reply_to, thread_id=thread_id)
        except ChatMigrated as moved:
            new_id = str(moved.new_chat_id)
            log.warning("telegram: chat %s became %s; following it", chat_id, new_id)
            if self._events is not None:
                await self._events.chat_moved(self.platform, str(chat_id), new_id)
            await self.send_parts(new_id, parts, reply_to=None, thread_id="")

    async def deliver_logged(
        self, chat_id: int, reply: Reply, owner: str, reply_to: int | None, body: BodyAnswer | None = None,
        *, thread_id: str = "",
    ) -> None:
        """Answer an update; a failed send is logged, never raised (the update is already stored).

        With `body` (a webhook update), a one-message text answer becomes the webhook response's method
        instead of a request. Longer answers still go out by requests: Telegram runs the response's method
        only after the response, so a second message sent meanwhile could arrive first.
        """
        if reply.silent:  # chatter in a group: the core has nothing to say
            return
        parts = plan_parts(reply, keyboard(reply.buttons, owner, self._codec, reply.link))
        if body is not None and len(parts) == 1 and parts[0].kind == "text" and await self.body_slot(chat_id):
            body.method = self.send_message_method(chat_id, parts[0], reply_to, thread_id)
            return
        try:
            await self.send_following(chat_id, parts, reply_to=reply_to, thread_id=thread_id)
        except TelegramError as err:
            log.error("telegram: reply to chat %s not delivered: %s", chat_id, err)

    @staticmethod
    def send_message_method(chat_id: int, part: Part, reply_to: int | None, thread_id: str = "") -> dict[str, Any]:
        """The sendMessage call `_send_parts` would make for a text part, as a webhook-response method."""
        method: dict[str, Any] = {
            "method": "sendMessage", "chat_id": chat_id, "text": part.html or "", "parse_mode": ParseMode.HTML,
            "link_preview_options": {"is_disabled": True},
        }
        if part.markup is not None:
            method["reply_markup"] = part.markup.to_dict()
        if reply_to is not None:
            method["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        if thread_id:
            method["message_thread_id"] = int(thread_id)
        return method

    async def body_slot(self, chat_id: int) -> bool:
        """Whether an answer may go in the webhook response, taking its slot in the flood limits.

        Answers to people in private chats always may: they are replies, not the broadcasts the overall
        30-a-second limit is about. A group's answer takes a slot of the group's 20-a-minute budget
        (bot.telegram_pacing), the one every request to the group also takes; with none free it goes out
        by a request, which waits for the budget.
        """
        group = group_of(chat_id)
        return group is None or await self._group_budgets.take_now(group)

    async def send_parts(self, chat_id: int | str, parts: list[Part], reply_to: int | None, *,
                          thread_id: str = "") -> None:
        bot = self._bot()
        for part in parts:
            common: dict[str, Any] = {"chat_id": chat_id, "reply_markup": part.markup}
            if thread_id:  # every part, not only the first: a reply in a forum stays in its topic
                common["message_thread_id"] = int(thread_id)
            if reply_to is not None:
                # Quote the sender's message in a busy group; still send if it was deleted meanwhile.
                common["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
                reply_to = None
            if part.kind == "text":
                await self.call(bot.send_message, text=part.html or "", parse_mode=ParseMode.HTML,
                                 link_preview_options=LinkPreviewOptions(is_disabled=True), **common)
            elif part.kind == "photo":
                await self.call(bot.send_photo, photo=InputFile(part.content, filename=part.filename),
                                 caption=part.html, parse_mode=ParseMode.HTML, **common)
            else:
                await self.call(bot.send_document, document=InputFile(part.content, filename=part.filename),
                                 caption=part.html, parse_mode=ParseMode.HTML, **common)

    async def call(self, fn: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
        """Call the Bot API, retrying network errors and 5xx with backoff (429s: AIORateLimiter's job).

        Refusals (403, 400, bad token) are final and raised at once. A RetryAfter that outlived the
        rate limiter's own retries is waited out here too.
        """
        attempts = self._limits.send_retries + 1
        for attempt in range(attempts):
            try:
                return await fn(**kwargs)
            except (Forbidden, BadRequest, InvalidToken, ChatMigrated):
                raise
            except RetryAfter as err:
                if attempt == attempts - 1:
                    raise
                with warnings.catch_warnings():
                    # PTB 22 warns that retry_after becomes a timedelta in v23; both forms are handled.
                    warnings.simplefilter("ignore", PTBDeprecationWarning)
                    wait = err.retry_after
                delay = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            except NetworkError as err:  # includes TimedOut and 5xx answers
                delay = self._limits.backoff * 2**attempt
                if attempt == attempts - 1:
                    raise
                log.warning("telegram: %s failed (%s), retry %d in %.1fs", getattr(fn, "__name__", fn), err,
                            attempt + 1, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def call_logged(self, fn: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
        try:
            await self.call(fn, **kwargs)
        except TelegramError as err:
            log.error("telegram: %s failed: %s", getattr(fn, "__name__", fn), err)
