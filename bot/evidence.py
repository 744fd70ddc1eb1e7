"""Evidence copies on disk: downloaded only for evidence the core stored, kept under a size limit, pruned.

An adapter hands the core a message with its files as platform handles (Telegram file ids, WeCom media
ids) and downloads nothing. Only once the core has accepted the update and committed its `Evidence` rows
(state `pending`) does the adapter ask `EvidenceFiles.fetch_for_message` to download those rows' files,
through a platform `Fetch` function: a stranger's document, a refused update or a photo without a command
costs no download and leaves no file. A file over `ZSBOT_FILES_MAX_MB` is recorded (name, size) but not
downloaded. What a restart interrupted is fetched by the adapter's start-up sweep (`fetch_pending`);
a WeCom media id lives three days, so older pending WeCom evidence is marked expired instead.

`prune` removes files no stored evidence points at (old versions' downloads, interrupted writes), copies
whose update or project creation was undone, and, with `ZSBOT_FILES_RETENTION_DAYS`, copies older than
that. Files are written and deleted in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from handlers.attachments import ATTACH_WINDOW
from storage import evidence as store
from storage.db import SessionFactory, transaction
from storage.models import Evidence

log = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(hours=1)  # a file younger than this may be a download still being recorded


@dataclass(frozen=True)
class Download:
    """A file fetched from a platform."""

    content: bytes
    file_name: str = ""
    mime_type: str = ""


class FetchError(Exception):
    """The platform did not give the file. `too_large`: it is over the limit (nothing was downloaded);
    `permanent`: asking again will not help (a transient failure leaves the row for the next sweep)."""

    def __init__(self, message: str, *, too_large: bool = False, permanent: bool = True) -> None:
        super().__init__(message)
        self.too_large = too_large
        self.permanent = permanent or too_large


# (platform handle, size limit in bytes) -> the file; raises FetchError.
Fetch = Callable[[str, int], Awaitable[Download]]


def safe_name(name: str) -> str:
    """A file name fit for any file system: no directory, no separators or spaces, at most 100 characters."""
    return re.sub(r"[^\w.\-]+", "_", Path(name).name)[-100:].lstrip(".") or "file"


@dataclass
class PruneReport:
    """What `prune` removed."""

    orphans: int = 0  # files no stored evidence points at
    undone: int = 0  # copies whose update (or its project's creation) was undone
    expired: int = 0  # copies older than the retention limit
    held: int = 0  # held files no update followed
    bytes_freed: int = 0


class EvidenceFiles:
    """Downloads, records and prunes evidence copies under `ZSBOT_FILES_DIR`."""

    def __init__(self, sessions: SessionFactory, *, files_dir: str, max_bytes: int, retention_days: int = 0,
                 clock: Callable[[], datetime]) -> None:
        """Keep copies under `files_dir`, at most `max_bytes` each, `retention_days` long (0: as long as
        their project)."""
        self._sessions = sessions
        self.root = Path(files_dir)
        self.max_bytes = max_bytes
        self.retention_days = retention_days
        self._clock = clock

    async def fetch_for_message(self, platform: str, message_id: str | None, fetch: Fetch) -> int:
        """Download the copies of the evidence one accepted message stored; returns how many were saved."""
        if not message_id:
            return 0
        async with self._sessions() as session:
            rows = await store.pending_for_message(session, platform=platform, message_id=message_id)
        return sum([await self._fetch_one(row, fetch) for row in rows])

    async def fetch_pending(self, platform: str, fetch: Fetch, *, valid_for: timedelta | None = None) -> int:
        """Download what a restart or a failure left pending; with `valid_for`, older rows are expired
        first (their platform handle no longer works). Returns how many were saved."""
        if valid_for is not None:
            async with transaction(self._sessions) as session:
                expired = await store.expire_pending(session, platform=platform, before=self._clock() - valid_for)
            if expired:
                log.warning("evidence: %d %s file(s) expired before they could be downloaded", expired, platform)
        async with self._sessions() as session:
            rows = await store.pending(session, platform=platform)
        return sum([await self._fetch_one(row, fetch) for row in rows])

    async def _fetch_one(self, row: Evidence, fetch: Fetch) -> int:
        assert row.id is not None
        if row.size_bytes > self.max_bytes:
            await self._mark(row.id, store.TOO_LARGE)
            return 0
        try:
            got = await fetch(row.file_ref, self.max_bytes)
        except FetchError as err:
            if err.permanent:
                await self._mark(row.id, store.TOO_LARGE if err.too_large else store.FAILED)
            log.warning("evidence #%s (%s): not downloaded%s: %s", row.id, row.platform,
                        "" if err.permanent else " (will try again)", err)
            return 0
        if len(got.content) > self.max_bytes:
            await self._mark(row.id, store.TOO_LARGE)
            return 0
        name = safe_name(row.file_name or got.file_name or row.file_ref)
        path = self.root / row.platform / f"{row.id}_{name}"
        await asyncio.to_thread(_write, path, got.content)
        saved = await self._mark(row.id, store.STORED, stored_path=str(path), size_bytes=len(got.content),
                                 mime_type=row.mime_type or got.mime_type)
        if not saved:  # another process stored it meanwhile (a redelivery on another worker)
            await asyncio.to_thread(_unlink, path)
        return int(saved)

    async def _mark(self, evidence_id: int, state: str, **values: object) -> bool:
        async with transaction(self._sessions) as session:
            return await store.mark(session, evidence_id=evidence_id, state=state, **values)  # type: ignore[arg-type]

    async def prune(self) -> PruneReport:
        """Remove orphans, undone and (with a retention limit) expired copies, and stale held files."""
        now = self._clock()
        report = PruneReport()
        older = now - timedelta(days=self.retention_days) if self.retention_days else None
        async with self._sessions() as session:
            unwanted = await store.to_prune(session, older_than=older)
        for row in unwanted:
            assert row.id is not None
            async with transaction(self._sessions) as session:
                if not await store.mark(session, evidence_id=row.id, state=store.PRUNED, expect=store.STORED):
                    continue
            report.bytes_freed += await asyncio.to_thread(_unlink, Path(row.stored_path))
            if older is not None and row.created_at < older:
                report.expired += 1
            else:
                report.undone += 1
        async with self._sessions() as session:
            keep = {_resolved(path) for path in await store.stored_paths(session)}
        orphans = await asyncio.to_thread(_orphans, self.root, keep, time.time() - ORPHAN_GRACE.total_seconds())
        for path, size in orphans:
            log.info("evidence: removed %s (no stored evidence points at it)", path)
            report.orphans += 1
            report.bytes_freed += size
        async with transaction(self._sessions) as session:
            report.held = await store.drop_stale_held(session, before=now - ATTACH_WINDOW)
        return report


def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def _write(path: Path, content: bytes) -> None:
    """Write through a temporary name, so an interrupted write never looks like a stored copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)


def _unlink(path: Path) -> int:
    """Delete a file if it is there; returns the bytes freed."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


def _orphans(root: Path, keep: set[str], before: float) -> list[tuple[Path, int]]:
    """Delete the files under `root` not in `keep` and last written before `before`; returns them."""
    removed: list[tuple[Path, int]] = []
    if not root.is_dir():
        return removed
    for path in root.rglob("*"):
        if not path.is_file() or str(path.resolve()) in keep:
            continue
        stat = path.stat()
        if stat.st_mtime >= before:
            continue
        path.unlink()
        removed.append((path, stat.st_size))
    return removed
