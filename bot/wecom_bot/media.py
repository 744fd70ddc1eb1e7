"""Images and files sent to the 智能机器人: downloaded, decrypted, kept, and held for the next report.

A message's media is a URL valid for five minutes, AES-256-CBC encrypted with the key the message
carries (`aeskey`, long connection) or with the bot's EncodingAESKey (callback mode); `aibot.decrypt_file`
(Tencent's SDK) decrypts it. Copies go under `ZSBOT_FILES_DIR/wecom-bot/`.

WeCom has no caption: an image sent alone in the direct chat cannot say which project it proves. So it is
held (its copy on disk, an entry in `held/`) for 30 minutes and attached to the sender's next messages
in that chat until one of them stores an update; then it is that update's evidence. Held entries live on
disk, so they survive a restart and are seen by every worker on the host. What expires unattached is
deleted: it was never evidence.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aibot import decrypt_file  # frames (imported first) silenced the SDK's import-time warnings

from bot.wecom_bot.frames import MediaRef
from bot.wecom_payloads import shrink_image
from handlers.messages import IncomingFile

log = logging.getLogger(__name__)

IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of an image the bot sends (JPG or PNG)
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bytes; WeCom's own limit for an image is 10 MB
HOLD_SECONDS = 30 * 60
MAX_HELD = 9  # files held per person (WeCom's picker sends at most nine images at once)
_SAFE = re.compile(r"[^\w.\-]+")


class MediaError(Exception):
    """A media file that could not be fetched or decrypted."""


def _kind_and_type(ref: MediaRef, data: bytes) -> tuple[Literal["photo", "document"], str, str]:
    """(IncomingFile kind, mime type, file extension) of downloaded content."""
    if data.startswith(b"\x89PNG"):
        return "photo", "image/png", ".png"
    if data.startswith(b"\xff\xd8"):
        return "photo", "image/jpeg", ".jpg"
    if data.startswith(b"GIF8"):
        return "photo", "image/gif", ".gif"
    suffix = Path(ref.name).suffix.lower() if ref.name else ""
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else (".mp4" if ref.kind == "video" else ".bin")
    mime = {"video": "video/mp4", "image": "image/jpeg"}.get(ref.kind, "application/octet-stream")
    return ("photo" if ref.kind == "image" else "document"), mime, suffix


async def fetch(http: aiohttp.ClientSession, ref: MediaRef, *, fallback_key: str = "",
                limit: int = DOWNLOAD_LIMIT) -> bytes:
    """Download and decrypt one media file; MediaError when it cannot be had."""
    try:
        async with http.get(ref.url, timeout=aiohttp.ClientTimeout(total=30)) as response:
            if response.status != 200:
                raise MediaError(f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > limit:
                raise MediaError("too large")
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise MediaError("too large")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MediaError(type(exc).__name__) from None  # the URL is a credential for five minutes: not logged
    key = ref.aeskey or fallback_key
    if not key:
        return bytes(data)
    try:
        return await asyncio.to_thread(decrypt_file, bytes(data), key)
    except (ValueError, RuntimeError) as exc:
        raise MediaError("cannot decrypt") from exc


async def keep(folder: Path, msgid: str, index: int, ref: MediaRef, data: bytes) -> IncomingFile:
    """Save a downloaded file under `folder` and describe it for the core."""
    kind, mime, suffix = _kind_and_type(ref, data)
    stem = hashlib.sha1(msgid.encode()).hexdigest()[:16]
    name = _SAFE.sub("_", Path(ref.name).name)[:80] if ref.name else f"{stem}_{index}{suffix}"
    path = folder / f"{stem}_{index}{suffix}"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    await asyncio.to_thread(write)
    return IncomingFile(kind, f"wecom-bot:{stem}_{index}", name, mime, len(data), str(path))


class HeldFiles:
    """Files sent alone in a direct chat, waiting (on disk) for the sender's next stored update."""

    def __init__(self, folder: Path, *, lifetime: float = HOLD_SECONDS, clock: Callable[[], float] = time.time) -> None:
        """`folder` holds one small JSON index per person."""
        self._folder = folder
        self._lifetime = lifetime
        self._clock = clock
        self._lock = asyncio.Lock()

    def _index(self, user: str) -> Path:
        return self._folder / f"{hashlib.sha1(user.encode()).hexdigest()[:24]}.json"

    def _read(self, user: str) -> list[dict[str, Any]]:
        try:
            entries = json.loads(self._index(user).read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    def _write(self, user: str, entries: list[dict[str, Any]]) -> None:
        path = self._index(user)
        if not entries:
            path.unlink(missing_ok=True)
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
        tmp.replace(path)

    def _fresh(self, user: str) -> list[dict[str, Any]]:
        """The live entries; the expired ones' files are deleted."""
        now = self._clock()
        live: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        for entry in self._read(user):
            (live if now - float(entry.get("at", 0)) < self._lifetime else dead).append(entry)
        for entry in dead:
            Path(str(entry.get("path", ""))).unlink(missing_ok=True)
        if dead:
            self._write(user, live)
        return live

    async def hold(self, user: str, files: tuple[IncomingFile, ...]) -> int:
        """Hold `files` for `user`; returns how many are held now (the oldest beyond nine are dropped)."""

        def work() -> int:
            entries = self._fresh(user)
            known = {e.get("ref") for e in entries}  # a redelivered message holds its files once
            entries += [{"kind": f.kind, "ref": f.file_ref, "name": f.file_name, "mime": f.mime_type,
                         "size": f.size, "path": f.local_path, "at": self._clock()} for f in files
                        if f.file_ref not in known]
            for dropped in entries[:-MAX_HELD]:
                Path(str(dropped["path"])).unlink(missing_ok=True)
            entries = entries[-MAX_HELD:]
            self._write(user, entries)
            return len(entries)

        async with self._lock:
            return await asyncio.to_thread(work)

    async def peek(self, user: str) -> tuple[IncomingFile, ...]:
        """The files held for `user` (not released: a message that stores nothing leaves them held)."""

        def work() -> tuple[IncomingFile, ...]:
            return tuple(IncomingFile(e["kind"], e["ref"], e["name"], e["mime"], int(e["size"]), e["path"])
                         for e in self._fresh(user))

        async with self._lock:
            return await asyncio.to_thread(work)

    async def release(self, user: str, files: tuple[IncomingFile, ...]) -> None:
        """Stop holding `files` (they are evidence now); their copies stay."""
        refs = {f.file_ref for f in files}

        def work() -> None:
            self._write(user, [e for e in self._read(user) if e.get("ref") not in refs])

        async with self._lock:
            await asyncio.to_thread(work)


async def fit_image(image: bytes | None) -> bytes | None:
    """The image under WeCom's 10 MB (re-encoded off the event loop when larger), or None."""
    if image is None or len(image) <= IMAGE_LIMIT:
        return image
    try:
        return await asyncio.to_thread(shrink_image, image, IMAGE_LIMIT)
    except ValueError:
        log.error("WeCom AI bot: an image of %d bytes cannot be made small enough; not sent", len(image))
        return None
