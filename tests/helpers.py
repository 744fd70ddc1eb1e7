"""Test helpers: a core on a clean database with a clock the test moves, and a way to talk to it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from handlers.catalog import load_catalog
from handlers.commands import Command
from handlers.dispatch import Core
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.ports import DashLinks, Notifier
from storage import report_queries as rq
from storage.db import SessionFactory

ADMIN = "admin"
DISTRICT_TZ = ZoneInfo("Asia/Shanghai")  # the Settings default: test sessions bucket years in it
_MESSAGE_IDS = itertools.count(1)  # unique across Chat instances, as platform message ids are


@dataclass
class MovableClock:
    """A clock tests set and advance."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


class Chat:
    """Sends messages to a core as console users, with fresh message ids unless one is given."""

    def __init__(self, core: Core, clock: MovableClock) -> None:
        self.core = core
        self.clock = clock

    async def say(self, user: str, text: str, *, chat: str | None = None, group: bool = False,
                  message_id: str | None = None, platform: str = "console",
                  files: tuple[IncomingFile, ...] = ()) -> Reply:
        """One message from `user`; returns the core's reply."""
        incoming = Incoming(
            platform=platform, user_id=user, display_name=user, text=text,
            chat_id=chat or (f"group-{user}" if group else f"{platform}:{user}"),
            chat_kind="group" if group else "private",
            message_id=message_id or f"m{next(_MESSAGE_IDS)}", files=files,
        )
        return await self.core.handle(incoming)

    async def ok(self, user: str, text: str, **kwargs: object) -> Reply:
        """Send and assert the core accepted it."""
        reply = await self.say(user, text, **kwargs)  # type: ignore[arg-type]
        assert reply.ok, f"{text!r} was refused: {reply.text}"
        return reply

    async def refused(self, user: str, text: str, **kwargs: object) -> Reply:
        """Send and assert the core refused it."""
        reply = await self.say(user, text, **kwargs)  # type: ignore[arg-type]
        assert not reply.ok, f"{text!r} was accepted: {reply.text}"
        return reply


def make_core(sessions: SessionFactory, clock: MovableClock, *, notifier: Notifier | None = None,
              dash: DashLinks | None = None, **overrides: object) -> Core:
    """A core with the console admin, default catalog and the given settings overrides (and dashboard links)."""
    overrides.setdefault("admins", [f"console:{ADMIN}"])
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    return Core(settings=settings.rules(), sessions=sessions, catalog=load_catalog(None), clock=clock,
                notifier=notifier, dash=dash)


@dataclass
class Notices:
    """The Notifier port as a list: what the core told whom."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, identity: str, reply: Reply) -> bool:
        self.sent.append((identity, reply.text))
        return True

    def to(self, identity: str) -> list[str]:
        """The notices one identity got."""
        return [text for who, text in self.sent if who == identity]


async def squad_with_members(chat: Chat, team: str, *members: str) -> str:
    """Create a squad as the admin, join the members; returns the invite code."""
    reply = await chat.ok(ADMIN, f"建队 {team}")
    code = reply.text.split("邀请码：")[1].split()[0]
    for member in members:
        await chat.ok(member, f"加入 {code}")
    return code


def same_command(a: Command, b: Command) -> bool:
    """Whether two Commands are equal apart from the message text they came from."""
    return replace(a, text="") == replace(b, text="")


async def district_scan(session: AsyncSession, *, start: datetime, end: datetime, require_verification: bool,
                        team_id: int | None = None) -> rq.StageTally:
    """The district's (or one squad's) stage counts in [start, end), scanned from the projects: the squads of
    rq.stage_tallies added up (the oracle the year counters and the verification rule are checked against)."""
    total = rq.StageTally()
    for tally in (await rq.stage_tallies(session, start=start, end=end, require_verification=require_verification,
                                         team_id=team_id)).values():
        total.add(tally)
    return total
