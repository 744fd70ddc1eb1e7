"""A handler's refusal: why, and the right form. Every handler raises it the same way."""

from __future__ import annotations

from handlers.context import Context
from handlers.vocabulary import usage


class Refusal(Exception):
    """A handler's refusal: why, and the right form. Raised before anything is written.

    `unchanged`: what was asked for is already so (`#29 已在签约库`): the sender meant this project, so a
    proposal does not offer another one instead.
    """

    def __init__(self, text: str, *, unchanged: bool = False, attempt: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.unchanged = unchanged
        self.attempt = attempt  # a wrong invite/link code: counted (handlers.codes), though nothing else is kept


def refuse_key(ctx: Context, key: str, verb: str | None = None, /, *, unchanged: bool = False,
               **values: object) -> Refusal:
    """Build a refusal from the message `key` (handlers.wording), with the verb's right form appended."""
    text = ctx.say(key, **values)
    if verb:
        text += ctx.say("refusal.usage", usage=usage(verb, ctx.lang))
    return Refusal(text, unchanged=unchanged)
