"""Every reply's wording, one catalogue per language: handlers say a message by its key."""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING, TypeVar

from handlers.wording import en, zh

if TYPE_CHECKING:  # handlers.commands says its ParseError with the catalogue: no import cycle at run time
    from handlers.commands import Lang

T = TypeVar("T")

CATALOGUES: dict[Lang, dict[str, str]] = {"zh": zh.MESSAGES, "en": en.MESSAGES}


def placeholders(template: str) -> set[str]:
    """The named values a template asks for (`{id}`, `{pool}`)."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def say(lang: Lang, key: str, /, **values: object) -> str:
    """The message `key` in `lang`, its placeholders filled; an unknown key or a wrong value is a bug (KeyError)."""
    template = CATALOGUES[lang][key]
    # A language may leave a detail out ("#{id} 的{stage}已核实过" / "#{id} is already verified"), so a value
    # is checked against both languages: one neither shows is a typo or a message that lost a placeholder.
    extra = values.keys() - {name for catalogue in CATALOGUES.values() for name in placeholders(catalogue[key])}
    if extra:
        raise KeyError(f"{key}: no placeholder for {sorted(extra)}")
    return template.format(**values)


@dataclass(frozen=True)
class PerLang:
    """A value that reads differently in each language (a stage: 签约 / signed), for `both`."""

    zh: object
    en: object


def key(name: str, /) -> str:
    """Name a message for later (a table of labels says it by its row), so the wording test finds the key."""
    return name


def in_lang(lang: Lang, zh: T, en: T) -> T:
    """Of a value that is written in both languages elsewhere (a question's two texts), the one in `lang`."""
    return en if lang == "en" else zh


def _value_in(lang: Lang, value: object) -> object:
    return in_lang(lang, value.zh, value.en) if isinstance(value, PerLang) else value


def bilingual(key: str, /, **values: object) -> str:
    """The message `key` in Chinese, then in English on the next line: for an answer to a message with no
    words to tell its writer's language (a bare file)."""
    zh_text, en_text = both(key, **values)
    return f"{zh_text}\n{en_text}"


def both(key: str, /, **values: object) -> tuple[str, str]:
    """The message `key` in Chinese and in English: a question (NeedsChoice, Choice) carries both texts."""
    langs: tuple[Lang, Lang] = ("zh", "en")
    zh_text, en_text = (say(lang, key, **{name: _value_in(lang, value) for name, value in values.items()})
                        for lang in langs)
    return zh_text, en_text
