"""The WeCom (企业微信) adapter: a self-built app's message callback in, app messages out.

WeCom POSTs each member's message, encrypted, to /wecom/callback and waits at most five seconds for an
HTTP 200 (otherwise it retries, up to three times, with the same MsgId). So the adapter verifies and
decrypts, hands the core one `Incoming`, and answers 200 with an empty body (WeCom's "no passive reply")
as soon as the core has committed; the `Reply` then goes out through the app API in a background task.
The core deduplicates redeliveries by message id; the adapter only avoids sending the same reply twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.evidence import Download, EvidenceFiles, FetchError
from bot.replays import MemoryReplayGuard, ReplayGuard
from bot.settings import Settings
from bot.wecom_api import MediaTooLarge, WeComApiError, WeComClient
from bot.wecom_crypto import MAX_XML_BYTES, WeComCrypto, WeComCryptoError, parse_xml_fields
from bot.wecom_messengers import WeComAppMessenger
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.ports import DeliveryError, MessageHandler

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
MEDIA_LIFETIME = timedelta(days=3)  # a member's media_id can be fetched for three days (获取临时素材)
# How WeCom (like WeChat) writes a quoted reply into a text message's Content: the quoted message in corner
# brackets, a dashed line, then what the sender wrote. The quote is someone else's words: never run.
_QUOTE = re.compile(r"^「.*?」\n(?:- ){14,}-\n", re.DOTALL)


def own_words(content: str) -> str:
    """A text message's Content without a quoted message in front of it."""
    return _QUOTE.sub("", content, count=1)


