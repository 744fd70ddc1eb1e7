"""Sending through WeCom (企业微信): the app API (gettoken, message/send, media/upload) and group robots.

- `WeComClient` talks to the self-built app's API: it caches the access token until shortly before it
  expires (fetching a new one when WeCom answers 40014/42001), retries −1/45009/45033 and network
  failures with exponential backoff, and logs every other errcode with its meaning.
- `WeComAppMessenger` renders a `Reply` as app messages to one member (chat id = WeCom userid).
- `RobotMessenger` posts a `Reply` into a group through its group robot ("群机器人") webhook (chat id =
  the robot key), within WeCom's 20 messages a minute per robot.

Secrets (the app secret, access tokens, robot keys) never appear in a log line or an exception message:
they travel only in query parameters, and errors name a robot by `mask_secret(key)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.wecom_payloads import fit_image, split_utf8

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://qyapi.weixin.qq.com"

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# WeCom's global error codes (全局错误码) we meet in practice, with their meaning for log lines.
ERRCODE_MEANINGS: dict[int, tuple[str, str]] = {
    -1: ("系统繁忙", "system busy"),
    0: ("请求成功", "ok"),
    40001: ("不合法的secret参数", "invalid secret"),
    40003: ("无效的UserID", "invalid userid"),
    40004: ("不合法的媒体文件类型", "invalid media file type"),
    40005: ("不合法的type参数", "invalid type parameter"),
    40006: ("不合法的文件大小", "invalid file size"),
    40007: ("不合法的media_id参数", "invalid media_id"),
    40008: ("不合法的msgtype参数", "invalid msgtype"),
    40009: ("上传图片大小不是有效值", "invalid image size"),
    40013: ("不合法的CorpID", "invalid corpid"),
    40014: ("不合法的access_token", "invalid access_token"),
    40056: ("不合法的agentid", "invalid agentid"),
    40058: ("不合法的参数", "invalid parameter"),
    41001: ("缺少access_token参数", "access_token missing"),
    42001: ("access_token已过期", "access_token expired"),
    44004: ("文本消息content参数为空", "empty text content"),
    45002: ("消息内容大小超过限制", "message content too large"),
    45009: ("接口调用超过限制", "API call frequency limit reached"),
    45033: ("接口并发调用超过限制", "API concurrency limit reached"),
    48002: ("API接口无权限调用", "API not permitted for this app"),
    60020: ("不安全的访问IP", "caller IP is not a trusted IP of the app"),
    81013: ("UserID、部门ID、标签ID全部非法或无权限", "no valid recipient"),
    93000: ("机器人webhook地址不合法或机器人已被移出群", "invalid webhook url (robot removed?)"),
}
TRANSIENT_ERRCODES = frozenset({-1, 45009, 45033})  # WeCom advises a retry after a pause
TOKEN_ERRCODES = frozenset({40014, 42001})  # the access token is bad or expired: fetch a new one
ROBOT_GONE = 93000  # a group robot's webhook key is invalid: the robot was removed or its key reset

TEXT_LIMIT = 2048  # bytes of an app text or markdown message (发送应用消息)
ROBOT_MARKDOWN_LIMIT = 4096  # bytes of a robot markdown message (群机器人配置说明)
ROBOT_IMAGE_LIMIT = 2 * 1024 * 1024  # bytes of a robot image before base64
APP_IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of an uploaded image (上传临时素材)
FILE_LIMIT = 20 * 1024 * 1024  # bytes of an uploaded file, app or robot
MIN_MEDIA_BYTES = 5  # WeCom refuses media smaller than 5 bytes

_ROBOT_KEY = r"[A-Za-z0-9][A-Za-z0-9-]{7,127}"
ROBOT_KEY_RE = re.compile(_ROBOT_KEY)


def describe_errcode(errcode: int) -> str:
    """A log-friendly "code 中文 / English" description of a WeCom errcode."""
    zh, en = ERRCODE_MEANINGS.get(errcode, ("未知错误码", "unknown errcode"))
    return f"{errcode} {zh} / {en}"


class WeComApiError(Exception):
    """WeCom answered a non-zero errcode (or could not be reached: errcode −1 after retries)."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{describe_errcode(errcode)}: {errmsg}" if errmsg else describe_errcode(errcode))
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed."""
        return self.errcode in TRANSIENT_ERRCODES or self.errcode in TOKEN_ERRCODES


class MediaTooLarge(Exception):
    """A member's file is larger than we keep (nothing past the limit was read)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def mask_secret(key: str) -> str:
    """Show a secret in a reply or log line as its first 4 characters and ****."""
    return f"{key[:4]}****" if len(key) >= 12 else "****"


