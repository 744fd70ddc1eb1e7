"""The 智能机器人 adapter: a callback body becomes one `Incoming`, the core's `Reply` is answered in place.

- A group @-mention or a direct message is `wecom:<userid>` (the same identity as the app's, so a member
  keeps squad, history and roles), chat = the group's chatid or the userid, the mention stripped,
  `aibot:<msgid>` the dedupe key (WeCom redelivers). In a group the bot only ever sees messages that
  @-mention it, so every one is addressed to it. Its chats are posted to through `wecom-bot`.
- Images and files are evidence: those of a mixed (text and image) message go with its text; one sent
  alone in the direct chat is held for the sender's next report (bot.wecom_bot.media).
- The answer goes in place within WeCom's limits: the reply frame (long connection) or the HTTP answer
  (callback mode); if that fails or comes too late, the message's response_url (once, for an hour), else a
  proactive post to the chat.
- A card click (`template_card_event`) is the pressed button's command, sent by the presser, through the
  same core path as Telegram's buttons; only the sender of the message the card answers may press it, and
  the card is then updated to show the outcome.
- `enter_chat` (the first visit of the day to the direct chat) is answered with a welcome that explains
  how to join.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bot.wecom_bot import frames, media, render
from bot.wecom_bot.connection import BotApiError
from bot.wecom_bot.sender import BotSender
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.ports import MessageHandler
from handlers.undo_button import offers_undo

log = logging.getLogger(__name__)

PLATFORM = "wecom"  # the identity's platform: wecom:<userid>, as with the app
VIA = "wecom-bot"  # the messenger of the chats the AI bot is in
_RECENT_LIMIT = 4096  # message ids whose answer was delivered, to skip re-answering a redelivery
INTERNAL_ERROR = "⚠️ 系统出错，本条可能没有保存，请稍后重发（重发不会重复记录）。"
NO_FILES_HERE = "（回调模式不能发送文件：请配置智能机器人的长连接，或在企业微信应用里发送同样的命令。）"


class ReplyFailed(Exception):
    """An answer in place that can no longer be given (callback mode, after its HTTP answer)."""


class Answer(Protocol):
    """How one callback is answered in place: the long connection's reply frames, or callback mode's HTTP."""

    confirms: bool  # a successful reply is known to have arrived (an acknowledgement, not a hope)

    async def reply(self, body: dict[str, Any]) -> None:
        """Answer the message (BotApiError or ReplyFailed when it cannot)."""
        ...

    async def welcome(self, body: dict[str, Any]) -> None:
        """Answer an enter_chat."""
        ...

    async def update_card(self, card: dict[str, Any], userids: list[str] | None = None) -> None:
        """Replace the clicked card, for everyone or for `userids`."""
        ...


class FrameAnswer:
    """Answers over the long connection, with the callback frame's req_id."""

    confirms = True

    def __init__(self, sender: BotSender, req_id: str, chat_id: str) -> None:
        """Reply through `sender` to the frame `req_id` of `chat_id`."""
        self._sender = sender
        self._req_id = req_id
        self._chat_id = chat_id

    async def reply(self, body: dict[str, Any]) -> None:
        """aibot_respond_msg."""
        await self._sender.respond(self._req_id, self._chat_id, body)

    async def welcome(self, body: dict[str, Any]) -> None:
        """aibot_respond_welcome_msg."""
        await self._sender.welcome(self._req_id, body)

    async def update_card(self, card: dict[str, Any], userids: list[str] | None = None) -> None:
        """aibot_respond_update_msg."""
        await self._sender.update_card(self._req_id, card, userids)


class _KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def message_id(msgid: str) -> str:
    """The core's dedupe key of a WeCom AI-bot message or event."""
    return f"aibot:{msgid}"


