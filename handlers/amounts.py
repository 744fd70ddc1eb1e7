"""Investment amounts as people type and say them (`2亿`, `2个亿`, `五千万元`, `300万美元`, `200m`,
`CNY 200,000,000`, `十来个亿`).

Everything becomes integer yuan with Decimal arithmetic (round half up); dollars are converted with the
configured rate and the original words are kept. The rules are hand-written on purpose: jionlp's money
parser (the only library that knows 两个亿 or 3000w) reads 1.5个亿 and 10个亿 wrongly, brings a GPL-3.0
segmenter and is slow to import (bench/README.md, understanding). Chinese numerals go through cn2an,
cached because it is called for every number word.

One grammar (`_PHRASE`) serves a single word (`parse_amount`, which must match it whole) and free text
(`scan_amounts`, which adds the checks that keep 十万火急, 一万个理由 or 5000万人 from reading as money);
`find_amounts` puts labels (总投资, 一期, 税收 …) on what `scan_amounts` finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import cn2an

from handlers.commands import Amount

DEFAULT_USD_RATE = 7.1
MAX_YUAN = 10**13  # anything larger is a typo, not an investment
# A plain number (no 万/亿/m/b) is an amount only with an explicit currency and at least this value, so
# "目标 签约 80" or "3轮" never turn into money.
MIN_PLAIN = 10_000

# Chinese units and w multiply (3千万, 5千w, 8万万 = 8亿); the Latin ones are words.
_UNIT_VALUE: dict[str, int] = {
    "十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8, "w": 10**4, "k": 10**3, "kw": 10**7,
    "m": 10**6, "mn": 10**6, "mm": 10**6, "million": 10**6, "millions": 10**6,
    "b": 10**9, "bn": 10**9, "billion": 10**9, "billions": 10**9,
}
_CURRENCY = {
    "cny": "CNY", "rmb": "CNY", "人民币": "CNY", "元人民币": "CNY", "元": "CNY", "块": "CNY", "块钱": "CNY",
    "¥": "CNY", "￥": "CNY",
    "usd": "USD", "us$": "USD", "$": "USD", "美元": "USD", "美金": "USD",
}

_CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {
    "〇": 0, "两": 2, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}
# One character for one character, so that spans found in the folded text are spans of the input:
# traditional forms NFKC leaves alone, and full-width digits and signs (free text is not normalised).
_FOLD = str.maketrans(
    {"萬": "万", "億": "亿", "兩": "两", "圓": "元", "圆": "元", "＄": "$", "＃": "#", "％": "%", "．": "."}
    | {chr(0xFF10 + i): str(i) for i in range(10)}
)

# --- the grammar of one amount phrase -------------------------------------------------------------------
_AR = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
_CN = rf"[{_CN_DIGITS}十拾][{_CN_DIGITS}十百千万亿拾佰仟点]*"  # never starts with 千/万/亿: 千万别, 万达
_NUMBER = rf"(?:{_AR}|{_CN})"
_CN_UNIT = "万亿|千亿|百亿|十亿|千万|百万|十万|亿|万"
_LATIN_END = r"(?!(?!usd|rmb|cny)[a-z0-9²])"  # 5wh, 3kg, 100m² are not money; 3000wRMB, 30musd are
_UNIT = (
    rf"[十百千万亿w]*[十百千万亿]|[十百千万亿w]*w{_LATIN_END}|(?:kw|k|mn|mm|m|bn|b){_LATIN_END}"
    r"|\s?(?:millions?|billions?)(?![a-z])"
)
# Words after a figure that make it a count or a measure (5000万人, 3万吨, 一万个理由) or an idiom (十万
# 火急); the lookaheads keep common words that merely start with one of them (人才, 度假, 位于, 方面 …).
_COUNT_WORDS = (
    r"[个套辆件株棵吨斤亩㎡瓦册张栋幢层粒箱盒袋瓶倍岁米座名万亿]|人(?!才|民)|家(?![具居电])|度(?!假)"
    r"|方(?![面案式向])|位(?!于|置)|平(?!台)|次(?![年日月])|户(?!外)|股(?!份|权)|台(?!账|湾)"
    r"|公斤|千克|公顷|公里|千米|立方|千瓦|火急|八千里|富翁"
)
_PHRASE_SRC = (
    r"(?<![0-9a-z.,#%_/\-])"
    r"(?P<approx>大约|大概|约合|约为|约|将近|接近|近|超过|超|逾|不低于|不少于|至少|高达|多达)?"
    r"(?:(?P<cur1>人民币|rmb|cny|us\$|usd|\$|¥|￥|美元)\s?)?"
    r"(?:"
    # 几个亿, 上千万, 数亿, 近亿: money, but no figure to store
    rf"(?P<vnum>好几|几|数|上|近)(?:十|百|千)?个?(?P<vunit>{_CN_UNIT})"
    r"|"
    rf"(?:(?P<lo>{_NUMBER})\s?(?:-|~|～|—|到|至)\s?)?"  # 1-2亿, 一到两个亿: a range
    rf"(?P<num>{_NUMBER}|半|百(?=万|亿)|千(?=亿))(?P<v1>多|余|来|几)?"  # 超百亿, 千亿, but never 千万别
    rf"(?:个(?P<half>半)?(?P<v2>多)?(?P<gunit>{_CN_UNIT})|(?P<unit>{_UNIT}))?"
    # 1亿5000万, 1亿5, 3万5: the lower order after 亿/万 (checked in _read)
    rf"(?:(?<=[亿万])(?P<low>(?:[0-9]+(?:\.[0-9]+)?(?:千万|百万|十万|万|千)?|[{_CN_DIGITS}十百千]+(?:千万|万|千))"
    rf"(?![0-9年月日号期]|{_COUNT_WORDS})))?"
    r")"
    rf"(?P<v3>(?:多|余)(?![0-9家个位名种项批次人]))?"
    r"(?P<cur2>元人民币|人民币|块钱|块(?![地砖屏板田石])|元|美元|美金|usd|rmb|cny"
    r"|(?P<foreign>港币|港元|欧元|日元|英镑|韩元|澳元|加元|新台币|卢布|新加坡元))?"
    r"(?P<approx2>左右|以上|上下|出头)?"
)
_PHRASE = re.compile(_PHRASE_SRC, re.IGNORECASE)

# What the word before an amount says it is, canonical form ← the words people use for it.
_LABELS: dict[str, tuple[str, ...]] = {
    "总投资": ("计划总投资", "项目总投资", "预计总投资", "拟总投资", "总投资额", "投资总额", "总投资"),
    "投资": (
        "计划投资", "拟投资", "预计投资", "意向投资", "协议投资", "签约投资", "投资金额", "投资规模", "投资额", "投资",
        "投入",
    ),
    "金额": ("合同金额", "签约金额", "合同额", "总金额", "金额", "总额"),
    "注册资本": ("注册资本", "注册资金"),
    "年产值": ("年产值", "产值"),
    "税收": ("年税收", "年纳税", "税收", "纳税"),
    "营收": ("年营收", "营业收入", "年销售额", "销售额", "年收入", "营收"),
    "固定资产投资": ("固定资产投资", "固投"),
    "融资": ("融资",), "估值": ("估值",), "到位资金": ("到位资金",), "租金": ("租金",), "利润": ("利润",),
}
# Labels that say the figure is the project's investment: parse_amount takes `总投资2亿` or `金额：3亿` as
# one amount, while `一期3亿`, `年产值5000万` or `税收300万` are money but not the amount to store.
INVESTMENT_LABELS = frozenset({"总投资", "投资", "金额", "注册资本"})
_CANONICAL_LABEL = {word: label for label, words in _LABELS.items() for word in words}
# Words between a label and its figure: 总投资为10亿, 金额：3亿, 一期先投3亿, 合计约2亿.
_CONNECTORS = r"[:：]|为|是|达到|达|了|有|共计|合计|共|先期投入|先投|投入|投"
_TOTAL_LABEL = "|".join(
    sorted((word for word, label in _CANONICAL_LABEL.items() if label in INVESTMENT_LABELS), key=len, reverse=True)
)
_TOKEN = re.compile(rf"(?:(?:{_TOTAL_LABEL})(?:{_CONNECTORS})?)?{_PHRASE_SRC}", re.IGNORECASE)
_PHASE = r"(?:第)?(?P<phase>[一二三四五六七八九十0-9]{1,2}|首)期(?:总?投资)?"
_ALL_LABELS = "|".join(sorted(_CANONICAL_LABEL, key=len, reverse=True))
# The leftmost match that reaches the amount is the longest label (计划总投资, not 总投资).
_LABEL_BEFORE = re.compile(rf"(?:(?P<word>{_ALL_LABELS})|{_PHASE})(?:{_CONNECTORS}|\s)*$")
_SPLIT_NUMBERS = re.compile(r"\d\s+[\d.,]")  # `80 2亿` is two numbers, not 802亿
_COUNT_AFTER = re.compile(_COUNT_WORDS)
_PAIR_OF_DIGITS = re.compile(r"[一二两三四五六七八九壹贰叁肆伍陆柒捌玖]{2}")  # 两三个亿 is a range
# 上 is a vague figure in 上亿 but part of a word in 加上, 以上, 马上 …; 近万达 is near a Wanda, not money.
_WORD_BEFORE_SHANG = frozenset("加以之马早晚网线北向往楼会场桌身手台市送赶排比千爬")
_NAME_AFTER_VAGUE = frozenset("达科象豪向通邦纬航联利华家国博和隆宝福佳")
_SUFFIX_TOKEN = re.compile(r"元人民币|人民币|元|块钱|块|美元|美金|usd|rmb|cny|左右|以上|上下|出头|多|余", re.I)
_BARE_NUMBERS = {"半": Decimal("0.5"), "百": Decimal(100), "千": Decimal(1000)}
_MAX_DIGITS = 20  # longer figures are junk (MAX_YUAN has 14 digits) and would strain Decimal


@dataclass(frozen=True)
class Reading:
    """What one amount phrase says: the figure in its currency (None when it cannot be read: 几个亿, 1-2亿,
    5000万港币), the currency (CNY or USD) and whether it is a guess (十来个亿, 3个多亿, 2亿多)."""

    value: Decimal | None
    currency: str
    vague: bool


@dataclass(frozen=True)
class AmountFound:
    """An amount-like phrase in free text, where it is and what the word before it says it is."""

    amount: Amount | None  # None when the words look like money but cannot be read (几个亿, 上亿)
    text: str  # the words, exactly as in the input
    start: int
    end: int  # span in the input string
    label: str  # 总投资, 投资, 一期, 二期, 首期, 注册资本, 年产值, 税收, 营收, 金额 … (canonical), or ""


@lru_cache(maxsize=2048)
def _cn_integer(numeral: str) -> Decimal | None:
    """A Chinese integer numeral via cn2an, or None."""
    if not numeral:
        return Decimal(0)
    if numeral in _CN_DIGIT_VALUE:
        return Decimal(_CN_DIGIT_VALUE[numeral])
    if len(numeral) > 20 or _PAIR_OF_DIGITS.search(numeral):  # cn2an reads 两三 as 23
        return None
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
    value = integer + Decimal("0." + "".join(str(_CN_DIGIT_VALUE[d]) for d in digits))
    for unit in match.group(3):
        value *= _UNIT_VALUE[unit]
    return value


def _unit_value(unit: str) -> int | None:
    """What a unit multiplies by: a Latin word, or the product of Chinese units (千万, 万万); None if absurd."""
    if unit in _UNIT_VALUE:
        return _UNIT_VALUE[unit]
    if len(unit) > 6 or not all(u in _UNIT_VALUE for u in unit):  # 亿亿亿亿…: not an amount anyone wrote
        return None
    product = 1
    for u in unit:
        product *= _UNIT_VALUE[u]
    return product


def _number(text: str) -> Decimal | None:
    """An Arabic or Chinese number, or 半 (半个亿), 百 (百亿), 千 (千亿)."""
    if text in _BARE_NUMBERS:
        return _BARE_NUMBERS[text]
    if text[0].isdigit():
        digits = text.replace(",", "")
        return Decimal(digits) if len(digits) <= _MAX_DIGITS else None
    return _cn_number(text)


def _lower_order(low: str, unit: str) -> Decimal | None:
    """The part after 亿/万 in 1亿5000万, 1亿5, 3万5, 3万5000, 2亿三千万; None when it is unclear."""
    scale = _UNIT_VALUE[unit]
    if low[0].isdigit():
        match = re.fullmatch(r"([0-9.]+)(千万|百万|十万|万|千)?", low)
        if match is None or len(match.group(1)) > _MAX_DIGITS:
            return None
        number = Decimal(match.group(1))
        if match.group(2):
            value = number * (_unit_value(match.group(2)) or 0)
        elif len(match.group(1)) == 1:
            value = number * scale / 10  # 1亿5 is 1.5亿, 3万5 is 35000
        elif unit == "万":
            value = number  # 3万5000
        else:
            return None  # 1亿5000: 5000 yuan or 5000万?
    elif unit == "亿" and not low.endswith("万"):
        return None  # 1亿五千: 五千万 or five thousand yuan?
    else:
        value = _cn_integer(low) or Decimal(0)
    return value if 0 < value < scale else None


def _read(match: re.Match[str]) -> Reading | None:
    """What a grammar match says, or None when it is not money at all (3千, 80, 5元)."""
    group = match.group
    currency: str | None = None
    unreadable = group("foreign") is not None
    for word in (group("cur1"), group("cur2")):
        code = _CURRENCY.get(word.lower()) if word else None
        if code is not None:
            unreadable |= currency is not None and currency != code  # USD 5亿元
            currency = code
    if group("vnum"):
        return Reading(None, currency or "CNY", True)
    numeral = group("num")
    value = _number(numeral)
    unit = (group("gunit") or group("unit") or "").strip().lower()
    # 3千 or 30k alone is not an investment; 万, 亿, w, m, b … make any figure one
    big = any(u in unit for u in "万亿wmb") or "万" in numeral or "亿" in numeral
    if value is not None and group("half"):
        value = value + Decimal("0.5") if value == value.to_integral_value() else None
    multiplier = _unit_value(unit) if unit else 1
    value = None if value is None or multiplier is None else value * multiplier
    if group("low"):  # 1亿5000万: a whole number of 亿 (or 万), then the lower order
        low = _lower_order(group("low"), unit) if unit in ("亿", "万") and numeral[0].isdigit() else None
        if low is None or value is None or value > MAX_YUAN or value % _UNIT_VALUE[unit]:
            value = None
        else:
            value += low
    if not big and ((currency is None and not unreadable) or value is None or value < MIN_PLAIN):
        return None
    if unreadable or group("lo"):
        value = None
    vague = bool(group("v1") or group("v2") or group("v3"))
    return Reading(value, currency or "CNY", vague)


def amount_of(reading: Reading, text: str, *, usd_rate: float) -> Amount | None:
    """The Amount a reading stands for, in integer yuan, or None (unreadable, absurd, or a bad rate)."""
    value = reading.value
    if value is None:
        return None
    if reading.currency == "USD":
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
    return Amount(yuan=yuan, text=text, currency=reading.currency, vague=reading.vague)


def parse_amount(token: str, *, usd_rate: float) -> Amount | None:
    """The Amount a word (or `CNY 200,000,000`) stands for, in integer yuan, or None if it is not one."""
    if not isinstance(token, str) or not token or len(token) > 40:
        return None
    text = token.strip()
    if _SPLIT_NUMBERS.search(text):
        return None
    match = _TOKEN.fullmatch(re.sub(r"\s+", "", text.translate(_FOLD)))
    reading = _read(match) if match else None
    return amount_of(reading, text, usd_rate=usd_rate) if reading else None


_DIGIT_RUN = re.compile(rf"[{_CN_DIGITS}]+")


def _not_a_numeral(words: str) -> bool:
    """Chinese digits side by side that are not a spoken range (两三, 四五, 三五): a name (二七), not a figure."""
    run = _DIGIT_RUN.match(words)
    if run is None or len(run.group()) < 2:
        return False
    values = [_CN_DIGIT_VALUE.get(c, -1) for c in run.group()]
    return not (len(values) == 2 and (values[1] - values[0] == 1 or values == [3, 5]))


def scan_amounts(text: str) -> Iterator[tuple[int, int, Reading]]:
    """Every amount phrase in free text, as (start, end, reading), left to right and not overlapping."""
    folded = text.translate(_FOLD)
    for match in _PHRASE.finditer(folded):
        reading = _read(match)
        if reading is None:
            continue
        start, end = match.span()
        if (start and folded[start - 1] == "第") or _COUNT_AFTER.match(folded, end):
            continue  # 第一万个, 5000万人, 十万火急
        if _not_a_numeral(folded[start:end]):
            continue  # 二七万达 (the 二七 district's Wanda), not 27万
        vague_start = match.start("vnum")
        if vague_start >= 0 and (
            (folded[vague_start] == "上" and vague_start and folded[vague_start - 1] in _WORD_BEFORE_SHANG)
            or folded[end : end + 1] in _NAME_AFTER_VAGUE
        ):
            continue
        yield start, end, reading


def _label_before(text: str, start: int) -> str:
    """The canonical label word right before an amount (connectors such as 为, 达, ： skipped), or ""."""
    match = _LABEL_BEFORE.search(text[max(0, start - 12) : start].translate(_FOLD))
    if match is None:
        return ""
    if match.group("phase"):
        return match.group("phase") + "期"
    return _CANONICAL_LABEL[match.group("word")]


def find_amounts(text: str, *, usd_rate: float) -> list[AmountFound]:
    """Every amount-like phrase inside free text (no spaces needed): '对方有意向投资2个亿建华中总部',
    '总投资10亿一期3亿', '年产值5000万，税收300万'."""
    if not isinstance(text, str):
        return []
    found = []
    for start, end, reading in scan_amounts(text):
        words = text[start:end]
        amount = amount_of(reading, words, usd_rate=usd_rate)
        found.append(AmountFound(amount, words, start, end, _label_before(text, start)))
    return found


def looks_like_amount(text: str) -> bool:
    """Whether a word reads as money even if it cannot be parsed (几个亿, 一期3亿, 3个多亿; not 3轮, 万达)."""
    if not isinstance(text, str):
        return False
    # parse_amount also takes `2 亿` (spaces dropped), which free text does not
    return next(scan_amounts(text), None) is not None or parse_amount(text, usd_rate=DEFAULT_USD_RATE) is not None


def amount_at(tokens: Sequence[str], i: int, *, usd_rate: float) -> tuple[Amount, int] | None:
    """The amount starting at tokens[i] and how many tokens it spans (1 or 2), or None."""
    amount = parse_amount(tokens[i], usd_rate=usd_rate)
    # `CNY 200,000,000`, `USD 30m`, `2 亿`, `投资5 亿`, `金额 3亿`, `200 million`: a word split from its number
    # by a space; `300万 美元`, `2亿 左右`: a currency or an approximation after a whole amount.
    if i + 1 < len(tokens) and (amount is None or _SUFFIX_TOKEN.fullmatch(tokens[i + 1])):
        joined = parse_amount(f"{tokens[i]} {tokens[i + 1]}", usd_rate=usd_rate)
        if joined is not None:
            return joined, 2
    return (amount, 1) if amount is not None else None


