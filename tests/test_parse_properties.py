"""Properties of the parser: it never raises, documented examples round-trip, normalisation is idempotent."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handlers.catalog import load_catalog
from handlers.commands import Command, ParseError
from handlers.normalize import normalize, scan
from handlers.parse import parse, render
from handlers.vocabulary import EN_VERBS, ZH_VERBS
from tests.helpers import same_command

CATALOG = load_catalog()
TODAY = date(2026, 11, 20)
BOTS = ["zsbot_bot", "招商助手"]

# Every example of DESIGN §4 and of the parser's brief, plus one per verb in each language.
DOCUMENTED = [
    "洽谈 比亚迪河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团",
    "签约 #12",
    "问题 杉杉奥特莱斯 土地 用地指标未批",
    '/sign "Tesla Service Center" 2b',
    "进展 仲景 完成第三轮洽谈，下周来郑考察",
    "签约#12",
    "签了#12",
    "改 #12 金额 3亿",
    "改 #12 名称 新名字",
    "改 #12 别名 X",
    "预计 #12 签约 2027-03",
    "请假 至12月5日",
    "出差 到2026-12-05",
    "请假 12-05",
    "请假 取消",
    "目标 签约 80",
    "目标 德化街 签约 10 落地 5",
    "目标 2027年 德化街 签约 10",
    "建队 德化街 街道",
    "邀请码 德化街 换",
    "加入 K7P2QX",
    "绑定 德化街",
    "绑定 领导",
    "bind leaders",
    "绑定 德化街 robot:KEY",
    "绑定 德化街 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY",
    "设置 排行 08:30",
    "设置 提醒 关",
    "设置 点名 开",
    "帮助 签约",
    "/start CODE",
    "撤销 event:42",
    "解决 #12 土地 问题3 已批复",
    "解决 p3",
    "1",
    "2",
    "谋划 华润万象城二期 5亿 现代商贸 三环内",
    "落地 国际汽车产业园 CNY 200,000,000 新能源汽车 京广路",
    "签约 仲景医药健康产业园 300万美元 医药 在南阳 公司:仲景宛西制药 合同已盖章",
    "拜访 @上海 公司:比亚迪集团 洽谈新能源基地",
    "放弃 #12 企业调整投资计划，不来了",
    "核实 #12",
    "查 比亚迪 河南",
    "我的", "排行", "进度 德化街", "全区", "问题清单", "导出", "比学赶超", "?",
    'plan "CR Mixc Phase 2" 500m commerce',
    "pursue BYD 200m auto @Shenzhen company:BYD",
    "land #12",
    "note #12 third round done, visit next week",
    'visit #12 @Shanghai company:"BYD Group" met the CEO',
    "problem #12 land quota not approved",
    "resolve #12 land",
    "drop #12 company changed plans",
    "undo",
    "edit #12 amount 300m",
    "verify #12",
    "expect #12 sign 2027-03-15",
    "find #12",
    "mine", "rank", "status", "problems", "export",
    "away until 2026-12-05",
    "away cancel",
    "newteam Dehua street",
    "invite Dehua rotate",
    "join K7P2QX",
    "bind Dehua robot:KEY",
    "target 2027 sign 80 land 60",
    "settings rank 08:30",
    "settings reminders off",
    "help sign",
]

VERB_WORDS = sorted({*ZH_VERBS, *EN_VERBS, "/sign@zsbot_bot", "@招商助手 签约", "/start"})
FRAGMENTS = [
    "#12", "#", "#0", "2亿", "1.5亿元", "五千万元", "300万美元", "200m", "CNY", "200,000,000", "USD", "亿",
    "汽车", "医药", "三环内", "嵩山路", "@深圳", "@", "在深圳", "在", "对接:比亚迪集团", "公司:", "company:X",
    "土地", "资金", "其他", "问题3", "p3", "签约", "落地", "signed", "2027-03", "2027年3月", "12月5日",
    "2月30日", "12-05", "08:30", "25:99", "取消", "换", "领导", "robot:KEY", "event:42", "金额", "名称",
    "行业", "区域", "街道", '"', "“", "”", "「", "」", '"名 字"', "，", ",", ":", "；", "、", " ", "\n",
    "https://x.invalid/send?key=K", "👍", "\u200b", "\x00", "\u202e", "ｓｉｇｎ", "＃１２",
]
fragment = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8))
messages = st.builds(
    lambda verb, parts, glue: verb + glue.join(parts),
    st.sampled_from(VERB_WORDS),
    st.lists(fragment, max_size=8),
    st.sampled_from([" ", "", ",", "，", " : "]),
)


def _check(result: Command | ParseError) -> None:
    assert isinstance(result, Command | ParseError)
    if isinstance(result, ParseError):
        assert result.reason
        assert "internal" not in result.extra, "the parser hit a bug (see the log)"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
@example("")
@example("\x00" * 50)
@example("签" * 2001)
def test_never_raises_on_any_text(text: str) -> None:
    _check(parse(text, catalog=CATALOG, today=TODAY, bot_names=BOTS))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages)
def test_never_raises_on_verbs_with_fragments(text: str) -> None:
    _check(parse(text, catalog=CATALOG, today=TODAY, bot_names=BOTS))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages)
def test_parsed_commands_round_trip(text: str) -> None:
    result = parse(text, catalog=CATALOG, today=TODAY, bot_names=BOTS)
    if isinstance(result, Command):
        again = parse(render(result), catalog=CATALOG, today=TODAY, bot_names=BOTS)
        assert isinstance(again, Command), (render(result), again)
        assert same_command(again, result), render(result)


@pytest.mark.parametrize("text", DOCUMENTED)
def test_documented_examples_round_trip(text: str) -> None:
    first = parse(text, catalog=CATALOG, today=TODAY, bot_names=BOTS)
    assert isinstance(first, Command), (text, first)
    rendered = render(first)
    second = parse(rendered, catalog=CATALOG, today=TODAY, bot_names=BOTS)
    assert isinstance(second, Command), (rendered, second)
    assert same_command(first, second), (text, rendered)
    assert render(second) == rendered


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120), st.lists(st.text(max_size=10), max_size=3))
@example("//sign", [])
@example("@招商助手 /签约 #12", ["招商助手"])
@example("/ /sign@zsbot_bot", [])
@example("e\u0301\u200b", [])
def test_normalize_is_idempotent(text: str, bots: list[str]) -> None:
    once = normalize(text, bot_names=bots)
    assert normalize(once, bot_names=bots) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_tokens_are_non_empty_and_trimmed(text: str) -> None:
    for token in (found.text for found in scan(normalize(text))):
        assert token
        assert token == token.strip() or token.startswith(("公司:", "对接:"))
