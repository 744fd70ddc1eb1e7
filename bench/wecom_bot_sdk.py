"""Tencent's `wecom-aibot-python-sdk` against our long connection (issue 17), on the local fake server.

    python -m bench.wecom_bot_sdk

Why `bot/wecom_bot/connection.py` is not the SDK: each scenario is played against
tests/fakes/wecom_aibot_server.py (loopback) with the SDK's `WSClient` and with our `BotConnection`, and
the table says whether a message sent after the event still arrives. The SDK always passes its own TLS
context to `websockets.connect`, so it cannot reach a `ws://` address at all (the first row); for the
other rows only this script wraps `websockets.connect` to drop that argument, so that the SDK can be
watched at all. Also printed: how deep the SDK's reconnect nests per failed attempt, and what importing
the SDK adds to a process that has aiohttp loaded already (median of 5 fresh interpreters).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import subprocess
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import WSCloseCode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import websockets
    from aibot import WSClient, WSClientOptions

from bot.wecom_bot.connection import BotConnection
from tests.fakes.wecom_aibot_server import BOT_ID, SECRET, FakeAiBotServer

Scenario = Callable[[FakeAiBotServer], Awaitable[None]]


class _Quiet:
    def debug(self, *args: Any) -> None: ...
    def info(self, *args: Any) -> None: ...
    def warn(self, *args: Any) -> None: ...
    def error(self, *args: Any) -> None: ...


async def _close(code: int) -> Scenario:
    async def act(fake: FakeAiBotServer) -> None:
        await fake.drop(code=code)
    return act


async def _reset(fake: FakeAiBotServer) -> None:
    await fake.drop()


async def _raw(fake: FakeAiBotServer, data: str) -> None:
    await fake.send_raw(data)


async def _silent_pings(fake: FakeAiBotServer) -> None:
    fake.answer_pings = False
    await asyncio.sleep(1.2)  # two heartbeats of 0.3 s go unanswered, with their acknowledgement waits
    fake.answer_pings = True


async def _play(client: str, act: Scenario | None, *, ws_url: str | None = None) -> str:
    """Connect `client` ("sdk" or "ours"), do `act`, then check that one more message still arrives."""
    async with FakeAiBotServer() as fake, aiohttp.ClientSession() as http:
        got: list[Any] = []

        async def on_frame(frame: dict[str, Any]) -> None:
            got.append(frame)

        url = ws_url or fake.ws_url
        if client == "sdk":
            sdk = WSClient(WSClientOptions(bot_id=BOT_ID, secret=SECRET, ws_url=url, heartbeat_interval=300,
                                           reconnect_interval=50, max_reconnect_attempts=-1, logger=_Quiet()))
            sdk.on("message", lambda frame: got.append(frame))
            sdk.on("error", lambda _error: None)
            task = asyncio.ensure_future(sdk.connect())
            stop: Callable[[], Awaitable[None]] = _stopper(sdk, task)
        else:
            ours = BotConnection(http, url=url, bot_id=BOT_ID, secret=SECRET, on_frame=on_frame, heartbeat=0.3,
                                 ack_timeout=0.2, backoff=(0.05, 0.5))
            await ours.start()
            stop = ours.stop
        try:
            for _ in range(100):
                if fake.live:
                    break
                await asyncio.sleep(0.02)
            else:
                return "never connects"
            if act is not None:
                await act(fake)
            for _ in range(150):  # up to 3 s to be back
                if fake.live and (fake._current is None or not fake._current.ws.closed):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            await fake.deliver(fake.message("zhangwei", "进展 #1 之后", msgid="AFTER"))
            for _ in range(100):
                if any(f["body"].get("msgid") == "AFTER" for f in got):
                    return f"receives ({len(fake.frames('aibot_subscribe'))} subscriptions)"
                await asyncio.sleep(0.02)
            return "deaf" + (" while the socket stays open" if fake.live else "")
        finally:
            await stop()


def _stopper(sdk: Any, task: asyncio.Future[Any]) -> Callable[[], Awaitable[None]]:
    async def stop() -> None:
        sdk.disconnect()
        task.cancel()
        await asyncio.sleep(0.05)
    return stop


async def _depth() -> tuple[int, int]:
    """(attempts, await-chain depth) of the SDK's connect() after failed reconnects to a closed port."""
    sdk = WSClient(WSClientOptions(bot_id=BOT_ID, secret=SECRET, ws_url="ws://127.0.0.1:1/", reconnect_interval=1,
                                   max_reconnect_attempts=-1, logger=_Quiet()))
    attempts: list[int] = []
    sdk.on("reconnecting", attempts.append)
    sdk.on("error", lambda _error: None)
    task = asyncio.ensure_future(sdk.connect())
    for _ in range(1000):
        if len(attempts) >= 10:
            break
        await asyncio.sleep(0.01)
    depth, coro = 0, task.get_coro()
    while coro is not None:
        depth, coro = depth + 1, getattr(coro, "cr_await", None)
    sdk.disconnect()
    task.cancel()
    return len(attempts), depth


def _import_ms() -> float:
    code = ("import time, warnings, aiohttp; warnings.simplefilter('ignore'); t = time.perf_counter(); "
            "import aibot; print((time.perf_counter() - t) * 1000)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(5)]
    return statistics.median(runs)


async def main() -> None:
    """Print the table."""
    logging.getLogger("bot.wecom_bot").setLevel(logging.CRITICAL)  # the table says what happened
    print("scenario | SDK 1.0.2 | ours")
    print("---|---|---")
    print(f"connect to a ws:// address | {await _play('sdk', None)} | {await _play('ours', None)}")
    original = websockets.connect

    def without_tls_argument(url: str, **kwargs: Any) -> Any:
        kwargs.pop("ssl", None)  # this measurement only: let the SDK reach the loopback fake
        return original(url, **kwargs)

    websockets.connect = without_tls_argument  # type: ignore[assignment]
    try:
        rows: list[tuple[str, Scenario | None]] = [
            ("baseline (with the TLS argument dropped)", None),
            ("server closes with 1000 (normal)", await _close(WSCloseCode.OK)),
            ("server closes with 1001 (going away)", await _close(WSCloseCode.GOING_AWAY)),
            ("server closes with 1011 (error)", await _close(WSCloseCode.INTERNAL_ERROR)),
            ("TCP reset", _reset),
            ("frame `[]`", lambda fake: _raw(fake, "[]")),
            ('frame `{"headers": "x"}`', lambda fake: _raw(fake, '{"headers": "x"}')),
            ("heartbeat unanswered twice", _silent_pings),
        ]
        for name, act in rows:
            print(f"{name} | {await _play('sdk', act)} | {await _play('ours', act)}")
        attempts, depth = await _depth()
        print(f"\nSDK reconnect: after {attempts} failed attempts its connect() is {depth} coroutines deep "
              "(two more per attempt)")
    finally:
        websockets.connect = original  # type: ignore[assignment]
    print(f"importing the SDK after aiohttp: {_import_ms():.0f} ms (median of 5)")


if __name__ == "__main__":
    asyncio.run(main())
