"""A local fake of the Telegram Bot API, served over real HTTP on the loopback interface.

It speaks the wire format python-telegram-bot uses: POST /bot<token>/<method> with a form-encoded body
(every non-string value JSON-encoded, as PTB's `RequestData.json_parameters` does) or a multipart body
when a file is uploaded; JSON bodies are accepted too. Answers are the Bot API's envelope
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …, "parameters": …}``.

What it does beyond answering: records every call, serves queued updates to getUpdates (long polling,
honouring offset and, briefly, timeout), stores uploaded and registered files for getFile and
download, hands out increasing message ids, checks that HTML text parses and fits the length limits,
injects 429/5xx on demand, and optionally enforces flood limits (answering 429 with retry_after).
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import itertools
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

JSON_FIELDS = {
    "reply_markup", "reply_parameters", "commands", "allowed_updates", "scope", "link_preview_options",
    "entities", "caption_entities",
}
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span",
    "blockquote", "tg-emoji",
}


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class ApiCall:
    """One request the fake received and the HTTP status it answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Bucket:
    """A leaky bucket: `capacity` requests at once, draining at `rate` per second."""

    capacity: float
    rate: float
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> float:
        """Take one slot; returns 0 when allowed, else the seconds until a slot frees."""
        self.level = max(0.0, self.level - (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level + 1 > self.capacity:
            return (self.level + 1 - self.capacity) / self.rate
        self.level += 1
        return 0.0


class _HtmlChecker(html.parser.HTMLParser):
    """Validates Telegram HTML (known tags, balanced, no bare <, > or &) and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise ValueError(f"Unsupported start tag \"{tag}\"")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ValueError(f"Unmatched end tag \"{tag}\"")

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            raise ValueError("unescaped <, > or &")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise ValueError(f"unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram would show, raising ValueError where Telegram cannot parse entities."""
    if parse_mode != "HTML":
        return text
    if re.search(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)", text):
        raise ValueError("unescaped &")
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise ValueError(f"Unclosed tag \"{checker.stack[-1]}\"")
    return "".join(checker.text)


def _too_many(retry_after: float | None) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error answer: HTTP status, description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class FakeBotApi:
    """The fake server. Use as ``async with FakeBotApi() as api:`` and point the bot at ``api.url``."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_id: int = 777000,
        username: str = "zs_test_bot",
        max_poll_wait: float = 0.3,
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id, "is_bot": True, "first_name": "招商助手", "username": username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.max_poll_wait = max_poll_wait
        self.url = ""
        self.calls: list[ApiCall] = []
        self.webhook: dict[str, Any] = {}
        self.commands: list[dict[str, Any]] = []
        self.messages: dict[tuple[str, int], dict[str, Any]] = {}  # (chat_id, message_id) → message
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, content)
        self.blocked_chats: set[str] = set()  # answer 403 "bot was blocked by the user"
        self.kicked_chats: set[str] = set()  # answer 403 "bot was kicked from the supergroup chat"
        self.missing_chats: set[str] = set()  # answer 400 "chat not found"
        self.rejected_chats: dict[str, str] = {}  # answer 400 with this description (no rights to post …)
        # A group upgraded to a supergroup: a send to the old id answers 400 with migrate_to_chat_id.
        self.migrated_chats: dict[str, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._failures: dict[str, list[tuple[int, float | None]]] = {}
        self._overall: _Bucket | None = None
        self._groups: dict[str, _Bucket] = {}
        self._group_limit: tuple[float, float] | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
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

    # -- test controls -----------------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int = 429, retry_after: float | None = 1, times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429 carries retry_after seconds)."""
        for _ in range(times):
            self._failures.setdefault(method, []).append((status, retry_after if status == 429 else None))

    def enforce_limits(
        self, overall: tuple[float, float] | None = (30, 1.0), group: tuple[float, float] | None = (20, 60.0),
        tolerance: float = 1,
    ) -> None:
        """Answer 429 past `overall` (count, seconds) for all chats or `group` per group chat.

        Modelled as leaky buckets (a burst of `count`, then `count` per period), the way Telegram's
        flood control behaves in practice and the way PTB's AIORateLimiter paces; `tolerance` extra
        slots absorb loopback jitter between the client's clock and ours.
        """
        self._overall = _Bucket(overall[0] + tolerance, overall[0] / overall[1]) if overall else None
        self._group_limit = (group[0] + tolerance, group[0] / group[1]) if group else None
        self._groups.clear()

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates, giving it the next update_id unless it has one."""
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update

    def add_file(
        self, content: bytes, file_name: str = "file.bin", folder: str = "documents"
    ) -> dict[str, Any]:
        """Store a file the bot can fetch; returns the file fields (file_id, file_unique_id, size)."""
        n = next(self._file_ids)
        file_id = f"FILE{n:04d}"
        self.files[file_id] = (f"{folder}/file_{n}_{file_name}", content)
        return {"file_id": file_id, "file_unique_id": f"U{n:04d}", "file_size": len(content)}

    def calls_to(self, method: str, *, ok_only: bool = False) -> list[ApiCall]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0) -> list[ApiCall]:
        """Wait up to `within` seconds until `count` successful calls of `method` were recorded."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method, ok_only=True)) >= count)
        return self.calls_to(method, ok_only=True)

    async def post_update(self, webhook_url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to a webhook the way Telegram does; returns the HTTP status.

        A Bot API method in the answer's body is then executed, as Telegram does ("Making requests when
        getting updates"), and recorded like any call.
        """
        update.setdefault("update_id", next(self._update_ids))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with ClientSession() as session, session.post(webhook_url, json=update, headers=headers) as r:
            answer = await r.json() if r.status == 200 and r.content_type == "application/json" else None
            status = r.status
        if isinstance(answer, dict) and "method" in answer:
            await self._run_answer(answer)
        return status

    async def _run_answer(self, answer: dict[str, Any]) -> None:
        """Execute a webhook answer's method (its result goes nowhere, as on Telegram)."""
        params = {key: value if isinstance(value, str) or key in JSON_FIELDS else json.dumps(value)
                  for key, value in answer.items() if key != "method"}
        call = ApiCall(str(answer["method"]), params, {})
        try:
            await self._dispatch(call.method, call)
        except ApiError as err:
            call.status = err.status
        self.calls.append(call)
        await self._notify()

    # -- update builders ---------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "张", last_name: str = "三") -> dict[str, Any]:
        """A Telegram User object."""
        return {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name}

    def chat(self, chat_id: int) -> dict[str, Any]:
        """A Chat object: negative ids are supergroups, positive ones private chats."""
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "招商一队"}
        return {"id": chat_id, "type": "private", "first_name": "张"}

    def message_update(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        caption: str | None = None,
        photo: dict[str, Any] | None = None,
        document: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        edited: bool = False,
        media_group_id: str | None = None,
        forwarded_from: int | None = None,
        topic: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """An update carrying a message (text, or a photo/document with a caption); `forwarded_from` makes it
        a forward of that user's message, `topic` puts it in a forum topic."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": self.chat(chat_id),
            "from": self.user(user_id),
        }
        if language_code is not None:
            message["from"]["language_code"] = language_code
        if forwarded_from is not None:
            message["forward_origin"] = {"type": "user", "date": int(time.time()) - 60,
                                         "sender_user": self.user(forwarded_from, "李", "四")}
        if topic is not None:
            message["chat"]["is_forum"] = True
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if caption is not None:
            message["caption"] = caption
        if photo is not None:
            sizes = [dict(photo, width=90, height=90, file_size=photo["file_size"] // 4 or 1),
                     dict(photo, width=800, height=600)]
            sizes[0]["file_id"] = photo["file_id"] + "-thumb"
            message["photo"] = sizes
        if document is not None:
            message["document"] = document
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        return {"edited_message" if edited else "message": message}

    def migration_updates(self, old_chat_id: int, new_chat_id: int, user_id: int) -> list[dict[str, Any]]:
        """The two service messages of a group upgraded to a supergroup: `migrate_to_chat_id` in the old
        (basic) group, `migrate_from_chat_id` in the new supergroup."""
        old = {"id": old_chat_id, "type": "group", "title": "招商一队"}
        new = {"id": new_chat_id, "type": "supergroup", "title": "招商一队"}
        return [
            {"message": {"message_id": next(self._message_ids), "date": int(time.time()), "chat": old,
                         "from": self.user(user_id), "migrate_to_chat_id": new_chat_id}},
            {"message": {"message_id": 1, "date": int(time.time()), "chat": new, "from": self.user(user_id),
                         "migrate_from_chat_id": old_chat_id}},
        ]

    def my_chat_member_update(self, chat_id: int, old: str, new: str, by_user: int = 1) -> dict[str, Any]:
        """The bot's own membership changed in a group (e.g. "member" → "kicked" when removed)."""
        def member(status: str) -> dict[str, Any]:
            found: dict[str, Any] = {"status": status, "user": self.bot_user}
            if status == "kicked":
                found["until_date"] = 0
            if status == "administrator":
                found.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True, can_delete_messages=True,
                             can_manage_video_chats=True, can_restrict_members=True, can_promote_members=False,
                             can_change_info=True, can_invite_users=True, can_post_stories=False,
                             can_edit_stories=False, can_delete_stories=False)
            return found
        return {"my_chat_member": {"chat": self.chat(chat_id), "from": self.user(by_user), "date": int(time.time()),
                                   "old_chat_member": member(old), "new_chat_member": member(new)}}

    def callback_update(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """An update for a press on an inline button of `message` (a message the bot sent)."""
        return {
            "callback_query": {
                "id": f"cq{next(self._message_ids)}", "from": self.user(user_id), "message": message,
                "chat_instance": "ci1", "data": data,
            }
        }

    def sent_messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat, oldest first."""
        ordered = sorted(self.messages.items(), key=lambda kv: kv[0][1])
        return [message for (chat, _), message in ordered if chat == str(chat_id)]

    # -- HTTP --------------------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            for key, value in body.items():
                params[key] = value if isinstance(value, str) or key in JSON_FIELDS else json.dumps(value)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            else:
                params[key] = value if key not in JSON_FIELDS else json.loads(str(value))
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        call = ApiCall(method, params, files)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._dispatch(method, call)
        except ApiError as err:
            call.status = err.status
            body: dict[str, Any] = {"ok": False, "error_code": err.status, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            self.calls.append(call)
            await self._notify()
            return web.json_response(body, status=err.status)
        self.calls.append(call)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, content in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content)
        return web.Response(status=404)

    def _check_limits(self, method: str, params: dict[str, Any]) -> None:
        failures = self._failures.get(method)
        if failures:
            status, retry_after = failures.pop(0)
            if status == 429:
                raise _too_many(retry_after)
            raise ApiError(status, "Internal Server Error" if status == 500 else "Bad Gateway")
        chat_id = str(params.get("chat_id", ""))
        if not chat_id:
            return
        now = time.monotonic()
        waits = []
        if self._overall is not None:
            waits.append(self._overall.take(now))
        if self._group_limit is not None and chat_id.startswith("-"):
            bucket = self._groups.setdefault(chat_id, _Bucket(*self._group_limit))
            waits.append(bucket.take(now))
        wait = max(waits, default=0.0)
        if wait > 0:
            raise _too_many(round(wait, 3))

    async def _dispatch(self, method: str, call: ApiCall) -> Any:
        self._check_limits(method, call.params)
        p = call.params
        if method == "getMe":
            return self.bot_user
        if method == "getUpdates":
            return await self._get_updates(p)
        if method == "setWebhook":
            self.webhook = {k: p.get(k) for k in ("url", "secret_token", "allowed_updates")}
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "setMyCommands":
            self.commands = list(p.get("commands", []))
            return True
        if method == "answerCallbackQuery":
            if not p.get("callback_query_id"):
                raise ApiError(400, "Bad Request: query ID is invalid")
            return True
        if method == "getFile":
            return self._get_file(p)
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            return self._send(method, call)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(method, p)
        raise ApiError(404, "Not Found")

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(p.get("timeout") or 0), self.max_poll_wait)
        if not self._updates and wait > 0:
            async def arrived() -> None:
                async with self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates))

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived(), wait)
        return self._updates[: int(p.get("limit") or 100)]

    def _get_file(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = str(p.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        unique = "U" + file_id.removeprefix("FILE")
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(content), "file_path": path}

    def _check_chat(self, chat_id: str) -> None:
        if not chat_id:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.kicked_chats:
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        if chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.rejected_chats:
            raise ApiError(400, self.rejected_chats[chat_id])
        if chat_id in self.migrated_chats:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self.migrated_chats[chat_id]})

    @staticmethod
    def _check_text(text: str, parse_mode: str | None, limit: int, what: str) -> None:
        try:
            shown = visible_text(text, parse_mode)
        except ValueError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from err
        if what == "text" and not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(shown) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")

    def _upload(self, call: ApiCall, field_name: str) -> tuple[dict[str, Any], UploadedFile]:
        upload = call.files.get(field_name)
        if upload is None:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        return self.add_file(upload.content, upload.filename or field_name, folder=field_name + "s"), upload

    def _send(self, method: str, call: ApiCall) -> dict[str, Any]:
        p = call.params
        chat_id = str(p.get("chat_id", ""))
        self._check_chat(chat_id)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": self.chat(int(chat_id)), "from": self.bot_user,
        }
        if method == "sendMessage":
            self._check_text(str(p.get("text", "")), p.get("parse_mode"), 4096, "text")
            message["text"] = visible_text(str(p["text"]), p.get("parse_mode"))
        else:
            caption = p.get("caption")
            if caption:
                self._check_text(str(caption), p.get("parse_mode"), 1024, "caption")
                message["caption"] = visible_text(str(caption), p.get("parse_mode"))
            if method == "sendPhoto":
                stored, _ = self._upload(call, "photo")
                message["photo"] = [dict(stored, width=800, height=600)]
            else:
                stored, upload = self._upload(call, "document")
                message["document"] = dict(stored, file_name=upload.filename, mime_type=upload.content_type)
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        if p.get("message_thread_id"):
            message["message_thread_id"] = int(p["message_thread_id"])
            message["is_topic_message"] = True
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _edit(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        key = (str(p.get("chat_id", "")), int(p.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = p.get("reply_markup")
        if method == "editMessageText":
            if "text" not in message:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            self._check_text(str(p.get("text", "")), p.get("parse_mode"), 4096, "text")
            text = visible_text(str(p["text"]), p.get("parse_mode"))
            if text == message["text"] and markup == message.get("reply_markup"):
                raise ApiError(400, "Bad Request: message is not modified")
            message["text"] = text
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message


def button_data(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button on a message the bot sent."""
    rows: Iterable[list[dict[str, Any]]] = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]
