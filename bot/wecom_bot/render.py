"""A `Reply` as the 智能机器人's bodies: a stream reply (markdown), template cards with buttons, posts.

- A reply in place is a finished stream (`msgtype: stream`, markdown, at most 20,480 bytes; a chart rides
  along as an image item). A reply with buttons (an update's 撤销, a proposal's 1 / 2 / 0) is a stream
  with a `button_interaction` card (`stream_with_template_card`): the stream carries the whole text, the
  card a headline and the buttons.
- A button's key is `zs1|<owner>|<command>`: pressing it sends `command`, and only `owner` (the userid whose
  message the card answers, or `*` for anyone) may press it.
- A card after a click shows the outcome: its headline, as much of the text as a card holds, and the
  outcome's own buttons.
- Text the core wrote as plain text goes out as markdown, so the characters that open markup are swapped
  for full-width look-alikes (the same rule as the core's markdown twin), and `<@userid>` mentions follow.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any

from bot.wecom_markdown import escape_markdown as escape  # plain text made safe to show as markdown
from bot.wecom_payloads import split_utf8
from handlers.format import clip
from handlers.messages import Button, LinkButton, Reply

STREAM_LIMIT = 20480  # bytes of a stream reply's content
POST_LIMIT = 4096  # bytes of one markdown post: WeCom's limit for a robot's markdown, kept for the AI bot
MAX_BUTTONS = 6
TITLE_CHARS = 26  # a card's main title (the documented suggestion)
SUBTITLE_CHARS = 112  # a card's sub-title text
JUMP_CHARS = 13  # a jump line's text (the documented suggestion)
BUTTON_CHARS = 12  # the documented suggestion is 10 characters; a number and a short word fit in 12
KEY_PREFIX = "zs1"
KEY_LIMIT = 1024  # bytes of a button key
ANYONE = "*"

WELCOME = (
    "👋 你好，我是招商助手，帮小分队报送项目进展、推送每日比学赶超排行。\n"
    "· 还没加入小分队：向队长要邀请码，在这里发送「加入 邀请码」。\n"
    "· 已经加入：直接发送报送，例如「签约 #12」「网易签了」「今天拜访了中原数据集团」。\n"
    "· 在小分队的企业微信群里 @我 报送，全队都能看到；管理员在群里 @我 发送「绑定 队名」，每天早上把排行发到群里。\n"
    "发送「帮助」查看全部用法。"
)
ONLY_SENDER_TITLE = "只有发起人可以操作"
ONLY_SENDER_TEXT = "这张卡片的按钮只有发送原消息的人可以点。要报送或提问，请直接 @我 发送。"


def markdown_of(reply: Reply) -> str:
    """The reply as markdown: the core's markdown twin when it has one, else its text escaped; mentions last."""
    content = reply.markdown or escape(reply.text)
    if reply.mentions:
        tags = " ".join(f"<@{userid}>" for userid in reply.mentions if _MENTIONABLE.fullmatch(userid))
        content = f"{content}\n{tags}".strip()
    return content


_MENTIONABLE = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")


def _lines(reply: Reply) -> list[str]:
    return [line for line in reply.text.splitlines() if line.strip()]


def new_task_id() -> str:
    """A card's task_id: unique for the bot, letters, digits and `_-@`, at most 128 bytes."""
    return f"zs_{secrets.token_hex(12)}"


def button_key(owner: str, command: str) -> str | None:
    """A button's key, or None when the command is too long for one."""
    key = f"{KEY_PREFIX}|{owner}|{command}"
    return key if len(key.encode()) <= KEY_LIMIT else None


def read_key(key: str) -> tuple[str, str] | None:
    """(owner, command) from a button key we made, or None for any other key."""
    prefix, _, rest = key.partition("|")
    owner, _, command = rest.partition("|")
    if prefix != KEY_PREFIX or not owner or not command.strip():
        return None
    return owner, command


def _button_list(buttons: list[Button], owner: str) -> list[dict[str, str]]:
    if len(buttons) > MAX_BUTTONS:  # the numbered text lists every option; keep the first ones and 取消
        buttons = [*buttons[: MAX_BUTTONS - 1], buttons[-1]]
    out: list[dict[str, str]] = []
    for button in buttons:
        key = button_key(owner, button.command)
        if key is not None and key not in {b["key"] for b in out}:
            out.append({"text": clip(button.label, BUTTON_CHARS), "key": key})
    return out


