"""Amounts as squads say them (issue 13, DESIGN §4b): 2个亿, 十来个亿, 投资5 亿, 总投资10亿一期3亿, in words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.amounts import (
    INVESTMENT_LABELS,
    MAX_YUAN,
    AmountFound,
    amount_at,
    find_amounts,
    looks_like_amount,
    parse_amount,
)
from handlers.commands import Amount

RATE = 7.1
YI = 100_000_000
WAN = 10_000


@pytest.mark.parametrize(
    ("text", "yuan", "currency", "vague"),
    [
        # 个亿
        ("2个亿", 2 * YI, "CNY", False),
        ("两个亿", 2 * YI, "CNY", False),
        ("五个亿", 5 * YI, "CNY", False),
        ("1.5个亿", 150_000_000, "CNY", False),
        ("十个亿", 10 * YI, "CNY", False),
        ("10个亿", 10 * YI, "CNY", False),
        ("2个亿元", 2 * YI, "CNY", False),
        ("两个半亿", 250_000_000, "CNY", False),
        ("半个亿", 50_000_000, "CNY", False),
        ("一个亿", YI, "CNY", False),
        ("一个半亿", 150_000_000, "CNY", False),
        # guesses: the figure is a lower bound the bot must confirm
        ("3个多亿", 3 * YI, "CNY", True),
        ("十来个亿", 10 * YI, "CNY", True),
        ("十几个亿", 10 * YI, "CNY", True),
        ("2亿多", 2 * YI, "CNY", True),
        ("二十多亿", 20 * YI, "CNY", True),
        ("5000多万", 5000 * WAN, "CNY", True),
        ("100余万", 100 * WAN, "CNY", True),
        ("三千多万元", 3000 * WAN, "CNY", True),
        # near / about / over: the figure as said, not a guess
        ("近十亿", 10 * YI, "CNY", False),
        ("近2亿", 2 * YI, "CNY", False),
        ("约2亿", 2 * YI, "CNY", False),
        ("大约2亿", 2 * YI, "CNY", False),
        ("约合2亿元", 2 * YI, "CNY", False),
        ("2亿左右", 2 * YI, "CNY", False),
        ("5000万左右", 5000 * WAN, "CNY", False),
        ("超2亿", 2 * YI, "CNY", False),
        ("逾3亿", 3 * YI, "CNY", False),
        ("高达5亿", 5 * YI, "CNY", False),
        # words that say it is the investment
        ("投资5亿", 5 * YI, "CNY", False),
        ("金额3亿", 3 * YI, "CNY", False),
        ("总投资10亿", 10 * YI, "CNY", False),
        ("计划投资2亿", 2 * YI, "CNY", False),
        ("拟投资3亿", 3 * YI, "CNY", False),
        ("预计投资3000w", 3000 * WAN, "CNY", False),
        ("注册资本5000万", 5000 * WAN, "CNY", False),
        ("总投资为10亿元", 10 * YI, "CNY", False),
        ("投资额：约2亿", 2 * YI, "CNY", False),
        ("意向投资2个亿", 2 * YI, "CNY", False),
        # orders of magnitude
        ("3千万", 3000 * WAN, "CNY", False),
        ("3kw", 3000 * WAN, "CNY", False),
        ("3KW", 3000 * WAN, "CNY", False),
        ("3000w", 3000 * WAN, "CNY", False),
        ("3000W", 3000 * WAN, "CNY", False),
        ("6000万元人民币", 6000 * WAN, "CNY", False),
        ("五千万元", 5000 * WAN, "CNY", False),
        ("1亿5", 150_000_000, "CNY", False),
        ("一亿五千万", 150_000_000, "CNY", False),
        ("1亿5000万", 150_000_000, "CNY", False),
        ("2亿3千万", 230_000_000, "CNY", False),
        ("2亿三千万", 230_000_000, "CNY", False),
        ("3万5", 35_000, "CNY", False),
        ("3万5000", 35_000, "CNY", False),
        ("0.8亿", 80_000_000, "CNY", False),
        ("8千万", 8000 * WAN, "CNY", False),
        ("1千亿", 1000 * YI, "CNY", False),
        ("超百亿", 100 * YI, "CNY", False),  # 百亿/千亿 need no digit; 千万 does (千万别)
        ("千亿", 1000 * YI, "CNY", False),
        ("8万万", 8 * YI, "CNY", False),  # stacked units multiply, as before
        ("两万块", 20_000, "CNY", False),
        ("２亿", 2 * YI, "CNY", False),  # full-width digits from a phone keyboard
        # currencies
        ("USD 30m", 213_000_000, "USD", False),
        ("usd30m", 213_000_000, "USD", False),
        ("30m美元", 213_000_000, "USD", False),
        ("$30m", 213_000_000, "USD", False),
        ("US$ 5m", 35_500_000, "USD", False),
        ("300万美元", 21_300_000, "USD", False),
        ("3000万美金", 213_000_000, "USD", False),
        ("CNY 200,000,000", 2 * YI, "CNY", False),
        ("RMB 2亿", 2 * YI, "CNY", False),
        ("人民币5000万", 5000 * WAN, "CNY", False),
        ("200m", 2 * YI, "CNY", False),
        ("2b", 2_000_000_000, "CNY", False),
        ("1.2bn", 1_200_000_000, "CNY", False),
        ("200 million", 2 * YI, "CNY", False),
        ("20000元", 20_000, "CNY", False),
    ],
)
def test_spoken_forms(text: str, yuan: int, currency: str, vague: bool) -> None:
    expected = Amount(yuan=yuan, text=text, currency=currency, vague=vague)
    assert parse_amount(text, usd_rate=RATE) == expected
    assert looks_like_amount(text)
    if " " not in text:  # glued to words on both sides, it is found with the same value
        [found] = find_amounts(f"签了{text}的合同", usd_rate=RATE)
        assert found.end == 2 + len(text) and text.endswith(found.text)
        assert found.text == text or found.label  # a label word (投资, 金额 …) is not part of the span
        assert found.amount is not None
        assert (found.amount.yuan, found.amount.currency, found.amount.vague) == (yuan, currency, vague)


@pytest.mark.parametrize(
    "text",
    [
        "几个亿", "好几个亿", "几千万", "几百万", "几十亿", "上亿", "上千万", "数亿", "数千万", "数十亿", "近亿",
        "1-2亿", "2~3个亿", "一到两个亿", "两三个亿", "三五千万",  # ranges: no single figure to propose
        "5000万港币", "3亿日元",  # currencies the bot does not convert
        "USD 5亿元",  # two currencies
        "1亿5000",  # 5000 yuan or 5000万?
        "一期3亿", "二期5000万", "首期投资3亿",  # a phase, not the project's total
        "年产值5000万", "税收300万", "营收2亿",  # not an investment at all
        "总投资10亿一期3亿",  # a total and a phase: find_amounts reads both, with their labels
    ],
)
def test_money_that_cannot_be_stored_as_read(text: str) -> None:
    assert parse_amount(text, usd_rate=RATE) is None
    assert looks_like_amount(text)
    assert find_amounts(text, usd_rate=RATE)


@pytest.mark.parametrize("text", ["几个亿", "上亿", "数亿", "几千万", "1-2亿", "5000万港币"])
def test_unreadable_money_is_found_without_an_amount(text: str) -> None:
    assert find_amounts(f"对方说{text}吧", usd_rate=RATE) == [AmountFound(None, text, 3, 3 + len(text), "")]


@pytest.mark.parametrize(
    "text",
    [
        "3轮", "5号楼", "二期", "一期", "#12", "80", "2026", "2026-12-05", "12月5号", "8点半", "八点半", "第3名",
        "3人", "100亩", "5%", "万达", "亿达", "万达广场二期", "千万别", "千万别忘了", "万一", "十万火急", "万元",
        "亿", "3千", "两千", "5元",  # a plain figure is money only from MIN_PLAIN up
        "5000万人", "1亿人次", "3万吨", "10万平米", "5万台", "2万亩", "5000万股",  # counts and measures
        "加上亿元补贴", "马上万达见",  # 上 inside a word
        "20000000", "CNY", "abc", "",
        # Decision: 一万个理由 is a count of things (N万个 + a noun), not money, like 一万个人 or 5000万个.
        "一万个理由", "十万个为什么",
    ],
)
def test_not_money(text: str) -> None:
    assert not looks_like_amount(text)
    assert find_amounts(text, usd_rate=RATE) == []
    assert parse_amount(text, usd_rate=RATE) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("对方有意向投资2个亿建华中总部", [("2个亿", 2 * YI, "投资")]),
        ("投资2个亿建", [("2个亿", 2 * YI, "投资")]),
        ("签了3亿的合同", [("3亿", 3 * YI, "")]),
        ("总投资10亿一期3亿", [("10亿", 10 * YI, "总投资"), ("3亿", 3 * YI, "一期")]),
        ("年产值5000万，税收300万", [("5000万", 5000 * WAN, "年产值"), ("300万", 300 * WAN, "税收")]),
        ("总投资为10亿元，其中首期投资3亿", [("10亿元", 10 * YI, "总投资"), ("3亿", 3 * YI, "首期")]),
        ("第二期投资5000万", [("5000万", 5000 * WAN, "二期")]),
        ("计划总投资约2亿左右", [("约2亿左右", 2 * YI, "总投资")]),
        ("合同金额：3000万美元", [("3000万美元", 213_000_000, "金额")]),
        ("注册资金5000万", [("5000万", 5000 * WAN, "注册资本")]),
        ("项目投资了3个多亿", [("3个多亿", 3 * YI, "投资")]),
        ("总投资十来个亿，一期先投3个多亿", [("十来个亿", 10 * YI, "总投资"), ("3个多亿", 3 * YI, "一期")]),
        ("拟投资5亿元，其中固定资产投资4亿元", [("5亿元", 5 * YI, "投资"), ("4亿元", 4 * YI, "固定资产投资")]),
        ("项目估值10亿，融资2000万美金", [("10亿", 10 * YI, "估值"), ("2000万美金", 142_000_000, "融资")]),
        ("计划投资约合2亿美元，折合人民币14亿", [("约合2亿美元", 1_420_000_000, "投资"), ("人民币14亿", 14 * YI, "")]),
        ("年营收上亿，利润几千万", [("上亿", None, "营收"), ("几千万", None, "利润")]),
        ("投资3亿元建设10万平方米厂房，年产5万吨", [("3亿元", 3 * YI, "投资")]),
        ("他们计划投资几个亿", [("几个亿", None, "投资")]),
        ("签约万达5000万", [("5000万", 5000 * WAN, "")]),  # 万 of 万达 has no number before it
        ("投资5000万达产后年产值2亿多", [("5000万", 5000 * WAN, "投资"), ("2亿多", 2 * YI, "年产值")]),
        ("新建5万吨产线投资1亿5建设", [("1亿5", 150_000_000, "投资")]),
        ("1亿5年回本", [("1亿", YI, "")]),  # 5年 is a duration, not 1.5亿
        ("plan Tesla showroom 200m next week", [("200m", 2 * YI, "")]),
        ("USD 30m and 200 million, 1.2bn", [("USD 30m", 213_000_000, ""), ("200 million", 2 * YI, ""),
                                            ("1.2bn", 1_200_000_000, "")]),
        ("千万别忘了十万火急的事，12月5号8点半到#12开会，第3名，100亩", []),
        ("一万个理由，5000万人，2026-12-05", []),
    ],
)
def test_find_amounts_in_free_text(text: str, expected: list[tuple[str, int | None, str]]) -> None:
    found = find_amounts(text, usd_rate=RATE)
    assert [(f.text, f.amount.yuan if f.amount else None, f.label) for f in found] == expected
    for f in found:
        assert text[f.start : f.end] == f.text
        assert f.amount is None or f.amount.text == f.text


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["投资5", "亿"], (Amount(5 * YI, "投资5 亿"), 2)),
        (["2个", "亿"], (Amount(2 * YI, "2个 亿"), 2)),
        (["两个", "亿"], (Amount(2 * YI, "两个 亿"), 2)),
        (["金额", "3亿"], (Amount(3 * YI, "金额 3亿"), 2)),
        (["约", "2亿"], (Amount(2 * YI, "约 2亿"), 2)),
        (["2亿", "左右"], (Amount(2 * YI, "2亿 左右"), 2)),
        (["2亿", "多"], (Amount(2 * YI, "2亿 多", vague=True), 2)),
        (["300万", "美元"], (Amount(21_300_000, "300万 美元", "USD"), 2)),  # the currency belongs to it
        (["USD", "30m"], (Amount(213_000_000, "USD 30m", "USD"), 2)),
        (["US$", "5m"], (Amount(35_500_000, "US$ 5m", "USD"), 2)),
        (["RMB", "2亿"], (Amount(2 * YI, "RMB 2亿"), 2)),
        (["200", "million"], (Amount(2 * YI, "200 million"), 2)),
        (["2个亿", "网易"], (Amount(2 * YI, "2个亿"), 1)),
        (["十来个亿", "x"], (Amount(10 * YI, "十来个亿", vague=True), 1)),
        (["网易", "2亿"], None),  # the amount starts at the next token
        (["一期", "3亿"], None),
        (["80", "2亿"], None),
        (["5", "万达"], None),
        (["几个亿"], None),
    ],
)
def test_amount_at_over_two_tokens(tokens: list[str], expected: tuple[Amount, int] | None) -> None:
    assert amount_at(tokens, 0, usd_rate=RATE) == expected


def test_labels_that_mean_the_investment() -> None:
    # parse_amount takes these as the amount to store; any other label (一期, 年产值 …) only via find_amounts
    assert {"总投资", "投资", "金额", "注册资本"} == INVESTMENT_LABELS
    for text in ("总投资10亿", "投资10亿", "合同金额10亿", "注册资金10亿"):
        [found] = find_amounts(text, usd_rate=RATE)
        assert found.label in INVESTMENT_LABELS and parse_amount(text, usd_rate=RATE) is not None
    for text in ("一期10亿", "年产值10亿", "税收10亿", "营收10亿", "融资10亿"):
        [found] = find_amounts(text, usd_rate=RATE)
        assert found.label not in INVESTMENT_LABELS and parse_amount(text, usd_rate=RATE) is None


def test_amount_at_spoken() -> None:
    assert amount_at(["签约", "网易河南区域总部", "2个亿"], 2, usd_rate=7.1) == (Amount(2 * YI, "2个亿"), 1)
    assert amount_at(["谋划", "某某项目", "投资5", "亿", "下周"], 2, usd_rate=7.1) == (Amount(5 * YI, "投资5 亿"), 2)


# --------------------------------------------------------------------------------------------- properties

_ALPHABET = st.sampled_from(
    list("0123456789.,-~ 零一二两三四五六七八九十百千万亿个半多余来几数上近约超左右元块美金人民币港")
    + list("$¥USDusdRMBmbknwKW第期号年月人吨亩%#：:，达火急投资总金额为了")
    + ["million", "bn", "US$", "总投资", "一期", "万达", "千万别", "十万火急"]
)
_TEXT = st.one_of(st.lists(_ALPHABET, max_size=30).map("".join), st.text(max_size=60))


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_never_raises_and_stays_in_range(text: str) -> None:
    amount = parse_amount(text, usd_rate=RATE)
    assert amount is None or 0 < amount.yuan <= MAX_YUAN
    found = find_amounts(text, usd_rate=RATE)
    end = 0
    for f in found:
        assert end <= f.start < f.end <= len(text)  # inside the text, in order, not overlapping
        end = f.end
        assert text[f.start : f.end] == f.text
        if f.amount is not None:
            assert 0 < f.amount.yuan <= MAX_YUAN
            assert f.amount.text == f.text
            if len(f.text) <= 40:  # the words alone read the same
                assert parse_amount(f.text, usd_rate=RATE) == f.amount
    assert looks_like_amount(text) == (bool(found) or amount is not None)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=4))
def test_amount_at_never_raises(tokens: list[str]) -> None:
    found = amount_at(tokens, 0, usd_rate=RATE)
    assert found is None or (0 < found[0].yuan <= MAX_YUAN and found[1] in (1, 2))
