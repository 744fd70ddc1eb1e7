"""The undo button a stored update carries: the command it sends back (`撤销 event:42`), built and recognised here.

The command is an ordinary message the parser reads (handlers.parse.updates: undo with a specific event), so
a platform without buttons can type it too.
"""

from __future__ import annotations

from handlers.messages import Button, Reply

UNDO_PREFIX = "撤销 event:"


def undo_command(event_id: int) -> str:
    """The command that undoes this event."""
    return f"{UNDO_PREFIX}{event_id}"


def undo_button(label: str, event_id: int) -> Button:
    """A button labelled `label` that undoes this event."""
    return Button(label, undo_command(event_id))


def offers_undo(reply: Reply) -> bool:
    """Whether the reply carries an undo button, i.e. says an update was stored."""
    return any(button.command.startswith(UNDO_PREFIX) for button in reply.buttons)
