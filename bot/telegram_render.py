"""Turning a core `Reply` into Telegram message parts: HTML escaping, splitting, mentions, buttons.

Everything here is pure (no network) so it can be tested on its own; `bot.telegram_adapter` sends the
parts. Replies always go out with ``parse_mode=HTML``. HTML rather than MarkdownV2 because MarkdownV2
demands a backslash before any of 18 characters (``.``, ``-``, ``(``, ``!`` …) wherever they appear,
which is in nearly every Chinese reply with an amount or a date, and one missed escape makes Telegram
refuse the whole message with 400; in HTML only ``<``, ``>`` and ``&`` are special and
`html.escape` handles them completely.
"""

from __future__ import annotations

import html
import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from handlers.messages import Button, LinkButton, Reply

# Bot API limits, counted by Telegram after entity parsing (in UTF-16 code units).
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes

_BOLD = re.compile(r"\*\*(.+?)\*\*")

# The owner marker for buttons anyone in the chat may press (posts from scheduled jobs).
ANYONE = "*"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    """Cut one overlong line into pieces of at most `limit` UTF-16 units, never inside a character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into chunks of at most `limit` UTF-16 units, at line breaks where possible.

    A single line longer than the limit is cut hard. Blank chunks are dropped, because Telegram
    refuses an empty message.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _hard_split(line, limit) if utf16_len(line) > limit else [line]:
            width = utf16_len(piece)
            # +1 for the newline that joins it to the chunk so far.
            if current and size + 1 + width > limit:
                chunks.append("\n".join(current))
                current, size = [], 0
            size += width + (1 if current else 0)
            current.append(piece)
    if current:
        chunks.append("\n".join(current))
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def escape_html(text: str, *, attribute: bool = False) -> str:
    """The one escape for Telegram HTML: whatever `text` holds (names, notes members typed) shows literally.

    Text needs only ``<``, ``>`` and ``&`` escaped; a value inside an attribute (a mention's user id) its
    quotes too.
    """
    return html.escape(text, quote=attribute)


def markdown_to_html(markdown: str) -> str:
    """Convert the core's markdown subset (``**bold**`` only) to Telegram HTML, escaping the rest."""
    return _BOLD.sub(r"<b>\1</b>", escape_html(markdown))


def markdown_visible(markdown: str) -> str:
    """The text a reader sees once ``**bold**`` markers are rendered (for length accounting)."""
    return _BOLD.sub(r"\1", markdown)


def mention_html(mention: str) -> tuple[str, str]:
    """Render one `Reply.mentions` entry as an HTML user link; returns (html, visible text).

    An entry is a Telegram user id, optionally ``telegram:``-prefixed and optionally followed by
    ``:Name`` (``"12345"``, ``"telegram:12345:张三"``); without a name the link reads ``@<id>``.
    """
    entry = mention.removeprefix("telegram:")
    user_id, _, name = entry.partition(":")
    label = "@" + (name or user_id)
    return f'<a href="tg://user?id={escape_html(user_id, attribute=True)}">{escape_html(label)}</a>', label


@dataclass(frozen=True)
class Chunk:
    """One message's worth of HTML and how long Telegram will count it."""

    html: str
    length: int


def render_chunks(reply: Reply, limit: int = MESSAGE_LIMIT) -> list[Chunk]:
    """The reply's text as HTML messages of at most `limit` characters each, mentions appended.

    `Reply.markdown` is used when present (bold survives), `Reply.text` otherwise. Splitting happens
    on the source before conversion, so no chunk ever breaks an HTML tag; a bold span cut by a hard
    split of one overlong line shows its ``**`` literally, which loses nothing.
    """
    if reply.markdown:
        chunks = [
            Chunk(markdown_to_html(part), utf16_len(markdown_visible(part)))
            for part in split_text(reply.markdown, limit)
        ]
    else:
        chunks = [
            Chunk(escape_html(part), utf16_len(part)) for part in split_text(reply.text, limit)
        ]
    if reply.mentions:
        rendered = [mention_html(m) for m in reply.mentions]
        line_html = " ".join(h for h, _ in rendered)
        line_len = utf16_len(" ".join(label for _, label in rendered))
        if chunks and chunks[-1].length + 1 + line_len <= limit:
            last = chunks[-1]
            chunks[-1] = Chunk(f"{last.html}\n{line_html}", last.length + 1 + line_len)
        else:
            chunks.append(Chunk(line_html, line_len))
    return chunks


class CallbackCodec:
    """Packs (owner, command) into a button's callback_data and back.

    The data is ``"<owner>|<command>"`` where owner is the Telegram user id of the person whose message
    the reply answers (or ``*`` for anyone). Telegram caps callback_data at 64 bytes, and a choice
    button's command can be a whole Chinese message (3 bytes a character), so a longer command is kept
    in a small in-memory LRU map and the data carries ``"<owner>|~<token>"`` instead. The map is not in
    the database on purpose: buttons are short-lived (a choice answered within minutes), and a token
    that is gone (restart, another worker) just asks the user to send the command again.
    """

    def __init__(self, max_entries: int = 2048) -> None:
        self._max_entries = max_entries
        self._commands: OrderedDict[str, str] = OrderedDict()

    def encode(self, owner: str, command: str) -> str:
        """Callback data for a button that sends `command` and only `owner` may press."""
        data = f"{owner}|{command}"
        if len(data.encode()) <= CALLBACK_DATA_LIMIT and not command.startswith("~"):
            return data
        token = secrets.token_urlsafe(9)
        self._commands[token] = command
        while len(self._commands) > self._max_entries:
            self._commands.popitem(last=False)
        return f"{owner}|~{token}"

    def decode(self, data: str) -> tuple[str, str | None]:
        """(owner, command) from callback data; command is None when a long command was forgotten."""
        owner, _, command = data.partition("|")
        if command.startswith("~"):
            found = self._commands.get(command[1:])
            if found is not None:
                self._commands.move_to_end(command[1:])
            return owner, found
        return owner, command


def keyboard(buttons: Sequence[Button], owner: str, codec: CallbackCodec,
             link: LinkButton | None = None) -> InlineKeyboardMarkup | None:
    """An inline keyboard with one button per row (choices read best stacked), or None for none; a link goes
    last, as a Mini App button when it has a Mini App address (Telegram allows those in private chats, the
    only place the bot gives a 驾驶舱 link), else as a URL button."""
    rows = [[InlineKeyboardButton(b.label, callback_data=codec.encode(owner, b.command))] for b in buttons]
    if link is not None:
        rows.append([InlineKeyboardButton(link.label, web_app=WebAppInfo(link.web_app_url)) if link.web_app_url
                     else InlineKeyboardButton(link.label, url=link.url)])
    return InlineKeyboardMarkup(rows) if rows else None


@dataclass(frozen=True)
class Part:
    """One Bot API send: a text message, a photo (with optional caption) or a document."""

    kind: Literal["text", "photo", "document"]
    html: str | None = None  # message text, or the caption
    markup: InlineKeyboardMarkup | None = None
    content: bytes = b""
    filename: str = ""


def plan_parts(reply: Reply, markup: InlineKeyboardMarkup | None) -> list[Part]:
    """The messages that render `reply`, in sending order.

    The chart photo goes first, captioned with the first chunk when that fits a caption (1,024
    characters); then the text chunks; then the ledger document. The buttons ride on the last part
    that carries text, so they sit under the end of the answer.
    """
    chunks = render_chunks(reply)
    parts: list[Part] = []
    if reply.image is not None:
        caption = chunks.pop(0).html if chunks and chunks[0].length <= CAPTION_LIMIT else None
        parts.append(Part("photo", caption, content=reply.image, filename=reply.image_name))
    parts.extend(Part("text", chunk.html) for chunk in chunks)
    if reply.file is not None:
        parts.append(Part("document", content=reply.file.content, filename=reply.file.name))
    if markup is not None and parts:
        with_text = [i for i, part in enumerate(parts) if part.html]
        target = with_text[-1] if with_text else len(parts) - 1
        parts[target] = replace(parts[target], markup=markup)
    return parts
