"""The message catalogues (handlers/wording): both languages say every message, and the code uses every one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from handlers.wording import PerLang, both, en, en_parse, en_reports, placeholders, say, zh, zh_parse, zh_reports

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"
# A key's literal at a call: ctx.say("k", ...), say(lang, "k", ...), say("zh", "k", ...), refuse_key(ctx, "k", ...),
# both("k", ...), bilingual("k", ...), key("k") (a table's label, said by its row).
USED = re.compile(r"""\b(?:say\(\s*(?:[\w.]+,\s*|"(?:zh|en)",\s*)?|both\(\s*|bilingual\(\s*|key\(|refuse_key\(\s*[\w.]+,\s*)"([\w.]+)\"""")
# Messages where one language leaves a detail out, on purpose: key → (shown only in Chinese, only in English).
ONE_SIDED = {
    "verify.already_verified": ({"stage"}, set()),  # "#{id} 的{stage}已核实过" / "#{id} is already verified"
    "newteam.created": ({"kind"}, set()),  # 小分队 or 领导组; English says "Squad" for both
    "builds_on.later_change": ({"who"}, {"actor"}),  # 你 for the sender; English names the actor
    "settings.no_such_post": ({"known"}, set()),  # the Chinese post words are listed in Chinese only
    "dismiss.confirm": ({"squad"}, set()),  # "将取消 {name}（{squad}）的{role}" / "This takes back {name}'s {role} role"
    "period.own_squad": ({"squad"}, set()),  # "；本队（{squad}）{count} 个" / "; your squad {count}"
    "parse.unknown_industry": ({"value"}, set()),  # "没有“{value}”这个行业。可选：{known}" / "Unknown industry. Known: {known}"
    "parse.unknown_zone": ({"value"}, set()),
    "doubt.amount_estimate": ({"yi"}, {"yuan"}),  # "我先按 {yi:g} 亿记" / "read as {yuan:,} yuan"
    "doubt.approximate_date": ({"said"}, set()),  # the words quoted in Chinese only
    "doubt.dated_as_written": ({"verb"}, set()),  # "记这次{verb}" / "Dated {when} as you wrote"
    "doubt.ahead_as_expected": ({"verb"}, set()),  # "记成预计 {when} {verb}" / "read as expected by then"
    "doubt.amount_from_note_rest": ({"note"}, set()),  # "「{note}」写进备注" / "the rest as a note"  # "没有“{value}”这个区域。可选：{known}" / "Unknown zone. Known: {known}"
}


def keys_in_code() -> set[str]:
    """Every literal key the handlers pass to say / refuse_key."""
    return {key for path in HANDLERS.rglob("*.py") for key in USED.findall(path.read_text(encoding="utf-8"))}


def test_both_languages_have_the_same_keys() -> None:
    assert sorted(zh.MESSAGES.keys() - en.MESSAGES.keys()) == []
    assert sorted(en.MESSAGES.keys() - zh.MESSAGES.keys()) == []


def test_both_languages_ask_for_the_same_values() -> None:
    differ = {}
    for key in zh.MESSAGES:
        zh_only, en_only = ONE_SIDED.get(key, (set(), set()))
        if placeholders(zh.MESSAGES[key]) - zh_only != placeholders(en.MESSAGES[key]) - en_only:
            differ[key] = (placeholders(zh.MESSAGES[key]), placeholders(en.MESSAGES[key]))
    assert differ == {}


def test_every_key_the_code_says_exists() -> None:
    assert sorted(keys_in_code() - zh.MESSAGES.keys()) == []


def test_no_message_is_unused() -> None:
    assert sorted(zh.MESSAGES.keys() - keys_in_code()) == []


def test_the_scan_finds_the_call_forms() -> None:
    found = USED.findall('ctx.say("a.b", x=1) say(lang, "c.d") refuse_key(ctx, "e.f", cmd.verb) say("g.h") '
                         '*both("i.j", id=1) both(\n  "k.l") {"x": key("m.n")} say(\n "zh", "o.p") bilingual("q.r")')
    assert found == ["a.b", "c.d", "e.f", "g.h", "i.j", "k.l", "m.n", "o.p", "q.r"]


def test_say_fills_the_language_template() -> None:
    assert say("zh", "stage.already_nothing_changed", id=29, to_stage="签约") == "#29 已在签约库，未做更改。"
    assert say("en", "stage.already_nothing_changed", id=29, to_stage="signed") == "#29 is already signed; nothing changed."


def test_an_unknown_key_is_a_bug() -> None:
    with pytest.raises(KeyError):
        say("zh", "no.such.message")


def test_a_missing_value_is_a_bug() -> None:
    with pytest.raises(KeyError):
        say("en", "stage.already_nothing_changed", id=29)


def test_a_value_no_language_shows_is_a_bug() -> None:
    with pytest.raises(KeyError):
        say("en", "drop.give_reason", reason="x")


def test_a_value_one_language_leaves_out_is_accepted() -> None:
    assert say("en", "verify.already_verified", id=3, stage="signed") == "#3 is already verified."


def test_both_says_a_question_in_each_language() -> None:
    assert both("rename.confirm", old="一队", new="二队") == ("将把「一队」改名为「二队」：", 'This renames "一队" to "二队":')


def test_both_gives_each_language_its_own_value() -> None:
    zh_text, en_text = both("appoint.confirm", name="王芳", squad="一队", role=PerLang("队长", "captain"))
    assert (zh_text, en_text) == ("将设 王芳（一队）为队长：", "This makes 王芳 (一队) a captain:")


def test_a_catalogue_s_files_do_not_share_a_key() -> None:
    for parts in ((zh.REPLIES, zh_reports.MESSAGES, zh_parse.MESSAGES), (en.REPLIES, en_reports.MESSAGES, en_parse.MESSAGES)):
        assert sum(len(part) for part in parts) == len({key for part in parts for key in part})


# An inline pair: a picker (`_t(lang, "差", "short")`, `ctx.t(...)`, `pick(...)`, `in_lang(...)`, the parser's
# `ctx.error(zh, en)`) given two literal texts, or `"关" if lang == "zh" else "off"` with a literal on each side.
PICKERS = {"_t", "t", "pick", "in_lang", "error", "doubted"}
# handlers/parse/render.py writes a command back in the words a user types (公司:/company:, 全部/all): the
# command language, like handlers/vocabulary's tables, not a reply's wording.
NOT_REPLIES = {"parse/render.py"}


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _asks_language(test: ast.expr) -> bool:
    """`lang == "en"`, `ctx.lang != "zh"`, or a flag named en/zh standing for one."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id in ("en", "zh"):
            return True
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Constant) and side.value in ("en", "zh") for side in sides) and any(
                    (isinstance(side, ast.Name) and side.id == "lang")
                    or (isinstance(side, ast.Attribute) and side.attr == "lang") for side in sides):
                return True
    return False


def inline_pairs(source: str) -> list[int]:
    """The lines of a module's source where a reply's two languages are written inline."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in PICKERS and sum(_is_text(arg) for arg in node.args) >= 2:
                found.append(node.lineno)
        elif isinstance(node, ast.IfExp) and _asks_language(node.test) and _is_text(node.body) \
                and _is_text(node.orelse):
            found.append(node.lineno)
    return sorted(found)


def test_no_reply_is_written_inline_in_two_languages() -> None:
    found = {}
    for path in sorted(HANDLERS.rglob("*.py")):
        name = path.relative_to(HANDLERS).as_posix()
        if name.startswith("wording/") or name in NOT_REPLIES:
            continue
        if lines := inline_pairs(path.read_text(encoding="utf-8")):
            found[name] = lines
    assert found == {}, "say these with the catalogue (handlers/wording), not inline"


def test_the_inline_scan_finds_the_old_forms() -> None:
    old = (
        'a = _t(lang, f" 差{n}", f" short {n}")\n'
        'b = ctx.t("关", "off")\n'
        'c = pick(command.lang, "第一项", "Part one")\n'
        'd = "关" if lang == "zh" else "off"\n'
        'e = ("每周一 " if ctx.lang != "en" else "Mondays ")\n'
        'f = ("company:" if en else "公司:")\n'
        'g = ctx.error("缺少项目。", "Which project?")\n'
    )
    assert inline_pairs(old) == [1, 2, 3, 4, 5, 6, 7]
    new = (
        'a = say(lang, "status.short", lacking=n)\n'
        'b = in_lang(lang, question.zh, question.en)\n'
        'c = day.isoformat() if lang == "en" else short_day(day)\n'
        'd = ctx.error(ctx.say("parse.which_project"))\n'
    )
    assert inline_pairs(new) == []
