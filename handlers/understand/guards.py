"""Checks on a command read from the grammar: anything the bot had to guess makes the reading doubtful.

The grammar files every leftover word into the note. That is right for prose (`进展 #15 完成第三轮洽谈`)
and wrong for words that mean something the bot did not use: an amount (`谋划 X 总投资10亿一期3亿`), a
date on a move (`签约 #19 昨天`), a guess (`十来个亿`). Such a reading is proposed, with the amount or the
date read into its field, and stored only when the sender confirms it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from handlers.amounts import find_amounts, looks_like_amount
from handlers.commands import STAGE_VERBS, Amount, Command
from handlers.dates import read_date
from handlers.normalize import scan
from handlers.places import place_of
from handlers.understand.reading import Reading
from handlers.understand.words import (
    COMPANY_SUFFIXES,
    FUNCTION_WORDS,
    GENERIC_NOUNS,
    PRONOUNS,
    SUBJECT_SUFFIXES,
    strip_edges,
)
from handlers.vocabulary import ZH_VERBS, verb_key
from handlers.wording import PerLang, both

# Verbs whose note is prose: an amount in it is asked about but not moved out of it.
_PROSE_VERBS = frozenset({"problem", "resolve", "drop", "visit"})


def bad_name(name: str, today: date) -> bool:
    """A name no project should have: a particle, pronoun, verb, date, amount or a generic noun."""
    word = name.strip()
    return (
        not word or word in FUNCTION_WORDS or word in PRONOUNS or word in GENERIC_NOUNS
        or verb_key(word) is not None or word.rstrip("了过完啦") in ZH_VERBS
        or read_date(word, today) is not None or _is_amount(word)
    )


def _is_amount(word: str) -> bool:
    """The whole word is money (2亿, 十来个亿), not a name that merely holds a figure (二七万达)."""
    return any(found.start == 0 and found.end >= len(word.rstrip("元")) for found in find_amounts(word, usd_rate=7.1))


_PROSE_LEADS = ("了一下", "一下", "了", "下")


def prose_name(name: str) -> str:
    """The name inside a phrase written where a name goes (`跟进了一下海康的项目` → 海康), else the name."""
    word = strip_edges(name, _PROSE_LEADS, suffix=False)
    trimmed = strip_edges(word, SUBJECT_SUFFIXES, suffix=True)
    if word == name and trimmed == word:
        return name  # nothing prose-like around it: 奈雪的茶烘焙工坊 is a name
    if "的" in trimmed[1:]:
        head = trimmed.split("的", 1)[0]
        trimmed = head if len(head) >= 2 else trimmed
    return trimmed if len(trimmed) >= 2 else name


def _amount_words(text: str) -> list[str]:
    return [token.text for token in scan(text) if not token.quoted and looks_like_amount(token.text)]


def _note_without(note: str, words: str) -> str:
    return " ".join(note.replace(words, " ", 1).split())


def _listed(words: list[str]) -> PerLang:
    return PerLang("、".join(words), ", ".join(words))


def check(command: Command, *, usd_rate: float, today: date) -> Reading:
    """The reading of a command from the grammar: sure, or in doubt with what the bot would store."""
    reading = Reading(command)
    verb = command.verb
    ref = command.project
    if ref is not None and ref.name and ref.id is None and (cleaned := prose_name(ref.name)) != ref.name:
        reading = replace(reading, command=replace(command, project=replace(ref, name=cleaned))).doubted(*both("doubt.project_read_as", name=cleaned))
        command = reading.command
    if command.amount is not None and command.amount.vague:
        reading = reading.doubted(*both("doubt.amount_estimate", text=command.amount.text,
                                        yi=command.amount.yuan / 1e8, yuan=command.amount.yuan))
    if verb in STAGE_VERBS:
        reading = _check_stage(reading, usd_rate=usd_rate, today=today)
    elif verb == "note":
        reading = _check_note(reading, usd_rate=usd_rate)
    elif verb in _PROSE_VERBS and _amount_words(command.note):
        words = "、".join(_amount_words(command.note))
        reading = reading.doubted(*both("doubt.amount_in_text", words=words))
    if verb == "visit" and command.place is None and command.company is None and command.project is None:
        reading = _check_visit(reading)
    if verb in ("expect", "away") and command.flag == "approximate":
        reading = reading.doubted(*both("doubt.approximate_date", said=command.note or command.text,
                                        when=command.when))
    if verb == "expect" and command.when is not None and command.when < today:
        reading = reading.doubted(*both("doubt.expected_past", when=command.when))
    return reading


def _check_stage(reading: Reading, *, usd_rate: float, today: date) -> Reading:
    command = reading.command
    if command.project is not None and command.project.name and bad_name(command.project.name, today):
        reading = reading.doubted(*both("doubt.not_a_name", name=command.project.name))
    if command.when is not None and command.when < today:
        undated = replace(command, when=None)
        reading = replace(reading, command=command).doubted(
            *both("doubt.dated_as_written", when=command.when, verb=_verb_zh(command)), undated)
    elif command.when is not None and command.when > today:
        expect = Command(verb="expect", lang=command.lang, text=command.text, project=command.project,
                         stage=STAGE_VERBS[command.verb], when=command.when)
        now = replace(command, when=None)
        reading = replace(reading, command=expect).doubted(
            *both("doubt.ahead_as_expected", when=command.when, verb=_verb_zh(command)), now)
        return reading
    words = _amount_words(command.note)
    if not words:
        return _check_bare_number(reading)
    found = [a for a in find_amounts(command.note, usd_rate=usd_rate) if a.amount is not None]
    if command.amount is None and found:
        first = found[0]
        note = _note_without(command.note, command.note[first.start - len(first.label):first.end])
        read = replace(reading.command, amount=first.amount, note=note)
        doubt = (both("doubt.amount_from_note_rest", amount=first.label + first.text, note=note) if note
                 else both("doubt.amount_from_note", amount=first.label + first.text))
        return replace(reading, command=read).doubted(*doubt, command)
    return reading.doubted(*both("doubt.amount_in_note", words=_listed(words)))


# A number without a unit (200000000, 200,000,000, 3): the grammar files it into the note, but on a 签约 or
# 落地 it is most likely the amount, in yuan when it is large; never stored as a note without asking.
_BARE_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?")
_YUAN_AT_LEAST = 10_000  # a bare number this large is read as yuan (a smaller one is a guess too wild to offer)


def _check_bare_number(reading: Reading) -> Reading:
    command = reading.command
    bare = [token.text for token in scan(command.note) if not token.quoted and _BARE_NUMBER.fullmatch(token.text)]
    if not bare:
        return reading
    if command.amount is None:
        yuan = float(bare[0].replace(",", ""))
        if yuan >= _YUAN_AT_LEAST and yuan.is_integer():
            note = _note_without(command.note, bare[0])
            read = replace(command, amount=Amount(yuan=int(yuan), text=f"{bare[0]}元"), note=note)
            return replace(reading, command=read).doubted(*both("doubt.bare_as_yuan", number=bare[0]), command)
    return reading.doubted(*both("doubt.bare_in_note", words=_listed(bare)))


def _check_note(reading: Reading, *, usd_rate: float) -> Reading:
    command = reading.command
    words = _amount_words(command.note)
    if not words:
        return reading
    found = [a for a in find_amounts(command.note, usd_rate=usd_rate) if a.amount is not None]
    if found and command.amount is None:
        amount = found[0].amount
        assert amount is not None
        return replace(reading, command=replace(command, amount=amount)).doubted(
            *both("doubt.note_mentions_amount", amount=found[0].text), command)
    return reading.doubted(*both("doubt.amount_in_progress", words=_listed(words)))


def _check_visit(reading: Reading) -> Reading:
    """`拜访 深圳 比亚迪`: a place and a company without `@`/`公司:`, read from the words."""
    command = reading.command
    tokens = [token.text for token in scan(command.note)]
    place = next((place_of(word) for word in tokens if place_of(word)), None)
    rest = [word for word in tokens if place_of(word) is None
            and word not in PRONOUNS and word not in FUNCTION_WORDS and word not in GENERIC_NOUNS]
    company = rest[0] if rest and (len(rest) == 1 or rest[0].endswith(COMPANY_SUFFIXES)) else None
    if place is None and company is None:
        return reading
    note = " ".join(rest[1:] if company else rest)
    read = replace(command, place=place, company=company, note=note)
    return replace(reading, command=read).doubted(*both("doubt.place_company_read"))


def _verb_zh(command: Command) -> str:
    return {"plan": "谋划", "pursue": "洽谈", "sign": "签约", "land": "落地"}.get(command.verb, "")