class BotAdapter:
    """Translates the 智能机器人's callbacks for the core and answers them; one per process."""

    def __init__(self, handle: MessageHandler, http: aiohttp.ClientSession, *, files_dir: Path,
                 bot_id: str = "", media_key: str = "", sender: BotSender | None = None) -> None:
        """`sender` is the long connection's (None in a process that only has callback mode); `media_key`
        decrypts callback mode's media (the EncodingAESKey)."""
        self._handle = handle
        self._http = http
        self._files = files_dir
        self._held = media.HeldFiles(files_dir / "held")
        self._bot_id = bot_id
        self._media_key = media_key
        self.sender = sender
        self._chats = _KeyedLocks()
        self._answered: OrderedDict[str, None] = OrderedDict()

    async def on_frame(self, frame: dict[str, Any]) -> None:
        """A callback frame from the long connection (its headers checked by the connection)."""
        sender = self.sender
        if sender is None:
            return
        body = frame.get("body")
        chat = ""
        if isinstance(body, dict):  # the pacing key; the body itself is checked by dispatch
            sender_of = body.get("from")
            chat = str(body.get("chatid") or (sender_of.get("userid") if isinstance(sender_of, dict) else ""))
        await self.dispatch(body, FrameAnswer(sender, frame["headers"]["req_id"], chat))

    async def dispatch(self, body: object, answer: Answer) -> None:
        """Read a callback body and handle it; a malformed or forged one is refused (logged, unanswered)."""
        try:
            parsed = frames.read_callback(body, bot_id=self._bot_id)
        except frames.FrameError as exc:
            log.warning("WeCom AI bot: a callback refused: %s", exc.reason)
            return
        if isinstance(parsed, frames.BotEvent):
            await self._event(parsed, answer)
        else:
            await self._message(parsed, answer)

    # -- messages --------------------------------------------------------------------------------------

    async def _message(self, msg: frames.BotMessage, answer: Answer) -> None:
        if msg.msgtype == "stream":
            return  # a refresh of a stream: ours are finished in their first frame
        async with self._chats.hold(msg.chat_id):
            files = await self._download(msg)
            text = frames.strip_mentions(msg.text) if msg.group else msg.text
            if files and not text.strip() and not msg.group:
                held = await self._held.hold(msg.user, files)
                note = Reply(text=f"📎 已收到，现有 {held} 个附件等待归档：30 分钟内发送的下一条报送（例如「签约 #12」）"
                                  "会把它们作为佐证保存到该项目。也可以把文字和图片放在同一条消息里发送。")
                await self._answer(msg, answer, note)
                return
            held_files = await self._held.peek(msg.user) if not msg.group else ()
            incoming = Incoming(
                platform=PLATFORM, user_id=msg.user, text=text, chat_id=msg.chat_id,
                chat_kind="group" if msg.group else "private", display_name=msg.user,
                message_id=message_id(msg.msgid), files=files + held_files,
                sent_at=datetime.fromtimestamp(msg.create_time, tz=UTC) if msg.create_time else None,
                addressed=msg.group, via=VIA,
            )
            reply = await self._core(incoming)
            if held_files and offers_undo(reply):  # an update was stored
                await self._held.release(msg.user, held_files)
            await self._answer(msg, answer, reply)

    async def _core(self, incoming: Incoming) -> Reply:
        try:
            return await self._handle(incoming)
        except Exception:
            log.exception("WeCom AI bot: the core failed on message %s", incoming.message_id)
            return Reply(text=INTERNAL_ERROR, ok=False)

    async def _download(self, msg: frames.BotMessage) -> tuple[IncomingFile, ...]:
        kept: list[IncomingFile] = []
        for index, ref in enumerate(msg.media):
            try:
                data = await media.fetch(self._http, ref, fallback_key=self._media_key)
                kept.append(await media.keep(self._files, msg.msgid, index, ref, data))
            except (media.MediaError, OSError) as exc:
                log.error("WeCom AI bot: %s of message %s not kept: %s", ref.kind, msg.msgid[:40], exc)
        return tuple(kept)

    async def _answer(self, msg: frames.BotMessage, answer: Answer, reply: Reply) -> None:
        """Answer in place; else by the response_url, else by a post to the chat."""
        if reply.silent:
            return
        if msg.msgid in self._answered:
            log.info("WeCom AI bot: message %s redelivered; its answer was delivered already", msg.msgid[:40])
            return
        if reply.file is not None and self.sender is None:
            reply = Reply(text=f"{reply.text}\n{NO_FILES_HERE}", markdown=None, image=reply.image,
                          buttons=reply.buttons, mentions=reply.mentions, ok=reply.ok)
        image = await media.fit_image(reply.image)
        body, rest = render.reply_bodies(reply, msg.user, image=image)
        try:
            await answer.reply(body)
        except (BotApiError, ReplyFailed) as exc:
            log.warning("WeCom AI bot: answer to %s not given in place (%s); trying its response_url",
                        msg.msgid[:40], exc)
            if await self._fallback(msg.chat_id, msg.user, msg.response_url, reply):
                self._remember(msg.msgid)
            return
        try:
            for piece in rest:
                await self._push(msg.chat_id, {"msgtype": "markdown", "markdown": {"content": piece}})
            if reply.file is not None and self.sender is not None:
                media_id = await self.sender.upload("file", reply.file.name, reply.file.content)
                await answer.reply({"msgtype": "file", "file": {"media_id": media_id}})
        except (BotApiError, ReplyFailed) as exc:
            log.error("WeCom AI bot: the rest of the answer to %s not delivered: %s", msg.msgid[:40], exc)
        if answer.confirms:
            self._remember(msg.msgid)

    def _remember(self, msgid: str) -> None:
        self._answered[msgid] = None
        while len(self._answered) > _RECENT_LIMIT:
            self._answered.popitem(last=False)

    async def _push(self, chat_id: str, body: dict[str, Any]) -> None:
        if self.sender is None:
            raise ReplyFailed("no long connection to post with")
        await self.sender.push(chat_id, body)

    async def _fallback(self, chat_id: str, owner: str, response_url: str, reply: Reply) -> bool:
        """The reply by the response_url (its markdown, once), the rest (or all of it) posted to the chat."""
        posts = render.post_bodies(reply, owner)
        by_url = bool(response_url and posts and await self._response_url(response_url, posts[0]))
        if by_url:
            posts = posts[1:]
        if not (posts or reply.image is not None or reply.file is not None):
            return by_url
        if self.sender is None or not self.sender.connected:
            if by_url:
                log.warning("WeCom AI bot: an answer to chat %s went by its response_url without its buttons, "
                            "chart or file (no connection to post them with)", chat_id[:40])
            else:
                log.error("WeCom AI bot: an answer to chat %s is lost (no connection to post with)", chat_id[:40])
            return by_url
        try:
            for body in posts:
                await self._push(chat_id, body)
            image = await media.fit_image(reply.image)
            if image is not None:
                media_id = await self.sender.upload("image", reply.image_name, image)
                await self._push(chat_id, {"msgtype": "image", "image": {"media_id": media_id}})
            if reply.file is not None:
                media_id = await self.sender.upload("file", reply.file.name, reply.file.content)
                await self._push(chat_id, {"msgtype": "file", "file": {"media_id": media_id}})
        except (BotApiError, ReplyFailed) as exc:
            log.error("WeCom AI bot: posting an answer to chat %s failed: %s", chat_id[:40], exc)
            return by_url
        return True

    async def _response_url(self, url: str, body: dict[str, Any]) -> bool:
        try:
            async with self._http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=15)) as response:
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("WeCom AI bot: response_url failed: %s", type(exc).__name__)
            return False
        errcode = data.get("errcode", -1) if isinstance(data, dict) else -1
        if errcode != 0:
            log.warning("WeCom AI bot: response_url refused the answer (errcode %s)", errcode)
        return errcode == 0

    # -- events ----------------------------------------------------------------------------------------

    async def _event(self, event: frames.BotEvent, answer: Answer) -> None:
        if event.eventtype == frames.ENTER_CHAT:
            try:
                await answer.welcome({"msgtype": "text", "text": {"content": render.WELCOME}})
            except (BotApiError, ReplyFailed) as exc:
                log.warning("WeCom AI bot: welcome not sent: %s", exc)
        elif event.eventtype == frames.TEMPLATE_CARD_EVENT:
            await self._click(event, answer)
        else:
            log.debug("WeCom AI bot: %s event ignored", event.eventtype)

    async def _click(self, event: frames.BotEvent, answer: Answer) -> None:
        pressed = render.read_key(event.event_key)
        if pressed is None or not event.task_id:
            log.warning("WeCom AI bot: a card click refused: not one of our buttons")
            return
        owner, command = pressed
        if owner not in (render.ANYONE, event.user):
            with contextlib.suppress(BotApiError, ReplyFailed):
                await answer.update_card(render.only_sender_card(event.task_id), [event.user])
            return
        incoming = Incoming(
            platform=PLATFORM, user_id=event.user, text=command, chat_id=event.chat_id,
            chat_kind="group" if event.group else "private", display_name=event.user,
            message_id=message_id(event.msgid), is_button=True, addressed=True, via=VIA,
        )
        async with self._chats.hold(event.chat_id):
            reply = await self._core(incoming)
        if reply.silent:
            return
        card = render.card(reply, event.user, task_id=event.task_id, detail=True)
        try:
            await answer.update_card(card)
            updated = True
        except (BotApiError, ReplyFailed) as exc:
            log.warning("WeCom AI bot: card not updated after a click (%s); posting the outcome", exc)
            updated = False
        if updated and render.card_holds(reply) and reply.image is None and reply.file is None:
            return
        # What the card cannot show goes after it: all of the outcome, or just its chart and file.
        rest = reply if not (updated and render.card_holds(reply)) else Reply(
            text="", image=reply.image, image_name=reply.image_name, file=reply.file)
        await self._fallback(event.chat_id, event.user, event.response_url, rest)
