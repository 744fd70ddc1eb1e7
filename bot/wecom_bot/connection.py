"""The 智能机器人's long connection: one WebSocket out to WeCom, subscribed with the Bot ID and Secret.

WeCom pushes every message and event for the bot down this connection and takes replies and posts up it
(智能机器人长连接). So the bot needs no public URL. The connection subscribes (`aibot_subscribe`), sends
a `ping` every 30 s and counts it dead after two unanswered, and reconnects with exponential backoff (1 s
doubling to 30 s, with jitter) and subscribes again, whatever closed it: a dropped network, a close frame
of any code, a dead heartbeat. Only one connection per bot may be open: a newer one takes over and WeCom
tells the old one (`disconnected_event`); the old one then waits (30 s, doubling up to 30 minutes) before
taking it back, so two processes never kick each other in a tight loop.

Written on aiohttp rather than with Tencent's `wecom-aibot-python-sdk` (1.0.2), which we measured against
a loopback server (tests/fakes/wecom_aibot_server.py; bench/README.md has the numbers): it always passes
its own TLS context, so it cannot connect to any `ws://` address (no local test server, no TLS-terminating
proxy); a server close with code 1000 or 1001, or a dead heartbeat, ends its receive loop without
reconnecting; one frame that is JSON but not an object (`[]`), or has a non-object `headers`, kills its
receive loop while the socket stays open, so the bot goes deaf and `is_connected` still says True; each
failed reconnect nests the next one two coroutine frames deeper; and it lacks the media upload commands.
What it gets right, the command names and the media decryption, we use from it (`aibot.WsCmd`,
`aibot.decrypt_file`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

from bot.wecom_api import TRANSIENT_ERRCODES, describe_errcode
from bot.wecom_bot import frames

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0  # the SDK's and the docs' interval
MISSED_HEARTBEATS = 2  # unanswered pings before the connection counts as dead
ACK_SECONDS = 5.0  # how long a request waits for WeCom's acknowledgement
MAX_FRAME_BYTES = 1024 * 1024  # callback frames are a few KB; upload acks smaller
NO_ANSWER = -1  # the errcode of a request that got no acknowledgement (timeout, connection lost)

FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class BotApiError(Exception):
    """WeCom refused a request (its errcode), or it got no answer (errcode −1)."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        meaning = "no answer from WeCom" if errcode == NO_ANSWER else describe_errcode(errcode)
        super().__init__(f"{meaning}: {errmsg}" if errmsg else meaning)
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed (no answer, system busy, a rate limit)."""
        return self.errcode in TRANSIENT_ERRCODES


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class BotConnection:
    """The long connection: keeps itself subscribed and hands every callback frame to `on_frame`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        url: str,
        bot_id: str,
        secret: str,
        on_frame: FrameHandler,
        heartbeat: float = HEARTBEAT_SECONDS,
        ack_timeout: float = ACK_SECONDS,
        backoff: tuple[float, float] = (1.0, 30.0),
        kicked_pause: tuple[float, float] = (30.0, 1800.0),
        auth_pause: tuple[float, float] = (30.0, 600.0),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`backoff`, `kicked_pause` and `auth_pause` are (first, longest) waits before reconnecting."""
        self._http = http
        self._url = url
        self._bot_id = bot_id
        self._secret = secret
        self._on_frame = on_frame
        self._heartbeat = heartbeat
        self._ack_timeout = ack_timeout
        self._backoff = backoff
        self._kicked_pause = kicked_pause
        self._auth_pause = auth_pause
        self._sleep = sleep
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._stopping = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._req_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._send_lock = asyncio.Lock()
        self._kicked_now = False
        self.subscriptions = 0  # successful subscribes so far (a reconnect adds one)
        self.kicks = 0  # times a newer connection took over
        self.pauses: deque[float] = deque(maxlen=64)  # the latest waits before reconnecting (seconds)

    def __repr__(self) -> str:
        return f"BotConnection(bot_id={self._bot_id!r}, url={self._url!r})"  # never the secret

    @property
    def connected(self) -> bool:
        """Subscribed and usable now."""
        return self._connected.is_set()

    async def start(self) -> None:
        """Connect in the background (and keep reconnecting until `stop`)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="wecom-bot-connection")

    async def wait_connected(self, seconds: float) -> bool:
        """Wait until subscribed; False if `seconds` passed first."""
        try:
            async with asyncio.timeout(seconds):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Close the connection for good, and wait (up to 10 s) for the messages in hand."""
        self._stopping = True
        self._wake.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._task is not None:
            try:
                async with asyncio.timeout(10):
                    await self._task
            except TimeoutError:
                self._task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=10)

    # -- requests ------------------------------------------------------------------------------------

    async def request(self, cmd: str, body: dict[str, Any] | None = None, *, req_id: str | None = None,
                      wait: float | None = None, _subscribing: bool = False) -> dict[str, Any]:
        """Send one frame and return WeCom's acknowledgement; BotApiError on an errcode or no answer.

        Frames with the same req_id (a reply's stream, then its file) go one at a time, each after the
        previous one's acknowledgement, as WeCom matches acknowledgements by req_id alone.
        """
        req_id = req_id or frames.new_req_id(cmd)
        async with self._serial(req_id):
            ws = self._ws
            if ws is None or ws.closed or not (_subscribing or self._connected.is_set()):
                raise BotApiError(NO_ANSWER, f"{cmd}: not connected")
            answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[req_id] = answer
            try:
                async with self._send_lock:
                    await ws.send_str(_dumps(frames.frame(cmd, req_id, body)))
                async with asyncio.timeout(wait or self._ack_timeout):
                    ack = await answer
            except TimeoutError:
                raise BotApiError(NO_ANSWER, f"{cmd}: no answer") from None
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                raise BotApiError(NO_ANSWER, f"{cmd}: {type(exc).__name__}") from None
            finally:
                if self._pending.get(req_id) is answer:
                    del self._pending[req_id]
        errcode = ack.get("errcode", 0)
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            raise BotApiError(NO_ANSWER, f"{cmd}: malformed acknowledgement")
        if errcode != 0:
            errmsg = ack.get("errmsg")
            raise BotApiError(errcode, errmsg if isinstance(errmsg, str) else "")
        return ack

    @contextlib.asynccontextmanager
    async def _serial(self, req_id: str) -> AsyncIterator[None]:
        lock, users = self._req_locks.get(req_id, (asyncio.Lock(), 0))
        self._req_locks[req_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._req_locks[req_id]
            if users <= 1:
                del self._req_locks[req_id]
            else:
                self._req_locks[req_id] = (lock, users - 1)

    # -- the connection's life -----------------------------------------------------------------------

    async def _run(self) -> None:
        failures = refusals = kicks_in_row = 0
        while not self._stopping:
            outcome = await self._session()
            if self._stopping:
                break
            if outcome == "kicked":
                self.kicks += 1
                failures, kicks_in_row = 0, kicks_in_row + 1
                first, longest = self._kicked_pause
                pause = min(first * 2 ** (kicks_in_row - 1), longest)
                log.error("WeCom AI bot: another connection of this bot took over (disconnected_event); "
                          "taking it back in %.0f s. Run one `zsbot run` per bot.", pause)
            elif outcome == "refused":
                refusals += 1
                first, longest = self._auth_pause
                pause = min(first * 2 ** (refusals - 1), longest)
            else:
                if outcome == "served":  # it was up: start the backoff over
                    failures = refusals = kicks_in_row = 0
                failures += 1
                first, longest = self._backoff
                pause = min(first * 2 ** (failures - 1), longest) * random.uniform(0.8, 1.2)
                log.warning("WeCom AI bot: connection %s; reconnecting in %.1f s",
                            "closed" if outcome == "served" else "failed", pause)
            self.pauses.append(pause)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()

    async def _session(self) -> str:
        """One connection, from connect to close: "failed", "refused", "served" (closed after a
        subscription) or "kicked"."""
        self._kicked_now = False
        try:
            ws = await self._http.ws_connect(self._url, autoping=True, heartbeat=None,
                                             max_msg_size=MAX_FRAME_BYTES)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("WeCom AI bot: cannot connect to %s: %s", self._url, type(exc).__name__)
            return "failed"
        if self._stopping:
            await ws.close()
            return "failed"
        self._ws = ws
        reader = asyncio.create_task(self._read(ws))
        heartbeat: asyncio.Task[None] | None = None
        try:
            try:
                await self.request(frames.SUBSCRIBE, {"bot_id": self._bot_id, "secret": self._secret},
                                   _subscribing=True)
            except BotApiError as exc:
                if exc.errcode == NO_ANSWER:
                    return "failed"
                log.error("WeCom AI bot: subscription refused (%s): check ZSBOT_WECOM_BOT_ID and "
                          "ZSBOT_WECOM_BOT_SECRET (the long-connection Secret of this bot)", exc)
                return "refused"
            self.subscriptions += 1
            self._connected.set()
            log.info("WeCom AI bot: connected and subscribed (%s)", self._url)
            heartbeat = asyncio.create_task(self._beat(ws))
            await reader
            return "kicked" if self._kicked_now else "served"
        finally:
            self._connected.clear()
            if heartbeat is not None:
                heartbeat.cancel()
            await ws.close()
            await asyncio.gather(reader, return_exceptions=True)
            self._ws = None
            self._fail_pending()

    async def _beat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        missed = 0
        while not ws.closed:
            await self._sleep(self._heartbeat)
            try:
                await self.request(frames.PING)
                missed = 0
            except BotApiError as exc:
                if exc.errcode != NO_ANSWER:
                    continue  # an answer, even an error, is a live connection
                missed += 1
                if missed >= MISSED_HEARTBEATS:
                    log.warning("WeCom AI bot: %d heartbeats unanswered; reconnecting", missed)
                    await ws.close()
                    return

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Iteration ends on any close (whatever its code) or error: the caller then reconnects.
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_text(ws, message.data)
                else:
                    log.warning("WeCom AI bot: a %s frame refused (not a JSON text frame)", message.type.name)
        finally:
            self._fail_pending()

    def _fail_pending(self) -> None:
        """Requests waiting for an acknowledgement on a closed connection will not get one."""
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(BotApiError(NO_ANSWER, "connection closed"))
        self._pending.clear()

    def _on_text(self, ws: aiohttp.ClientWebSocketResponse, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            log.warning("WeCom AI bot: a frame refused: not JSON")
            return
        if not isinstance(frame, dict):
            log.warning("WeCom AI bot: a frame refused: not a JSON object")
            return
        headers = frame.get("headers")
        req_id = headers.get("req_id") if isinstance(headers, dict) else None
        if not isinstance(req_id, str) or not req_id:
            log.warning("WeCom AI bot: a frame refused: no headers.req_id")
            return
        cmd = frame.get("cmd")
        if cmd in (frames.MSG_CALLBACK, frames.EVENT_CALLBACK):
            body = frame.get("body")
            event = body.get("event") if isinstance(body, dict) else None
            if isinstance(event, dict) and event.get("eventtype") == frames.DISCONNECTED_EVENT:
                self._kicked_now = True
                self._spawn(ws.close())
                return
            self._spawn(self._on_frame(frame))
            return
        if not cmd:
            answer = self._pending.get(req_id)
            if answer is not None and not answer.done():
                answer.set_result(frame)
            else:
                log.debug("WeCom AI bot: an acknowledgement for no open request (%s)", req_id[:40])
            return
        log.warning("WeCom AI bot: a frame with an unknown cmd refused (%s)", str(cmd)[:40])

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("WeCom AI bot: handling a frame failed")

        task = asyncio.create_task(guarded())
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
