"""WeCom markdown made harmless: the one escaper both WeCom renderers use (bot.wecom_render for app messages
and group robots, bot.wecom_bot.render for the AI bot).

WeCom documents no escape syntax, so what opens markup becomes a full-width look-alike: the core's table
(handlers.reports.MARKDOWN_SAFE: `*`, `[`, `]`, `<`, `>`, `` ` ``) for links, fonts, mentions, code, bold and
quotes, and a `#` that would start a heading.
"""

from __future__ import annotations

import re

from handlers.reports import MARKDOWN_SAFE

# A heading is one to six `#` at a line's start, then whitespace or the line's end ("# 标题", "## 二级", a bare
# "#"): its first `#` becomes ＃. A `#12` project id keeps its ASCII hash.
_HEADING = re.compile(r"^(\s*)#(?=#{0,5}(?:\s|$))", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """`text` shown literally by WeCom markdown: no link, font, mention, code, bold, quote or heading."""
    return _HEADING.sub(r"\1＃", text.translate(MARKDOWN_SAFE))
