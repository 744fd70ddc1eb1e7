"""Which platform callbacks already ran: a replay of a signed callback (inside its timestamp window) is
answered 200 without running again, even a read-only question (which stores no inbox row of its own).

Checked before the core runs and recorded after it answered: a process killed in between leaves the key
unrecorded, so the platform's retry runs the message (the inbox still makes an update store once), and
nothing is lost. Two copies arriving at the same instant may both run; the inbox makes that harmless for
updates, and a question answered twice costs one more reply. Kept in the database so that every web worker
shares it; an in-memory twin serves adapters tested without a database.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Protocol

from storage import replays
from storage.db import SessionFactory, transaction


class ReplayGuard(Protocol):
    """What an adapter asks before and tells after running a callback."""

    async def seen(self, platform: str, key: str) -> bool:
        """Whether this callback ran before."""
        ...

    async def ran(self, platform: str, key: str, *, until: datetime) -> None:
        """Record that it ran; it may be forgotten after `until`."""
        ...

    async def forget(self, platform: str, key: str) -> None:
        """Let it run again (its reply could not be sent, so a redelivery should try once more)."""
        ...


class DatabaseReplayGuard:
    """The guard of `zsbot run`: one row per callback in `seen_callback`, shared by every worker."""

    def __init__(self, sessions: SessionFactory) -> None:
        """Remember callbacks in the database behind `sessions`."""
        self._sessions = sessions

    async def seen(self, platform: str, key: str) -> bool:
        """Whether this callback ran before."""
        async with self._sessions() as session:
            return await replays.was_seen(session, platform=platform, key=key)

    async def ran(self, platform: str, key: str, *, until: datetime) -> None:
        """Record that it ran."""
        async with transaction(self._sessions) as session:
            await replays.remember(session, platform=platform, key=key, until=until)

    async def forget(self, platform: str, key: str) -> None:
        """Let it run again."""
        async with transaction(self._sessions) as session:
            await replays.forget(session, platform=platform, key=key)


class MemoryReplayGuard:
    """The same in this process's memory (the newest `limit` callbacks), for adapters without a database."""

    def __init__(self, limit: int = 4096) -> None:
        """Remember at most `limit` callbacks."""
        self._limit = limit
        self._keys: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    async def seen(self, platform: str, key: str) -> bool:
        """Whether this callback ran before."""
        return (platform, key) in self._keys

    async def ran(self, platform: str, key: str, *, until: datetime) -> None:
        """Record that it ran."""
        self._keys[(platform, key)] = until
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)

    async def forget(self, platform: str, key: str) -> None:
        """Let it run again."""
        self._keys.pop((platform, key), None)
