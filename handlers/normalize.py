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
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Telegram bot usernames are ASCII and must end in "bot", so `/sign@zsbot_bot` is safe to strip even when
# the caller passed no bot names; a Chinese verb with `@上海` glued to it is a place, never a bot.
_SLASH_SUFFIX = re.compile(r"^([A-Za-z0-9_]+)@([A-Za-z0-9_]+)(?![A-Za-z0-9_])")
_MAX_PASSES = 20
_BOT_USERNAME = re.compile(r"(?:^|(?<=\s))@[A-Za-z][A-Za-z0-9_]{1,30}bot(?![A-Za-z0-9_])(?=\s|$)", re.IGNORECASE)


def _strip_invisible(text: str) -> str:
    """Drop control, format (zero-width, bidi) and surrogate code points; whitespace becomes spaces, line
    breaks stay (one report per line)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(
        ch if ch == "\n" else " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _ZERO_WIDTH_CATEGORIES
    )


def _mention_pattern(names: list[str]) -> re.Pattern[str] | None:
    """`@name` for each of our names, anywhere it stands as a mention.

    An ASCII name must end at a non-word character (`@zsbot_bot2` is someone else); a Chinese name needs
    no boundary after it, since Chinese has no spaces (`@招商助手落地 #19`). Before the `@` there must be
    the start, a space or punctuation, so that an e-mail address is never cut.
    """
    if not names:
        return None
    ascii_parts, other_parts = [], []
    for name in names:  # longest first, so `@招商助手小王` is not cut short by a name `招商助手`
        if name.isascii():
            ascii_parts.append(re.escape(name) + r"(?![A-Za-z0-9_])")
        else:
            other_parts.append(re.escape(name))
    alternatives = []
    if ascii_parts:
        alternatives.append(r"(?:(?<=^)|(?<=[\s,.;:!?()\[\]，。；：！？、]))@(?:" + "|".join(ascii_parts) + ")")
    if other_parts:  # no e-mail address ends in Chinese: `#19@招商助手` is a mention too
        alternatives.append("@(?:" + "|".join(other_parts) + ")")
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _drop_bot_mentions(text: str, names: list[str], started_with_slash: bool) -> str:
    pattern = _mention_pattern(names)
    if pattern is not None:
        text = pattern.sub(" ", text)
        text = _SPACES.sub(" ", text).strip()
    # A Telegram bot's username always ends in "bot": `@zsbot_bot 签约 #19` as typed in a client.
    text = _BOT_USERNAME.sub(" ", text).strip()
    match = _SLASH_SUFFIX.match(text)
    if match:
        bot = match.group(2).lower()
        if bot in names or (started_with_slash and bot.endswith("bot")):
            return match.group(1) + text[match.end():]
    return text


# Leading decoration people put before a report: numbering (`1.`, `1、`, `(1)`, `一、`, circled numbers,
# which NFKC turns into digits, so they are dropped before it) and emoji (✅, 👉, 📌 …).
_CIRCLED = re.compile(r"^[\u2460-\u2473\u2474-\u2487\u2488-\u249b\u2776-\u277f\u2780-\u2789\u278a-\u2793]\s*")
_NUMBERING = re.compile(r"^(?:\d{1,2}[.、)]|\(\d{1,2}\)|[一二三四五六七八九十]{1,2}、)\s*(?=\D)")
_SPACES = re.compile(r"[^\S\n]+")


def _is_decoration(ch: str) -> bool:
    """Emoji and pictographs, their variation selectors and skin tones: decoration, never meaning."""
    return unicodedata.category(ch) == "So" or ch in "\ufe0e\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def _strip_decoration(line: str) -> str:
    """A line without leading numbering and emoji (✅签约 #19). Emoji later on stay: they may be meant."""
    line = _CIRCLED.sub("", line)
    start = 0
    while start < len(line) and (_is_decoration(line[start]) or line[start].isspace()):
        start += 1
    return line[start:]


def _one_line(text: str, names: list[str]) -> str:
    text = _SPACES.sub(" ", text).strip()
    text = _strip_decoration(text)
    started_with_slash = text.startswith("/")
    text = text.lstrip("/").lstrip()
    text = _drop_bot_mentions(text, names, started_with_slash).strip()
    text = _NUMBERING.sub("", _strip_decoration(text))
    return _untag(text)


# 【进展】#15 …, [签约] #19: a bracketed tag. A verb in it is the verb; any other tag (a squad, a date,
# 日报) loses its brackets but stays, so it can never become a project name unseen.
_TAG = re.compile(r"^(?:【([^【】]{1,12})】|\[([^\[\]]{1,12})\]|〔([^〔〕]{1,12})〕)\s*")


def _untag(text: str) -> str:
    match = _TAG.match(text)
    if match is None:
        return text
    inner = next(group for group in match.groups() if group is not None).strip()
    rest = text[match.end():].strip()
    return f"{inner} {rest}".strip() if inner else rest


def _one_pass(text: str, names: list[str]) -> str:
    lines = _strip_invisible(text).split("\n")
    # Circled numbers become digits under NFKC, so they go first.
    lines = [_CIRCLED.sub("", line.strip()) for line in lines]
    lines = unicodedata.normalize("NFKC", "\n".join(lines)).split("\n")
    kept = [_one_line(line, names) for line in lines]
    return "\n".join(line for line in kept if line)


def normalize(text: str, bot_names: Collection[str] = ()) -> str:
    """Canonical form of a message: NFKC, no invisibles, single spaces, one report per line, no leading
    `/`, numbering, emoji, tag brackets or mention of the bot."""
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


