"""The `Messenger` port for the 智能机器人 (`wecom-bot`): scheduled posts into its groups and chats.

A post is `aibot_send_msg`: markdown (with `<@userid>` mentions for reminders), then the chart and any
file uploaded over the connection and posted by media_id, each paced within the chat's 30 a minute and
1,000 an hour. WeCom takes a post only for a chat that has talked to the bot, which a bound group has:
`绑定` is itself an @-mention. Callback mode cannot post on its own (WeCom offers the AI bot no push
without the long connection): its messenger says so, and the job reports it to the leaders and admins.
"""

from __future__ import annotations

import logging

from bot.wecom_bot import frames, render
from bot.wecom_bot.connection import BotApiError
from bot.wecom_bot.media import fit_image
from bot.wecom_bot.sender import BotSender
from handlers.messages import Reply
from handlers.ports import DeliveryError

log = logging.getLogger(__name__)

PLATFORM = "wecom-bot"
CONNECT_WAIT = 10.0  # seconds a post waits for a connection that is (re)connecting


class BotMessenger:
    """Posts through the long connection."""

    platform = PLATFORM

    def __init__(self, sender: BotSender) -> None:
        """Post with `sender`."""
        self._sender = sender

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Post `reply` to a group (chatid) or a person (userid); DeliveryError when WeCom refused it."""
        if not frames.is_id(chat_id):
            raise DeliveryError("企业微信智能机器人：会话 id 格式不对 (malformed chat id)", permanent=True)
        if not await self._sender.connection.wait_connected(CONNECT_WAIT):
            raise DeliveryError("企业微信智能机器人长连接未建立（正在重连），稍后重试 (not connected)")
        try:
            for body in render.post_bodies(reply):
                await self._sender.push(chat_id, body)
            image = await fit_image(reply.image)
            if image is not None:
                media_id = await self._sender.upload("image", reply.image_name, image)
                await self._sender.push(chat_id, {"msgtype": "image", "image": {"media_id": media_id}})
            if reply.file is not None:
                media_id = await self._sender.upload("file", reply.file.name, reply.file.content)
                await self._sender.push(chat_id, {"msgtype": "file", "file": {"media_id": media_id}})
        except BotApiError as exc:
            raise DeliveryError(f"企业微信智能机器人发送失败：{exc}", permanent=not exc.transient) from exc


class CallbackOnlyMessenger:
    """Stands for the AI bot in callback mode, which cannot post on its own: every post fails for good."""

    platform = PLATFORM

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """Refuse, saying what would make it work."""
        raise DeliveryError("企业微信智能机器人在回调模式下不能主动推送：请配置 ZSBOT_WECOM_BOT_ID 和 "
                            "ZSBOT_WECOM_BOT_SECRET（长连接），或为该群绑定群机器人（绑定 队名 robot:KEY）",
                            permanent=True)
