"""`zsbot jobs run` posting through the running bot's long connection, or through its own when none runs.

WeCom allows one connection per bot, and a new one takes over from the old: a `zsbot jobs run` that
simply connected would cut the running bot off. So the process that holds the connection (`zsbot run`'s
primary) serves a relay on a Unix socket, readable by its own user only, whose path follows from the
files folder and the Bot ID (so the same deployment finds it, and another does not). `zsbot jobs run`
posts there; when nobody answers (no socket, or a stale one) it opens the connection itself for the run.
A relay on another host is not found: run `zsbot jobs run` where `zsbot run` runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.settings import Settings
from handlers.messages import Button, OutgoingFile, Reply
from handlers.ports import DeliveryError, Messenger

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # a ledger file (20 MB at most) in base64, and the card


def socket_path(settings: Settings) -> Path:
    """The relay's socket for this deployment's bot (short enough for any Unix socket)."""
    seed = f"{os.path.abspath(settings.files_dir)}|{settings.wecom_bot_id}|{settings.wecom_bot_ws_url}"
    return Path(tempfile.gettempdir()) / f"zsbot-wecom-bot-{hashlib.sha1(seed.encode()).hexdigest()[:16]}.sock"


def encode_reply(reply: Reply) -> dict[str, Any]:
    """A reply as JSON, its chart and file in base64."""
    data: dict[str, Any] = {"text": reply.text, "markdown": reply.markdown, "mentions": reply.mentions,
                            "buttons": [[b.label, b.command] for b in reply.buttons], "ok": reply.ok,
                            "image_name": reply.image_name}
    if reply.image is not None:
        data["image"] = base64.b64encode(reply.image).decode()
    if reply.file is not None:
        data["file"] = {"name": reply.file.name, "mime": reply.file.mime_type,
                        "content": base64.b64encode(reply.file.content).decode()}
    return data


def decode_reply(data: dict[str, Any]) -> Reply:
    """The reply `encode_reply` made (ValueError, KeyError or TypeError when it is not one)."""
    file = data.get("file")
    return Reply(
        text=str(data["text"]), markdown=data.get("markdown"), mentions=[str(m) for m in data.get("mentions", [])],
        buttons=[Button(str(label), str(command)) for label, command in data.get("buttons", [])],
        ok=bool(data.get("ok", True)), image_name=str(data.get("image_name") or "chart.png"),
        image=base64.b64decode(data["image"], validate=True) if data.get("image") else None,
        file=OutgoingFile(str(file["name"]), base64.b64decode(file["content"], validate=True), str(file["mime"]))
        if file else None,
    )


async def serve(path: Path, messenger: Messenger) -> web.AppRunner | None:
    """Serve the relay on `path` for `messenger`; None (logged) when another live process serves it."""
    if await asyncio.to_thread(path.exists):
        if await answering(path):
            log.error("WeCom AI bot: another zsbot already holds this bot's connection (relay %s)", path)
            return None
        with contextlib.suppress(OSError):
            await asyncio.to_thread(path.unlink)  # a socket left by a process that was killed

    async def send(request: web.Request) -> web.Response:
        try:
            data = await request.json()
            chat_id = str(data["chat_id"])
            reply = decode_reply(data["reply"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"ok": False, "error": "malformed relay request", "permanent": True},
                                     status=400)
        try:
            await messenger.send(chat_id, reply)
        except DeliveryError as exc:
            return web.json_response({"ok": False, "error": str(exc), "permanent": exc.permanent})
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/send", send)
    app.router.add_get("/ping", _pong)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    old_umask = os.umask(0o177)  # the socket is born readable by its owner only
    try:
        await web.UnixSite(runner, str(path)).start()
    except OSError as exc:
        log.error("WeCom AI bot: cannot serve the relay at %s: %s", path, exc)
        await runner.cleanup()
        return None
    finally:
        os.umask(old_umask)
    return runner


async def _pong(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _ours(path: Path) -> bool:
    """A socket owned by us (never post a district's rankings to someone else's socket)."""
    try:
        info = path.stat()
    except OSError:
        return False
    return stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()


async def answering(path: Path) -> bool:
    """Whether a live process of ours serves the relay at `path`."""
    if not await asyncio.to_thread(_ours, path):
        return False
    try:
        async with (aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(path))) as http,
                    http.get("http://relay/ping", timeout=aiohttp.ClientTimeout(total=3)) as response):
            return response.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


class RelayMessenger:
    """Posts through the running bot's relay, or through `fallback()` (its own connection) when none runs."""

    platform = "wecom-bot"

    def __init__(self, path: Path, fallback: Callable[[], Awaitable[Messenger]]) -> None:
        """`fallback` opens this process's own connection, once, when first needed."""
        self._path = path
        self._fallback = fallback
        self._own: Messenger | None = None

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Post `reply` to `chat_id`; DeliveryError when WeCom (or the relay) refused it."""
        if self._own is None and await asyncio.to_thread(_ours, self._path):
            try:
                async with (aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(self._path))) as http,
                            http.post("http://relay/send", json={"chat_id": chat_id, "reply": encode_reply(reply)},
                                      timeout=aiohttp.ClientTimeout(total=300)) as response):
                    answer = await response.json(content_type=None)
            except (aiohttp.ClientConnectorError, FileNotFoundError, ConnectionRefusedError):
                log.info("WeCom AI bot: no running bot answers at %s; connecting on our own", self._path)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DeliveryError(f"企业微信智能机器人：转交运行中的机器人失败（{type(exc).__name__}）") from exc
            else:
                if not isinstance(answer, dict) or not answer.get("ok"):
                    error = answer.get("error") if isinstance(answer, dict) else "relay error"
                    raise DeliveryError(str(error), permanent=bool(isinstance(answer, dict) and answer.get("permanent")))
                return
        if self._own is None:
            self._own = await self._fallback()
        await self._own.send(chat_id, reply)
