"""Telling people a scheduled post did not reach some chats after every retry: the leaders' group and the
admins hear it once, with errors cleaned of secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from handlers.messages import Reply
from handlers.ports import Messenger
from jobs.posts import JobSpec, Target

log = logging.getLogger(__name__)

# The messengers that reach one person by an identity of each kind, in order of preference.
_PERSON_MESSENGERS = {"telegram": ("telegram",), "wecom": ("wecom", "wecom-bot")}


def safe_error(error: str, target: Target) -> str:
    """An error text fit for logs and the leaders' group: never a robot key."""
    if target.platform == "wecom-robot" and target.chat_id:
        error = error.replace(target.chat_id, target.chat_id[:4] + "****")
    return error


async def report_failures(
    spec: JobSpec, period: str, failed: Sequence[tuple[Target, str]], leaders: Sequence[Target], *,
    messengers: Mapping[str, Messenger], admins: Sequence[str], send_timeout: float,
) -> None:
    """Tell the leaders' group and the admins, once, which chats (`failed`: each with its error) did not get a
    post after every retry."""
    lines = [f"⚠️ 定时推送失败 · {spec.title}（{period}）",
             f"以下 {len(failed)} 个群没有收到，已停止重试："]
    for where, error in failed[:30]:
        lines.append(f"· {where.audience}（{where.platform} 绑定#{where.binding_id}）：{error[:120]}")
    if len(failed) > 30:
        lines.append(f"…… 另有 {len(failed) - 30} 个")
    lines.append("请检查机器人是否仍在群里、群机器人 key 是否有效；修复后可运行 "
                 f"zsbot jobs run {spec.key} --chat 绑定号 补发。")
    notice = Reply(text="\n".join(lines))
    failed_keys = {where.chat_key for where, _ in failed}
    recipients: list[tuple[str, str, str, Target | None]] = [(t.platform, t.chat_id, t.label, t) for t in leaders
                  if t.chat_key not in failed_keys and t.platform in messengers]
    # The admins (ZSBOT_ADMINS) hear it directly too, on every platform that can reach a person.
    for identity in admins:
        kind, _, user = identity.partition(":")
        # A WeCom member is reached by the app, or else by the AI bot's direct chat.
        platform = next((p for p in _PERSON_MESSENGERS.get(kind, ()) if p in messengers), None)
        if platform is not None and user:
            recipients.append((platform, user, f"admin {identity}", None))
    if not recipients:
        log.error("scheduled posts: %d chats missed %s %s and neither the leaders nor an admin can be told",
                  len(failed), spec.key, period)
    for platform, chat_id, label, target in recipients:
        try:
            async with asyncio.timeout(send_timeout):
                await messengers[platform].send(chat_id, notice)
        except Exception as exc:  # a notice is best effort: the failures stay in the ledger
            error = safe_error(str(exc), target) if target is not None else str(exc)
            log.error("scheduled posts: failure notice to %s not delivered: %s", label, error)
