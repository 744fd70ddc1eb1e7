"""`zsbot jobs list` and `zsbot jobs run NAME [--chat ID] [--dry-run [--out DIR]]`: the scheduled posts by hand.

Robot keys are secrets: the listing shows a WeCom group robot as its binding id and a masked key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import aiohttp

from bot.app import ZsBot
from bot.outputs import numbered, safe_part, write_new
from bot.settings import Settings
from handlers.chat_settings import job_key, job_setting
from handlers.ports import Messenger
from jobs.posts import JOBS, JobSpec, Target, bound_targets
from jobs.scheduler import DRY_RUN, Outcome
from jobs.timing import grace_period, next_run
from storage import job_runs as runs

Out = Callable[[str], None]

_STATUS_ZH = {
    runs.SENT: "✅ 已发送", runs.SKIPPED: "⏭ 无内容，未发送", runs.RETRY: "🔁 失败，稍后重试",
    runs.FAILED: "❌ 失败", runs.CLAIMED: "⏳ 发送中", "held": "⏳ 另一进程正在发送",
    "done": "☑️ 本期已处理", "no-messenger": "⚠️ 平台未配置，未发送", "error": "⚠️ 数据库出错，稍后自动重试",
    "paused": "⏸ 机器人已不在群里，已暂停并通知管理员",
}


def mask(secret: str) -> str:
    """A robot key as its first four characters and ****."""
    return f"{secret[:4]}****" if len(secret) >= 12 else "****"


def chat_text(target: Target) -> str:
    """How a chat is printed: platform, binding id, chat id (a robot key masked) and audience."""
    if target.binding_id is None:
        return f"（未绑定群：{target.audience}将收到的内容）"
    shown = mask(target.chat_id) if target.platform == "wecom-robot" else target.chat_id
    return f"{target.platform} 绑定#{target.binding_id} {shown} {target.audience}"


def _when(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _resolve(name: str) -> str | None:
    if name in JOBS:
        return name
    key = job_key(name)
    return key if key in JOBS else None


def _audience(spec: JobSpec) -> str:
    parts = (["各小分队群"] if spec.to_teams else []) + (["领导群"] if spec.to_leaders else [])
    return "、".join(parts)


async def list_jobs(settings: Settings, *, out: Out = print) -> int:
    """Print each job, and for every chat it goes to: its time, next run and last result."""
    async with ZsBot(settings) as bot:
        now = bot.clock()
        async with bot.sessions() as session:
            pairs = await bound_targets(session)
            last = await runs.last_runs(session, jobs=JOBS)
        rules = bot.rules  # built once by the composition root (it reads the assessment scheme)
        out(f"宽限期 / grace: {int(grace_period(rules).total_seconds() // 60)} 分钟；时区 {settings.timezone}")
        for spec in JOBS.values():
            day = "每周一" if spec.weekday == 0 else ("工作日" if spec.workdays_only else "每天")
            out("")
            out(f"{spec.key} {spec.title} · {day} {spec.default_time:%H:%M}（默认）→ {_audience(spec)}")
            chats = [(binding, target) for binding, target in pairs if spec.serves(binding)]
            if not chats:
                out("  （尚未绑定群）")
            today_period = spec.period(now.astimezone(settings.tz).date())
            for binding, target in chats:
                setting = job_setting(binding, spec.key)
                run = last.get((spec.key, target.chat_key))
                if binding.paused_at is not None:
                    upcoming = f"⏸ 已暂停（{binding.paused_reason[:60]}）"
                elif not setting.enabled:
                    upcoming = "已关闭"
                else:
                    done = run is not None and run.period == today_period and run.state in runs.FINAL_STATES
                    upcoming = "下次 " + _when(next_run(spec, setting.at, now, rules, done_today=done), settings)
                if run is None:
                    result = "上次：无"
                else:
                    status = _STATUS_ZH.get(run.state, run.state)
                    result = f"上次：{run.period} {status} {_when(run.finished_at or run.claimed_at, settings)}"
                    if run.error:
                        result += f"（{run.error[:80]}）"
                out(f"  {chat_text(target)} · {setting.at:%H:%M} · {upcoming} · {result}")
    return 0


def print_outcome(outcome: Outcome, *, out: Out = print) -> None:
    """Print one outcome; a dry run's card in full."""
    if outcome.status != DRY_RUN:
        line = f"{chat_text(outcome.target)}：{_STATUS_ZH.get(outcome.status, outcome.status)}"
        out(line + (f"（{outcome.error}）" if outcome.error else ""))
        return
    out(f"===== {outcome.job} → {chat_text(outcome.target)} =====")
    card = outcome.card
    if card is None:
        out("（无内容，不会发送）")
        return
    out(card.reply.text)
    if card.reply.mentions:
        out("[提及 / mentions] " + " ".join(card.reply.mentions))
    if card.reply.image:
        out(f"[图片 / image] {card.reply.image_name} {len(card.reply.image)} 字节")
    if card.reply.file:
        out(f"[文件 / file] {card.reply.file.name} {len(card.reply.file.content)} 字节")