def media_form(name: str, content: bytes, mime_type: str) -> aiohttp.FormData:
    """The multipart body WeCom's upload endpoints expect: one file in the field "media"."""
    # quote_fields=False sends the UTF-8 file name as is: WeCom shows a percent-encoded name literally.
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("media", content, filename=name, content_type=mime_type)
    return form


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class WeComClient:
    """The self-built app's API: token cache, message/send and media/upload, with retries."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str = DEFAULT_API_URL,
        corp_id: str,
        secret: str,
        agent_id: str | int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = 4,
        base_delay: float = 0.5,
        timeout: float = 15.0,
    ) -> None:
        """Use the shared `session`; `clock` and `sleep` are injectable so tests never wait."""
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = int(agent_id)
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self._corp_id!r}, agent_id={self._agent_id})"

    async def _access_token(self) -> str:
        """The cached access token, fetched again when it is about to expire."""
        async with self._token_lock:
            if self._token is not None and self._clock() < self._token_until:
                return self._token
            data = await self._get_json(
                "/cgi-bin/gettoken", {"corpid": self._corp_id, "corpsecret": self._secret}
            )
            errcode = int(data.get("errcode", 0))
            if errcode != 0:
                raise WeComApiError(errcode, str(data.get("errmsg", "")))
            token = str(data["access_token"])
            expires_in = float(data.get("expires_in", 7200))
            # Renew five minutes early (WeCom may also renew its side early), never later than halfway.
            self._token = token
            self._token_until = self._clock() + max(expires_in - 300, expires_in / 2)
            log.info("WeCom access token fetched, valid for %ds", int(expires_in))
            return token

    def _forget_token(self, token: str) -> None:
        # Only drop the token that failed: another task may already hold a fresh one.
        if self._token == token:
            self._token = None

    async def _get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            async with self._session.get(
                self._api_url + path, params=params, timeout=self._timeout
            ) as response:
                return await read_json(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # The exception text may contain the URL with its secret query: keep only the type.
            raise WeComApiError(-1, f"{path}: {type(exc).__name__}") from None

    async def call(
        self,
        path: str,
        *,
        payload: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """POST to an app API path with the access token; retry what WeCom says may succeed later."""
        last: WeComApiError | None = None
        for attempt in range(self._max_attempts):
            token = ""
            try:
                token = await self._access_token()
                query = {"access_token": token, **(params or {})}
                data = await self._post(path, query, payload=payload, form=form)
                errcode = int(data.get("errcode", 0))
                if errcode != 0:
                    raise WeComApiError(errcode, str(data.get("errmsg", "")))
                return data
            except WeComApiError as exc:
                last = exc
                if exc.errcode in TOKEN_ERRCODES and token:
                    meaning = describe_errcode(exc.errcode)
                    log.warning("WeCom %s: %s; fetching a new access token", path, meaning)
                    self._forget_token(token)
                    continue
                if exc.errcode not in TRANSIENT_ERRCODES or attempt + 1 >= self._max_attempts:
                    log.error("WeCom %s failed: %s", path, exc)
                    raise
                delay = self._base_delay * 2**attempt
                log.warning("WeCom %s: %s; retrying in %.1fs", path, exc, delay)
                await self._sleep(delay)
        assert last is not None
        log.error("WeCom %s failed after %d attempts: %s", path, self._max_attempts, last)
        raise last

    async def _post(
        self,
        path: str,
        query: dict[str, str],
        *,
        payload: dict[str, Any] | None,
        form: Callable[[], aiohttp.FormData] | None,
    ) -> dict[str, Any]:
        try:
            if form is not None:
                request = self._session.post(
                    self._api_url + path, params=query, data=form(), timeout=self._timeout
                )
            else:
                request = self._session.post(
                    self._api_url + path,
                    params=query,
                    data=json_body(payload or {}),
                    headers=JSON_HEADERS,
                    timeout=self._timeout,
                )
            async with request as response:
                return await read_json(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeComApiError(-1, f"{path}: {type(exc).__name__}") from None

    async def _send(self, userid: str, msgtype: str, body: dict[str, Any]) -> None:
        payload = {"touser": userid, "msgtype": msgtype, "agentid": self._agent_id, msgtype: body, "safe": 0}
        data = await self.call("/cgi-bin/message/send", payload=payload)
        # Partly invalid recipients still answer errcode 0 and list the refused ones here.
        if data.get("invaliduser"):
            log.error("WeCom message/send: recipient refused (invaliduser)")
            raise WeComApiError(81013, "invaliduser")

    async def send_text(self, userid: str, text: str) -> None:
        """Send a text message to a member, split at line breaks into 2048-byte pieces."""
        for piece in split_utf8(text, TEXT_LIMIT):
            await self._send(userid, "text", {"content": piece})

    async def send_textcard(self, userid: str, card: dict[str, str]) -> None:
        """Send a 文本卡片 (title, description, url, btntxt) to a member: a card that opens a link."""
        await self._send(userid, "textcard", card)

    async def send_markdown(self, userid: str, md: str) -> None:
        """Send a markdown message to a member, split at line breaks into 2048-byte pieces."""
        for piece in split_utf8(md, TEXT_LIMIT):
            await self._send(userid, "markdown", {"content": piece})

    async def send_image(self, userid: str, png: bytes, name: str = "chart.png") -> None:
        """Upload an image (shrunk if over WeCom's 10 MB) and send it to a member."""
        data = await fit_image(png, APP_IMAGE_LIMIT)
        if data is not png:
            name, mime = name.rsplit(".", 1)[0] + ".jpg", "image/jpeg"
        else:
            mime = "image/png"
        media_id = await self.upload_media("image", name, data, mime)
        await self._send(userid, "image", {"media_id": media_id})

    async def send_file(
        self, userid: str, name: str, content: bytes, mime_type: str = "application/octet-stream"
    ) -> None:
        """Upload a file (e.g. the Excel ledger) and send it to a member."""
        media_id = await self.upload_media("file", name, content, mime_type)
        await self._send(userid, "file", {"media_id": media_id})

    async def download_media(self, media_id: str, *, limit: int) -> tuple[bytes, str, str]:
        """Fetch a member's image or file (获取临时素材, valid 3 days after it was sent): (content, file name,
        content type). Refuses more than `limit` bytes with MediaTooLarge, reading no further than that."""
        last: WeComApiError | None = None
        for attempt in range(self._max_attempts):
            token = await self._access_token()
            try:
                return await self._get_media(token, media_id, limit)
            except WeComApiError as exc:
                last = exc
                if exc.errcode in TOKEN_ERRCODES:
                    self._forget_token(token)
                    continue
                if exc.errcode not in TRANSIENT_ERRCODES or attempt + 1 >= self._max_attempts:
                    raise
                await self._sleep(self._base_delay * 2**attempt)
        assert last is not None
        raise last

    async def _get_media(self, token: str, media_id: str, limit: int) -> tuple[bytes, str, str]:
        try:
            async with self._session.get(self._api_url + "/cgi-bin/media/get",
                                         params={"access_token": token, "media_id": media_id},
                                         timeout=self._timeout) as response:
                if response.status != 200:
                    raise WeComApiError(-1, f"HTTP {response.status}")
                if response.content_type in ("application/json", "text/plain"):
                    data = await response.json(content_type=None)  # an error answers JSON instead of the file
                    errcode = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
                    raise WeComApiError(errcode, str(data.get("errmsg", "")) if isinstance(data, dict) else "")
                if response.content_length is not None and response.content_length > limit:
                    raise MediaTooLarge(response.content_length)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise MediaTooLarge(size)
                    chunks.append(chunk)
                content = b"".join(chunks)
                disposition = response.content_disposition
                name = disposition.filename if disposition is not None and disposition.filename else ""
                return content, name, response.content_type
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeComApiError(-1, f"/cgi-bin/media/get: {type(exc).__name__}") from None

    async def upload_media(
        self, kind: str, name: str, content: bytes, mime_type: str = "application/octet-stream"
    ) -> str:
        """Upload a temporary media file (image, voice, video, file) and return its media_id."""
        limit = APP_IMAGE_LIMIT if kind == "image" else FILE_LIMIT
        if not MIN_MEDIA_BYTES <= len(content) <= limit:
            raise WeComApiError(40006, f"{kind} of {len(content)} bytes is outside WeCom's limits")
        data = await self.call(
            "/cgi-bin/media/upload",
            params={"type": kind},
            form=lambda: media_form(name, content, mime_type),
        )
        return str(data["media_id"])


async def read_json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """WeCom answers JSON with HTTP 200; anything else is a transient failure (errcode −1)."""
    if response.status != 200:
        raise WeComApiError(-1, f"HTTP {response.status}")
    data = await response.json(content_type=None)
    if not isinstance(data, dict):
        raise WeComApiError(-1, "answer is not a JSON object")
    return data


