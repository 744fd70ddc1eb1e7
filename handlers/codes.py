"""Codes that cannot be guessed: invite codes (加入) and link codes (关联).

Link codes are long and short-lived. Wrong codes are counted in the database (so several workers share the
count): after PER_IDENTITY wrong tries in ATTEMPT_WINDOW an identity waits out the window, whatever it
sends; and when wrong link codes pile up district-wide, every outstanding link code is voided and its owner
told (a code being hunted for is a code no longer worth having). A wrong code and an expired one get the
same answer, so a try never reveals whether a code exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from handlers.refusal import Refusal
from handlers.wording import key
from storage import people_queries, roster_queries

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: codes are read aloud and typed on phones
LINK_CODE_LENGTH = 10  # 31^10 ≈ 8 × 10^14: with the limits below, out of reach in its 15 minutes
ATTEMPT_WINDOW = timedelta(minutes=10)
PER_IDENTITY = 5
DISTRICT_WIDE = {"invite": 100, "link": 30}  # wrong tries in ATTEMPT_WINDOW: link codes voided; admins told (invite)
_NAMES = {"invite": key("code.invite"), "link": key("code.link")}


INVITE_CODE_LENGTH = 6  # a squad's invite code: kept short to read out; rotated with 「邀请码 队名 换」


def new_invite_code() -> str:
    """A random invite code (not checked against the codes in use: see fresh_invite_code)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(INVITE_CODE_LENGTH))


async def fresh_invite_code(session: AsyncSession) -> str:
    """An invite code no squad uses."""
    code = new_invite_code()
    while await people_queries.team_by_invite(session, code=code):
        code = new_invite_code()
    return code


def new_link_code() -> str:
    """A random link code (not checked against the codes in use: see fresh_link_code)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LINK_CODE_LENGTH))


async def fresh_link_code(session: AsyncSession) -> str:
    """A link code no person holds (expired ones included: a code is found by its text alone)."""
    code = new_link_code()
    while await roster_queries.member_by_link_code(session, code=code) is not None:
        code = new_link_code()
    return code


async def check_not_locked(ctx: Context, kind: str) -> None:
    """Refuse, before looking at the code, an identity that has guessed wrong too often lately."""
    since = ctx.now - ATTEMPT_WINDOW
    tries = await roster_queries.code_attempts(ctx.session, kind=kind, since=since, identity=ctx.incoming.identity)
    if tries >= PER_IDENTITY:
        minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
        raise Refusal(ctx.say("check_not_locked.too_many_wrong_try", code=ctx.say(_NAMES[kind]), minutes=minutes))


def wrong_code(ctx: Context, kind: str) -> Refusal:
    """The refusal for a wrong (or expired) code: the same words either way; the dispatcher counts it."""
    if kind == "invite":
        text = ctx.say("wrong_code.invite_code_valid_check")
    else:
        text = ctx.say("wrong_code.link_code_wrong_expired")
    return Refusal(text, attempt=kind)


async def count_wrong(session: AsyncSession, *, identity: str, kind: str, now: datetime,
                      admins: Sequence[str], message_id: str = "") -> list[tuple[int, str]]:
    """Count a wrong try (in its own transaction: the refusal's was rolled back). Returns the notices it calls
    for: past the district-wide limit, link codes are all voided and their owners told; invite codes (which
    keep working until rotated) have the admins told once, so they can rotate them."""
    if message_id and await roster_queries.code_attempt_counted(session, identity=identity, message_id=message_id):
        return []  # a redelivery of a guess already counted
    await roster_queries.prune_code_attempts(session, before=now - ATTEMPT_WINDOW)
    await roster_queries.add_code_attempt(session, identity=identity, kind=kind, now=now, message_id=message_id)
    total = await roster_queries.code_attempts(session, kind=kind, since=now - ATTEMPT_WINDOW)
    if kind == "link" and total >= DISTRICT_WIDE[kind]:
        return [(owner, VOIDED_NOTICE) for owner in await roster_queries.void_link_codes(session)]
    if kind == "invite" and total >= DISTRICT_WIDE[kind]:
        # Told once per window: the warning is itself recorded (a `>=` and a marker, not `== limit`, so two
        # workers counting the same instant cannot both step over the limit and skip it).
        if await roster_queries.code_attempts(session, kind=INVITE_ALERT, since=now - ATTEMPT_WINDOW):
            return []
        await roster_queries.add_code_attempt(session, identity="district", kind=INVITE_ALERT, now=now)
        minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
        text = (f"⚠️ {minutes} 分钟内有 {total} 次输错邀请码，可能有人在猜。邀请码换新后旧码即失效："
                f"发送「邀请码 队名 换」，再把新码发给队员。")
        return [(admin, text) for admin in await roster_queries.members_of_identities(session, identities=admins)]
    return []


INVITE_ALERT = "inv-alert"  # a CodeAttempt row marking that the admins were warned in this window

VOIDED_NOTICE = "⚠️ 有人在大量尝试关联码，为安全起见你的关联码已作废。需要时请重新发送「关联」获取新码。"
