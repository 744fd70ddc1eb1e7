"""The console adapter: chat with the core in a terminal, or drive it line by line from a script.

Each input line is one message; each reply is printed. A message of several lines is typed on one line
with `\n` where the line breaks go (`签约 #29\n落地 #30`). Pictures and files are written into the
working folder, each under a new name (a counter: an earlier chart is never overwritten), and their paths
printed. Lines starting with `:` talk to the console itself (`:user 小王`
switches who is typing, `:group`/`:private` switch the chat kind, `:quit`). When the bot stays silent
(chatter in a group), the console prints `（机器人未回复）` so a script still sees one answer per line.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.outputs import numbered, safe_part, write_new
from handlers.messages import Incoming, Reply
from handlers.ports import MessageHandler, Messenger

CONSOLE_HELP = (
    "控制台命令：:user 名字（切换身份） :group / :private（群聊/私聊） :quit（退出）；一条多行消息用 \\n 分行\n"
    "Console: :user NAME (switch person), :group / :private (chat kind), :quit; \\n breaks a line in a message"
)


class ConsoleSession:
    """One terminal conversation; identities are `console:<name>`."""

    def __init__(self, handle: MessageHandler, *, user: str, out: TextIO, files_dir: Path) -> None:
        self.handle = handle
        self.user = user
        self.chat_kind: str = "private"
        self.out = out
        self.files_dir = files_dir

    def print_line(self, text: str) -> None:
        """Write one line to the console and show it at once."""
        self.out.write(text + "\n")
        self.out.flush()

    async def say(self, line: str) -> Reply | None:
        """Handle one input line; returns the core's reply (None for console meta-commands)."""
        line = line.strip()
        if not line:
            return None
        if line.startswith(":"):
            self._meta(line)
            return None
        chat_id = "console-group" if self.chat_kind == "group" else f"console:{self.user}"
        incoming = Incoming(
            platform="console", user_id=self.user, display_name=self.user, chat_id=chat_id,
            chat_kind="group" if self.chat_kind == "group" else "private", text=line.replace("\\n", "\n"),
        )
        reply = await self.handle(incoming)
        await self._show(reply)
        return reply

    async def send(self, chat_id: str, reply: Reply, *, thread_id: str = "") -> None:
        """The Messenger port for the console: a notice for another console user is printed here."""
        self.print_line(f"📨 给 {chat_id} 的通知：{reply.text}\n")

    platform = "console"

    def _meta(self, line: str) -> None:
        word, _, rest = line[1:].partition(" ")
        if word == "user" and rest.strip():
            self.user = rest.strip()
            self.print_line(f"（现在的身份：{self.user}）")
        elif word in ("group", "private"):
            self.chat_kind = word
            self.print_line(f"（现在在{'群聊' if word == 'group' else '私聊'}）")
        else:
            self.print_line(CONSOLE_HELP)

    async def _show(self, reply: Reply) -> None:
        if reply.silent:
            self.print_line("（机器人未回复）\n")
            return
        self.print_line(reply.text)
        if reply.image is not None:
            # Numbered past any earlier chart in the folder: a second 排行 (or the next session's) keeps the first.
            image_name = safe_part(reply.image_name)
            path = await asyncio.to_thread(write_new, self.files_dir, lambda n: f"zsbot-{n}-{image_name}",
                                           reply.image)
            self.print_line(f"🖼  图表已保存：{path}")
        if reply.file is not None:
            stem, dot, suffix = safe_part(reply.file.name).rpartition(".")
            path = await asyncio.to_thread(write_new, self.files_dir,
                                           numbered(stem or suffix, f".{suffix}" if dot and stem else ""),
                                           reply.file.content)
            self.print_line(f"📎 文件已保存：{path}")
        self.print_line("")


def enable_line_editing() -> bool:
    """Arrow keys, line editing and history for the interactive prompt (the standard library's readline,
    where the platform has it); False where it has not."""
    try:
        import readline  # noqa: F401  (importing it is what hooks it into input())
    except ImportError:
        return False
    return True


async def run_console(handle: MessageHandler, *, user: str, stdin: TextIO | None = None,
                      out: TextIO | None = None, files_dir: Path | None = None,
                      started: Callable[[str, Messenger], None] | None = None) -> None:
    """Read lines until EOF or `:quit`; interactive prompts only when stdin is a terminal. With
    `started` (ZsBot.platform_started), the console registers itself, so notices for console users are printed."""
    source = stdin or sys.stdin
    session = ConsoleSession(handle, user=user, out=out or sys.stdout, files_dir=files_dir or Path.cwd())
    if started is not None:
        started("console", session)
    interactive = source.isatty()
    if interactive:
        enable_line_editing()
        session.print_line("招商助手控制台。发送「帮助」查看命令；" + CONSOLE_HELP)
    while True:
        prompt = f"{session.user}> " if interactive else ""
        # input() blocks: read in a worker thread so the event loop (and any scheduler) keeps running.
        line = await asyncio.to_thread(_read_line, source, prompt, interactive)
        if line is None or line.strip() == ":quit":
            break
        await session.say(line)


def _read_line(source: TextIO, prompt: str, interactive: bool) -> str | None:
    if interactive:
        try:
            return input(prompt)
        except EOFError:
            return None
    line = source.readline()
    return line if line else None
