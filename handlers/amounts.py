"""Investment amounts as people type them (`2亿`, `五千万元`, `300万美元`, `200m`, `CNY 200,000,000`).

Everything becomes integer yuan with Decimal arithmetic (round half up); dollars are converted with the
configured rate and the original words are kept. Chinese numerals go through cn2an.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import cn2an

from handlers.commands import Amount

DEFAULT_USD_RATE = 7.1
MAX_YUAN = 10**13  # anything larger is a typo, not an investment
# A plain number (no 万/亿/m/b) is an amount only with an explicit currency and at least this value, so
# "目标 签约 80" or "3轮" never turn into money.
MIN_PLAIN = 10_000

_MULTIPLIERS = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "w": 10**4, "亿": 10**8}
_ENGLISH_UNITS = {
    "m": 10**6, "mn": 10**6, "mm": 10**6, "million": 10**6, "millions": 10**6,
    "b": 10**9, "bn": 10**9, "billion": 10**9, "billions": 10**9,
}
_PREFIX_CURRENCY = {
    "cny": "CNY", "rmb": "CNY", "人民币": "CNY", "¥": "CNY", "￥": "CNY",
    "usd": "USD", "us$": "USD", "$": "USD", "美元": "USD",
}
_SUFFIX_CURRENCY = {
    "美元": "USD", "美金": "USD", "usd": "USD", "元人民币": "CNY", "人民币": "CNY", "元": "CNY",
    "rmb": "CNY", "cny": "CNY",
}
# Words around a figure that do not change it: 总投资2亿, 约5000万, 2亿左右.
_NOISE_PREFIXES = (
    "计划总投资", "总投资额", "计划投资", "总投资", "投资额", "投资", "大约", "约", "近", "超过", "超", "逾",
)
_NOISE_SUFFIXES = ("左右", "以上", "上下")

_ARABIC = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_NUMERAL = re.compile(rf"[{_CN_DIGITS}十百千万亿拾佰仟点]+")
_CN_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {
    "〇": 0, "两": 2, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}
# Traditional forms NFKC leaves alone.
_TRADITIONAL = str.maketrans({"萬": "万", "億": "亿", "兩": "两", "圓": "元", "圆": "元"})


def _cn_integer(numeral: str) -> Decimal | None:
    """A Chinese integer numeral via cn2an, or None."""
    if not numeral:
        return Decimal(0)
    # cn2an reads 一亿五 as garbage (KeyError) although people mean 1.5亿: a lone digit after 亿/万 is
    # the next lower order (亿五 = 亿五千万, 万五 = 万五千), so spell that out first.
    match = re.fullmatch(rf"(.*[亿万])([{_CN_DIGITS}])", numeral)
    if match:
        numeral = match.group(1) + match.group(2) + ("千万" if match.group(1).endswith("亿") else "千")
    try:
        value = cn2an.cn2an(numeral, "normal")
    except Exception:  # cn2an raises ValueError, KeyError or IndexError on malformed numerals
        return None
    return Decimal(int(value)) if isinstance(value, int) else None


def _cn_number(numeral: str) -> Decimal | None:
    """A Chinese numeral, with a decimal point (一点五亿) where cn2an cannot take one."""
    if "点" not in numeral:
        return _cn_integer(numeral)
    # cn2an rejects 一点五亿 (a decimal followed by a unit) and returns floats for decimals, so split off
    # the trailing units, read the integer part with cn2an and the decimal digits one by one (exact).
    match = re.fullmatch(r"(.*?)点(.+?)([十百千万亿]*)", numeral)
    if not match or "点" in match.group(2):
        return None
    integer = _cn_integer(match.group(1))
    digits = match.group(2)
    if integer is None or any(d not in _CN_DIGIT_VALUE for d in digits):
        return None
    fraction = Decimal("0." + "".join(str(_CN_DIGIT_VALUE[d]) for d in digits))
    value = integer + fraction
    for unit in match.group(3):
        value *= _MULTIPLIERS[unit]
    return value


def _strip_currency(core: str) -> tuple[str, str | None]:
    lowered = core.lower()
    currency: str | None = None
    for word, code in _PREFIX_CURRENCY.items():
        if lowered.startswith(word):
            core, currency = core[len(word):], code
            break
    lowered = core.lower()
    for word, code in _SUFFIX_CURRENCY.items():
        if lowered.endswith(word) and len(core) > len(word):
            if currency is not None and currency != code:
                return core, "?"  # `USD 5亿元`: two currencies, so not an amount
            core, currency = core[: -len(word)], code
            break
    return core, currency


def _magnitude(core: str) -> tuple[Decimal, bool] | None:
    """The number in core and whether it carried a magnitude unit (万, 亿, m, b …)."""
    split = re.fullmatch(r"(\d[\d.,]*亿)(\d[\d.,]*万)", core)
    if split:  # 1亿5000万
        high, low = _magnitude(split.group(1)), _magnitude(split.group(2))
        return None if high is None or low is None else (high[0] + low[0], True)
    match = _ARABIC.match(core)
    if match:
        value = Decimal(match.group(1).replace(",", "") + ("." + match.group(2) if match.group(2) else ""))
        unit = core[match.end():].strip()
        if not unit:
            return value, False
        if unit.lower() in _ENGLISH_UNITS:
            return value * _ENGLISH_UNITS[unit.lower()], True
        if all(u in _MULTIPLIERS for u in unit.lower()):
            big = any(u in "万w亿" for u in unit.lower())
            for u in unit.lower():
                value *= _MULTIPLIERS[u]
            return value, big
        return None
    if _CN_NUMERAL.fullmatch(core):
        number = _cn_number(core)
        if number is None:
            return None
        return number, any(u in core for u in "万亿")
    return None


def parse_amount(token: str, *, usd_rate: float) -> Amount | None:
    """The Amount a word (or `CNY 200,000,000`) stands for, in integer yuan, or None if it is not one."""
    if not isinstance(token, str) or not token or len(token) > 40:
        return None
    text = token.strip()
    if re.search(r"\d\s+[\d.,]", text):  # `80 2亿` is two numbers, not 802亿
        return None
    core = text.translate(_TRADITIONAL).replace(" ", "")
    for prefix in _NOISE_PREFIXES:
        if core.startswith(prefix):
            core = core[len(prefix):]
            break
    for suffix in _NOISE_SUFFIXES:
        if core.endswith(suffix):
            core = core[: -len(suffix)]
            break
    core, currency = _strip_currency(core)
    if currency == "?" or not core:
        return None
    found = _magnitude(core)
    if found is None:
        return None
    value, has_unit = found
    if not has_unit and (currency is None or value < MIN_PLAIN):
        return None
    if currency == "USD":
        try:
            rate = Decimal(str(usd_rate))
        except InvalidOperation:
            return None
        if not rate.is_finite() or rate <= 0:
            return None
        value *= rate
    if value > MAX_YUAN:  # checked before quantize, which cannot hold more than 28 digits
        return None
    yuan = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if yuan <= 0 or yuan > MAX_YUAN:
        return None
    return Amount(yuan=yuan, text=text, currency=currency or "CNY")


def _is_currency_word(token: str) -> bool:
    return token.lower() in _PREFIX_CURRENCY or token.lower() in _SUFFIX_CURRENCY


def amount_at(tokens: Sequence[str], i: int, *, usd_rate: float) -> tuple[Amount, int] | None:
    """The amount starting at tokens[i] and how many tokens it spans (1 or 2), or None."""
    amount = parse_amount(tokens[i], usd_rate=usd_rate)
    if amount is not None:
        return amount, 1
    if i + 1 < len(tokens):
        first, second = tokens[i], tokens[i + 1]
        # `CNY 200,000,000`, `USD 30m`, `2 亿`, `300 万美元`, `200 million`: a currency word or a bare
        # number split from its unit by a space.
        if _is_currency_word(first) or (_ARABIC.fullmatch(first) and not second[:1].isdigit()):
            amount = parse_amount(f"{first} {second}", usd_rate=usd_rate)
            if amount is not None:
                return amount, 2
    return None


def extract_amount(
    tokens: Sequence[str], *, usd_rate: float = DEFAULT_USD_RATE
) -> tuple[Amount | None, list[str]]:
    """The first amount among tokens (one or two of them) and the tokens left once it is taken out."""
    for i in range(len(tokens)):
        found = amount_at(tokens, i, usd_rate=usd_rate)
        if found is not None:
            amount, span = found
            return amount, [*tokens[:i], *tokens[i + span :]]
    return None, list(tokens)
