"""The WeCom 智能机器人's wire format: commands, frames, and a callback body read into typed parts.

Both modes carry the same JSON body (智能机器人 接收消息 / 接收事件): over the long connection inside
`aibot_msg_callback` and `aibot_event_callback` frames (智能机器人长连接), in callback mode decrypted from
the POST body. A frame is `{"cmd", "headers": {"req_id"}, "body"}`; an acknowledgement has no cmd and
answers with the request's req_id, `errcode` and `errmsg` (and a `body` for uploads).

The command names are Tencent's SDK's own (`aibot.WsCmd`); the upload commands, which its Python
release (1.0.2) lacks, are spelled as in the official Node SDK. Anything that is not the documented shape
is refused with a `FrameError` naming what was wrong, never half-read.
"""

from __future__ import annotations

import re
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

with warnings.catch_warnings():
    # The SDK imports websockets' legacy client, which warns of its deprecation on import; we use none of it.
    warnings.simplefilter("ignore", DeprecationWarning)
    from aibot import WsCmd

SUBSCRIBE = WsCmd.SUBSCRIBE  # aibot_subscribe {bot_id, secret}
PING = WsCmd.HEARTBEAT  # ping
RESPOND = WsCmd.RESPONSE  # aibot_respond_msg: the reply to a message, with its req_id
RESPOND_WELCOME = WsCmd.RESPONSE_WELCOME  # aibot_respond_welcome_msg: to enter_chat, within 5 s
RESPOND_UPDATE = WsCmd.RESPONSE_UPDATE  # aibot_respond_update_msg: a card after a click, within 5 s
SEND = WsCmd.SEND_MSG  # aibot_send_msg: a proactive post to a chat
MSG_CALLBACK = WsCmd.CALLBACK  # aibot_msg_callback
EVENT_CALLBACK = WsCmd.EVENT_CALLBACK  # aibot_event_callback
UPLOAD_INIT = "aibot_upload_media_init"
UPLOAD_CHUNK = "aibot_upload_media_chunk"
UPLOAD_FINISH = "aibot_upload_media_finish"

ENTER_CHAT = "enter_chat"
TEMPLATE_CARD_EVENT = "template_card_event"
DISCONNECTED_EVENT = "disconnected_event"  # a newer connection of this bot took over: this one ends

MAX_TEXT_CHARS = 20_000  # a text message is at most 2048 bytes on WeCom; anything near this is not one
_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,128}")  # msgid, userid, chatid, task_id: printable, no spaces


class FrameError(ValueError):
    """A frame or callback body that is not the documented shape; `reason` says what was wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_id(value: str) -> bool:
    """Whether `value` can be a WeCom msgid, userid, chatid or task_id."""
    return bool(_ID.fullmatch(value))


def new_req_id(cmd: str) -> str:
    """A request id as Tencent's SDK makes them: ``<cmd>_<ms>_<random>``."""
    return f"{cmd}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def frame(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A frame to send."""
    out: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        out["body"] = body
    return out


@dataclass(frozen=True)
class MediaRef:
    """An encrypted image or file a message carries: its download URL (valid five minutes) and key."""

    kind: Literal["image", "file", "video"]
    url: str
    aeskey: str = ""  # per-file key on the long connection; callback mode uses the EncodingAESKey
    name: str = ""


@dataclass(frozen=True)
class BotMessage:
    """A message to the bot: an @-mention in a group or a message in the direct chat."""

    msgid: str
    user: str
    chat_id: str  # the group's chatid, or the user's userid in the direct chat
    group: bool
    msgtype: str
    text: str  # text, the text parts of a mixed message, or a voice message's transcript
    media: tuple[MediaRef, ...] = ()
    response_url: str = ""
    create_time: int = 0


@dataclass(frozen=True)
class BotEvent:
    """An event: entering the direct chat, a template-card click, feedback, or being taken over."""

    msgid: str
    user: str
    chat_id: str
    group: bool
    eventtype: str
    event_key: str = ""
    task_id: str = ""
    response_url: str = ""
    create_time: int = 0


def _id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise FrameError(f"{what} is missing or malformed")
    return value


def _dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FrameError(f"{what} is not an object")
    return value


