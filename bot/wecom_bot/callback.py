"""Callback mode of the 智能机器人: WeCom POSTs each message and event, encrypted, to a URL `zsbot run` serves.

The scheme is the app's (回调和回复的加解密方案; `bot.wecom_crypto`), with JSON in place of XML and an
empty receive id (an enterprise's own bot): the body is `{"encrypt": …}`, signed by `msg_signature` over
the token, timestamp, nonce and ciphertext. A forged request gets 403 and a malformed one 400; neither
reaches the core. The answer goes back in the HTTP response itself, encrypted (`{encrypt, msgsignature,
timestamp, nonce}`), when the core answers within PASSIVE_SECONDS; otherwise WeCom gets an empty 200 at
once and the answer goes later by the message's response_url (once, within the hour).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import web

from bot.wecom_bot.adapter import BotAdapter, ReplyFailed
from bot.wecom_crypto import WeComCrypto, WeComCryptoError

log = logging.getLogger(__name__)

PATH = "/wecom/bot/callback"
PASSIVE_SECONDS = 3.0  # WeCom waits a few seconds for the HTTP answer; the core answers in milliseconds
MAX_BODY = 64 * 1024


class PassiveAnswer:
    """Answers one callback in its own HTTP response, as long as that response has not gone yet."""

    confirms = False  # WeCom retries a callback whose answer it did not get: the same answer goes again

    def __init__(self) -> None:
        self.body: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()

    def _give(self, body: dict[str, Any]) -> None:
        if self.body.done():
            raise ReplyFailed("the HTTP answer has gone")
        self.body.set_result(body)

    async def reply(self, body: dict[str, Any]) -> None:
        """The passive reply to a message."""
        self._give(body)

    async def welcome(self, body: dict[str, Any]) -> None:
        """The passive welcome."""
        self._give(body)

    async def update_card(self, card: dict[str, Any], userids: list[str] | None = None) -> None:
        """The passive card update."""
        body: dict[str, Any] = {"response_type": "update_template_card", "template_card": card}
        if userids:
            body["userids"] = userids
        self._give(body)

    def close(self) -> None:
        """The HTTP answer goes now: later answers take the response_url."""
        if not self.body.done():
            self.body.set_result(None)


class CallbackHandler:
    """The GET (URL verification) and POST (callbacks) of callback mode."""

    def __init__(self, token: str, aes_key: str, adapter: BotAdapter, *,
                 passive_seconds: float = PASSIVE_SECONDS) -> None:
        """Verify with the bot's Token and EncodingAESKey; hand callbacks to `adapter`."""
        self._crypto = WeComCrypto(token, aes_key, "")
        self._adapter = adapter
        self._passive_seconds = passive_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Wait for answers still being given."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _signed(self, query: Any, encrypted: str) -> bool:
        expected = self._crypto.signature(query["timestamp"], query["nonce"], encrypted)
        return hmac.compare_digest(expected.encode(), str(query["msg_signature"]).lower().encode())

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer the URL verification with the decrypted echostr."""
        query = request.query
        if not all(query.get(name) for name in ("msg_signature", "timestamp", "nonce", "echostr")):
            return web.Response(status=400, text="missing parameters")
        if not self._signed(query, query["echostr"]):
            log.warning("WeCom AI bot: URL verification refused: signature")
            return web.Response(status=403, text="signature")
        try:
            plain = self._crypto.decrypt(query["echostr"])
        except WeComCryptoError as exc:
            return web.Response(status=exc.http_status, text=exc.kind)
        return web.Response(text=plain, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """Verify, decrypt and answer one callback (passively when in time)."""
        query = request.query
        if not all(query.get(name) for name in ("msg_signature", "timestamp", "nonce")):
            return web.Response(status=400, text="missing parameters")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=400, text="too large")
        # The server's body-deadline middleware has already read the body (bounded by client_max_size);
        # read() returns that cached copy, so the size is checked on what actually arrived.
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return web.Response(status=400, text="too large")
        try:
            envelope = json.loads(raw)
            encrypted = envelope["encrypt"]
            if not isinstance(encrypted, str) or not encrypted:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="malformed")
        if not self._signed(query, encrypted):
            log.warning("WeCom AI bot: a callback refused: signature")
            return web.Response(status=403, text="signature")
        try:
            body = json.loads(self._crypto.decrypt(encrypted))
        except WeComCryptoError as exc:
            log.warning("WeCom AI bot: a callback refused: %s", exc.kind)
            return web.Response(status=exc.http_status, text=exc.kind)
        except ValueError:
            return web.Response(status=400, text="malformed")
        answer = PassiveAnswer()
        task = asyncio.create_task(self._adapter.dispatch(body, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._passive_seconds):
                waiting: set[asyncio.Future[Any]] = {answer.body, task}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        answer.close()
        passive = answer.body.result()
        if passive is None:
            return web.Response(text="")
        return web.json_response(self._seal(passive))

    def _seal(self, body: dict[str, Any]) -> dict[str, Any]:
        """The encrypted, signed passive reply."""
        encrypted = self._crypto.encrypt(json.dumps(body, ensure_ascii=False))
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        return {"encrypt": encrypted, "msgsignature": self._crypto.signature(timestamp, nonce, encrypted),
                "timestamp": int(timestamp), "nonce": nonce}
