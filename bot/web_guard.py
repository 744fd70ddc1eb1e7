"""The web server against slow and greedy clients: read deadlines and a cap on connections per address.

aiohttp waits as long as a client likes for request headers and bodies, so a client sending a byte every
few seconds holds a connection (and a handler) open indefinitely, and one address can open any number of
them. `zsbot run` therefore serves through `GuardedServer`:

- headers: a new connection must complete its first request's headers within `http_header_timeout`
  seconds or it is closed (this module's timer); between requests on a kept-alive connection, aiohttp's
  keep-alive timeout (set to the same value) closes a connection whose next headers do not arrive;
- body: `body_deadline` reads every request body up front and answers 408 (and closes the connection)
  when it is not complete within `http_body_timeout` seconds, before any handler sees the request;
- connections: one address may hold at most `http_max_connections_per_peer` open connections; a
  further one is closed at once (logged once a minute per address). Behind a reverse proxy every client
  has the proxy's address: set the cap to 0 there and let the proxy buffer slow clients.

aiohttp offers no hook for the connection cap, so the listening socket is made here with asyncio and each
aiohttp connection handler is wrapped in a small protocol that counts connections per address; the
handler itself comes from the runner's public `server` (a `web.Server`, called for one handler each).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LINGERING_TIME = 2.0  # seconds aiohttp keeps reading an unwanted body after answering (its default is 10)
_REFUSAL_LOG_EVERY = 60.0


class PeerCap:
    """Counts open connections per client address and refuses those past `limit` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        """Allow `limit` connections per address."""
        self.limit = limit
        self.open: Counter[str] = Counter()
        self.refused = 0
        self._logged: dict[str, float] = {}

    def admit(self, peer: str) -> bool:
        """Take a slot for `peer`; False (and nothing taken) when it holds `limit` already."""
        if self.limit and self.open[peer] >= self.limit:
            self.refused += 1
            now = time.monotonic()
            if now - self._logged.get(peer, 0.0) >= _REFUSAL_LOG_EVERY:
                self._logged[peer] = now
                log.warning("http: refused a connection from %s: it already holds %d (ZSBOT_HTTP_MAX_CONNECTIONS_PER_PEER)",
                            peer, self.open[peer])
            return False
        self.open[peer] += 1
        return True

    def release(self, peer: str) -> None:
        """Give `peer`'s slot back."""
        self.open[peer] -= 1
        if self.open[peer] <= 0:
            del self.open[peer]


# The guarded connection of each transport, so the middleware can tell it that its headers are in.
_CONNECTIONS: weakref.WeakKeyDictionary[Any, _GuardedConnection] = weakref.WeakKeyDictionary()


class _GuardedConnection(asyncio.Protocol):
    """Wraps one aiohttp connection handler: the per-address count and the first request's header timer."""

    def __init__(self, inner: asyncio.Protocol, cap: PeerCap, header_timeout: float) -> None:
        self._inner = inner
        self._cap = cap
        self._header_timeout = header_timeout
        self._peer = ""
        self._admitted = False
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP server's transports are
        peername = transport.get_extra_info("peername")
        self._peer = str(peername[0]) if isinstance(peername, tuple) and peername else str(peername or "")
        if not self._cap.admit(self._peer):
            transport.abort()
            return
        self._admitted = True
        self._transport = transport
        _CONNECTIONS[transport] = self
        self._timer = asyncio.get_running_loop().call_later(self._header_timeout, self._headers_late)
        self._inner.connection_made(transport)

    def headers_received(self) -> None:
        """The first request's headers are in: its body has its own deadline (body_deadline)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        self._timer = None
        if self._transport is not None and not self._transport.is_closing():
            log.info("http: closed a connection from %s: no request headers within %.0fs", self._peer,
                     self._header_timeout)
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self.headers_received()
        self._cap.release(self._peer)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def body_deadline(timeout: float) -> Middleware:
    """Middleware: the request's body must arrive whole within `timeout` seconds (else 408, closed).

    Reading it here (into aiohttp's cache, bounded by the app's client_max_size) means no handler ever
    waits on a slow client; handlers then read the cached body.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        connection = _CONNECTIONS.get(request.transport) if request.transport is not None else None
        if connection is not None:
            connection.headers_received()
        if request.body_exists:
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                log.warning("http: %s %s from %s: body not received within %.0fs; connection closed",
                            request.method, request.path, request.remote, timeout)
                response = web.Response(status=408, text="request body too slow")
                response.force_close()
                return response
        return await handler(request)

    return middleware


class GuardedServer:
    """Listens on host:port and serves `runner`'s application through the connection guard."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *, max_per_peer: int, header_timeout: float,
                 reuse_port: bool | None = None) -> None:
        """Serve `runner` (set up, with keepalive_timeout=header_timeout) on host:port."""
        self._runner = runner
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self._header_timeout = header_timeout
        self.cap = PeerCap(max_per_peer)
        self._server: asyncio.Server | None = None

    def _connection(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None, "set the runner up first"
        return _GuardedConnection(server(), self.cap, self._header_timeout)

    async def start(self) -> None:
        """Start listening."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connection, self._host, self._port, reuse_address=True,
                                                reuse_port=self._reuse_port)

    @property
    def port(self) -> int:
        """The port listened on (the one given, or the one the system chose for 0)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening (open connections are closed by the runner's cleanup)."""
        if self._server is not None:
            self._server.close()
            self._server = None


def runner_for(app: web.Application, *, header_timeout: float) -> web.AppRunner:
    """The AppRunner `zsbot run` serves with: no access log (URLs carry robot keys), keep-alive bounded."""
    return web.AppRunner(app, access_log=None, keepalive_timeout=header_timeout, lingering_time=LINGERING_TIME)
