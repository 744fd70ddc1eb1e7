"""Who is looking at the dashboard: the member a valid token names, with their role and squad as they are now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import access
from handlers.dashboard.tokens import Claims, TokenError, read_token
from storage import people_queries
from storage import report_queries as rq

if TYPE_CHECKING:
    from handlers.rules import Rules


@dataclass(frozen=True)
class Viewer:
    """A member allowed to look, read from the database at each request (roles change, links do not)."""

    member_id: int
    name: str
    role: str
    team_id: int | None
    team_name: str | None

    def may(self, page: str, *, team_id: int | None = None) -> bool:
        """Whether this viewer may open `page` about squad `team_id` (None: the district)."""
        return access.dash_allowed(page, self.role, own_team=self.team_id, team_id=team_id)

    def scope(self, page: str) -> str:
        """none, own or any (handlers.access.DASH_PAGES)."""
        return access.dash_scope(page, self.role)


async def viewer_for(
    session: AsyncSession, *, secret: str, token: str, settings: Rules, now: datetime
) -> Viewer:
    """The viewer a token names; TokenError when it is not ours, expired, revoked, or names no member now."""
    claims: Claims = read_token(secret, token, now=now)
    exists, revoked = await rq.dash_revoked_at(session, member_id=claims.member_id)
    if not exists:
        raise TokenError("no such member")
    if revoked is not None and claims.issued_at <= revoked:
        raise TokenError("revoked")
    member, team, admin, leader = await people_queries.member_team_roles(
        session, identity=claims.identity, admins=settings.admins, leaders=settings.leaders)
    if member is None or member.id != claims.member_id:
        raise TokenError("identity moved")  # the identity was unlinked or now belongs to someone else
    role = access.role_of(member.role, admin=admin, leader=leader)
    if role in ("member", "captain") and member.team_id is None:
        raise TokenError("no squad")  # left their squad: nothing of the district is theirs to see
    return Viewer(claims.member_id, member.name, role, member.team_id, team.name if team else None)
