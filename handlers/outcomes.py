"""How a message ends inside the dispatcher: stored, rolled back with a refusal, asked about, or only
previewed; and the answers that are the same everywhere (a refusal, chatter's hint, silence)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from handlers.choices import NeedsChoice
from handlers.commands import Lang
from handlers.messages import Reply
from handlers.wording import say

if TYPE_CHECKING:
    pass


CHOICE_LIFETIME = timedelta(hours=24)
# A bare 好/是/对 answers a question only soon after it was asked: later it is more likely said to someone
# else in the group than meant for a question the sender has forgotten.
WORD_ANSWER_LIFETIME = timedelta(minutes=30)
SILENT = Reply(text="", silent=True)


class Rollback(Exception):
    """Leave the transaction without committing, answering with `reply`."""

    def __init__(self, reply: Reply, *, member_id: int | None = None, unchanged: bool = False,
                 attempt: str | None = None) -> None:
        super().__init__(reply.text)
        self.reply = reply
        self.member_id = member_id  # the sender, when known: a refused update "changed nothing"
        self.unchanged = unchanged  # it is already so: the sender meant this (see Refusal)
        self.attempt = attempt  # a wrong code (handlers.codes): counted after the rollback


class Ask(Exception):
    """A handler needs the sender to choose (NeedsChoice) while running command `index` of the message."""

    def __init__(self, index: int, question: NeedsChoice, lang: Lang) -> None:
        super().__init__(question.zh)
        self.index = index
        self.question = question
        self.lang = lang


class Previewed(Exception):
    """The preview ran: leave its transaction without committing, with the cards it built."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("preview")
        self.replies = replies


def refusal_reply(text: str) -> Reply:
    return Reply(text=text, ok=False)


def hint_reply(lang: Lang) -> Reply:
    return Reply(text=say(lang, "hint.how_to_report"))
