"""Understanding a message as squads write it (DESIGN §4b): the grammar first, then words.

`understand(text)` normalises the message, splits it into its updates, reads each by the command grammar
(`handlers.parse`) and checks what the grammar could only guess (`guards`); a part that is not in the
grammar is read as a question in words, a correction in words or a free sentence; what is left is chatter
or an unknown command. Pure: it knows no database; resolving names is the handlers' work.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from datetime import date

from handlers.catalog import Catalog
from handlers.commands import Command, ParseError
from handlers.normalize import normalize
from handlers.parse import MAX_LENGTH, parse, unknown_verb
from handlers.understand.corrections import read_correction
from handlers.understand.guards import check
from handlers.understand.questions import read_question
from handlers.understand.reading import Reading, Understanding
from handlers.understand.segments import split_updates
from handlers.understand.sentence import is_question, read_sentence, reads_as_update
from handlers.understand.words import ACCEPT_WORDS, CANCEL_ANSWERS, CHATTER, CHATTER_PREFIXES
from handlers.vocabulary import usage
from handlers.wording import both

MAX_UPDATES = 10  # updates in one message; more is a pasted document, not a report
_NUMBER = re.compile(r"(\d{1,4})[.、)]?")


def _answer(norm: str) -> Understanding | None:
    lowered = norm.lower().strip(" 。.!！~")
    if lowered in CANCEL_ANSWERS:
        return Understanding(text=norm, answer="cancel")
    number = _NUMBER.fullmatch(lowered)
    if number:
        value = int(number.group(1))
        return Understanding(text=norm, answer="cancel" if value == 0 else "number", number=value)
    if lowered in ACCEPT_WORDS:
        return Understanding(text=norm, answer="accept", number=1)
    return None


def is_chatter(norm: str) -> bool:
    """Talk that is not for the bot: acknowledgements, thanks, greetings, laughter."""
    lowered = norm.lower().strip(" 。.!！~,，?？")
    if not lowered or lowered in CHATTER:
        return True
    return len(lowered) <= 12 and lowered.startswith(CHATTER_PREFIXES) and not reads_as_update(lowered)


def _read_words(text: str, *, catalog: Catalog, usd_rate: float, today: date) -> Reading | None:
    """A part that is not in the grammar, read as a question, a correction or a report in words."""
    question = read_question(text)
    if question is not None:
        return Reading(question)
    correction = read_correction(text, catalog=catalog, usd_rate=usd_rate)
    if correction is not None:
        return Reading(correction).doubted(*both("doubt.correcting_last"))
    return read_sentence(text, catalog=catalog, usd_rate=usd_rate, today=today)


def understand(
    text: str, *, catalog: Catalog, usd_rate: float = 7.1, bot_names: Collection[str] = (),
    today: date | None = None,
) -> Understanding:
    """What a message means: its updates or question (each sure or in doubt), an answer, chatter or an
    error that says why and shows the right form."""
    today = today or date.today()
    if not isinstance(text, str):
        return Understanding(text="", error=ParseError(reason="消息不是文字。", usage=usage("help", "zh")))
    if len(text) > MAX_LENGTH:
        return Understanding(text="", error=ParseError(
            reason=f"消息太长（{len(text)} 字），上限 {MAX_LENGTH} 字，请分几条发送。",
            usage=usage("help", "zh"), extra={"limit": str(MAX_LENGTH)}))
    norm = normalize(text, bot_names)
    if not norm:
        if text.strip():  # only emoji or punctuation: 👍
            return Understanding(text="", chatter=True)
        return Understanding(text="", error=ParseError(reason="消息是空的。", usage=usage("help", "zh")))
    answer = _answer(norm)
    if answer is not None:
        return answer
    segments = split_updates(norm, reads_as_update)
    if not segments:  # only separators: `，；`
        return Understanding(text=norm, chatter=True)
    if len(segments) > MAX_UPDATES:
        return Understanding(text=norm, error=ParseError(
            reason=f"一条消息最多 {MAX_UPDATES} 项更新，这条有 {len(segments)} 项，请分几条发送。",
            usage=usage("help", "zh")))
    readings: list[Reading] = []
    unread: list[str] = []
    natural = correction = False
    first_error: ParseError | None = None
    for segment in segments:
        parsed = parse(segment.text, catalog=catalog, usd_rate=usd_rate, today=today)
        if isinstance(parsed, Command) and parsed.verb == "choose":
            # A bare number the split left (`;4`, `进展 #5 好；4`): the answer to a question when it is all
            # there is, otherwise a word not read (no handler takes a number on its own).
            if len(segments) == 1 and (answer := _answer(segment.text)) is not None:
                return replace(answer, text=norm)
            first_error = first_error or unknown_verb(segment.text)
            unread.append(segment.text)
            continue
        if isinstance(parsed, Command):
            reading = check(parsed, usd_rate=usd_rate, today=today)
            if segment.soft:
                reading = reading.doubted(*both("doubt.split_off"))
            readings.append(reading)
            continue
        if parsed.verb is not None or parsed.extra.get("internal"):
            first_error = first_error or parsed
            unread.append(segment.text)
            continue
        words = _read_words(segment.text, catalog=catalog, usd_rate=usd_rate, today=today)
        if words is None:
            first_error = first_error or parsed
            unread.append(segment.text)
            continue
        natural = natural or not words.sure or words.command.verb in ("rank", "status", "problems", "mine", "find")
        correction = correction or (words.command.verb == "edit" and words.command.project is None)
        readings.append(words)
    if not readings:
        if is_chatter(norm) or (is_question(norm) and first_error is not None and first_error.verb is None):
            return Understanding(text=norm, chatter=True)
        assert first_error is not None
        return Understanding(text=norm, error=first_error if first_error.verb is not None else unknown_verb(norm))
    if len(segments) == 1 and first_error is not None:
        return Understanding(text=norm, error=first_error)
    return Understanding(text=norm, readings=tuple(readings), unread=tuple(unread), natural=natural,
                         correction=correction)
