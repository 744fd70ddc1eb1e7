"""Finding the verb: first in the message, after a particle or adverb (已经签约, 签约了), or the closest one."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from handlers.commands import Lang, ParseError, Verb
from handlers.normalize import scan
from handlers.parse.common import _ID, _VERB_WORDS
from handlers.understand.words import ADVERBS_BEFORE, PARTICLES_AFTER
from handlers.vocabulary import (
    COMMON_VERBS,
    usage,
    verb_word,
)
from handlers.wording import say

# Verbs that report an action, so a particle may follow them (签约了, 拜访了, 解决了) and a meaning-free
# adverb precede them (已经签约, 也落地了).
_ACTION_VERBS = frozenset({"plan", "pursue", "sign", "land", "note", "visit", "resolve", "drop", "edit"})
# Verbs whose Chinese words are common in names and prose (活动中心, 宣传部, 接待了X来访): a verb only when a
# space, `#`, a quote, `@`, `:` or the end follows; glued to more words, the message is read as a sentence.
_STANDALONE_VERBS = frozenset({"reception", "promo", "lead", "publicity"})
_STANDS_ALONE = re.compile(r"$|[\s#\"“「『@,:]")


def bare_verb(text: str) -> tuple[str, Verb, Lang] | None:
    """The longest verb word at the start of text, as written, with its verb and language."""
    lowered = text.lower()
    for word, verb, lang in _VERB_WORDS:
        if not lowered.startswith(word):
            continue
        if lang == "en":
            after = text[len(word) : len(word) + 1]
            if after and after.isascii() and (after.isalnum() or after == "_"):
                continue
        elif verb in _STANDALONE_VERBS and _STANDS_ALONE.match(text, len(word)) is None:
            continue
        return text[: len(word)], verb, lang
    return None


def match_verb(text: str) -> tuple[str, Verb, Lang] | None:
    """The verb word at the start of text (longest first), with the adverbs before it and particles after
    it that change nothing (已经签约了 → 签约). Chinese may be glued to what follows, English not."""
    found = bare_verb(text)
    if found is None:
        for adverb in ADVERBS_BEFORE:
            if text.startswith(adverb):
                inner = bare_verb(text[len(adverb):])
                if inner is not None and inner[1] in _ACTION_VERBS and inner[2] == "zh":
                    found = (text[: len(adverb) + len(inner[0])], inner[1], inner[2])
                    break
    if found is None:
        return None
    word, verb, lang = found
    if lang == "zh" and verb in _ACTION_VERBS:
        for particle in PARTICLES_AFTER:
            if text.startswith(particle, len(word)):
                return text[: len(word) + len(particle)], verb, lang
    return found


def unknown_verb(text: str) -> ParseError:
    """The refusal for a message that starts with no verb: the common verbs, and the closest one."""
    first = scan(text)[0].text if scan(text) else text
    first = first[:20]
    lang: Lang = "en" if first.isascii() and any(c.isalpha() for c in first) else "zh"
    candidates = [(w, v) for w, v, wl in _VERB_WORDS if wl == lang and w != "?"]
    best: tuple[float, str, Verb] | None = None
    for word, verb in candidates:
        score = max(fuzz.ratio(word, first.lower()), fuzz.ratio(word, first[: len(word)].lower()))
        if best is None or score > best[0]:
            best = (score, word, verb)
    common = " ".join(verb_word(v, lang) for v in COMMON_VERBS)
    extra: dict[str, str] = {}
    reason = say(lang, "parse.unknown_verb", word=first, common=common)
    # Two-character Chinese verbs that share their first character (签名/签约) only reach 50.
    if best is not None and (
        best[0] >= 60 or (lang == "zh" and best[0] >= 50 and best[1][0] == first[:1])
    ):
        extra["suggestion"] = best[2]
        reason += say(lang, "parse.did_you_mean", word=best[1])
    if _ID.match(first):
        reason += say(lang, "parse.find_hint")
    return ParseError(reason=reason, usage=usage("help", lang), lang=lang, verb=None, extra=extra)
