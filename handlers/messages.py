"""The platform-neutral message types: what an adapter hands the core and what the core hands back.

Adapters translate a platform update into exactly one `Incoming` and render a `Reply` back; nothing in
`handlers/` knows which platform a message came from beyond the `platform` string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChatKind = Literal["private", "group"]


@dataclass(frozen=True)
class IncomingFile:
    """A file or photo that arrived with a message (kept as evidence on a project)."""

    kind: Literal["photo", "document"]
    file_ref: str  # the platform's own handle (Telegram file_id, WeCom media_id)
    file_name: str = ""
    mime_type: str = ""
    size: int = 0
    local_path: str = ""  # where the adapter saved a copy, when it downloaded one


@dataclass(frozen=True)
class Incoming:
    """One message (or button press) from a person, as the core sees it."""

    platform: str  # "telegram", "wecom", "console"
    user_id: str  # the platform's user id; the identity is f"{platform}:{user_id}"
    text: str
    chat_id: str = ""
    chat_kind: ChatKind = "private"
    display_name: str = ""
    message_id: str | None = None  # platform message/update id: redeliveries carry the same one
    files: tuple[IncomingFile, ...] = ()
    is_button: bool = False  # the text came from pressing one of our buttons
    sent_at: datetime | None = None
    # The sender spoke to the bot in a group: @-mentioned it, replied to it, or wrote a /command. In a
    # group, a message not addressed to the bot is answered only when it reports an update.
    addressed: bool = False
    # Someone else's words passed on (a Telegram forward): never run as the sender's command; the core
    # may offer to act on it for the sender, after they confirm.
    forwarded: bool = False
    thread_id: str = ""  # the forum topic (Telegram) the message was written in; "" for the chat itself
    # The messenger that posts into this chat, when it is not `platform`'s: a WeCom group reached through
    # the AI bot ("wecom-bot") while its members are `wecom:<userid>`, as in the app.
    via: str = ""

    @property
    def identity(self) -> str:
        """The stored identity string, e.g. ``telegram:12345``."""
        return f"{self.platform}:{self.user_id}"

    @property
    def chat_platform(self) -> str:
        """The platform of the chat (what a binding of it is stored under): `via`, else `platform`."""
        return self.via or self.platform


@dataclass(frozen=True)
class Button:
    """A choice offered under a reply; pressing it is the same as sending `command` as text."""

    label: str
    command: str


@dataclass(frozen=True)
class LinkButton:
    """A web link under a reply (the 驾驶舱): a URL button where the platform has them, and on Telegram a Mini
    App button when `web_app_url` is set; the URL is in the reply's text too, so nothing is lost without it."""

    label: str
    url: str
    web_app_url: str = ""


@dataclass(frozen=True)
class OutgoingFile:
    """A file attached to a reply (the Excel ledger)."""

    name: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Reply:
    """What the core answers. Adapters render it in the richest form their platform supports.

    `text` is always complete on its own (plain text, no markup); `markdown` is an optional richer
    rendering in a small common subset (bold with **, no links), used where the platform supports it.
    `buttons` are numbered in `text` already, so platforms without buttons lose nothing.
    """

    text: str
    markdown: str | None = None
    image: bytes | None = None  # PNG
    image_name: str = "chart.png"
    file: OutgoingFile | None = None
    buttons: list[Button] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)  # platform user ids to @-mention (reminders)
    ok: bool = True  # False for refusals and errors: adapters may style them differently
    silent: bool = False  # nothing to send (chatter in a group): adapters send nothing
    link: LinkButton | None = None  # a web link button (not replayed: the replies carrying one store nothing)
    # The message's files were stored as evidence (rows awaiting their copy): the adapter downloads them now
    # (bot.evidence). Not replayed to a redelivery: the first delivery fetched them.
    evidence: bool = False

    def to_json(self) -> str:
        """Serialise the parts worth replaying to a redelivered message (no binary payloads)."""
        data: dict[str, Any] = {
            "text": self.text,
            "markdown": self.markdown,
            "buttons": [[b.label, b.command] for b in self.buttons],
            "mentions": self.mentions,
            "ok": self.ok,
            "silent": self.silent,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Reply:
        """Rebuild a reply stored by `to_json`."""
        data = json.loads(raw)
        return cls(
            text=data["text"],
            markdown=data.get("markdown"),
            buttons=[Button(label, command) for label, command in data.get("buttons", [])],
            mentions=list(data.get("mentions", [])),
            ok=bool(data.get("ok", True)),
            silent=bool(data.get("silent", False)),
        )
