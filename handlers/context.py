"""What a handler gets besides its command: who is asking, where, the open unit of work, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.catalog import Catalog
from handlers.commands import Lang
from handlers.messages import Incoming
from handlers.ports import Charts, DashLinks
from handlers.wording import say
from storage.models import Member, Team

if TYPE_CHECKING:  # settings live in bot/, the core only reads them
    from handlers.rules import Rules

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock (aware UTC)."""
    return datetime.now(UTC)


@dataclass
class Context:
    """One message being handled. `session` is inside the message's single transaction."""

    incoming: Incoming
    session: AsyncSession
    settings: Rules
    catalog: Catalog
    now: datetime
    lang: Lang = "zh"
    member: Member | None = None
    team: Team | None = None
    role: str = "stranger"  # handlers.access: stranger, member, captain, leader or admin
    notes: list[str] = field(default_factory=list)  # extra lines for the reply (warnings)
    locked: set[int] = field(default_factory=set)  # projects read under their lock in this transaction
    # A proposal's preview: the handler runs as if storing (the transaction is rolled back) and its card
    # says what would be stored, without ids of new rows or an undo line.
    preview: bool = False
    batch: str = ""  # the message's key: every event it stores carries it, so 撤销 undoes the whole message
    created: set[int] = field(default_factory=set)  # projects created by this message (no id in a preview)
    # Messages for other people, sent once the message is stored: (member id, text). 设为队长 tells the new
    # captain, a move between squads tells the old squad's captains, a used link code tells its owner.
    notices: list[tuple[int, str]] = field(default_factory=list)
    charts: Charts | None = None  # draws report charts (handlers.ports); None: replies without them
    dash: DashLinks | None = None  # issues 驾驶舱 links (handlers.ports); None: the dashboard is not served here

    def tell(self, member_id: int | None, text: str) -> None:
        """Let someone know, after the message is stored (nothing is said for a preview)."""
        if member_id is not None and not self.preview:
            self.notices.append((member_id, text))

    @property
    def today(self) -> date:
        """The local calendar day in the district's time zone."""
        return self.now.astimezone(self.settings.tz).date()

    @property
    def is_admin(self) -> bool:
        """An admin (from ZSBOT_ADMINS)."""
        return self.role == "admin"

    @property
    def is_leader(self) -> bool:
        """Leaders and admins see and may change every squad's projects."""
        return self.role in ("leader", "admin")

    def say(self, key: str, /, **values: object) -> str:
        """The message `key` (handlers.wording) in the language of the verb the user wrote."""
        return say(self.lang, key, **values)
