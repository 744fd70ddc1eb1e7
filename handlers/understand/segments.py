"""Several updates in one message: lines, `;`/`；`/`。`, and a repeated verb split it into parts.

`签约 #29 落地 #30` is two updates, `签约 #29；落地 #30` too, and so is one update per line. A line or clause
that does not start a report of its own (`进展 #15 完成三轮洽谈。下周来郑考察`) continues the one before.
A repeated verb followed by `#id` splits for sure; followed by a name it is a guess (`soft`), which the
dispatcher proposes instead of storing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from handlers.commands import STAGE_VERBS
from handlers.normalize import scan
from handlers.parse import id_of, match_verb

# Verbs that report an update: a second one in a message starts a second update.
UPDATE_VERBS = frozenset({
    "plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "edit", "expect", "verify",
    "funds", "transfer", "reception", "promo", "lead", "publicity",
})
# Clause breaks: a new line, a semicolon, a Chinese full stop.
_BREAK = re.compile(r"\n|[;；。]")
# What may follow a verb word that starts a report: a space, `#12`, a quote, `@city`, or the end. A verb
# glued to more Chinese (问题是…, 项目进度…) is ordinary prose.
_AFTER_VERB = re.compile(r"$|[\s#\"“「『@,:]")


@dataclass(frozen=True)
class Segment:
    """One update's words, and whether the split that made it was a guess."""

    text: str
    soft: bool = False


def starts_update(text: str) -> bool:
    """Whether text begins with an update verb standing on its own (the canonical form of a report)."""
    found = match_verb(text)
    return found is not None and found[1] in UPDATE_VERBS and _AFTER_VERB.match(text, len(found[0])) is not None


def starts_command(text: str) -> bool:
    """Whether text begins with any verb standing on its own: a message meant for the bot."""
    found = match_verb(text)
    return found is not None and _AFTER_VERB.match(text, len(found[0])) is not None


def _clauses(text: str) -> list[tuple[str, str]]:
    """(clause, the break before it) pairs; the first break is ""."""
    pieces: list[tuple[str, str]] = []
    position, separator = 0, ""
    for match in _BREAK.finditer(text):
        pieces.append((text[position:match.start()], separator))
        position, separator = match.end(), match.group()
    pieces.append((text[position:], separator))
    return [(clause.strip(), sep) for clause, sep in pieces if clause.strip()]


def _join(head: str, separator: str, tail: str) -> str:
    if separator == "\n":
        return f"{head} {tail}"
    return f"{head}{separator}{tail}"


def _split_repeated_verb(text: str) -> list[Segment]:
    """`签约 #29 落地 #30`: a verb word standing alone later in an update starts another update."""
    first = match_verb(text)
    if first is None or first[1] not in UPDATE_VERBS:
        return [Segment(text)]
    tokens = scan(text)
    cuts: list[tuple[int, bool]] = []
    for k in range(1, len(tokens)):
        token = tokens[k]
        found = None if token.quoted else match_verb(token.text)
        if found is None or found[0] != token.text or found[1] not in UPDATE_VERBS or found[2] != first[2]:
            continue
        following = tokens[k + 1] if k + 1 < len(tokens) else None
        if following is None:
            continue
        if id_of(following) is not None:
            cuts.append((token.start, False))
        elif first[1] in STAGE_VERBS and found[1] in STAGE_VERBS and not following.quoted:
            # `签约 #29 落地 仲景`: probably two updates, but the second word might be part of a note.
            cuts.append((token.start, True))
    if not cuts:
        return [Segment(text)]
    segments: list[Segment] = []
    position, soft = 0, False
    for cut, cut_soft in cuts:
        segments.append(Segment(text[position:cut].strip(), soft))
        position, soft = cut, cut_soft
    segments.append(Segment(text[position:].strip(), soft))
    return [segment for segment in segments if segment.text]


def _unglue_ids(text: str) -> str:
    """`签约#29落地#30` → `签约 #29 落地 #30`: an id glued to the words around it is a word of its own."""
    return re.sub(r"(#\d{1,9})(?=[^\d\s\"”」』,])", r"\1 ", re.sub(r"(?<=[^\s#\d\"“「『])(#\d)", r" \1", text))


def split_updates(text: str, reads_as_update: Callable[[str], bool]) -> list[Segment]:
    """The updates of a message, in order.

    A clause starts a new update when it starts with an update verb, or, after an update that was itself
    read from words (`网易签了`), when `reads_as_update` finds a report in it (`海康也签了`); every other
    clause continues the update before it.
    """
    parts: list[tuple[str, bool]] = []  # (text, canonical)
    for clause, separator in _clauses(_unglue_ids(text)):
        canonical = starts_update(clause)
        if not parts or canonical or (not parts[-1][1] and reads_as_update(clause)):
            parts.append((clause, canonical))
        else:
            head, head_canonical = parts[-1]
            parts[-1] = (_join(head, separator, clause), head_canonical)
    segments: list[Segment] = []
    for part, canonical in parts:
        segments.extend(_split_repeated_verb(part) if canonical else [Segment(part)])
    return segments
