"""A local fake of WeCom's 智能机器人 (AI bot): the long-connection server (its crypto: wecom_aibot_crypto).

Built from the official documents (智能机器人长连接, 接收消息, 接收事件, 被动回复消息, 主动回复消息,
回调和回复的加解密方案) and Tencent's SDKs' own types (the command names come from `aibot.WsCmd`), not from
our adapter. One aiohttp server on loopback serves:

- `/` (WebSocket): `aibot_subscribe` with the Bot ID and Secret (errcode 40001 otherwise); `ping`;
  `aibot_respond_msg` (stream, template_card, stream_with_template_card, media) to a delivered message's
  req_id; `aibot_respond_welcome_msg` to an enter_chat within 5 s; `aibot_respond_update_msg` to a card
  click within 5 s, with the click's task_id; `aibot_send_msg` to a chat that has talked to the bot;
  `aibot_upload_media_init/chunk/finish`. Every request is acknowledged with its req_id and an errcode.
  Messages and replies share 30 a minute and 1,000 an hour per chat (errcode 45009 beyond).
  One connection per bot: a second subscription sends the first `disconnected_event` and closes it.
  Deliveries made while no connection is subscribed wait for the next one; a message delivered to a
  connection that closed before answering it is delivered again (as WeCom retries).
- `/media/<name>`: media encrypted with the message's aeskey (AES-256-CBC, IV = key[:16], PKCS#7 to 32).
- `/cgi-bin/aibot/response`: a message's response_url, usable once, for an hour.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aibot import WsCmd
from aiohttp import WSCloseCode, web

from tests.fakes.wecom_aibot_crypto import encrypt_media, new_aeskey

BOT_ID = "aibRk2xQ7Demo0001"
SECRET = "long-conn-secret-0123456789abcdef"
UPLOAD_INIT, UPLOAD_CHUNK, UPLOAD_FINISH = "aibot_upload_media_init", "aibot_upload_media_chunk", "aibot_upload_media_finish"
STREAM_LIMIT = 20480  # bytes of a stream reply's content (被动回复消息)
CHUNK_LIMIT = 512 * 1024  # bytes of one upload chunk before base64
MAX_CHUNKS = 100
_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
_CARD_TYPES = {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
_MEDIA_TYPES = {"file", "image", "voice", "video"}
_ids = itertools.count(1)


async def eventually(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Wait until `predicate()` holds, polling; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not within {within} s: {what or predicate}"
        await asyncio.sleep(0.01)


# ---- the long-connection server ------------------------------------------------------------------
@dataclass
class Received:
    """One frame a client sent, with what the fake answered."""

    conn: int
    cmd: str
    req_id: str
    body: Any
    errcode: int = 0
    at: float = 0.0


@dataclass
class Delivery:
    """A callback the fake pushed (or will push): its frame and what answered it."""

    cmd: str
    body: dict[str, Any]
    req_id: str = ""
    at: float = 0.0
    conn: int = -1
    answered: bool = False


@dataclass
class _Conn:
    index: int
    ws: web.WebSocketResponse
    request: web.Request
    subscribed: bool = False


@dataclass
class _Upload:
    type: str
    filename: str
    total_size: int
    total_chunks: int
    md5: str
    chunks: dict[int, bytes] = field(default_factory=dict)


class FakeAiBotServer:
    """The fake; `async with FakeAiBotServer() as fake:`, then point the bot at `fake.ws_url`."""

    def __init__(self, *, bot_id: str = BOT_ID, secret: str = SECRET, clock: Callable[[], float] = time.monotonic,
                 per_minute: int = 30, per_hour: int = 1000) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.clock = clock
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.answer_pings = True
        self.received: list[Received] = []
        self.deliveries: list[Delivery] = []
        self.media: dict[str, tuple[str, str, bytes]] = {}  # media_id -> (type, filename, content)
        self.response_url_posts: list[tuple[str, dict[str, Any], int]] = []  # (code, body, errcode)
        self.subscribe_attempts = 0
        self.connections: list[_Conn] = []
        self.fail_next: dict[str, deque[int]] = defaultdict(deque)  # cmd -> errcodes for its next requests
        self.url = ""
        self.ws_url = ""
        self._current: _Conn | None = None
        self._outbox: deque[Delivery] = deque()
        self._by_req: dict[str, Delivery] = {}
        self._talked: set[str] = set()  # chat ids that have talked to the bot (proactive posts allowed)
        self._sends: dict[str, deque[float]] = defaultdict(deque)
        self._uploads: dict[str, _Upload] = {}
        self._upload_times: deque[float] = deque()
        self._hosted: dict[str, bytes] = {}
        self._response_codes: dict[str, tuple[float, bool]] = {}  # code -> (issued at, used)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeAiBotServer:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/", self._websocket)
        app.router.add_get("/media/{name}", self._media)
        app.router.add_post("/cgi-bin/aibot/response", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self.connections:
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests drive ----------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """A connection is subscribed now."""
        return self._current is not None and not self._current.ws.closed

    def message(self, user: str, text: str = "", *, chat: str | None = None, msgid: str | None = None,
                msgtype: str = "text", **extra: Any) -> dict[str, Any]:
        """A message body as WeCom pushes it (接收消息): a group one when `chat` is given."""
        body: dict[str, Any] = {
            "msgid": msgid or f"CAIQ{next(_ids):06d}{secrets.token_hex(4)}=",
            "aibotid": self.bot_id, "chattype": "group" if chat else "single", "from": {"userid": user},
            "create_time": int(time.time()), "msgtype": msgtype,
        }
        if chat:
            body["chatid"] = chat
        if msgtype == "text":
            body["text"] = {"content": text}
        body.update(extra)
        return body

    def event(self, user: str, eventtype: str, *, chat: str | None = None, **fields: Any) -> dict[str, Any]:
        """An event body (接收事件); a card click's fields go under `template_card_event`."""
        event: dict[str, Any] = {"eventtype": eventtype}
        if fields:
            event[eventtype] = fields
        body: dict[str, Any] = {
            "msgid": f"EVT{next(_ids):06d}{secrets.token_hex(4)}", "aibotid": self.bot_id,
            "chattype": "group" if chat else "single", "from": {"userid": user},
            "create_time": int(time.time()), "msgtype": "event", "event": event,
        }
        if chat:
            body["chatid"] = chat
        return body

    def host_media(self, content: bytes, *, kind: str = "image", filename: str = "") -> dict[str, str]:
        """Host an encrypted copy of `content`; returns the {url, aeskey} a message body carries."""
        aeskey = new_aeskey()
        name = f"m{next(_ids)}{secrets.token_hex(4)}"
        self._hosted[name] = encrypt_media(content, aeskey)
        ref = {"url": f"{self.url}/media/{name}", "aeskey": aeskey}
        if filename:
            ref["filename"] = filename
        return ref

    def with_response_url(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with a fresh response_url at this fake (usable once, for an hour)."""
        code = secrets.token_hex(8)
        self._response_codes[code] = (self.clock(), False)
        return {**body, "response_url": f"{self.url}/cgi-bin/aibot/response?response_code={code}"}

    async def deliver(self, body: dict[str, Any]) -> Delivery:
        """Push a message or event body to the bot (now, or when a connection next subscribes)."""
        cmd = WsCmd.EVENT_CALLBACK if body.get("msgtype") == "event" else WsCmd.CALLBACK
        if body.get("msgtype") != "event":
            body = self.with_response_url(body)
        delivery = Delivery(cmd, body)
        self.deliveries.append(delivery)
        self._outbox.append(delivery)
        await self._flush()
        return delivery

    async def send_raw(self, data: str) -> None:
        """Send anything down the current connection (a malformed or forged frame)."""
        assert self._current is not None
        await self._current.ws.send_str(data)

    async def drop(self, *, code: int | None = None) -> None:
        """Close the current connection: with a close frame of `code`, or abruptly (TCP reset) when None."""
        conn = self._current
        assert conn is not None
        self._current = None
        if code is None:
            assert conn.request.transport is not None
            conn.request.transport.close()
        else:
            await conn.ws.close(code=code)

    def frames(self, cmd: str, *, ok_only: bool = True) -> list[Received]:
        """The frames of `cmd` clients sent (those acknowledged with errcode 0 unless `ok_only` is off)."""
        return [r for r in self.received if r.cmd == cmd and (r.errcode == 0 or not ok_only)]

    def replies_to(self, delivery: Delivery) -> list[dict[str, Any]]:
        """The accepted reply bodies (aibot_respond_msg) to every delivery of the same msgid."""
        msgid = delivery.body.get("msgid")
        req_ids = {d.req_id for d in self.deliveries if d.body.get("msgid") == msgid and d.req_id}
        return [r.body for r in self.frames(WsCmd.RESPONSE) if r.req_id in req_ids]

    async def wait_until(self, predicate: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until `predicate()` holds (re-checked whenever the fake's state changes)."""
        async with asyncio.timeout(seconds):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the WebSocket side --------------------------------------------------------------------------

    async def _flush(self) -> None:
        conn = self._current
        while conn is not None and not conn.ws.closed and self._outbox:
            delivery = self._outbox.popleft()
            delivery.req_id = f"{delivery.cmd}_{next(_ids)}_{secrets.token_hex(4)}"
            delivery.at = self.clock()
            delivery.conn = conn.index
            self._by_req[delivery.req_id] = delivery
            sender = delivery.body.get("from")
            talker = delivery.body.get("chatid") or (sender.get("userid") if isinstance(sender, dict) else None)
            if isinstance(talker, str):
                self._talked.add(talker)
            try:
                await conn.ws.send_str(json.dumps({"cmd": delivery.cmd, "headers": {"req_id": delivery.req_id},
                                                   "body": delivery.body}, ensure_ascii=False))
            except ConnectionError:
                self._outbox.appendleft(delivery)
                return
        await self._notify()

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=8 * 1024 * 1024)
        await ws.prepare(request)
        conn = _Conn(len(self.connections), ws, request)
        self.connections.append(conn)
        try:
            async for message in ws:
                try:
                    data = json.loads(message.data)
                    cmd, req_id = data.get("cmd", ""), data["headers"]["req_id"]
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue  # WeCom ignores what it cannot read
                body = data.get("body")
                errcode, extra = await self._answer(conn, cmd, req_id, body)
                if errcode is None:
                    continue
                self.received.append(Received(conn.index, cmd, req_id, body, errcode, self.clock()))
                reply: dict[str, Any] = {"headers": {"req_id": req_id}, "errcode": errcode,
                                         "errmsg": "ok" if errcode == 0 else f"fake error {errcode}"}
                if extra is not None:
                    reply["body"] = extra
                if not ws.closed:
                    await ws.send_str(json.dumps(reply))
                await self._notify()
                if cmd == WsCmd.SUBSCRIBE and errcode == 0:
                    await self._flush()
        finally:
            await self._closed(conn)
        return ws

    async def _closed(self, conn: _Conn) -> None:
        if self._current is conn:
            self._current = None
        # What this connection was given and never answered is delivered again (WeCom retries).
        for delivery in list(self.deliveries):
            if delivery.conn == conn.index and not delivery.answered and delivery.cmd == WsCmd.CALLBACK \
                    and delivery not in self._outbox:
                self._outbox.append(Delivery(delivery.cmd, delivery.body))
                delivery.answered = True  # superseded by the redelivery
                self.deliveries.append(self._outbox[-1])
        await self._notify()

    async def _answer(self, conn: _Conn, cmd: str, req_id: str, body: Any) -> tuple[int | None, Any]:
        if cmd == WsCmd.SUBSCRIBE:
            self.subscribe_attempts += 1
            if not isinstance(body, dict) or body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
                return 40001, None
            old = self._current
            conn.subscribed = True
            self._current = conn
            if old is not None and old is not conn and not old.ws.closed:
                kick = {"cmd": WsCmd.EVENT_CALLBACK, "headers": {"req_id": f"kick_{next(_ids)}"},
                        "body": {"msgid": f"DISC{next(_ids)}", "aibotid": self.bot_id, "msgtype": "event",
                                 "create_time": int(time.time()), "from": {"userid": ""},
                                 "event": {"eventtype": "disconnected_event"}}}
                await old.ws.send_str(json.dumps(kick))
                await old.ws.close(code=WSCloseCode.OK)
            return 0, None
        if not conn.subscribed or conn is not self._current:
            return 40014, None  # not subscribed (or taken over)
        if cmd == WsCmd.HEARTBEAT:
            return (0, None) if self.answer_pings else (None, None)
        planned = self.fail_next.get(cmd)
        if planned:
            return planned.popleft(), None
        if not isinstance(body, dict):
            return 40058, None
        if cmd == WsCmd.RESPONSE:
            return self._respond(req_id, body), None
        if cmd == WsCmd.RESPONSE_WELCOME:
            return self._welcome(req_id, body), None
        if cmd == WsCmd.RESPONSE_UPDATE:
            return self._update(req_id, body), None
        if cmd == WsCmd.SEND_MSG:
            return self._send(body), None
        if cmd in (UPLOAD_INIT, UPLOAD_CHUNK, UPLOAD_FINISH):
            return self._upload(cmd, body)
        return 40058, None

    def _within_limits(self, chat: str) -> bool:
        now = self.clock()
        times = self._sends[chat]
        while times and now - times[0] >= 3600:
            times.popleft()
        if len(times) >= self.per_hour or sum(1 for t in times if now - t < 60) >= self.per_minute:
            return False
        times.append(now)
        return True

    def _respond(self, req_id: str, body: dict[str, Any]) -> int:
        delivery = self._by_req.get(req_id)
        if delivery is None or delivery.cmd != WsCmd.CALLBACK:
            return 40058
        msgtype = body.get("msgtype")
        if msgtype in ("stream", "stream_with_template_card"):
            error = _check_stream(body.get("stream"))
            if error:
                return error
        if msgtype in ("template_card", "stream_with_template_card") and "template_card" in body:
            error = _check_card(body["template_card"])
            if error:
                return error
        elif msgtype == "template_card":
            return 40058
        if msgtype in _MEDIA_TYPES and body.get(msgtype, {}).get("media_id") not in self.media:
            return 40007
        if msgtype not in ("stream", "template_card", "stream_with_template_card", *_MEDIA_TYPES):
            return 40008
        chat = str(delivery.body.get("chatid") or delivery.body.get("from", {}).get("userid"))
        if not self._within_limits(chat):
            return 45009
        delivery.answered = True
        return 0

    def _welcome(self, req_id: str, body: dict[str, Any]) -> int:
        delivery = self._by_req.get(req_id)
        if delivery is None or delivery.body.get("event", {}).get("eventtype") != "enter_chat":
            return 40058
        if self.clock() - delivery.at > 5:
            return 40058  # a welcome only within 5 s of the event
        if body.get("msgtype") == "text":
            return 0 if isinstance(body.get("text", {}).get("content"), str) else 40058
        if body.get("msgtype") == "template_card":
            return _check_card(body.get("template_card"))
        return 40008

    def _update(self, req_id: str, body: dict[str, Any]) -> int:
        delivery = self._by_req.get(req_id)
        event = delivery.body.get("event", {}) if delivery is not None else {}
        if delivery is None or event.get("eventtype") != "template_card_event":
            return 40058
        if self.clock() - delivery.at > 5:
            return 40058  # a card update only within 5 s of the click
        if body.get("response_type") != "update_template_card":
            return 40058
        card = body.get("template_card")
        if not isinstance(card, dict) or card.get("task_id") != event["template_card_event"].get("task_id"):
            return 40058
        userids = body.get("userids")
        if userids is not None and not (isinstance(userids, list) and all(isinstance(u, str) for u in userids)):
            return 40058
        return _check_card(card)

    def _send(self, body: dict[str, Any]) -> int:
        chat = body.get("chatid")
        if not isinstance(chat, str) or chat not in self._talked:
            return 40058  # a proactive post needs a chat that has talked to the bot
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            content = body.get("markdown", {}).get("content")
            if not isinstance(content, str) or not content or len(content.encode()) > STREAM_LIMIT:
                return 40058
        elif msgtype == "template_card":
            error = _check_card(body.get("template_card"))
            if error:
                return error
        elif msgtype in _MEDIA_TYPES:
            if body.get(msgtype, {}).get("media_id") not in self.media:
                return 40007
        else:
            return 40008
        return 0 if self._within_limits(chat) else 45009

    def _upload(self, cmd: str, body: dict[str, Any]) -> tuple[int, Any]:
        if cmd == UPLOAD_INIT:
            now = self.clock()
            while self._upload_times and now - self._upload_times[0] >= 60:
                self._upload_times.popleft()
            if len(self._upload_times) >= 30:
                return 45009, None
            self._upload_times.append(now)
            try:
                upload = _Upload(body["type"], body["filename"], int(body["total_size"]), int(body["total_chunks"]),
                                 str(body.get("md5", "")))
            except (KeyError, TypeError, ValueError):
                return 40058, None
            if upload.type not in _MEDIA_TYPES or not 1 <= upload.total_chunks <= MAX_CHUNKS or upload.total_size < 5:
                return 40058, None
            upload_id = f"up{next(_ids)}{secrets.token_hex(4)}"
            self._uploads[upload_id] = upload
            return 0, {"upload_id": upload_id}
        found = self._uploads.get(str(body.get("upload_id")))
        if found is None:
            return 40058, None
        if cmd == UPLOAD_CHUNK:
            index = body.get("chunk_index")
            try:
                data = base64.b64decode(str(body.get("base64_data")), validate=True)
            except ValueError:
                return 40058, None
            if not isinstance(index, int) or not 0 <= index < found.total_chunks or len(data) > CHUNK_LIMIT:
                return 40058, None
            found.chunks[index] = data
            return 0, None
        content = b"".join(found.chunks.get(i, b"") for i in range(found.total_chunks))
        if len(found.chunks) != found.total_chunks or len(content) != found.total_size:
            return 40058, None
        if found.md5 and hashlib.md5(content).hexdigest() != found.md5:
            return 40058, None
        media_id = f"MEDIA{next(_ids)}{secrets.token_hex(6)}"
        self.media[media_id] = (found.type, found.filename, content)
        return 0, {"type": found.type, "media_id": media_id, "created_at": str(int(time.time()))}

    # -- HTTP side -----------------------------------------------------------------------------------

    async def _media(self, request: web.Request) -> web.Response:
        data = self._hosted.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _response_url(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        body = await request.json()
        issued = self._response_codes.get(code)
        if issued is None:
            errcode = 40058
        elif issued[1]:
            errcode = 40058  # a response_url answers once
        elif self.clock() - issued[0] > 3600:
            errcode = 40058  # and for an hour
        elif body.get("msgtype") not in ("markdown", "template_card"):
            errcode = 40008
        else:
            errcode = 0
            self._response_codes[code] = (issued[0], True)
        self.response_url_posts.append((code, body, errcode))
        await self._notify()
        return web.json_response({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "fake error"})


def _check_stream(stream: Any) -> int:
    if not isinstance(stream, dict) or not isinstance(stream.get("id"), str) or not stream["id"]:
        return 40058
    content = stream.get("content", "")
    if not isinstance(content, str) or len(content.encode()) > STREAM_LIMIT:
        return 40058
    items = stream.get("msg_item") or []
    if items and not stream.get("finish"):
        return 40058  # images only with finish=true
    if not isinstance(items, list) or len(items) > 10:
        return 40058
    for item in items:
        image = item.get("image", {}) if isinstance(item, dict) else {}
        try:
            data = base64.b64decode(image.get("base64", ""), validate=True)
        except ValueError:
            return 40058
        if not data or hashlib.md5(data).hexdigest() != image.get("md5") or len(data) > 10 * 1024 * 1024:
            return 40058
    return 0


def _check_card(card: Any) -> int:
    if not isinstance(card, dict) or card.get("card_type") not in _CARD_TYPES:
        return 40058
    task_id = card.get("task_id")
    if card["card_type"] != "text_notice" and not (isinstance(task_id, str) and _TASK_ID.fullmatch(task_id)):
        return 40058
    if task_id is not None and not (isinstance(task_id, str) and _TASK_ID.fullmatch(task_id)):
        return 40058
    if card["card_type"] == "button_interaction":
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
            return 40058
        keys = [b.get("key") for b in buttons if isinstance(b, dict)]
        if len(keys) != len(buttons) or len(set(keys)) != len(keys):
            return 40058
        for button in buttons:
            if not isinstance(button.get("text"), str) or not button["text"]:
                return 40058
            if not isinstance(button["key"], str) or not button["key"] or len(button["key"].encode()) > 1024:
                return 40058
    if card["card_type"] == "text_notice":
        # card_action is required on a text_notice: type 0 (no link) or 1 with a url; jump_list ≤ 3 links.
        action = card.get("card_action")
        if not isinstance(action, dict) or action.get("type") not in (0, 1, 2):
            return 42045
        if action["type"] == 1 and not str(action.get("url", "")).startswith(("http://", "https://")):
            return 42045
        jumps = card.get("jump_list", [])
        if not isinstance(jumps, list) or len(jumps) > 3:
            return 40058
        for jump in jumps:
            if not (isinstance(jump, dict) and jump.get("title") and (jump.get("type") != 1 or jump.get("url"))):
                return 40058
    title = card.get("main_title", {})
    if not isinstance(title, dict) or not (title.get("title") or card.get("sub_title_text")):
        return 40058
    return 0
