"""What the bot sends over its long connection, within the limits WeCom documents for the 智能机器人.

- Replies and proactive posts share one quota per chat: 30 messages a minute and 1,000 an hour
  (智能机器人长连接, 频率限制). Each is paced here before it goes, so a busy group waits instead of
  being refused; a card update changes a message and counts for nothing.
- Media uploads (`aibot_upload_media_init/chunk/finish`): 512 KB chunks, at most 100 of them, and 30
  uploads a minute, 1,000 an hour per bot.
- A proactive post that WeCom answers with −1 (no answer), 45009 or 45033 is tried again after 1, 2, 4 s.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.wecom_bot import frames
from bot.wecom_bot.connection import BotApiError, BotConnection
from bot.wecom_messengers import SlidingWindowLimiter

log = logging.getLogger(__name__)

CHUNK_BYTES = 512 * 1024
MAX_CHUNKS = 100
MIN_MEDIA_BYTES = 5
UPLOAD_KEY = "\x00upload"  # the limiter key of uploads (no chat id can be this)


class BotSender:
    """Replies, card updates, proactive posts and uploads, paced per chat and retried when WeCom says so."""

    def __init__(
        self,
        connection: BotConnection,
        *,
        per_minute: int = 30,
        per_hour: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        attempts: int = 3,
        base_delay: float = 1.0,
    ) -> None:
        """`clock` and `sleep` drive the pacing and the retries (tests make them instant)."""
        self.connection = connection
        self._minute = SlidingWindowLimiter(per_minute, 60.0, clock=clock, sleep=sleep)
        self._hour = SlidingWindowLimiter(per_hour, 3600.0, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._attempts = attempts
        self._base_delay = base_delay

    @property
    def connected(self) -> bool:
        """The connection is subscribed now."""
        return self.connection.connected

    async def _pace(self, key: str) -> None:
        await self._minute.acquire(key)
        await self._hour.acquire(key)

    async def respond(self, req_id: str, chat_id: str, body: dict[str, Any]) -> None:
        """Answer the message of `req_id` in place (aibot_respond_msg)."""
        await self._pace(chat_id)
        await self.connection.request(frames.RESPOND, body, req_id=req_id)

    async def welcome(self, req_id: str, body: dict[str, Any]) -> None:
        """Greet a member entering the direct chat (aibot_respond_welcome_msg, within 5 s)."""
        await self.connection.request(frames.RESPOND_WELCOME, body, req_id=req_id)

    async def update_card(self, req_id: str, card: dict[str, Any], userids: list[str] | None = None) -> None:
        """Replace the clicked card (aibot_respond_update_msg, within 5 s): for everyone, or `userids`."""
        body: dict[str, Any] = {"response_type": "update_template_card", "template_card": card}
        if userids:
            body["userids"] = userids
        await self.connection.request(frames.RESPOND_UPDATE, body, req_id=req_id)

    async def push(self, chat_id: str, body: dict[str, Any]) -> None:
        """Post to a chat on the bot's own (aibot_send_msg), trying again what WeCom says may pass later."""
        for attempt in range(self._attempts):
            await self._pace(chat_id)
            try:
                await self.connection.request(frames.SEND, {"chatid": chat_id, **body})
                return
            except BotApiError as exc:
                if not exc.transient or attempt + 1 >= self._attempts:
                    raise
                delay = self._base_delay * 2**attempt
                log.warning("WeCom AI bot: post to a chat failed (%s); again in %.0f s", exc, delay)
                await self._sleep(delay)

    async def upload(self, kind: str, name: str, content: bytes) -> str:
        """Upload a temporary media file in 512 KB chunks and return its media_id (valid three days)."""
        chunks = math.ceil(len(content) / CHUNK_BYTES)
        if len(content) < MIN_MEDIA_BYTES or chunks > MAX_CHUNKS:
            raise BotApiError(40006, f"{kind} of {len(content)} bytes is outside WeCom's limits")
        await self._pace(UPLOAD_KEY)
        init = await self.connection.request(frames.UPLOAD_INIT, {
            "type": kind, "filename": name, "total_size": len(content), "total_chunks": chunks,
            "md5": hashlib.md5(content).hexdigest(),
        })
        upload_id = _answer_field(init, "upload_id")
        for index in range(chunks):
            piece = content[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]
            body = {"upload_id": upload_id, "chunk_index": index, "base64_data": base64.b64encode(piece).decode()}
            for attempt in range(self._attempts):
                try:
                    await self.connection.request(frames.UPLOAD_CHUNK, body, wait=30.0)
                    break
                except BotApiError as exc:
                    if not exc.transient or attempt + 1 >= self._attempts:
                        raise
                    await self._sleep(self._base_delay * (attempt + 1))
        finish = await self.connection.request(frames.UPLOAD_FINISH, {"upload_id": upload_id}, wait=30.0)
        return _answer_field(finish, "media_id")


def _answer_field(ack: dict[str, Any], name: str) -> str:
    body = ack.get("body")
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise BotApiError(-1, f"the answer has no {name}")
    return value