@contextlib.asynccontextmanager
async def _messengers(bot: ZsBot) -> AsyncIterator[dict[str, Messenger]]:
    """The platforms' messengers for sending only: no polling, no webhook changes."""
    from bot.platforms import open_platforms

    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
        open_platforms(bot, http, receive=False),
        _wecom_bot(bot, http),
    ):
        yield bot.messengers


def _wecom_bot(bot: ZsBot, http: aiohttp.ClientSession) -> contextlib.AbstractAsyncContextManager[object]:
    """The WeCom AI bot's messenger: through the running bot's connection, or its own (when configured)."""
    if not (bot.settings.wecom_bot_enabled or bot.settings.wecom_bot_callback_enabled):
        return contextlib.nullcontext()
    from bot.wecom_bot.platform import open_wecom_bot

    return open_wecom_bot(bot, http, receive=False)


def _chat_file_part(target: Target) -> str:
    # The binding id, never the chat id: a WeCom group robot's chat id is its secret key.
    if target.binding_id is None:
        return "unbound-" + safe_part(target.audience)
    return f"{safe_part(target.platform)}-binding{target.binding_id}"


def save_outcome(outcome: Outcome, directory: Path) -> list[Path]:
    """Write a dry run's card (text), image (png) and file into `directory`, each under a new name. Sync."""
    card = outcome.card
    if card is None:
        return []
    stem = f"{outcome.job}-{_chat_file_part(outcome.target)}"
    reply = card.reply
    lines = [f"# {outcome.job} → {chat_text(outcome.target)}", reply.text]
    if reply.mentions:
        lines.append("[提及 / mentions] " + " ".join(reply.mentions))
    written = [write_new(directory, numbered(stem, ".txt"), ("\n".join(lines) + "\n").encode("utf-8"))]
    if reply.image:
        written.append(write_new(directory, numbered(stem, ".png"), reply.image))
    if reply.file:
        name = safe_part(reply.file.name)
        written.append(write_new(directory, numbered(f"{stem}-{Path(name).stem}", Path(name).suffix),
                                 reply.file.content))
    return written


async def run_job(
    settings: Settings, name: str, *, chat: str | None = None, dry_run: bool = False, out: Out = print,
    out_dir: Path | None = None,
) -> int:
    """Run one job now; with `dry_run`, print every card instead of sending (exit 1 if a chat failed);
    with `out_dir` too, also write each card and image there."""
    key = _resolve(name)
    if key is None:
        out(f"没有叫「{name}」的定时推送。可用：{', '.join(JOBS)}")
        return 2
    async with ZsBot(settings) as bot:
        if dry_run:
            scheduler = bot.scheduler()
            outcomes = await scheduler.run_now(key, chat=chat, dry_run=True)
        else:
            async with _messengers(bot) as messengers:
                scheduler = bot.scheduler(messengers=messengers, housekeeping=None)
                outcomes = await scheduler.run_now(key, chat=chat)
    if not outcomes:
        out(f"{key}：没有符合条件的群" + (f"（--chat {chat}）" if chat else "") + "。")
        return 1 if chat else 0
    for outcome in outcomes:
        print_outcome(outcome, out=out)
        if out_dir is not None:
            for path in await asyncio.to_thread(save_outcome, outcome, out_dir):
                out(f"[已保存 / saved] {path}")
    return 1 if any(o.status in (runs.FAILED, runs.RETRY, "error", "paused") for o in outcomes) else 0


async def jobs_command(settings: Settings, args: argparse.Namespace) -> int:
    """Entry point of `zsbot jobs list|run` (called by bot.cli)."""
    if args.jobs_command == "list":
        return await list_jobs(settings)
    if args.jobs_command == "run":
        return await run_job(settings, args.name, chat=args.chat, dry_run=args.dry_run, out_dir=args.out)
    raise ValueError(f"unknown jobs command {args.jobs_command!r}")
