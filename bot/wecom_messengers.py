"""The WeCom Messengers the scheduled posts and notices go through: the self-built app (a member or a
group chat it created) and the group robots (a webhook key per group, 20 messages a minute each)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import deque
from typing import Any

import aiohttp

from bot.wecom_api import (
    DEFAULT_API_URL,
    FILE_LIMIT,
    JSON_HEADERS,
    MIN_MEDIA_BYTES,
    ROBOT_GONE,
    ROBOT_IMAGE_LIMIT,
    ROBOT_KEY_RE,
    ROBOT_MARKDOWN_LIMIT,
    TRANSIENT_ERRCODES,
    Clock,
    Sleep,
    WeComApiError,
    WeComClient,
    describe_errcode,
    json_body,
    mask_secret,
    media_form,
    read_json,
)
from bot.wecom_payloads import fit_image, split_utf8
from bot.wecom_render import markdown_of, robot_markdown, text_of, textcard_of
from handlers.messages import Reply
from handlers.ports import DeliveryError

log = logging.getLogger(__name__)


class WeComAppMessenger:
    """The Messenger port for direct messages from the app to one member (chat id = userid)."""

    platform = "wecom"

    def __init__(self, client: WeComClient) -> None:
        """Send through `client`."""
        self._client = client

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Send `reply` as markdown (or text), escaped for the format (bot.wecom_render), then its image and
        its file; DeliveryError on failure."""
        try:
            if reply.link is not None:
                # A link (the 驾驶舱) goes as a 文本卡片: tapped, it opens in WeCom's own browser.
                await self._client.send_textcard(chat_id, textcard_of(reply, reply.link))
            elif reply.markdown:
                await self._client.send_markdown(chat_id, markdown_of(reply))
            elif reply.text:
                await self._client.send_text(chat_id, text_of(reply))
            if reply.image:
                await self._client.send_image(chat_id, reply.image, reply.image_name)
            if reply.file:
                await self._client.send_file(
                    chat_id, reply.file.name, reply.file.content, reply.file.mime_type
                )
        except WeComApiError as exc:
            raise DeliveryError(f"企业微信应用消息发送失败：{exc}", permanent=not exc.transient) from exc


class SlidingWindowLimiter:
    """At most `limit` events per `window` seconds per key (WeCom robots: 20 messages a minute)."""

    def __init__(self, limit: int, window: float, *, clock: Clock, sleep: Sleep) -> None:
        """`clock` and `sleep` are injectable so tests run without waiting."""
        self._limit = limit
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._events: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def acquire(self, key: str) -> None:
        """Wait until one more event under `key` stays within the limit, then record it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            events = self._events.setdefault(key, deque())
            while True:
                now = self._clock()
                while events and now - events[0] >= self._window:
                    events.popleft()
                if len(events) < self._limit:
                    events.append(now)
                    return
                await self._sleep(self._window - (now - events[0]))


class RobotMessenger:
    """The Messenger port for WeCom group robots (群机器人): the chat id is the robot key."""

    platform = "wecom-robot"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str = DEFAULT_API_URL,
        per_minute: int = 20,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = 4,
        base_delay: float = 2.0,
        image_limit: int = ROBOT_IMAGE_LIMIT,
        timeout: float = 15.0,
    ) -> None:
        """Post through the shared `session`; `clock`/`sleep` drive the rate limiter and the backoff."""
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._limiter = SlidingWindowLimiter(per_minute, 60.0, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._image_limit = image_limit
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Post `reply`: markdown escaped by bot.wecom_render (split to 4096 bytes, with <@userid> mentions),
        image, then file."""
        key = chat_id
        if not ROBOT_KEY_RE.fullmatch(key):
            raise DeliveryError("群机器人 key 格式不对 (malformed robot key)", permanent=True)
        for piece in split_utf8(robot_markdown(reply), ROBOT_MARKDOWN_LIMIT):
            await self._post(key, {"msgtype": "markdown", "markdown": {"content": piece}})
        if reply.image:
            try:
                image = await fit_image(reply.image, self._image_limit)
            except ValueError as exc:
                message = "图片过大，无法压缩到 2MB 以内 (image too large)"
                raise DeliveryError(message, permanent=True) from exc
            await self._post(
                key,
                {
                    "msgtype": "image",
                    "image": {
                        "base64": base64.b64encode(image).decode("ascii"),
                        "md5": hashlib.md5(image).hexdigest(),
                    },
                },
            )
        if reply.file:
            media_id = await self._upload(key, reply.file.name, reply.file.content, reply.file.mime_type)
            await self._post(key, {"msgtype": "file", "file": {"media_id": media_id}})

    async def _post(self, key: str, payload: dict[str, Any]) -> None:
        for attempt in range(self._max_attempts):
            await self._limiter.acquire(key)
            data = await self._request(
                key, "/cgi-bin/webhook/send", {"key": key}, data=json_body(payload), headers=JSON_HEADERS
            )
            if await self._settled(key, "webhook/send", data, attempt):
                return

    async def _upload(self, key: str, name: str, content: bytes, mime_type: str) -> str:
        if not MIN_MEDIA_BYTES <= len(content) <= FILE_LIMIT:
            raise DeliveryError(f"文件大小 {len(content)} 字节超出企业微信限制 (file size)", permanent=True)
        for attempt in range(self._max_attempts):
            data = await self._request(
                key,
                "/cgi-bin/webhook/upload_media",
                {"key": key, "type": "file"},
                data=media_form(name, content, mime_type),
            )
            if await self._settled(key, "webhook/upload_media", data, attempt):
                return str(data["media_id"])
        raise AssertionError("unreachable: _settled raises on the last attempt")

    async def _request(
        self, key: str, path: str, params: dict[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        try:
            async with self._session.post(
                self._api_url + path, params=params, timeout=self._timeout, **kwargs
            ) as response:
                return await read_json(response)
        except WeComApiError as exc:
            return {"errcode": exc.errcode, "errmsg": exc.errmsg}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Never let the URL (it carries the key) reach a log line: keep only the error type.
            return {"errcode": -1, "errmsg": type(exc).__name__}

    async def _settled(self, key: str, what: str, data: dict[str, Any], attempt: int) -> bool:
        """True when done; False after sleeping for a retry; DeliveryError when it failed for good."""
        errcode = int(data.get("errcode", 0))
        if errcode == 0:
            return True
        robot = mask_secret(key)
        meaning = describe_errcode(errcode)
        if errcode not in TRANSIENT_ERRCODES:
            log.error("WeCom robot %s %s refused: %s", robot, what, meaning)
            hint = "群机器人 key 无效或机器人已被移出群" if errcode == ROBOT_GONE else "群机器人消息被拒绝"
            # 93000: the key itself is dead (robot removed from the group, or the key reset): the binding
            # is paused rather than tried every day; any other refusal is about this one message.
            raise DeliveryError(f"{hint}（{meaning}，robot {robot}）", permanent=True, gone=errcode == ROBOT_GONE)
        if attempt + 1 >= self._max_attempts:
            log.error("WeCom robot %s %s failed after %d attempts: %s", robot, what, attempt + 1, meaning)
            raise DeliveryError(f"群机器人暂时无法发送（{meaning}，robot {robot}）", permanent=False)
        delay = self._base_delay * 2**attempt
        log.warning("WeCom robot %s %s: %s; retrying in %.1fs", robot, what, meaning, delay)
        await self._sleep(delay)
        return False