def card(reply: Reply, owner: str, *, task_id: str, detail: bool) -> dict[str, Any]:
    """A template card for `reply`: buttons when it has them; `detail` adds the text under the headline."""
    lines = _lines(reply) or ["✅"]
    result: dict[str, Any] = {"main_title": {"title": clip(lines[0], TITLE_CHARS)}, "task_id": task_id}
    if detail and (len(lines) > 1 or len(lines[0]) > TITLE_CHARS):
        rest = lines[1:] if len(lines[0]) <= TITLE_CHARS else lines
        result["sub_title_text"] = clip(" ".join(rest), SUBTITLE_CHARS)
    buttons = _button_list(reply.buttons, owner)
    if buttons:
        result["card_type"] = "button_interaction"
        result["button_list"] = buttons
    else:
        result["card_type"] = "text_notice"
        result["card_action"] = {"type": 0}  # "0: not a link" (the SDK's TemplateCardAction)
    return result


def link_card(reply: Reply, link: LinkButton, *, task_id: str) -> dict[str, Any]:
    """A text_notice card that opens `link` (the 驾驶舱): tapping the card or its jump line opens the URL."""
    lines = _lines(reply) or [link.label]
    return {"card_type": "text_notice", "main_title": {"title": clip(lines[0], TITLE_CHARS)},
            "jump_list": [{"type": 1, "title": clip(link.label, JUMP_CHARS), "url": link.url}],
            "card_action": {"type": 1, "url": link.url}, "task_id": task_id}


def card_holds(reply: Reply) -> bool:
    """Whether a card with `detail` shows all of the reply's text (else the text is also sent in full)."""
    lines = [" ".join(line.split()) for line in _lines(reply)]
    if not lines:
        return True
    return len(lines[0]) <= TITLE_CHARS and len(" ".join(lines[1:])) <= SUBTITLE_CHARS


def only_sender_card(task_id: str) -> dict[str, Any]:
    """What a card turns into for someone who pressed another person's button."""
    return {"card_type": "text_notice", "main_title": {"title": ONLY_SENDER_TITLE},
            "sub_title_text": ONLY_SENDER_TEXT, "card_action": {"type": 0}, "task_id": task_id}


def image_item(image: bytes) -> dict[str, Any]:
    """A stream's image item (base64 and md5 of a JPG or PNG of at most 10 MB)."""
    return {"msgtype": "image", "image": {"base64": base64.b64encode(image).decode(),
                                          "md5": hashlib.md5(image).hexdigest()}}


def reply_bodies(reply: Reply, owner: str, *, image: bytes | None = None) -> tuple[dict[str, Any], list[str]]:
    """The in-place reply body, and the markdown pieces that did not fit in it (to be posted after).

    `image` is the reply's chart already fitted under 10 MB, or None.
    """
    pieces = split_utf8(markdown_of(reply), STREAM_LIMIT) or [" "]
    stream: dict[str, Any] = {"id": f"zs_{secrets.token_hex(8)}", "finish": True, "content": pieces[0]}
    if image is not None:
        stream["msg_item"] = [image_item(image)]
    rest = [part for piece in pieces[1:] for part in split_utf8(piece, POST_LIMIT)]
    buttons = _button_list(reply.buttons, owner)
    if reply.link is not None and not buttons:
        return {"msgtype": "stream_with_template_card", "stream": stream,
                "template_card": link_card(reply, reply.link, task_id=new_task_id())}, rest
    if not buttons:
        return {"msgtype": "stream", "stream": stream}, rest
    return {"msgtype": "stream_with_template_card", "stream": stream,
            "template_card": card(reply, owner, task_id=new_task_id(), detail=False)}, rest


def post_bodies(reply: Reply, owner: str = ANYONE) -> list[dict[str, Any]]:
    """A proactive post: markdown pieces of at most 4,096 bytes, then a card when it has buttons (which
    only `owner` may press)."""
    bodies: list[dict[str, Any]] = [{"msgtype": "markdown", "markdown": {"content": piece}}
                                    for piece in split_utf8(markdown_of(reply), POST_LIMIT)]
    if _button_list(reply.buttons, owner):
        bodies.append({"msgtype": "template_card",
                       "template_card": card(reply, owner, task_id=new_task_id(), detail=False)})
    elif reply.link is not None:
        bodies.append({"msgtype": "template_card",
                       "template_card": link_card(reply, reply.link, task_id=new_task_id())})
    return bodies
