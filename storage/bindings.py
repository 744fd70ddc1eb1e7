"""Bound chats that move or go away: a Telegram group upgraded to a supergroup, a bot removed from a group,
a WeCom robot key revoked. The SQL behind jobs.bindings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, delete, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatBinding, JobRun, PendingChoice


async def binding_of(session: AsyncSession, *, platform: str, chat_id: str) -> ChatBinding | None:
    """The binding of one chat, if it is bound."""
    statement = select(ChatBinding).where(col(ChatBinding.platform) == platform, col(ChatBinding.chat_id) == chat_id)
    return (await session.exec(statement)).first()


async def drop_paused(session: AsyncSession, *, platform: str, keep_chat: str, team_id: int | None,
                      leaders: bool) -> None:
    """Delete the paused bindings of one audience (a squad, or the leaders) on one platform except `keep_chat`:
    a new robot for the same squad replaces the one whose key was revoked."""
    same_audience = col(ChatBinding.team_id) == team_id if team_id is not None else col(ChatBinding.team_id).is_(None)
    dead = await session.exec(select(ChatBinding).where(
        col(ChatBinding.platform) == platform, col(ChatBinding.chat_id) != keep_chat,
        col(ChatBinding.is_leaders) == leaders, same_audience, col(ChatBinding.paused_at).is_not(None)))
    for old in dead.all():
        await session.delete(old)


async def move_chat(session: AsyncSession, *, platform: str, old: str, new: str) -> ChatBinding | None:
    """Follow a chat to its new id; returns the binding now on `new`, or None when `old` had none (it moved
    already, or was never bound).

    The binding row itself moves, so its squad, settings, topic and pause go with it, and the job ledger
    (keyed by the binding's id) keeps saying what was posted today. If `new` was bound meanwhile (an admin
    bound the upgraded group before the bot saw the upgrade), that later binding stays; the old one is
    dropped and its ledger rows carried over where the new one has none for that job and period.
    """
    moving = await binding_of(session, platform=platform, chat_id=old)
    if moving is None or moving.id is None:
        return None
    there = await binding_of(session, platform=platform, chat_id=new)
    if there is None:
        statement = (update(ChatBinding).where(col(ChatBinding.id) == moving.id, col(ChatBinding.chat_id) == old)
                     .values(chat_id=new).execution_options(synchronize_session=False))
        if (await session.exec(cast(Any, statement))).rowcount != 1:
            return None  # another process moved it first
        moving.chat_id = new
        return moving
    old_key, new_key = f"{platform}:{moving.id}", f"{platform}:{there.id}"
    other = aliased(JobRun)
    taken = exists().where(col(other.job) == col(JobRun.job), col(other.period) == col(JobRun.period),
                           col(other.chat_key) == new_key)
    await session.exec(cast(Any, update(JobRun).where(and_(col(JobRun.chat_key) == old_key, ~taken))
                            .values(chat_key=new_key).execution_options(synchronize_session=False)))
    await session.exec(cast(Any, delete(JobRun).where(col(JobRun.chat_key) == old_key)))
    await session.exec(cast(Any, delete(ChatBinding).where(col(ChatBinding.id) == moving.id)))
    return there


async def move_questions(session: AsyncSession, *, platform: str, old: str, new: str) -> None:
    """Open questions asked in a chat that moved follow it, so a `1` sent in the upgraded group answers them
    (one asked in the new chat meanwhile wins)."""
    other = aliased(PendingChoice)
    taken = exists().where(col(other.identity) == col(PendingChoice.identity), col(other.chat_id) == new)
    await session.exec(cast(Any, update(PendingChoice)
                            .where(col(PendingChoice.chat_id) == old,
                                   col(PendingChoice.identity).startswith(f"{platform}:"), ~taken)
                            .values(chat_id=new).execution_options(synchronize_session=False)))


async def pause(session: AsyncSession, *, platform: str, chat_id: str, reason: str, now: datetime) -> ChatBinding | None:
    """Stop posting to a chat that is gone; returns its binding when this call paused it (None: not bound,
    or paused already — so the admins hear of it once)."""
    binding = await binding_of(session, platform=platform, chat_id=chat_id)
    if binding is None or binding.paused_at is not None or binding.id is None:
        return None
    statement = (update(ChatBinding).where(col(ChatBinding.id) == binding.id, col(ChatBinding.paused_at).is_(None))
                 .values(paused_at=now, paused_reason=reason[:300]).execution_options(synchronize_session=False))
    if (await session.exec(cast(Any, statement))).rowcount != 1:
        return None
    binding.paused_at, binding.paused_reason = now, reason[:300]
    return binding


async def resume(session: AsyncSession, *, platform: str, chat_id: str) -> ChatBinding | None:
    """Post to a paused chat again; returns its binding when this call resumed it."""
    binding = await binding_of(session, platform=platform, chat_id=chat_id)
    if binding is None or binding.paused_at is None or binding.id is None:
        return None
    statement = (update(ChatBinding).where(col(ChatBinding.id) == binding.id, col(ChatBinding.paused_at).is_not(None))
                 .values(paused_at=None, paused_reason="").execution_options(synchronize_session=False))
    if (await session.exec(cast(Any, statement))).rowcount != 1:
        return None
    binding.paused_at, binding.paused_reason = None, ""
    return binding
