"""What the bot made of a message: readings of its updates, each sure or in doubt, or a question, or chatter.

A reading in doubt is never stored as it is: the dispatcher shows it as the card it would store and asks
(option 1 is the reading, `alternatives` the next options).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from handlers.commands import Command, Lang, ParseError


@dataclass(frozen=True)
class Doubt:
    """Why the bot is not sure of a reading, in both languages (shown above the proposed card)."""

    zh: str
    en: str

    def text(self, lang: Lang) -> str:
        """The doubt in the reader's language."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Reading:
    """One update (or question) read from a message."""

    command: Command
    doubts: tuple[Doubt, ...] = ()
    alternatives: tuple[Command, ...] = ()  # other readings of the same words, offered after option 1

    @property
    def sure(self) -> bool:
        """Stored at once when nothing about it is in doubt."""
        return not self.doubts

    def doubted(self, zh: str, en: str, *alternatives: Command) -> Reading:
        """The same reading with one more doubt (and more alternatives)."""
        return replace(self, doubts=(*self.doubts, Doubt(zh, en)),
                       alternatives=(*self.alternatives, *alternatives))


Answer = Literal["accept", "cancel", "number"]


@dataclass(frozen=True)
class Understanding:
    """A whole message as the bot understood it.

    Exactly one of: `readings` (updates and questions, in the order written), `answer` (a reply to the
    bot's pending question: accept, cancel or a number), `chatter` (talk that is not for the bot), or
    `error` (nothing could be read; the refusal says why and shows the right form).
    """

    text: str  # the normalised message
    readings: tuple[Reading, ...] = ()
    answer: Answer | None = None
    number: int | None = None  # the option chosen, for answer == "number"
    chatter: bool = False
    error: ParseError | None = None
    unread: tuple[str, ...] = field(default=())  # parts of a several-update message nothing was read from
    correction: bool = False  # a correction in words of the sender's last update (刚才金额写错了…)
    natural: bool = False  # read from words rather than from the command grammar (verb not first)

    @property
    def sure(self) -> bool:
        """Every part read and every reading sure: stored at once."""
        return not self.unread and all(reading.sure for reading in self.readings)

    @property
    def lang(self) -> Lang:
        """The language of the first reading's verb (Chinese when there is none)."""
        return self.readings[0].command.lang if self.readings else (self.error.lang if self.error else "zh")
