"""The one place a core `Reply` becomes WeCom content: markdown (group robots, app markdown) and text.

The core's `Reply.text` is plain text and `Reply.markdown` is its twin in a small subset (`**bold**` only,
with the characters that open markup already turned into look-alikes by the core); either may carry what
members typed — names, project names, notes, problem texts. WeCom renders more than that:

- markdown (群机器人 and 应用消息 alike): `[text](url)` links, `<font color>`, `<@userid>` mentions,
  `` `code` ``, `**bold**`, a `>` quote or a `# ` heading at the start of a line;
- text (应用消息): `<a href="…">` links (the documented way to put a link in a text message).

Neither format has an escape syntax WeCom documents (a backslash shows literally in some clients and not in
others), so the characters that open markup become their full-width look-alikes: the reader sees the same
words, and nothing a member typed becomes a link, a colour, a mention or a heading. Only the bold markers
the core put around a title, and the `<@userid>` mentions this module appends itself, stay markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.wecom_markdown import escape_markdown
from handlers.messages import LinkButton, Reply

# Text: only tags are markup (`<a href>`); `>` is mapped too so a stray `a href="…">` cannot pair with a
# `<` the platform inserts.
_TEXT = str.maketrans({"<": "＜", ">": "＞"})
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def escape_text(text: str) -> str:
    """`text` shown literally in a WeCom text message: no `<a href>` or other tag."""
    return text.translate(_TEXT)


def markdown_of(reply: Reply) -> str:
    """The reply as WeCom markdown: its markdown twin with the core's bold kept, else its text, escaped."""
    if not reply.markdown:
        return escape_markdown(reply.text)
    pieces: list[str] = []
    last = 0
    for match in _BOLD.finditer(reply.markdown):
        pieces.append(escape_markdown(reply.markdown[last:match.start()]))
        pieces.append(f"**{escape_markdown(match.group(1))}**")
        last = match.end()
    pieces.append(escape_markdown(reply.markdown[last:]))
    return "".join(pieces)


def text_of(reply: Reply) -> str:
    """The reply as a WeCom text message."""
    return escape_text(reply.text)


def mention_line(user_ids: Sequence[str]) -> str:
    """`<@userid>` mentions for a robot markdown post; an id that is no WeCom userid is left out."""
    return " ".join(f"<@{user_id}>" for user_id in user_ids if _USERID.fullmatch(user_id))


def robot_markdown(reply: Reply) -> str:
    """A group robot's markdown post: the reply, then its mentions on a line of their own."""
    content = markdown_of(reply)
    mentions = mention_line(reply.mentions)
    return f"{content}\n{mentions}".strip("\n") if mentions else content


# 文本卡片消息 (发送应用消息): title at most 128 bytes, description at most 512, button text at most 4 characters.
TEXTCARD_TITLE_BYTES = 128
TEXTCARD_DESCRIPTION_BYTES = 512
TEXTCARD_BUTTON_CHARS = 4


def clip_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes at a character boundary, with an ellipsis when cut."""
    if len(text.encode()) <= limit:
        return text
    cut = text.encode()[: limit - len("…".encode())].decode(errors="ignore")
    return cut + "…"


def textcard_of(reply: Reply, link: LinkButton) -> dict[str, str]:
    """The reply as an app 文本卡片: its first line the title, the rest the description (escaped: the
    description renders `<div class>` tags), the whole card opening `link.url`."""
    lines = [line for line in reply.text.splitlines() if line.strip()]
    title = lines[0] if lines else link.label
    rest = [line for line in lines[1:] if line.strip() != link.url]
    return {"title": clip_bytes(escape_text(title), TEXTCARD_TITLE_BYTES),
            "description": clip_bytes(escape_text("\n".join(rest) or link.label), TEXTCARD_DESCRIPTION_BYTES),
            "url": link.url, "btntxt": link.label[:TEXTCARD_BUTTON_CHARS] if len(link.label) <= TEXTCARD_BUTTON_CHARS
            else "打开"}