class WeComAdapter:
    """Translates WeCom callbacks into `Incoming`s and renders `Reply`s as app messages."""

    def __init__(self, settings: Settings, handle: MessageHandler, client: WeComClient, *,
                 replays: ReplayGuard | None = None, files: EvidenceFiles | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        """Verify callbacks with the app's token, EncodingAESKey and CorpID; answer through `client`.

        `replays` remembers callbacks already run (default: this process's memory), `files` downloads the
        evidence an accepted message stored (default: none), `wall` is the clock callback timestamps are
        checked against (WeCom's servers keep real time, whatever clock the core is given).
        """
        self._crypto = WeComCrypto(settings.wecom_token.get_secret_value(), settings.wecom_aes_key.get_secret_value(),
                                   settings.wecom_corp_id)
        self._agent_id = settings.wecom_agent_id
        self._window = settings.wecom_callback_window_seconds
        self._handle = handle
        self._client = client
        self._messenger = WeComAppMessenger(client)
        self._replays: ReplayGuard = replays if replays is not None else MemoryReplayGuard()
        self._files = files
        self._wall = wall
        self._tasks: set[asyncio.Task[Any]] = set()
        # Messages being handled now, by MsgId: WeCom retries after five seconds, so a slow answer meets its
        # own retry, which waits for the first attempt's outcome instead of running again.
        self._inflight: dict[str, asyncio.Future[int]] = {}

    def routes(self) -> list[web.RouteDef]:
        """The GET (URL verification) and POST (messages) routes for the project's aiohttp app."""
        return [web.get(CALLBACK_PATH, self.verify_url), web.post(CALLBACK_PATH, self.receive)]

    def start(self) -> None:
        """Download in the background what a restart left pending (within the media ids' three days)."""
        if self._files is not None:
            self._spawn(self._files.fetch_pending("wecom", self.fetch, valid_for=MEDIA_LIFETIME))

    async def aclose(self) -> None:
        """Wait for replies and downloads still under way (call before closing the HTTP session)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer WeCom's URL verification with the decrypted echostr."""
        query = request.query
        try:
            plain = self._crypto.verify_url(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
            )
        except KeyError:
            return web.Response(status=400, text="missing parameters")
        except WeComCryptoError as exc:
            log.warning("WeCom URL verification refused: %s", exc.kind)
            return web.Response(status=exc.http_status, text=exc.kind)
        return web.Response(text=plain, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """Verify, decrypt and hand one message to the core; acknowledge once it has committed.

        A signed envelope whose timestamp is outside ±ZSBOT_WECOM_CALLBACK_WINDOW_SECONDS is refused (403),
        and one that already ran (its MsgId) is acknowledged without running again.
        """
        query = request.query
        if not all(query.get(name) for name in ("msg_signature", "timestamp", "nonce")):
            return web.Response(status=400, text="missing parameters")
        if request.content_length is not None and request.content_length > MAX_XML_BYTES:
            return web.Response(status=400, text="too large")
        body = await request.read()  # read (within the body deadline) by bot.web_guard's middleware
        if len(body) > MAX_XML_BYTES:
            return web.Response(status=400, text="too large")
        try:
            inner = self._crypto.decrypt_message(
                body, query["msg_signature"], query["timestamp"], query["nonce"]
            )
            fields = parse_xml_fields(inner)
            stamp = self._fresh(query["timestamp"])
        except WeComCryptoError as exc:
            log.warning("WeCom callback refused: %s%s", exc.kind, f" ({exc.detail})" if exc.kind == "stale" else "")
            return web.Response(status=exc.http_status, text=exc.kind)

        incoming = self._incoming(fields)
        if incoming is None:
            return web.Response(text="")
        key = incoming.message_id
        if key is None:
            return await self._run(incoming, stamp)
        running = self._inflight.get(key)
        if running is not None and await asyncio.shield(running) == 200:
            log.info("WeCom message %s arrived again while it was being handled: acknowledged", key)
            return web.Response(text="")
        if await self._seen(key):
            log.info("WeCom message %s arrived again: acknowledged, not run again", key)
            return web.Response(text="")
        outcome: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._inflight[key] = outcome
        status = 500
        try:
            response = await self._run(incoming, stamp)
            status = response.status
            return response
        finally:
            outcome.set_result(status)
            del self._inflight[key]

    async def _run(self, incoming: Incoming, stamp: int) -> web.Response:
        """Hand the message to the core; remember it ran, and send the reply in the background."""
        try:
            reply = await self._handle(incoming)
        except Exception:
            # A non-200 makes WeCom retry, and the core's dedup makes the retry safe.
            log.exception("WeCom message %s: the handler failed", incoming.message_id)
            return web.Response(status=500, text="")
        if incoming.message_id is not None:
            await self._ran(incoming.message_id, until=datetime.fromtimestamp(stamp + self._window, UTC))
        self._deliver(incoming, reply)
        return web.Response(text="")

    def _fresh(self, timestamp: str) -> int:
        """The callback's timestamp, if within the window of our clock (WeComCryptoError otherwise)."""
        try:
            stamp = int(timestamp)
        except ValueError as exc:
            raise WeComCryptoError("malformed", "timestamp is not a number") from exc
        age = self._wall() - stamp
        if abs(age) > self._window:
            when = f"{age:.0f}s old" if age > 0 else f"{-age:.0f}s ahead of our clock"
            raise WeComCryptoError("stale", f"timestamp {when}, window ±{self._window}s")
        return stamp

    async def _seen(self, key: str) -> bool:
        try:
            return await self._replays.seen("wecom", key)
        except Exception:  # the guard's database failing must not stop messages: the inbox still dedups
            log.warning("WeCom replay check failed for %s; handling it", key, exc_info=True)
            return False

    async def _ran(self, key: str, *, until: datetime) -> None:
        try:
            await self._replays.ran("wecom", key, until=until)
        except Exception:
            log.warning("WeCom replay record failed for %s", key, exc_info=True)

    def _incoming(self, fields: dict[str, str]) -> Incoming | None:
        """The core's view of a decrypted message, or None for what the core does not take (events)."""
        msg_type = fields.get("MsgType", "")
        user = fields.get("FromUserName", "")
        agent = fields.get("AgentID", "")
        if msg_type == "event" or not user:
            log.debug("WeCom %s ignored", fields.get("Event", msg_type) or "message without sender")
            return None
        if self._agent_id and agent and agent != str(self._agent_id):
            log.warning("WeCom message for another agent (%s) ignored", agent)
            return None
        files: tuple[IncomingFile, ...] = ()
        text = ""
        if msg_type == "text":
            text = own_words(fields.get("Content", ""))
        elif msg_type == "image" and fields.get("MediaId"):
            files = (IncomingFile(kind="photo", file_ref=fields["MediaId"], mime_type="image/jpeg"),)
        elif msg_type == "video" and fields.get("MediaId"):
            files = (IncomingFile(kind="document", file_ref=fields["MediaId"], mime_type="video/mp4"),)
        # Voice, location and link messages reach the core with no text: it answers with help.
        sent_at = None
        if fields.get("CreateTime", "").isdigit():
            sent_at = datetime.fromtimestamp(int(fields["CreateTime"]), tz=UTC)
        return Incoming(
            platform="wecom",
            user_id=user,
            text=text,
            chat_id=user,
            chat_kind="private",
            display_name=user,
            message_id=fields.get("MsgId") or None,
            files=files,
            sent_at=sent_at,
        )

    def _deliver(self, incoming: Incoming, reply: Reply) -> None:
        """Send `reply` in the background (nothing for a silent one), then download the evidence it stored."""
        self._spawn(self._send(incoming, reply))

    async def _send(self, incoming: Incoming, reply: Reply) -> None:
        message_id = incoming.message_id
        if not reply.silent:
            try:
                await self._messenger.send(incoming.user_id, reply)
            except DeliveryError as exc:
                log.error("WeCom reply to message %s not delivered: %s", message_id, exc)
                if message_id is not None and not exc.permanent:
                    await self._forget(message_id)  # a redelivery of this message tries the reply again
            except Exception:
                log.exception("WeCom reply to message %s failed", message_id)
                if message_id is not None:
                    await self._forget(message_id)
        if self._files is not None and reply.evidence:
            try:
                await self._files.fetch_for_message("wecom", message_id, self.fetch)
            except Exception:  # the row stays pending: the next start-up sweep tries again
                log.exception("WeCom evidence of message %s: download failed", message_id)

    async def _forget(self, key: str) -> None:
        try:
            await self._replays.forget("wecom", key)
        except Exception:
            log.warning("WeCom replay record for %s could not be dropped", key, exc_info=True)

    async def fetch(self, media_id: str, limit: int) -> Download:
        """Download one member's media for bot.evidence (it lives three days)."""
        try:
            content, name, mime = await self._client.download_media(media_id, limit=limit)
        except MediaTooLarge as exc:
            raise FetchError(f"{exc.size} bytes", too_large=True) from exc
        except WeComApiError as exc:
            raise FetchError(str(exc), permanent=not exc.transient) from exc
        return Download(content, name, mime)
