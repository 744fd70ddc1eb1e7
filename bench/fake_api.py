"""The fake Telegram Bot API (tests/fakes/telegram_api.py) in its own process, with a stats side door.

    python -m bench.fake_api --stats-port PORT [--limits] [--light]

The fake serves the Bot API on a port of its own choosing; the stats server on --stats-port answers:
    GET /info     {"url": the Bot API's base URL}
    GET /stream   one line "<chat_id> <monotonic seconds>" per message the bot sent, as it arrives
    GET /stats    calls per method and status, 429s, the first and last send times, message count

Calls made with the query parameter ``bench_via=webhook`` are replays of replies the bot put in its
webhook answer (the load generator plays Telegram and executes them, so the fake checks them like any
call); they are counted but not streamed, as their arrival was already measured at the webhook answer.
`--limits` enforces Telegram's flood limits (30 messages a second overall, 20 a minute per group);
`--light` keeps no uploaded file content (thousands of identical chart uploads in a fan-out).
time.monotonic() is CLOCK_MONOTONIC on Linux, shared by every process, so the load generator can
subtract its own send times from these arrival times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections import Counter
from typing import Any

from aiohttp import web

from bench.common import BOT_TOKEN
from tests.fakes.telegram_api import ApiCall, FakeBotApi

SENDS = ("sendMessage", "sendPhoto", "sendDocument")


class BenchBotApi(FakeBotApi):
    """FakeBotApi that streams each sent message's arrival and can drop upload contents."""

    def __init__(self, *, light: bool = False) -> None:
        super().__init__(BOT_TOKEN, max_poll_wait=0.1)
        self.light = light
        self.listeners: set[asyncio.Queue[str]] = set()
        self.first_send: float | None = None
        self.last_send: float | None = None
        self.sent = 0
        self.via_webhook = 0

    def add_file(self, content: bytes, file_name: str = "file.bin", folder: str = "documents") -> dict[str, Any]:
        """Store a file; in light mode keep only its size (a fan-out uploads the same chart thousands of times)."""
        fields = super().add_file(b"" if self.light else content, file_name, folder)
        fields["file_size"] = len(content)
        return fields

    async def _dispatch(self, method: str, call: ApiCall) -> Any:
        result = await super()._dispatch(method, call)
        if method in SENDS:
            now = time.monotonic()
            self.first_send = self.first_send if self.first_send is not None else now
            self.last_send = now
            self.sent += 1
            if self.light:
                call.files = {}
            if call.params.get("bench_via") == "webhook":
                self.via_webhook += 1
            else:
                line = f"{call.params.get('chat_id')} {now:.6f}\n"
                for queue in self.listeners:
                    queue.put_nowait(line)
        return result

    def stats(self) -> dict[str, Any]:
        """Counts per method and status, and the send window."""
        by_method: Counter[str] = Counter()
        for call in self.calls:
            by_method[f"{call.method} {call.status}"] += 1
        return {
            "calls": dict(by_method),
            "too_many": sum(1 for c in self.calls if c.status == 429),
            "errors": sum(1 for c in self.calls if c.status not in (200, 429)),
            "sent": self.sent,
            "via_webhook": self.via_webhook,
            "first_send": self.first_send,
            "last_send": self.last_send,
        }


def stats_app(api: BenchBotApi) -> web.Application:
    """The side door: /info, /stream, /stats."""
    app = web.Application()

    async def info(request: web.Request) -> web.Response:
        return web.json_response({"url": api.url})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(api.stats())

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "text/plain"
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        api.listeners.add(queue)
        try:
            while True:
                lines = [await queue.get()]
                while not queue.empty():  # batch what piled up: one write per loop turn
                    lines.append(queue.get_nowait())
                await response.write("".join(lines).encode())
        finally:
            api.listeners.discard(queue)

    app.router.add_get("/info", info)
    app.router.add_get("/stats", stats)
    app.router.add_get("/stream", stream)
    return app


async def serve(stats_port: int, *, limits: bool, light: bool) -> None:
    """Run the fake and its stats server until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    api = BenchBotApi(light=light)
    async with api:
        if limits:
            api.enforce_limits()
        runner = web.AppRunner(stats_app(api), access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", stats_port).start()
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await runner.cleanup()


def main() -> int:
    """`python -m bench.fake_api`."""
    parser = argparse.ArgumentParser(description="the fake Bot API with a stats side door")
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--limits", action="store_true", help="answer 429 past Telegram's flood limits")
    parser.add_argument("--light", action="store_true", help="keep no uploaded file content")
    args = parser.parse_args()
    asyncio.run(serve(args.stats_port, limits=args.limits, light=args.light))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
