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
from collections import OrderedDict
from datetime import UTC, datetime

from aiohttp import web

from bot.settings import Settings
from bot.wecom_api import WeComAppMessenger, WeComClient
from bot.wecom_crypto import MAX_XML_BYTES, WeComCrypto, WeComCryptoError, parse_xml_fields
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.ports import DeliveryError, MessageHandler

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
_RECENT_LIMIT = 2048  # message ids remembered to skip re-sending a reply to a redelivery


class WeComAdapter:
    """Translates WeCom callbacks into `Incoming`s and renders `Reply`s as app messages."""

    def __init__(self, settings: Settings, handle: MessageHandler, client: WeComClient) -> None:
        """Verify callbacks with the app's token, EncodingAESKey and CorpID; answer through `client`."""
        self._crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self._agent_id = settings.wecom_agent_id
        self._handle = handle
        self._messenger = WeComAppMessenger(client)
        self._tasks: set[asyncio.Task[None]] = set()
        # Message ids whose reply is being or has been sent by this process (bounded, oldest dropped).
        self._replied: OrderedDict[str, None] = OrderedDict()

    def routes(self) -> list[web.RouteDef]:
        """The GET (URL verification) and POST (messages) routes for the project's aiohttp app."""
        return [web.get(CALLBACK_PATH, self.verify_url), web.post(CALLBACK_PATH, self.receive)]

    async def aclose(self) -> None:
        """Wait for replies still being sent (call before closing the HTTP session)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

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
        """Verify, decrypt and hand one message to the core; acknowledge once it has committed."""
        query = request.query
        if not all(query.get(name) for name in ("msg_signature", "timestamp", "nonce")):
            return web.Response(status=400, text="missing parameters")
        if request.content_length is not None and request.content_length > MAX_XML_BYTES:
            return web.Response(status=400, text="too large")
        body = await _read_capped(request, MAX_XML_BYTES)
        if body is None:
            return web.Response(status=400, text="too large")
        try:
            inner = self._crypto.decrypt_message(
                body, query["msg_signature"], query["timestamp"], query["nonce"]
            )
            fields = parse_xml_fields(inner)
        except WeComCryptoError as exc:
            log.warning("WeCom callback refused: %s", exc.kind)
            return web.Response(status=exc.http_status, text=exc.kind)

        incoming = self._incoming(fields)
        if incoming is None:
            return web.Response(text="")
        try:
            reply = await self._handle(incoming)
        except Exception:
            # A non-200 makes WeCom retry, and the core's dedup makes the retry safe.
            log.exception("WeCom message %s: the handler failed", incoming.message_id)
            return web.Response(status=500, text="")
        self._deliver(incoming, reply)
        return web.Response(text="")

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
            text = fields.get("Content", "")
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
        """Send `reply` in the background, once per message id in this process (nothing for a silent one)."""
        if reply.silent:
            return
        message_id = incoming.message_id
        if message_id is not None:
            if message_id in self._replied:
                log.info("WeCom message %s redelivered: reply already sent", message_id)
                return
            self._replied[message_id] = None
            while len(self._replied) > _RECENT_LIMIT:
                self._replied.popitem(last=False)
        task = asyncio.create_task(self._send(incoming.user_id, message_id, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, userid: str, message_id: str | None, reply: Reply) -> None:
        try:
            await self._messenger.send(userid, reply)
        except DeliveryError as exc:
            log.error("WeCom reply to message %s not delivered: %s", message_id, exc)
            if message_id is not None and not exc.permanent:
                # Let a redelivery of this message try the reply again.
                self._replied.pop(message_id, None)
        except Exception:
            log.exception("WeCom reply to message %s failed", message_id)
            if message_id is not None:
                self._replied.pop(message_id, None)


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it exceeds `limit` bytes (checked while reading, for chunked bodies)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
