"""Normalisation and tokenisation of messages (DESIGN §4)."""

from __future__ import annotations

import pytest

from handlers.normalize import normalize, scan


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  签约   #12  ", "签约 #12"),
        ("签约　＃１２", "签约 #12"),  # full-width space, ＃ and digits
        ("问题（土地）：用地指标；未批，", "问题(土地):用地指标;未批,"),
        ("/sign #12", "sign #12"),
        ("/sign@zsbot_bot #12", "sign #12"),
        ("/start@ZsBot_bot CODE", "start CODE"),
        ("签约\n#12\t2亿", "签约\n#12 2亿"),  # one report per line: line breaks stay
        ("签约\u200b#12", "签约#12"),  # zero-width space from a phone keyboard
        ("签约\x00 #12\x07", "签约 #12"),
        ("@招商助手 签约 #12", "签约 #12"),
        ("签约 #12 @招商助手", "签约 #12"),
        ("@招商助手\u2005签约 #12", "签约 #12"),  # WeCom puts U+2005 after a mention
        ("//sign #12", "sign #12"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw, bot_names=["招商助手", "zsbot_bot"]) == expected


def test_mentions_only_dropped_for_known_bots() -> None:
    assert normalize("@张三 签约 #12") == "@张三 签约 #12"
    assert normalize("签约 #12 @深圳") == "签约 #12 @深圳"
    assert normalize("签约 #12 @深圳", bot_names=["深圳"]) == "签约 #12"


def test_verb_suffix_kept_when_it_is_a_place() -> None:
    # A Chinese verb glued to `@上海` is a place, not a bot name.
    assert normalize("签约@上海 仲景") == "签约@上海 仲景"
    # Without a slash, an ASCII @name is stripped only when it is one of ours.
    assert normalize("sign@shanghai #12") == "sign@shanghai #12"
    assert normalize("sign@zsbot_bot #12", bot_names=["zsbot_bot"]) == "sign #12"


def test_normalize_is_idempotent_on_tricky_input() -> None:
    for raw in ("/ /sign", "@招商助手 /签约 #12", "ｓｉｇｎ　＃１２", "e\u0301 /x"):
        once = normalize(raw, bot_names=["招商助手"])
        assert normalize(once, bot_names=["招商助手"]) == once


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("比亚迪河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团",
         ["比亚迪河南体验中心", "2亿", "汽车", "@深圳", "对接:比亚迪集团"]),
        ("仲景,完成第三轮;下周、来郑:考察", ["仲景", "完成第三轮", "下周", "来郑", "考察"]),
        ('"Tesla Service Center" 2b', ["Tesla Service Center", "2b"]),
        ("“特斯拉 服务中心”2亿", ["特斯拉 服务中心", "2亿"]),
        ("「特斯拉 服务中心」 汽车", ["特斯拉 服务中心", "汽车"]),
        ("公司:比亚迪集团 company:BYD", ["公司:比亚迪集团", "company:BYD"]),
        ("公司: 比亚迪集团", ["公司:", "比亚迪集团"]),
        ('company:"BYD Group" x', ["company:BYD Group", "x"]),
        ("robot:abc-123", ["robot:abc-123"]),
        ("event:42", ["event:42"]),
        ("排行 08:30", ["排行", "08:30"]),
        ("CNY 200,000,000", ["CNY", "200,000,000"]),
        ("200,000,000元,下周", ["200,000,000元", "下周"]),
        ("签约 80,落地 5", ["签约", "80", "落地", "5"]),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY x",
         ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY", "x"]),
        ('a "unclosed b', ["a", '"unclosed', "b"]),
        ('""  x', ["x"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert [token.text for token in scan(text)] == tokens


def test_tokenize_full_width_separators_without_normalising() -> None:
    assert [token.text for token in scan("仲景，完成；下周、考察：好")] == ["仲景", "完成", "下周", "考察", "好"]


def test_scan_spans_point_into_the_text() -> None:
    text = '改 "新 名字" #12'
    for token in scan(text):
        assert text[token.start : token.end].strip('"') == token.text
    assert [t.quoted for t in scan(text)] == [False, True, False]
