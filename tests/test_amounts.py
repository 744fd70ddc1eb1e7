"""Amounts as people type them, to integer yuan (DESIGN §4)."""

from __future__ import annotations

import pytest

from handlers.amounts import MAX_YUAN, amount_at, parse_amount
from handlers.commands import Amount

RATE = 7.1


@pytest.mark.parametrize(
    ("text", "yuan", "currency"),
    [
        ("2亿", 200_000_000, "CNY"),
        ("1.5亿元", 150_000_000, "CNY"),
        ("5000万", 50_000_000, "CNY"),
        ("5000万元", 50_000_000, "CNY"),
        ("两亿", 200_000_000, "CNY"),
        ("五千万元", 50_000_000, "CNY"),
        ("一点五亿", 150_000_000, "CNY"),
        ("零点五亿", 50_000_000, "CNY"),
        ("一亿五", 150_000_000, "CNY"),  # colloquial: 一亿五 is 1.5亿
        ("三万五", 35_000, "CNY"),
        ("一亿五千万", 150_000_000, "CNY"),
        ("3千万", 30_000_000, "CNY"),
        ("1亿5000万", 150_000_000, "CNY"),
        ("3.5万", 35_000, "CNY"),
        ("5000w", 50_000_000, "CNY"),
        ("壹亿", 100_000_000, "CNY"),
        ("2億", 200_000_000, "CNY"),
        ("300万美元", 21_300_000, "USD"),
        ("2.5亿美元", 1_775_000_000, "USD"),
        ("200m", 200_000_000, "CNY"),
        ("200M", 200_000_000, "CNY"),
        ("2b", 2_000_000_000, "CNY"),
        ("1.5bn", 1_500_000_000, "CNY"),
        ("$200m", 1_420_000_000, "USD"),
        ("US$2b", 14_200_000_000, "USD"),
        ("CNY 200,000,000", 200_000_000, "CNY"),
        ("RMB200,000,000", 200_000_000, "CNY"),
        ("200,000,000元", 200_000_000, "CNY"),
        ("20000000元", 20_000_000, "CNY"),
        ("¥2亿", 200_000_000, "CNY"),
        ("总投资2亿", 200_000_000, "CNY"),
        ("约5000万", 50_000_000, "CNY"),
        ("2亿左右", 200_000_000, "CNY"),
    ],
)
def test_accepted_forms(text: str, yuan: int, currency: str) -> None:
    assert parse_amount(text, usd_rate=RATE) == Amount(yuan=yuan, text=text, currency=currency)


@pytest.mark.parametrize(
    "text",
    [
        "20000000",  # a bare number is not money without 元
        "80",
        "2027",
        "5元",  # too small to be an investment even with 元
        "3千",  # 千 alone is not a magnitude for money
        "两千",
        "-2亿",
        "0亿",
        "亿",
        "万元",
        "2亿亿亿",  # 10^24: absurd
        "99999999999999999999999999999999999亿",
        "USD 5亿元",  # two currencies
        "abc",
        "2027-03",
        "#12",
        "",
        "一点五",
        "1.2.3亿",
        "二〇二七",
        "80 2亿",
    ],
)
def test_rejected(text: str) -> None:
    assert parse_amount(text, usd_rate=RATE) is None


def test_round_half_up_to_whole_yuan() -> None:
    assert parse_amount("1.00000005亿", usd_rate=RATE) == Amount(100_000_005, "1.00000005亿")
    assert parse_amount("1.000000005亿", usd_rate=RATE) == Amount(100_000_001, "1.000000005亿")  # .5 up
    assert parse_amount("1.000000004亿", usd_rate=RATE) == Amount(100_000_000, "1.000000004亿")
    # Decimal, not float: 0.1 + 0.2 style errors would show here.
    amount = parse_amount("0.3亿美元", usd_rate=7.13)
    assert amount is not None and amount.yuan == 213_900_000


def test_limit() -> None:
    assert parse_amount("100000亿", usd_rate=RATE) == Amount(MAX_YUAN, "100000亿")
    assert parse_amount("100001亿", usd_rate=RATE) is None


def test_bad_rate_refuses_dollars_only() -> None:
    assert parse_amount("300万美元", usd_rate=float("nan")) is None
    assert parse_amount("300万美元", usd_rate=0) is None
    assert parse_amount("300万", usd_rate=float("nan")) == Amount(3_000_000, "300万")


def test_amount_at_joins_a_word_split_from_its_number() -> None:
    assert amount_at(["仲景", "CNY", "200,000,000", "下周签"], 1, usd_rate=RATE) == (
        Amount(200_000_000, "CNY 200,000,000"), 2)
    assert amount_at(["USD", "30m"], 0, usd_rate=RATE) == (Amount(213_000_000, "USD 30m", "USD"), 2)
    assert amount_at(["2", "亿", "x"], 0, usd_rate=RATE) == (Amount(200_000_000, "2 亿"), 2)
    assert amount_at(["签约", "80", "2亿"], 2, usd_rate=RATE) == (Amount(200_000_000, "2亿"), 1)
    assert amount_at(["仲景", "80"], 0, usd_rate=RATE) is None


def test_amounts_from_text_are_reparsed_identically() -> None:
    for text in ("2亿", "CNY 200,000,000", "300万美元", "1.5bn"):
        first = parse_amount(text, usd_rate=RATE)
        assert first is not None
        assert parse_amount(first.text, usd_rate=RATE) == first