def _str(value: object, what: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FrameError(f"{what} is not a string")
    if len(value) > limit:
        raise FrameError(f"{what} is too long")
    return value


def _url(value: object, what: str) -> str:
    url = _str(value, what, limit=4096)
    if url and not url.startswith(("https://", "http://")):
        raise FrameError(f"{what} is not an http(s) URL")
    return url


def _media(kind: Literal["image", "file", "video"], value: object) -> MediaRef | None:
    data = _dict(value, kind)
    url = _url(data.get("url"), f"{kind}.url")
    if not url:
        return None
    return MediaRef(kind, url, _str(data.get("aeskey"), f"{kind}.aeskey", limit=256),
                    _str(data.get("filename") or data.get("name"), f"{kind}.filename", limit=255))


def _common(body: dict[str, Any], bot_id: str) -> tuple[str, str, str, bool, int]:
    msgid = _id(body.get("msgid"), "msgid")
    aibotid = body.get("aibotid")
    if bot_id and aibotid is not None and aibotid != bot_id:
        raise FrameError("aibotid is another bot's")
    user = _id(_dict(body.get("from"), "from").get("userid"), "from.userid")
    chattype = body.get("chattype", "single")
    if chattype not in ("single", "group"):
        raise FrameError("chattype is neither single nor group")
    group = chattype == "group"
    chat_id = _id(body.get("chatid"), "chatid") if group else user
    create_time = body.get("create_time", 0)
    if not isinstance(create_time, int) or isinstance(create_time, bool) or create_time < 0:
        create_time = 0
    return msgid, user, chat_id, group, create_time


def read_callback(body: object, *, bot_id: str = "") -> BotMessage | BotEvent:
    """Read a callback body (a message or an event) into typed parts; FrameError when it is malformed.

    `bot_id`, when given, must match the body's aibotid: a body for another bot is refused.
    """
    data = _dict(body, "body")
    msgtype = data.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        raise FrameError("msgtype is missing")
    msgid, user, chat_id, group, created = _common(data, bot_id)
    response_url = _url(data.get("response_url"), "response_url")
    if msgtype == "event":
        event = _dict(data.get("event"), "event")
        eventtype = _str(event.get("eventtype"), "event.eventtype", limit=64)
        if not eventtype:
            raise FrameError("event.eventtype is missing")
        # The click's fields come nested under the event type (as WeCom sends them); the SDK's types show
        # them flat on the event, so both are read, the nested ones first.
        card = event.get(TEMPLATE_CARD_EVENT)
        card = card if isinstance(card, dict) else event
        key = _str(card.get("event_key"), "event_key", limit=1024)
        task = card.get("task_id")
        task_id = _id(task, "task_id") if task else ""
        return BotEvent(msgid, user, chat_id, group, eventtype, key, task_id, response_url, created)
    text = ""
    media: list[MediaRef] = []
    if msgtype == "text":
        text = _str(_dict(data.get("text"), "text").get("content"), "text.content")
    elif msgtype == "voice":
        text = _str(_dict(data.get("voice"), "voice").get("content"), "voice.content")
    elif msgtype == "mixed":
        items = _dict(data.get("mixed"), "mixed").get("msg_item")
        if not isinstance(items, list) or len(items) > 50:
            raise FrameError("mixed.msg_item is not a list")
        parts: list[str] = []
        for item in items:
            item = _dict(item, "mixed item")
            if item.get("msgtype") == "text":
                parts.append(_str(_dict(item.get("text"), "text").get("content"), "text.content"))
            elif item.get("msgtype") == "image" and (ref := _media("image", item.get("image"))) is not None:
                media.append(ref)
        text = "\n".join(part for part in parts if part.strip())
        if len(text) > MAX_TEXT_CHARS:
            raise FrameError("mixed text is too long")
    elif msgtype in ("image", "file", "video"):
        ref = _media(msgtype, data.get(msgtype))  # type: ignore[arg-type]  # narrowed by the test above
        if ref is not None:
            media.append(ref)
    # stream (a refresh of a reply still streaming: ours always finish at once) and types WeCom may add
    # later carry no text: the adapter answers them with nothing.
    return BotMessage(msgid, user, chat_id, group, msgtype, text, tuple(media), response_url, created)


# WeCom writes a mention as "@name" and a special space (U+2005); its docs' example uses a plain space.
_TAGGED_MENTION = re.compile(r"@[^\s@]{1,64}\u2005")
_LEADING_MENTIONS = re.compile(r"^(?:\s*@[^\s@]{1,64}(?:\s+|$))+")


def strip_mentions(text: str) -> str:
    """A group message without the bot's mention (WeCom delivers a group message only when it has one).

    Mentions WeCom tagged with its special space go wherever they are; without one, a plain `@name` only at
    the start, since later in a message `@上海` is how a report names a city. A mention of the bot written elsewhere is
    dropped by the core when the bot's name is one of ZSBOT_BOT_NAMES.
    """
    tagged = _TAGGED_MENTION.sub(" ", text)
    if tagged != text:
        return tagged.strip()
    return _LEADING_MENTIONS.sub("", text, count=1).strip()
