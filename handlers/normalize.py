"""Message normalisation and tokenisation for the command language (DESIGN §4).

`normalize` turns what a phone keyboard produced into one canonical string (NFKC, no control characters,
single spaces, no leading `/` or bot mention); `tokenize` splits it into words while keeping quoted names,
`公司:X`-style arguments, URLs, times and thousands-grouped numbers whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

# `，,、；;：:` separate like spaces (the full-width ones only matter when tokenize() gets raw text).
SEPARATORS = frozenset("，,、；;：:")
# Opening quote → closing quote. ASCII `"` is what NFKC makes of the full-width ＂.
QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "‘": "’"}
# Words whose `:` joins them to their value instead of separating (`公司:比亚迪集团`, `event:42`).
COLON_KEYWORDS = frozenset({"公司", "对接", "企业", "company", "robot", "key", "event"})

_ZERO_WIDTH_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_WHITESPACE = re.compile(r"\s+")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Telegram bot usernames are ASCII and must end in "bot", so `/sign@zsbot_bot` is safe to strip even when
# the caller passed no bot names; a Chinese verb with `@上海` glued to it is a place, never a bot.
_SLASH_SUFFIX = re.compile(r"^([A-Za-z0-9_]+)@([A-Za-z0-9_]+)(?![A-Za-z0-9_])")
_MAX_PASSES = 20


def _strip_invisible(text: str) -> str:
    """Drop control, format (zero-width, bidi) and surrogate code points; keep whitespace as spaces."""
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _ZERO_WIDTH_CATEGORIES
    )


def _drop_bot_mentions(text: str, names: list[str], started_with_slash: bool) -> str:
    lowered = text.lower()
    for name in names:
        mention = "@" + name.lower()
        if lowered.startswith(mention) and (len(text) == len(mention) or text[len(mention)] == " "):
            return text[len(mention):]
        if lowered.endswith(mention) and (len(text) == len(mention) or text[-len(mention) - 1] == " "):
            return text[: -len(mention)]
    match = _SLASH_SUFFIX.match(text)
    if match:
        bot = match.group(2).lower()
        if bot in names or (started_with_slash and bot.endswith("bot")):
            return match.group(1) + text[match.end():]
    return text


def _one_pass(text: str, names: list[str]) -> str:
    text = unicodedata.normalize("NFKC", _strip_invisible(text))
    text = _WHITESPACE.sub(" ", text).strip()
    started_with_slash = text.startswith("/")
    text = text.lstrip("/").lstrip()
    return _drop_bot_mentions(text, names, started_with_slash).strip()


def normalize(text: str, bot_names: Collection[str] = ()) -> str:
    """Canonical form of a message: NFKC, no invisibles, single spaces, no leading `/` or bot mention."""
    names = sorted({n.lower().lstrip("@") for n in bot_names if n and n.strip("@")}, key=len, reverse=True)
    # Each step can expose work for another (a mention hiding a `/`, NFKC making spaces), so repeat to a
    # fixed point; that is what makes normalize idempotent. Every pass that changes something shortens or
    # canonicalises the text, so the loop ends quickly.
    for _ in range(_MAX_PASSES):
        new = _one_pass(text, names)
        if new == text:
            break
        text = new
    return text


@dataclass(frozen=True)
class Token:
    """One word of a message: its text, whether it was quoted, and where it sat in the scanned string."""

    text: str
    start: int
    end: int
    quoted: bool = False


def _closing_quote(text: str, i: int) -> int:
    """Index of the quote closing the one at i, or -1 when it is unmatched (then it is a literal)."""
    return text.find(QUOTES[text[i]], i + 1)


def _is_thousands_comma(text: str, j: int) -> bool:
    # `200,000,000`: a comma between a digit and exactly three digits is grouping, not a separator.
    return (
        text[j] == ","
        and j > 0
        and text[j - 1].isdigit()
        and len(text) >= j + 4
        and text[j + 1 : j + 4].isdigit()
        and text[j + 1 : j + 4].isascii()
        and (len(text) == j + 4 or not text[j + 4].isdigit())
    )


def _url_end(text: str, j: int) -> int:
    while j < len(text) and not text[j].isspace() and text[j] not in "，,、；;\"“”「」『』":
        j += 1
    return j


def scan(text: str) -> list[Token]:
    """Split text into Tokens with their spans (see `tokenize` for the rules)."""
    tokens: list[Token] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in SEPARATORS:
            i += 1
            continue
        if ch in QUOTES:
            close = _closing_quote(text, i)
            if close > i:
                inner = text[i + 1 : close].strip()
                if inner:
                    tokens.append(Token(inner, i, close + 1, quoted=True))
                i = close + 1
                continue
        j = i + 1 if ch in QUOTES else i  # an unmatched quote is kept as a literal character
        token_text: str | None = None
        while j < n:
            c = text[j]
            if c.isspace():
                break
            if c in QUOTES and j > i and _closing_quote(text, j) > j:
                break
            if c in SEPARATORS:
                if _is_thousands_comma(text, j):
                    j += 1
                    continue
                if c in ":：":
                    head = text[i:j]
                    if j > i and text[j - 1].isdigit() and j + 1 < n and text[j + 1].isdigit():
                        j += 1  # a time like 08:30 (or event ids written 1:2) stays whole
                        continue
                    if _URL_SCHEME.fullmatch(head) and text.startswith("//", j + 1):
                        j = _url_end(text, j)
                        break
                    if head.lower() in COLON_KEYWORDS:
                        # The value must follow the colon directly: `公司: X` stays two words, so that
                        # a stray `公司:` never swallows the next word.
                        k = j + 1
                        if k < n and text[k] in QUOTES and _closing_quote(text, k) > k:
                            close = _closing_quote(text, k)
                            # `公司:"BYD Group"`: one token, not flagged quoted (that marks a name).
                            token_text = head + ":" + text[k + 1 : close].strip()
                            j = close + 1
                            break
                        end = k
                        while end < n and not text[end].isspace() and text[end] not in SEPARATORS:
                            end += 1
                        token_text = head + ":" + text[k:end]
                        j = end
                        break
                break
            j += 1
        tokens.append(Token(token_text if token_text is not None else text[i:j], i, j))
        i = j
    return tokens


def tokenize(text: str) -> list[str]:
    """Split on spaces and `，,、；;：:`, keeping quoted text, `公司:X`, URLs, times and `1,000` whole."""
    return [t.text for t in scan(text)]
