"""A handler's question: the message could mean several things, so the sender chooses.

Raised by a handler (never returned), before it writes anything: `find_project` when a name matches
loosely or several projects, `解决` when several problems fit, `撤销` after a message that changed nothing.
The dispatcher turns it into a numbered question whose options are whole messages to run, stores it, and
runs the option the sender picks.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.commands import Command


@dataclass(frozen=True)
class Choice:
    """One option: what to run instead of the command that asked, and how to name it."""

    label_zh: str
    label_en: str
    command: Command


class NeedsChoice(Exception):
    """Ask the sender before storing: `choices` replace the command being handled.

    `confirm`: option 1 is the bot's reading, shown as the card it would store (万达 → #6 万达广场二期);
    otherwise the options are a list to pick from (several projects named 万达).
    """

    def __init__(self, zh: str, en: str, choices: list[Choice], *, confirm: bool) -> None:
        super().__init__(zh)
        self.zh = zh
        self.en = en
        self.choices = choices
        self.confirm = confirm
