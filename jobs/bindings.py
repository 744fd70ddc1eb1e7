"""Bound chats as the platforms really treat them: they move, and they go away.

- A Telegram group that passes 200 members, turns public or enables topics becomes a supergroup with a
  new chat id (the old chat gets `migrate_to_chat_id`, the new one `migrate_from_chat_id`, and a send to
  the old id answers 400 with `migrate_to_chat_id`). Whichever of the three the bot sees first moves the
  binding — squad, settings, topic and job ledger — to the new id, and the group is told once.
- When the bot is removed from a group (Telegram `my_chat_member` → left/kicked, or a send answered
  "bot was kicked"), or a WeCom robot key is rejected for good (93000), the binding is paused: no post
  goes there, and the admins (ZSBOT_ADMINS) hear it once. It resumes when the bot is added back (or the
  robot bound again with `绑定`), and the admins hear that too.

Each change is one guarded UPDATE (storage.bindings), so of several processes seeing the same event
exactly one acts on it and sends the notice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Clock
from handlers.messages import Reply
from handlers.ports import Messenger
from storage import bindings, people_queries
from storage.db import SessionFactory, transaction
from storage.models import ChatBinding

if TYPE_CHECKING:
    from handlers.rules import Rules

log = logging.getLogger(__name__)

NOTICE_TIMEOUT = 30.0  # seconds a notice may take before it is given up (it is best effort)
_ADMIN_PLATFORMS = ("telegram", "wecom")  # where a person can be messaged directly


def _where(binding: ChatBinding) -> str:
    """How a binding is named in a notice: never the chat id (a robot key is a secret)."""
    kind = "群机器人" if binding.platform == "wecom-robot" else f"{binding.platform} 群"
    return f"{kind}（绑定#{binding.id}）"


class ChatLifecycle:
    """Moves, pauses and resumes bindings, and tells the people concerned (the ChatEvents port)."""

    def __init__(self, *, settings: Rules, sessions: SessionFactory, messengers: Mapping[str, Messenger],
                 clock: Clock) -> None:
        """`messengers` is read when a notice goes out, so platforms started later are used."""
        self._settings = settings
        self._sessions = sessions
        self._messengers = messengers
        self._clock = clock

    async def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> bool:
        """Move the binding of `old_chat_id` to `new_chat_id`; the group hears it once."""
        if old_chat_id == new_chat_id:
            return False
        async with transaction(self._sessions) as session:
            await bindings.move_questions(session, platform=platform, old=old_chat_id, new=new_chat_id)
            binding = await bindings.move_chat(session, platform=platform, old=old_chat_id, new=new_chat_id)
            audience = await self._audience(session, binding) if binding is not None else ""
        if binding is None:
            return False
        log.warning("%s chat %s moved to %s: binding #%s follows", platform, old_chat_id, new_chat_id, binding.id)
        await self._notify(platform, new_chat_id, Reply(text=(
            f"🔁 本群已升级（群号变更），与{audience}的绑定、推送时间和设置已随群迁移，无需重新绑定。\n"
            "This group was upgraded and has a new id; its binding and post settings moved with it.")))
        return True

    async def chat_lost(self, platform: str, chat_id: str, reason: str) -> bool:
        """Pause the binding of a chat the bot lost; the admins hear it once."""
        async with transaction(self._sessions) as session:
            binding = await bindings.pause(session, platform=platform, chat_id=chat_id, reason=reason,
                                           now=self._clock())
            audience = await self._audience(session, binding) if binding is not None else ""
        if binding is None:
            return False
        log.warning("%s binding #%s paused: %s", platform, binding.id, reason)
        how = ("重新发送「绑定 队名 robot:新KEY」后恢复" if platform == "wecom-robot"
               else "把机器人加回该群后自动恢复")
        await self._tell_admins(Reply(text=(
            f"⚠️ 已暂停向{audience}的{_where(binding)}推送：{reason}\n{how}。\n"
            f"Posts to {binding.platform} binding #{binding.id} are paused: {reason}")))
        return True

    async def chat_back(self, platform: str, chat_id: str) -> bool:
        """Resume the binding of a chat the bot is back in; the admins hear it once."""
        async with transaction(self._sessions) as session:
            binding = await bindings.resume(session, platform=platform, chat_id=chat_id)
            audience = await self._audience(session, binding) if binding is not None else ""
        if binding is None:
            return False
        log.warning("%s binding #%s resumed", platform, binding.id)
        await self._tell_admins(Reply(text=(
            f"✅ 已恢复向{audience}的{_where(binding)}推送。\n"
            f"Posts to {binding.platform} binding #{binding.id} are back on.")))
        return True

    @staticmethod
    async def _audience(session: AsyncSession, binding: ChatBinding) -> str:
        if binding.is_leaders:
            return "领导群"
        if binding.team_id is None:
            return "（未知小分队）"
        team = await people_queries.team_by_id(session, team_id=binding.team_id)
        return f"「{team.name}」" if team is not None else "（未知小分队）"

    async def _tell_admins(self, notice: Reply) -> None:
        for identity in self._settings.admins:
            platform, _, user = identity.partition(":")
            if platform in _ADMIN_PLATFORMS and user:
                await self._notify(platform, user, notice)

    async def _notify(self, platform: str, chat_id: str, notice: Reply) -> None:
        messenger = self._messengers.get(platform)
        if messenger is None:
            return
        try:
            async with asyncio.timeout(NOTICE_TIMEOUT):
                await messenger.send(chat_id, notice)
        except Exception as exc:  # a notice is best effort: the state change is already stored
            log.error("notice to %s %s not delivered: %s", platform, "admin" if chat_id in self._admin_ids() else "chat",
                      exc)

    def _admin_ids(self) -> set[str]:
        return {identity.partition(":")[2] for identity in self._settings.admins}
