"""The Telegram adapter: Telegram updates become core `Incoming`s, core `Reply`s become Bot API calls.

Built on python-telegram-bot (PTB): its `Application` owns the bot, the update queue, long polling and
the rate limiter (bot.telegram_pacing: 30 messages a second overall, 20 a minute per group, 429 retry_after
honoured). The adapter never uses PTB's own webhook server: `routes()` gives the project's aiohttp server
the POST /telegram/webhook route, which feeds PTB's update queue.

Which group messages reach the core: with privacy mode on, Telegram only shows a bot commands, replies
to it and @mentions. With privacy mode off (or the bot an admin) it sees all chatter. Every message goes
to the core (but another bot's /command), marked `addressed` when it is a /command, mentions the bot or
replies to it: the core answers reports however they are worded (网易签了) and questions, and stays silent
on chatter (a silent Reply sends nothing), so a group never hears "I did not understand".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    CallbackQuery,
    ChatMemberUpdated,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot.evidence import Download, EvidenceFiles, FetchError
from bot.settings import Settings
from bot.telegram_albums import AlbumGatherer
from bot.telegram_inbound import incoming_from_message
from bot.telegram_outbound import BodyAnswer, TelegramOutbound
from bot.telegram_pacing import GroupBudgets, GroupPacedRateLimiter
from bot.telegram_processing import PerChatUpdateProcessor, TelegramLimits, chat_kind, command_menu
from bot.telegram_render import ANYONE, CallbackCodec
from bot.telegram_updates import (
    ROUTED,
    TolerantBot,
    files_of,
    kinds,
    membership_change,
    migration,
    topic_of,
    unused,
    worth_refusing,
)
from handlers.messages import Incoming, Reply
from handlers.ports import ChatEvents, DeliveryError, MessageHandler

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = list(ROUTED)

ONLY_SENDER = "只有发送者本人可以操作"
BUTTON_EXPIRED = "按钮已过期，请重新发送命令"
INTERNAL_ERROR = "出错了，请稍后再试。"

T = TypeVar("T")

_WORD_SPLIT = re.compile(r"[\s,;:#]+")  # after NFKC, where ，；：＃ have become ASCII


class TelegramAdapter:
    """The Telegram side of the bot; also the Telegram `Messenger` scheduled jobs post through."""

    platform = "telegram"

    def __init__(
        self, settings: Settings, handle: MessageHandler, *, limits: TelegramLimits | None = None,
        events: ChatEvents | None = None, files: EvidenceFiles | None = None,
    ) -> None:
        """`events` hears of groups that moved or were lost; `files` downloads the evidence an accepted
        message stored (without it, nothing is ever downloaded)."""
        self._settings = settings
        self._handle = handle
        self._events = events
        self._files = files
        self._sweep: asyncio.Task[int] | None = None
        self._downloads: set[asyncio.Task[int]] = set()
        self._limits = limits or TelegramLimits()
        self._group_budgets = GroupBudgets(*self._limits.group)
        self._codec = CallbackCodec()
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._processor = PerChatUpdateProcessor(self._limits.max_concurrent_updates)
        self._albums = AlbumGatherer(self._on_album, wait=self._limits.album_wait)
        self._out = TelegramOutbound(lambda: self.application.bot, limits=self._limits, codec=self._codec,
                                     group_budgets=self._group_budgets, events=events)
        self.username = ""
        self.bot_id = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        """The running PTB application (after `start`)."""
        if self._app is None:
            raise RuntimeError("the Telegram adapter is not started")
        return self._app

    @property
    def webhook_url(self) -> str:
        """The public URL given to setWebhook; a bare origin gets /telegram/webhook appended."""
        url = self._settings.telegram_webhook_url.strip()
        if url and urlsplit(url).path in ("", "/"):
            url = url.rstrip("/") + WEBHOOK_PATH
        return url

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        api = self._settings.telegram_api_url.rstrip("/")
        limits = self._limits
        # The bot is built here rather than by the builder so that it is a TolerantBot; the requests are the
        # builder's defaults (256 pooled connections for sends, one for getUpdates).
        bot = TolerantBot(
            token=self._settings.telegram_token.get_secret_value(),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(connection_pool_size=256),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
            rate_limiter=GroupPacedRateLimiter(
                self._group_budgets,
                overall_max_rate=limits.overall[0],
                overall_time_period=limits.overall[1],
                max_retries=limits.max_retries_429,
            ),
        )
        return (
            ApplicationBuilder()
            .bot(bot)
            .concurrent_updates(self._processor)
            .job_queue(None)  # scheduling is APScheduler's job in jobs/, not PTB's
            .build()
        )

    async def start(self, *, receive: bool = True, register: bool = True) -> None:
        """Connect (getMe), publish the command menu, then poll or register the webhook.

        With ``receive=False`` only connect, to send (`zsbot jobs run` beside a running `zsbot run`:
        Telegram allows a single getUpdates consumer, and the webhook belongs to the server). With
        ``register=False`` serve the webhook another process registered (a secondary worker: bot.workers).
        """
        webhook = self.webhook_url if receive else ""
        secret = self._settings.telegram_webhook_secret.get_secret_value()
        if webhook and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("ZSBOT_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        app = self._build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        await app.initialize()  # calls getMe
        self._app = app
        self.username = app.bot.username or ""
        self.bot_id = app.bot.id
        if not receive:
            return
        if self._files is not None and register:  # what a restart left undownloaded (file ids never expire)
            self._sweep = asyncio.create_task(self._files.fetch_pending(self.platform, self.fetch))
        if not register:
            if not webhook:
                raise ValueError("only a webhook can be shared between workers")
            await app.start()
            return
        await self._publish_commands()
        await app.start()
        if webhook:
            await app.bot.set_webhook(url=webhook, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            log.info("telegram: webhook mode as @%s", self.username)
        else:
            assert app.updater is not None
            # start_polling deletes any webhook first, as getUpdates refuses to work alongside one.
            await app.updater.start_polling(
                poll_interval=0, timeout=timedelta(seconds=self._limits.poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: polling as @%s", self.username)

    async def stop(self) -> None:
        """Stop polling, finish the updates in hand, close the HTTP client. The webhook stays set."""
        app = self._app
        if app is None:
            return
        if self._sweep is not None:
            self._sweep.cancel()
            await asyncio.gather(self._sweep, return_exceptions=True)
            self._sweep = None
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await self._albums.close()  # an album still gathering is answered, not dropped
        await asyncio.gather(*self._downloads, return_exceptions=True)  # a download in hand finishes
        if app.running:
            await app.stop()  # waits for the updates in hand, which still need the bot to answer
        await app.shutdown()
        self._app = None

    async def _publish_commands(self) -> None:
        try:
            await self.application.bot.set_my_commands(command_menu())
        except TelegramError as err:  # the menu is a convenience: never a reason not to start
            log.warning("telegram: setMyCommands failed: %s", err)

    # -- webhook -----------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp route for Telegram's webhook POSTs."""
        return [web.post(WEBHOOK_PATH, self._webhook)]

    async def _webhook(self, request: web.Request) -> web.Response:
        secret = self._settings.telegram_webhook_secret.get_secret_value()
        given = request.headers.get(SECRET_HEADER)
        if not secret or given is None or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        app = self._app
        if app is None or not app.running:
            return web.Response(status=503, text="not running")  # Telegram retries later
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an Update")
        except Exception as err:  # any malformed body: tell the sender, never crash the server
            log.warning("telegram: unreadable webhook body (%s)", type(err).__name__)
            return web.Response(status=400, text="bad update")
        if unused(data):  # a poll, a reaction, an edit …: acknowledged, so Telegram does not send it again
            log.info("telegram: update %s (%s) not used", data["update_id"], ", ".join(kinds(data)))
            return web.Response(text="ok")
        try:
            update = Update.de_json(data, app.bot)
            # PTB builds objects without the fields the Bot API always sends: a message with no chat, a
            # button press with no sender. Such a body is no Update, however well formed its JSON.
            if (update.message is not None and update.message.chat is None) or (
                    update.callback_query is not None and update.callback_query.from_user is None):
                raise ValueError("a required field is missing")
            chat = update.effective_chat
            if chat is not None and type(chat.id) is not int:  # it keys the chat's turn below (bool is no id)
                raise ValueError("chat id is not an integer")
        except Exception as err:
            # One line, no traceback. An update in a shape this PTB cannot read (a poll from a newer Bot API)
            # that holds nothing the bot would act on is acknowledged: a retry would fail the same way.
            if not worth_refusing(data):
                log.info("telegram: update %s (%s) cannot be parsed (%s); skipped", data["update_id"],
                         ", ".join(kinds(data)), type(err).__name__)
                return web.Response(text="ok")
            log.warning("telegram: update %s (%s) refused: %s", data["update_id"], ", ".join(kinds(data)),
                        f"{type(err).__name__}: {err}"[:200])
            return web.Response(status=400, text="bad update")
        if not self._limits.webhook_replies:
            # Queued, not awaited: the answer goes out by its own request.
            await app.update_queue.put(update)
            return web.Response(text="ok")
        # Handled while Telegram waits (milliseconds; it allows far more), in the chat's turn like a
        # polled update, so the answer can ride on the response instead of costing a request. PTB's
        # update queue and dispatch are skipped: this adapter has exactly one handler.
        body = BodyAnswer()
        async with self._processor.chat_turn(chat.id) if chat is not None else contextlib.nullcontext():
            await self._route(update, body)
        if body.method is not None:
            return web.json_response(body.method)
        return web.Response(text="ok")

    # -- incoming ----------------------------------------------------------------------------------

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: error while processing %r", update, exc_info=context.error)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A polled (or queued) update."""
        await self._route(update, None)

    async def _route(self, update: Update, body: BodyAnswer | None) -> None:
        """Route one update; nothing escapes, so a failure never loses the next update."""
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message, body)
            elif update.my_chat_member is not None:
                await self._on_membership(update.my_chat_member)
            # Edited messages, channel posts and the rest are ignored on purpose.
        except Exception:
            log.exception("telegram: update %s failed", update.update_id)

    async def _on_message(self, message: Message, body: BodyAnswer | None = None) -> None:
        moved = migration(message)
        if moved is not None:  # the service message of a group upgraded to a supergroup
            if self._events is not None:
                await self._events.chat_moved(self.platform, *moved)
            return
        if message.media_group_id and (message.photo or message.document):
            self._albums.add(message)  # answered once the whole album is here (bot.telegram_albums)
            return
        incoming = incoming_from_message(message, username=self.username, bot_id=self.bot_id)
        if incoming is None:
            return
        reply = await self._handle_safely(incoming)
        reply_to = message.message_id if incoming.chat_kind == "group" else None
        await self._out.deliver_logged(message.chat.id, reply, owner=incoming.user_id, reply_to=reply_to, body=body,
                                   thread_id=incoming.thread_id)
        self._fetch_evidence(incoming, reply)

    async def _on_album(self, parts: list[Message]) -> None:
        """An album as one message: the caption's words with every part's files, keyed by its first part."""
        first = parts[0]
        captioned = next((part for part in parts if part.caption or part.text), first)
        incoming = incoming_from_message(captioned, username=self.username, bot_id=self.bot_id)
        if incoming is None:
            return
        incoming = replace(incoming, message_id=f"{first.chat.id}:{first.message_id}",
                           files=tuple(item for part in parts for item in files_of(part)))
        async with self._processor.chat_turn(first.chat.id):
            reply = await self._handle_safely(incoming)
            reply_to = captioned.message_id if incoming.chat_kind == "group" else None
            await self._out.deliver_logged(first.chat.id, reply, owner=incoming.user_id, reply_to=reply_to, body=None,
                                       thread_id=incoming.thread_id)
        self._fetch_evidence(incoming, reply)

    def _fetch_evidence(self, incoming: Incoming, reply: Reply) -> None:
        """Download the evidence the core just stored, in the background: the answer does not wait for it,
        nor does the chat's next message."""
        if not (reply.evidence and self._files is not None):
            return
        task = asyncio.create_task(self._files.fetch_for_message(self.platform, incoming.message_id, self.fetch))
        self._downloads.add(task)
        task.add_done_callback(self._downloaded)

    async def downloads_done(self) -> None:
        """Wait for the albums being gathered, then the evidence downloads (and the start-up sweep) under way."""
        await self._albums.idle()
        while self._downloads or (self._sweep is not None and not self._sweep.done()):
            await asyncio.gather(*self._downloads, *([self._sweep] if self._sweep else []), return_exceptions=True)

    def _downloaded(self, task: asyncio.Task[int]) -> None:
        self._downloads.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the row stays pending: the next sweep
            log.error("telegram: evidence download failed: %r", task.exception())

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        """The bot was removed from a group, or added back: pause or resume its binding."""
        found = membership_change(change)
        if found is None or self._events is None:
            return
        what, reason = found
        if what == "lost":
            await self._events.chat_lost(self.platform, str(change.chat.id), reason)
        else:
            await self._events.chat_back(self.platform, str(change.chat.id))

    async def fetch(self, file_id: str, limit: int) -> Download:
        """Download one file for bot.evidence (getFile serves at most 20 MB; `limit` is ours)."""
        try:
            tg_file = await self._out.call(self.application.bot.get_file, file_id=file_id)
            if tg_file.file_size is not None and tg_file.file_size > limit:
                raise FetchError(f"{tg_file.file_size} bytes", too_large=True)
            content = bytes(await tg_file.download_as_bytearray())
        except BadRequest as err:  # "file is too big", "invalid file_id"
            raise FetchError(str(err), too_large="too big" in str(err).lower()) from err
        except TelegramError as err:
            raise FetchError(str(err), permanent=False) from err
        name = Path(tg_file.file_path or "").name
        return Download(content, name)

    async def _handle_safely(self, incoming: Incoming) -> Reply:
        try:
            return await self._handle(incoming)
        except Exception:
            log.exception("telegram: the core failed on message %s", incoming.message_id)
            return Reply(text=INTERNAL_ERROR, ok=False)

    async def _on_callback(self, query: CallbackQuery) -> None:
        owner, command = self._codec.decode(query.data or "")
        presser = str(query.from_user.id)
        if owner not in (ANYONE, presser):
            await self._out.call_logged(query.answer, text=ONLY_SENDER, show_alert=True)
            return
        if command is None:
            await self._out.call_logged(query.answer, text=BUTTON_EXPIRED, show_alert=True)
            return
        pressed = query.message if isinstance(query.message, Message) else None
        chat = query.message.chat if query.message is not None else None
        kind = chat_kind(chat.type) if chat is not None else "private"
        chat_id = chat.id if chat is not None else query.from_user.id
        incoming = Incoming(
            platform=self.platform,
            user_id=presser,
            text=command,
            chat_id=str(chat_id),
            chat_kind=kind or "group",
            display_name=query.from_user.full_name or "",
            message_id=f"cb:{query.id}",
            is_button=True,
            thread_id=topic_of(pressed),
        )
        reply = await self._handle_safely(incoming)
        await self._out.call_logged(query.answer)
        await self._out.show_outcome(chat_id, pressed, reply, presser, thread_id=incoming.thread_id)

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Post `reply` into a chat, in its forum topic `thread_id` if any (Messenger port); raises
        DeliveryError after retries fail (`gone` when the bot lost the chat itself)."""
        if self._app is None:
            raise DeliveryError("the Telegram adapter is not started")
        await self._out.send(chat_id, reply, thread_id=thread_id)


__all__ = ["ALLOWED_UPDATES", "WEBHOOK_PATH", "TelegramAdapter", "TelegramLimits"]
