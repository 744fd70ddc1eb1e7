"""The bot's questions as the sender reads them, and the one card for a message of several updates.

A proposal shows the reading as the card that would be stored (option 1), the other options numbered
after it, and `0. 取消`; buttons carry the same numbers, so a platform without buttons loses nothing.
"""

from __future__ import annotations

from handlers.commands import Lang
from handlers.format import undo_hint
from handlers.messages import Button, Reply
from handlers.undo_button import UNDO_PREFIX as _UNDO_PREFIX
from handlers.wording import say


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines() if line)


def proposal(lang: Lang, *, doubts: list[str], previews: list[Reply] | None, first_label: str,
             labels: list[str]) -> Reply:
    """A numbered question: option 1 is the reading (its card when previewed), then the other labels."""
    lines = [f"🤔 {doubt}" for doubt in dict.fromkeys(doubts) if doubt]
    if previews:
        head = first_label or say(lang, "proposal.confirm")
        many = len(previews) > 1
        lines.append("1. " + head + (say(lang, "proposal.several", count=len(previews)) if many
                                     else say(lang, "proposal.one")))
        for index, preview in enumerate(previews, start=1):
            lines.append(_indent((f"({index}) " if many else "") + preview.text))
    else:
        lines.append(f"1. {first_label}")
    for number, label in enumerate(labels, start=2):
        lines.append(f"{number}. {label}")
    lines.append(say(lang, "proposal.cancel_line"))
    count = 1 + len(labels)
    if count == 1:
        lines.append(say(lang, "proposal.how_to_confirm"))
    else:
        lines.append(say(lang, "proposal.how_to_choose", count=count))
    first_button = say(lang, "proposal.yes_button") if previews else f"1. {first_label[:24]}"
    buttons = [Button(first_button, "1")]
    buttons += [Button(f"{number}. {label[:24]}", str(number)) for number, label in enumerate(labels, start=2)]
    buttons.append(Button(say(lang, "proposal.cancel_button"), "0"))
    return Reply(text="\n".join(lines), buttons=buttons)


def combined(lang: Lang, replies: list[Reply], *, undo_minutes: int) -> Reply:
    """One answer for a message of several updates: each card, and one undo for the whole message."""
    if len(replies) == 1:
        return replies[0]
    undo_commands = [b.command for r in replies for b in r.buttons if b.command.startswith(_UNDO_PREFIX)]
    lines = [say(lang, "proposal.stored", count=len(replies))]
    undo_line = undo_hint(lang, undo_minutes)
    for index, reply in enumerate(replies, start=1):
        body = "\n".join(line for line in reply.text.splitlines() if line != undo_line)
        lines.append(f"({index}) " + body.replace("\n", "\n    "))
    lines.append(undo_hint(lang, undo_minutes, whole_message=True))
    buttons = [Button(say(lang, "proposal.undo_button"), undo_commands[0])] if undo_commands else []
    extra = [b for r in replies for b in r.buttons if not b.command.startswith(_UNDO_PREFIX)]
    return Reply(text="\n".join(lines), buttons=buttons + extra,
                 image=next((r.image for r in replies if r.image is not None), None),
                 file=next((r.file for r in replies if r.file is not None), None))
