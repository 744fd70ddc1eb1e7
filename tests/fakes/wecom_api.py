"""A local fake of the WeCom API (loopback aiohttp server) and helpers that build WeCom callbacks.

The fake answers in WeCom's documented JSON: /cgi-bin/gettoken, /cgi-bin/message/send,
/cgi-bin/media/upload, /cgi-bin/webhook/send and /cgi-bin/webhook/upload_media. It records every request,
checks access tokens and robot keys, and can be told to expire tokens or to answer errors.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.wecom_crypto import WeComCrypto, parse_xml_fields

CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
SECRET = "app-secret-s3cr3t-value-0001"
ROBOT_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2aaaa5aaa"


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    body: bytes = b""
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # field -> (name, data, type)
    at: float = 0.0  # the fake's clock when it arrived


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok", **extra})


def _error(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})


class FakeWeComApi:
    """The fake WeCom API; use as `async with FakeWeComApi() as fake:` and point clients at `fake.url`."""

    def __init__(
        self,
        *,
        corp_id: str = CORP_ID,
        secret: str = SECRET,
        agent_id: int = AGENT_ID,
        robot_keys: Iterable[str] = (ROBOT_KEY,),
        known_users: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        robot_per_minute: int | None = None,
        token_expires_in: int = 7200,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.robot_keys = set(robot_keys)
        self.refused_keys: dict[str, int] = {}  # robot key -> the errcode its posts are answered with
        self.known_users = set(known_users) if known_users is not None else None
        self.clock = clock
        self.robot_per_minute = robot_per_minute
        self.token_expires_in = token_expires_in
        self.requests: list[Recorded] = []
        self.tokens_issued: list[str] = []
        self.media: dict[str, tuple[str, bytes]] = {}  # media_id -> (file name, content)
        self.url = ""
        self.gate: asyncio.Event | None = None  # when set, message/send waits for it (a slow WeCom)
        self._live_tokens: set[str] = set()
        self._expired_tokens: set[str] = set()
        self._failures: deque[tuple[int, str, str | None]] = deque()
        self._robot_sends: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ---- control -------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Expire every token issued so far: the next call with one is answered 42001."""
        self._expired_tokens |= self._live_tokens
        self._live_tokens.clear()

    def revoke_tokens(self) -> None:
        """Forget every token issued so far: the next call with one is answered 40014."""
        self._live_tokens.clear()

    def fail_next(self, errcode: int, times: int = 1, path: str | None = None) -> None:
        """Answer `errcode` to the next `times` API calls (gettoken excepted), or only those to `path`."""
        meaning = {-1: "system busy", 45009: "api freq out of limit", 45033: "api concurrent out of limit"}
        for _ in range(times):
            self._failures.append((errcode, meaning.get(errcode, "error"), path))

    def add_media(self, name: str, content: bytes) -> str:
        """A file a member sent (an image message's MediaId): the bot may fetch it with media/get."""
        return self._new_media(name, content)

    def expire_media(self, media_id: str) -> None:
        """The media id is past its three days: media/get answers 40007."""
        self.media.pop(media_id, None)

    def calls(self, path: str) -> list[Recorded]:
        """The recorded requests to `path` (e.g. "/cgi-bin/message/send"), oldest first."""
        return [r for r in self.requests if r.path == path]

    # ---- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> FakeWeComApi:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        app.router.add_post("/cgi-bin/webhook/upload_media", self._webhook_upload)
        # No access log: its lines would carry tokens and robot keys from the query string.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- helpers -------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> Recorded:
        recorded = Recorded(request.method, request.path, dict(request.query), at=self.clock())
        if request.content_type == "multipart/form-data":
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    recorded.files[name] = (value.filename, value.file.read(), value.content_type)
        elif request.can_read_body:
            recorded.body = await request.read()
            try:
                recorded.json = await request.json()
            except ValueError:
                recorded.json = None
        self.requests.append(recorded)
        return recorded

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        if token in self._expired_tokens:
            return _error(42001, "access_token expired")
        if token not in self._live_tokens:
            return _error(40014, "invalid access_token")
        return None

    def _planned_failure(self, path: str) -> web.Response | None:
        for index, (errcode, errmsg, only) in enumerate(self._failures):
            if only is None or only == path:
                del self._failures[index]
                return _error(errcode, errmsg)
        return None

    def _new_media(self, name: str, content: bytes) -> str:
        media_id = f"media-{next(self._ids)}"
        self.media[media_id] = (name, content)
        return media_id

    # ---- the app API ---------------------------------------------------------------------------
    async def _gettoken(self, request: web.Request) -> web.Response:
        await self._record(request)
        if request.query.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        token = f"tok-{next(self._ids)}-fake-access-token"
        self._live_tokens.add(token)
        self.tokens_issued.append(token)
        return _ok(access_token=token, expires_in=self.token_expires_in)

    async def _message_send(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        if self.gate is not None:
            await self.gate.wait()
        refused = self._token_error(request) or self._planned_failure(request.path)
        if refused is not None:
            return refused
        body = recorded.json
        if not isinstance(body, dict):
            return _error(40058, "invalid json")
        if body.get("agentid") != self.agent_id:
            return _error(40056, "invalid agentid")
        if self.known_users is not None and body.get("touser") not in self.known_users:
            return _error(81013, "user & party & tag all invalid")
        msgtype = body.get("msgtype")
        part = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(part, dict):
            return _error(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            content = part.get("content", "")
            if not content:
                return _error(44004, "empty content")
            # Real WeCom truncates past 2048 bytes; the fake refuses so that a test notices.
            if len(content.encode("utf-8")) > 2048:
                return _error(45002, "content size out of limit")
        elif msgtype in ("image", "file"):
            if part.get("media_id") not in self.media:
                return _error(40007, "invalid media_id")
        elif msgtype == "textcard":
            # 文本卡片消息: title (≤128 bytes), description (≤512 bytes) and url are required; btntxt optional.
            title, description, url = part.get("title"), part.get("description"), part.get("url")
            if not all(isinstance(v, str) and v for v in (title, description, url)):
                return _error(40058, "textcard: title, description and url are required")
            if len(title.encode()) > 128 or len(description.encode()) > 512 or len(url.encode()) > 2048:
                return _error(45002, "textcard size out of limit")
            if not url.startswith(("http://", "https://")):
                return _error(40058, "textcard: invalid url")
        else:
            return _error(40008, "invalid message type")
        return _ok(
            invaliduser="", invalidparty="", invalidtag="", unlicenseduser="",
            msgid=f"msg-{next(self._ids)}", response_code="",
        )

    async def _media_upload(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        refused = self._token_error(request) or self._planned_failure(request.path)
        if refused is not None:
            return refused
        kind = request.query.get("type", "")
        if kind not in ("image", "voice", "video", "file"):
            return _error(40005, "invalid file type")
        if "media" not in recorded.files:
            return _error(40058, "media missing")
        name, content, _ = recorded.files["media"]
        if kind == "image" and not 5 <= len(content) <= 10 * 1024 * 1024:
            return _error(40009, "invalid image size")
        if not 5 <= len(content) <= 20 * 1024 * 1024:
            return _error(40006, "invalid file size")
        return web.json_response(
            {"errcode": 0, "errmsg": "", "type": kind, "media_id": self._new_media(name, content),
             "created_at": "1380000000"}
        )

    async def _media_get(self, request: web.Request) -> web.Response:
        """获取临时素材: the file itself with its name in Content-Disposition, or a JSON error."""
        await self._record(request)
        refused = self._token_error(request) or self._planned_failure(request.path)
        if refused is not None:
            return refused
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return _error(40007, "invalid media_id")
        name, content = found
        return web.Response(body=content, content_type="image/jpeg" if name.endswith(".jpg") else
                            "application/octet-stream",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ---- group robots --------------------------------------------------------------------------
    def _robot_error(self, request: web.Request) -> web.Response | None:
        if request.query.get("key") not in self.robot_keys:
            return _error(93000, "invalid webhook url, hint: [fake] key not found")
        refused = self.refused_keys.get(request.query.get("key", ""))
        if refused is not None:
            return _error(refused, "refused for this robot")
        return self._planned_failure(request.path)

    async def _webhook_send(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        refused = self._robot_error(request)
        if refused is not None:
            return refused
        key = request.query["key"]
        if self.robot_per_minute is not None:
            sent = self._robot_sends.setdefault(key, deque())
            now = self.clock()
            while sent and now - sent[0] >= 60:
                sent.popleft()
            if len(sent) >= self.robot_per_minute:
                return _error(45009, "api freq out of limit")
            sent.append(now)
        body = recorded.json
        if not isinstance(body, dict) or not isinstance(body.get(body.get("msgtype", "")), dict):
            return _error(40008, "invalid message type")
        msgtype = body["msgtype"]
        part = body[msgtype]
        if msgtype in ("text", "markdown"):
            limit = 2048 if msgtype == "text" else 4096
            content = part.get("content", "")
            if not content:
                return _error(44004, "empty content")
            if len(content.encode("utf-8")) > limit:
                return _error(40058, "content exceed max length")
        elif msgtype == "image":
            try:
                image = base64.b64decode(part.get("base64", ""), validate=True)
            except (binascii.Error, ValueError):
                return _error(40058, "invalid base64")
            if hashlib.md5(image).hexdigest() != part.get("md5"):
                return _error(40058, "md5 mismatch")
            if len(image) > 2 * 1024 * 1024:
                return _error(40009, "invalid image size")
        elif msgtype == "file":
            if part.get("media_id") not in self.media:
                return _error(40007, "invalid media_id")
        else:
            return _error(40008, "invalid message type")
        return _ok()

    async def _webhook_upload(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        refused = self._robot_error(request)
        if refused is not None:
            return refused
        kind = request.query.get("type", "")
        if kind not in ("file", "voice"):
            return _error(40005, "invalid file type")
        if "media" not in recorded.files:
            return _error(40058, "media missing")
        name, content, _ = recorded.files["media"]
        if not 5 <= len(content) <= 20 * 1024 * 1024:
            return _error(40006, "invalid file size")
        return _ok(type=kind, media_id=self._new_media(name, content), created_at="1380000000")


# ---- callbacks, built like WeCom builds them -----------------------------------------------------
def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_message_xml(
    *, from_user: str, content: str, msg_id: str, corp_id: str = CORP_ID, agent_id: int = AGENT_ID,
    create_time: int = 1_700_000_000,
) -> str:
    """The decrypted XML of a member's text message (接收消息格式: 文本消息)."""
    return (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )


def image_message_xml(
    *, from_user: str, media_id: str, msg_id: str, corp_id: str = CORP_ID, agent_id: int = AGENT_ID,
    create_time: int = 1_700_000_000,
) -> str:
    """The decrypted XML of a member's image message (接收消息格式: 图片消息)."""
    return (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[https://example.invalid/pic]]></PicUrl><MediaId>{_cdata(media_id)}</MediaId>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )


def event_xml(
    *, from_user: str, event: str = "enter_agent", corp_id: str = CORP_ID, agent_id: int = AGENT_ID,
    create_time: int = 1_700_000_000,
) -> str:
    """The decrypted XML of an event (e.g. 进入应用 enter_agent, 关注 subscribe)."""
    return (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event>{_cdata(event)}</Event><EventKey><![CDATA[]]></EventKey><AgentID>{agent_id}</AgentID></xml>"
    )


def build_callback(
    crypto: WeComCrypto, inner_xml: str, *, corp_id: str = CORP_ID, agent_id: int = AGENT_ID,
    timestamp: str | None = None, nonce: str = "1372623149",
) -> tuple[dict[str, str], bytes]:
    """The query and body of a callback POST carrying `inner_xml`, encrypted and signed as WeCom does, at
    `timestamp` (default: now, as WeCom's servers sign it)."""
    timestamp = timestamp if timestamp is not None else str(int(time.time()))
    envelope = parse_xml_fields(crypto.encrypt_message(inner_xml, nonce, timestamp))
    body = (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName><Encrypt>{_cdata(envelope['Encrypt'])}</Encrypt>"
        f"<AgentID>{_cdata(str(agent_id))}</AgentID></xml>"
    )
    query = {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    return query, body.encode("utf-8")
