"""The command-language parser (DESIGN §4): every documented example, every verb, refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from handlers.catalog import Catalog, load_catalog
from handlers.commands import VERB_FIELDS, Amount, Command, ParseError, ProjectRef
from handlers.parse import MAX_LENGTH, parse, render
from handlers.undo_button import undo_command
from handlers.vocabulary import (
    EN_VERBS,
    VERB_NAMES,
    ZH_VERBS,
    describe,
    usage,
)
from tests.helpers import same_command

TODAY = date(2026, 11, 20)
CATALOG = load_catalog()


def p(text: str, **kwargs: object) -> Command | ParseError:
    return parse(text, catalog=CATALOG, today=TODAY, bot_names=["zsbot_bot", "招商助手"], **kwargs)  # type: ignore[arg-type]


def ok(text: str) -> Command:
    result = p(text)
    assert isinstance(result, Command), f"{text!r} → {result}"
    assert result.text  # the normalised message is kept
    return result


def err(text: str) -> ParseError:
    result = p(text)
    assert isinstance(result, ParseError), f"{text!r} → {result}"
    assert result.reason
    return result


# ------------------------------------------------------------------------------ documented examples


def test_example_pursue_with_everything() -> None:
    c = ok("洽谈 比亚迪河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团")
    assert (c.verb, c.lang) == ("pursue", "zh")
    assert c.project == ProjectRef(name="比亚迪河南体验中心")
    assert c.amount == Amount(200_000_000, "2亿")
    assert c.industry == "汽车"
    assert c.place == "深圳"
    assert c.company == "比亚迪集团"
    assert c.note == ""


def test_example_sign_by_id() -> None:
    c = ok("签约 #12")
    assert (c.verb, c.project, c.amount) == ("sign", ProjectRef(id=12), None)


@pytest.mark.parametrize("text", ["签约#12", "签了#12", "已签约 #12", "签了 #12", "签约，#12", "签约：#12"])
def test_glued_and_synonym_sign(text: str) -> None:
    c = ok(text)
    assert (c.verb, c.project) == ("sign", ProjectRef(id=12))


def test_example_problem() -> None:
    c = ok("问题 杉杉奥特莱斯 土地 用地指标未批")
    assert (c.verb, c.project, c.category, c.note) == (
        "problem", ProjectRef(name="杉杉奥特莱斯"), "土地", "用地指标未批"
    )


def test_example_english_sign_quoted() -> None:
    c = ok('/sign "Tesla Service Center" 2b')
    assert (c.verb, c.lang) == ("sign", "en")
    assert c.project == ProjectRef(name="Tesla Service Center")
    assert c.amount == Amount(2_000_000_000, "2b")


def test_example_note_keeps_text_verbatim() -> None:
    c = ok("进展 仲景 完成第三轮洽谈，下周来郑考察")
    assert (c.verb, c.project) == ("note", ProjectRef(name="仲景"))
    assert c.note == "完成第三轮洽谈,下周来郑考察"


def test_edit_examples() -> None:
    c = ok("改 #12 金额 3亿")
    assert (c.verb, c.project, c.field_name, c.value) == ("edit", ProjectRef(id=12), "amount", "3亿")
    assert c.amount == Amount(300_000_000, "3亿")
    c = ok("改 #12 名称 新名字")
    assert (c.field_name, c.value, c.amount) == ("name", "新名字", None)
    c = ok("改 #12 别名 X")
    assert (c.field_name, c.value) == ("alias", "X")


def test_expect_example() -> None:
    c = ok("预计 #12 签约 2027-03")
    assert (c.verb, c.project, c.stage, c.when) == ("expect", ProjectRef(id=12), "signed", date(2027, 3, 1))


def test_away_example() -> None:
    c = ok("请假 至12月5日")
    assert (c.verb, c.when, c.value) == ("away", date(2026, 12, 5), None)


# --------------------------------------------------------------------------------- stage verbs


@pytest.mark.parametrize(
    ("text", "verb", "lang"),
    [
        ("谋划 华润万象城二期", "plan", "zh"), ("储备 华润万象城二期", "plan", "zh"),
        ("plan 华润万象城二期", "plan", "en"),
        ("招引 华润万象城二期", "pursue", "zh"), ("对接 华润万象城二期", "pursue", "zh"),
        ("在谈 华润万象城二期", "pursue", "zh"), ("pursue 华润万象城二期", "pursue", "en"),
        ("签约 华润万象城二期", "sign", "zh"), ("sign 华润万象城二期", "sign", "en"),
        ("落地 华润万象城二期", "land", "zh"), ("开工 华润万象城二期", "land", "zh"),
        ("注册落地 华润万象城二期", "land", "zh"), ("land 华润万象城二期", "land", "en"),
        ("Sign 华润万象城二期", "sign", "en"), ("SIGN 华润万象城二期", "sign", "en"),
    ],
)
def test_stage_verbs(text: str, verb: str, lang: str) -> None:
    c = ok(text)
    assert (c.verb, c.lang, c.project) == (verb, lang, ProjectRef(name="华润万象城二期"))


def test_stage_arguments_in_any_order() -> None:
    c = ok("洽谈 汽车 在深圳 5000万元 公司：比亚迪集团 比亚迪中心 三环内 下周再谈")
    assert c.project == ProjectRef(name="比亚迪中心")
    assert (c.industry, c.place, c.company, c.zone) == ("汽车", "深圳", "比亚迪集团", "三环内")
    assert c.amount == Amount(50_000_000, "5000万元")
    assert c.note == "下周再谈"


def test_stage_quoted_names_and_currency_tokens() -> None:
    c = ok("签约 「特斯拉 服务中心」 300万美元 新能源汽车 嵩山路沿线")
    assert c.project == ProjectRef(name="特斯拉 服务中心")
    assert c.amount == Amount(21_300_000, "300万美元", "USD")
    assert (c.industry, c.zone) == ("汽车", "嵩山路")
    c = ok("落地 #12 CNY 200,000,000")
    assert c.amount == Amount(200_000_000, "CNY 200,000,000")
    c = ok("签约 “仲景 产业园” 1.5亿")
    assert c.project == ProjectRef(name="仲景 产业园")


def test_usd_rate_is_used() -> None:
    c = parse("签约 #1 100万美元", catalog=CATALOG, usd_rate=7.0)
    assert isinstance(c, Command) and c.amount == Amount(7_000_000, "100万美元", "USD")


def test_id_wins_over_a_name_and_extra_words_become_the_note() -> None:
    c = ok("签约 仲景 #12 3亿 合同已盖章")
    assert c.project == ProjectRef(id=12)
    assert c.note == "仲景 合同已盖章"


def test_bare_small_numbers_are_not_amounts() -> None:
    c = ok("签约 #12 80")
    assert c.amount is None and c.note == "80"


def test_company_after_verb_duijie() -> None:
    c = ok("对接 比亚迪中心 对接:比亚迪集团")
    assert (c.verb, c.project, c.company) == ("pursue", ProjectRef(name="比亚迪中心"), "比亚迪集团")
    c = ok("对接:比亚迪中心")  # as the first word it is the verb
    assert (c.verb, c.project) == ("pursue", ProjectRef(name="比亚迪中心"))


def test_stage_place_at_glued_to_verb() -> None:
    c = ok("签约@上海 仲景")
    assert (c.place, c.project) == ("上海", ProjectRef(name="仲景"))


def test_stage_without_project_is_refused() -> None:
    e = err("签约")
    assert e.verb == "sign" and "项目" in e.reason and "签约" in e.usage
    e = err("sign 2b")
    assert e.lang == "en" and "project" in e.reason and e.usage.startswith("sign")


# ----------------------------------------------------------------------------- the other updates


def test_note_forms() -> None:
    assert ok("跟进 #12 已约见").note == "已约见"
    assert ok("更新 #12 已约见").verb == "note"
    c = ok("note #12 third round done, visit next week")
    assert (c.lang, c.note) == ("en", "third round done, visit next week")
    c = ok("进展 “仲景 产业园” 客户说“下周来”")
    assert c.project == ProjectRef(name="仲景 产业园")
    assert c.note == "客户说“下周来”"
    assert "进展" in err("进展 #12").reason or "内容" in err("进展 #12").reason
    assert err("进展").verb == "note"


def test_visit() -> None:
    c = ok("拜访 @上海 公司:比亚迪集团 洽谈新能源基地")
    assert (c.verb, c.project, c.place, c.company, c.note) == (
        "visit", None, "上海", "比亚迪集团", "洽谈新能源基地"
    )
    c = ok("考察 #12 在深圳")
    assert (c.project, c.place) == (ProjectRef(id=12), "深圳")
    assert ok("外出 @广州").verb == "visit"
    c = ok('visit @Shanghai company:"BYD Group" met the CEO')
    assert (c.lang, c.company, c.note) == ("en", "BYD Group", "met the CEO")
    err("拜访")


def test_problem_forms() -> None:
    c = ok("困难 #12 资金：贷款未到位；需协调")
    assert (c.verb, c.category, c.note) == ("problem", "资金", "贷款未到位;需协调")
    c = ok("卡点 #12 环评还没批")
    assert (c.category, c.note) == ("其他", "环评还没批")  # default category
    c = ok("问题 土地 杉杉 指标未批")  # category before the project
    assert (c.project, c.category, c.note) == (ProjectRef(name="杉杉"), "土地", "指标未批")
    c = ok("problem #12 land quota not approved")
    assert (c.lang, c.category, c.note) == ("en", "土地", "quota not approved")
    e = err("问题 #12 土地")
    assert "问题" in e.reason and e.verb == "problem"
    err("问题")
    err("problem #12")


def test_problems_list_wins_over_problem() -> None:
    c = ok("问题清单")
    assert (c.verb, c.value) == ("problems", None)
    assert ok("问题清单 德化街").value == "德化街"
    assert ok("problems").verb == "problems"
    assert ok("problem #3 other broken").verb == "problem"


def test_resolve() -> None:
    c = ok("解决 #12")
    assert (c.verb, c.project, c.category, c.number) == ("resolve", ProjectRef(id=12), None, None)
    c = ok("解决 #12 土地 问题3 已批复")
    assert (c.category, c.number, c.note) == ("土地", 3, "已批复")
    c = ok("解决 p3")
    assert (c.project, c.number) == (None, 3)
    c = ok("解决 杉杉 审批")
    assert (c.project, c.category) == (ProjectRef(name="杉杉"), "审批")
    c = ok("resolve P7 permit granted")
    assert (c.lang, c.number, c.note) == ("en", 7, "permit granted")
    err("解决")


def test_drop() -> None:
    c = ok("放弃 #12 企业调整投资计划，不来了")
    assert (c.verb, c.project, c.note) == ("drop", ProjectRef(id=12), "企业调整投资计划,不来了")
    assert ok("终止 仲景 政策变化").project == ProjectRef(name="仲景")
    assert ok("drop #3 no budget").lang == "en"
    assert "原因" in err("放弃 #12").reason


def test_undo() -> None:
    assert ok("撤销") == Command(verb="undo", text="撤销")
    assert ok("撤回").verb == "undo"
    assert ok("撤销 event:42").number == 42
    assert ok(undo_command(42)) == ok("撤销 event:42")  # what the undo button sends is what the parser reads
    assert ok("undo event:7").number == 7
    assert ok("undo").lang == "en"


def test_edit_amount_value_is_the_amount_alone() -> None:
    # Found by hypothesis: a stray word after the amount must not survive into the value (round trip).
    assert ok("改 #12 金额 2亿 #12").value == "2亿"


def test_edit_more_fields() -> None:
    c = ok("改 仲景 名称 “仲景 健康城”")
    assert (c.project, c.value) == (ProjectRef(name="仲景"), "仲景 健康城")
    assert ok("改 #12 行业 医药").value == "生物医药"
    assert ok("改 #12 区域 三四环").value == "三环至四环"
    assert ok("改 #12 地点 @郑州").value == "郑州"
    assert ok("改 #12 公司 比亚迪集团").value == "比亚迪集团"
    c = ok("edit #12 amount 300m")
    assert (c.lang, c.field_name, c.amount) == ("en", "amount", Amount(300_000_000, "300m"))
    assert "字段" in err("改 #12").reason
    assert "值" in err("改 #12 名称").reason
    assert "金额" in err("改 #12 金额 很多").reason
    assert "三环内" in err("改 #12 区域 火星").reason
    assert "汽车" in err("改 #12 行业 火箭").reason
    assert "项目" in err("改 金额 3亿").reason


def test_verify() -> None:
    assert ok("核实 #12").project == ProjectRef(id=12)
    assert ok("verify #12").lang == "en"
    assert ok("核实").project is None  # alone: the list awaiting verification
    assert ok("预计").project is None  # alone: the forecast


def test_expect_forms() -> None:
    assert ok("预计 #12 落地 2027年3月").when == date(2027, 3, 1)
    assert ok("预计 #12 2027年3月15日 落地").when == date(2027, 3, 15)
    assert ok("预计 #12 签约 2027-03-15").when == date(2027, 3, 15)
    assert ok("预计 #12 签约 2027/3").when == date(2027, 3, 1)
    c = ok("expect #12 land 2027-06")
    assert (c.lang, c.stage, c.when) == ("en", "landed", date(2027, 6, 1))
    # Dates as people write them: the next March, the next 15 March.
    assert ok("预计 #12 签约 3月").when == date(2027, 3, 1)
    assert ok("expect #12 sign 03-15").when == date(2027, 3, 15)
    assert "阶段" in err("预计 #12 2027-03").reason
    assert "不存在" in err("预计 #12 签约 2027-02-30").reason
    err("预计 #12 签约")
    err("预计 签约 2027-03")


# ------------------------------------------------------------------------------------ questions


def test_find() -> None:
    assert ok("查 #12").project == ProjectRef(id=12)
    assert ok("查询 比亚迪 河南").project == ProjectRef(name="比亚迪 河南")
    assert ok("项目 仲景").verb == "find"
    assert ok("查比亚迪").project == ProjectRef(name="比亚迪")
    assert ok('find "Tesla Service Center"').project == ProjectRef(name="Tesla Service Center")
    err("查")


@pytest.mark.parametrize(
    ("text", "verb", "value"),
    [
        ("我的", "mine", None), ("本队", "mine", None), ("我的 德化街", "mine", "德化街"),
        ("mine", "mine", None),
        ("排行", "rank", None), ("排名", "rank", None), ("比学赶超", "rank", None), ("rank", "rank", None),
        ("进度", "status", None), ("状态 德化街", "status", "德化街"), ("全区", "status", None),
        ("status", "status", None), ("导出", "export", None), ("台账", "export", None),
        ("export", "export", None),
    ],
)
def test_question_verbs(text: str, verb: str, value: str | None) -> None:
    c = ok(text)
    assert (c.verb, c.value) == (verb, value)


# ------------------------------------------------------------------------------ people and squads


def test_away_forms() -> None:
    assert ok("出差 到2026-12-05").when == date(2026, 12, 5)
    assert ok("请假 12-05").when == date(2026, 12, 5)
    assert ok("请假 12月5号").when == date(2026, 12, 5)
    assert ok("请假 至1月3日").when == date(2027, 1, 3)  # next occurrence
    assert ok("请假 11月20日").when == TODAY
    assert ok("away until 2026-12-05").when == date(2026, 12, 5)
    assert ok("请假 取消").value == "cancel"
    assert ok("away cancel") == Command(verb="away", lang="en", text="away cancel", value="cancel")
    assert ok("请假 2月29日").when == date(2028, 2, 29)
    assert "不存在" in err("请假 2月30日").reason
    assert "过去" in err("请假 至2020-01-01").reason
    err("请假")
    # 下周: the whole of next week, a reading the bot confirms before storing.
    assert (ok("请假 下周").when, ok("请假 下周").flag) == (date(2026, 11, 29), "approximate")


def test_away_uses_todays_date_by_default() -> None:
    c = parse("请假 2099-01-01", catalog=CATALOG)
    assert isinstance(c, Command) and c.when == date(2099, 1, 1)


def test_target() -> None:
    c = ok("目标 签约 80")
    assert (c.verb, c.value, c.year, c.targets) == ("target", None, None, (("signed", 80),))
    c = ok("目标 德化街 签约 10 落地 5")
    assert (c.value, c.targets) == ("德化街", (("signed", 10), ("landed", 5)))
    c = ok("目标 2027年 德化街 签约10 招引 20")
    assert (c.value, c.year, c.targets) == ("德化街", 2027, (("signed", 10), ("attracting", 20)))
    c = ok("target 2027 plan 200 pursue 160 sign 80 land 60")
    assert c.targets == (("planned", 200), ("attracting", 160), ("signed", 80), ("landed", 60))
    assert c.lang == "en" and c.year == 2027
    assert "数量" in err("目标 德化街").reason
    assert "数量" in err("目标 签约").reason
    err("目标 签约 80 乱码")


def test_newteam() -> None:
    assert (ok("建队 德化街 街道").value, ok("建队 德化街 街道").kind) == ("德化街", "street")
    assert ok("建队 商务局 局").kind == "bureau"
    assert ok("建队 汽车产业小分队").kind == "squad"
    c = ok("newteam Dehua street")
    assert (c.lang, c.value, c.kind) == ("en", "Dehua", "street")
    err("建队")


def test_invite_join_start() -> None:
    assert ok("邀请码") == Command(verb="invite", text="邀请码")
    c = ok("邀请码 德化街 换")
    assert (c.value, c.flag) == ("德化街", "rotate")
    assert ok("invite rotate").flag == "rotate"
    assert ok("加入 K7P2QX").value == "K7P2QX"
    assert ok("join K7P2QX").lang == "en"
    err("加入")
    c = ok("/start CODE")
    assert (c.verb, c.value) == ("start", "CODE")
    assert ok("/start").value is None
    assert ok("/start@zsbot_bot abc").value == "abc"


def test_bind() -> None:
    assert ok("绑定 德化街") == Command(verb="bind", text="绑定 德化街", value="德化街")
    assert ok("绑定 领导").value == "leaders"
    assert ok("bind leaders").value == "leaders"
    c = ok("绑定 德化街 robot:abc-123")
    assert (c.value, c.secret) == ("德化街", "abc-123")
    c = ok("绑定 领导 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4")
    assert (c.value, c.secret) == ("leaders", "693a91f6-7xxx-4bc4")
    assert "key" in err("绑定 德化街 https://example.invalid/hook").reason
    c = ok("绑定 德化街 ROBOT： abc-123")  # a space after the (full-width) colon
    assert (c.value, c.secret) == ("德化街", "abc-123")
    c = ok("绑定 德化街 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4&debug=1")
    assert (c.value, c.secret) == ("德化街", "693a91f6-7xxx-4bc4")
    alone = ok("绑定")  # alone: what this chat is bound to
    assert (alone.verb, alone.value) == ("bind", None)


def test_settings() -> None:
    c = ok("设置 排行 08:30")
    assert (c.verb, c.value, c.flag) == ("settings", "排行", "08:30")
    assert ok("设置 提醒 关").flag == "off"
    assert ok("设置 点名 开").flag == "on"
    assert ok("设置 排行 8:05").flag == "08:05"
    assert ok("设置 排行 8：05").flag == "08:05"
    assert ok("设置") == Command(verb="settings", text="设置")
    c = ok("settings reminders off")
    assert (c.lang, c.value, c.flag) == ("en", "提醒", "off")
    assert "时间" in err("设置 排行 25:00").reason
    err("设置 开")


def test_help() -> None:
    assert ok("帮助").value is None
    assert ok("帮助 签约").value == "sign"
    assert ok("帮助 问题清单").value == "problems"
    assert ok("help sign").value == "sign"
    assert ok("?").verb == "help"
    assert ok("？签约").value == "sign"
    assert ok("帮助 乱七八糟").value is None


def test_choose() -> None:
    assert ok("1") == Command(verb="choose", text="1", number=1)
    assert ok(" 2 ").number == 2
    assert ok("３").number == 3  # full-width digit
    assert ok("2.").number == 2


def test_bot_mentions() -> None:
    assert ok("@招商助手 签约 #12").project == ProjectRef(id=12)
    assert ok("/sign@zsbot_bot #12").lang == "en"


# ------------------------------------------------------------------------------------------ refusals


def test_unknown_verb_lists_common_verbs_and_suggests() -> None:
    e = err("签名 #12")
    assert e.verb is None and "签名" in e.reason and "签约" in e.reason and e.extra["suggestion"] == "sign"
    assert e.usage
    e = err("sgin #12")
    assert e.lang == "en" and e.extra["suggestion"] == "sign" and "sign" in e.reason
    e = err("今天天气不错")
    assert "不认识" in e.reason and "suggestion" not in e.extra
    e = err("signed #12")
    assert e.extra.get("suggestion") == "sign"
    assert "查 #12" in err("#12").reason


def test_english_verbs_need_a_word_boundary() -> None:
    err("signature #12")
    err("planning")


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "\x00\x01"])
def test_empty(text: str) -> None:
    assert "空" in err(text).reason


def test_too_long() -> None:
    e = err("签约 #12 " + "很" * MAX_LENGTH)
    assert str(MAX_LENGTH) in e.reason and "太长" in e.reason
    assert isinstance(p("进展 #12 " + "很" * (MAX_LENGTH - 20)), Command)


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE project; --",
        "签约 #12'; DROP TABLE project; --",
        "<script>alert(1)</script>",
        "**签约** _#12_",
        "🚀🚀🚀",
        "签约 🚀",
        "\u202e签约 #12",
        "签约 #99999999999999999999",
        '签约 """""',
        "改 #12 名称 “",
    ],
)
def test_garbage_never_raises(text: str) -> None:
    result = p(text)
    assert isinstance(result, Command | ParseError)
    assert "internal" not in getattr(result, "extra", {})


# ------------------------------------------------------------------------------ vocabulary, catalog


def test_every_verb_has_usage_description_and_names() -> None:
    for verb in VERB_FIELDS:
        assert verb in VERB_NAMES
        for lang in ("zh", "en"):
            assert usage(verb, lang), (verb, lang)  # type: ignore[arg-type]
            assert describe(verb, lang), (verb, lang)  # type: ignore[arg-type]
        assert usage(verb, "zh") != usage(verb, "en")
    assert "签约" in usage("sign", "zh") and usage("sign", "en").startswith("sign")


def test_every_verb_word_parses_to_its_verb() -> None:
    for word, verb in [*ZH_VERBS.items(), *EN_VERBS.items()]:
        result = p(f"{word} #1 x")
        assert isinstance(result, Command | ParseError)
        assert result.verb == verb, word  # a Command, or a ParseError naming the verb


def test_every_verb_of_the_table_is_reachable() -> None:
    verbs = set(ZH_VERBS.values()) | set(EN_VERBS.values()) | {"choose"}
    assert verbs == set(VERB_FIELDS)


def test_catalog_defaults() -> None:
    c = CATALOG
    services = (
        "现代商贸 特色商业 健康服务 优质医疗 生物医药 健康产品 健康金融 医美 医养 科技服务 总部经济 楼宇经济"
    )
    for name in services.split():
        assert c.wheel_of(name) == "服务业", name
    for name in ("精密制造", "智能制造", "汽车", "新材料"):
        assert c.wheel_of(name) == "工业", name
    assert c.parents["医美"] == "健康服务"
    assert c.industry_of("新能源汽车") == "汽车"
    assert c.industry_of("汽车产业") == "汽车"
    assert c.industry_of("商贸") == "现代商贸"
    assert c.industry_of("医药") == "生物医药"
    assert c.industry_of("医疗") == "优质医疗"
    assert c.industry_of("Automotive") == "汽车"
    assert c.industry_of("生物医药行业") == "生物医药"
    assert c.industry_of("火箭") is None
    assert c.industry_of("") is None
    assert c.wheel_of("火箭") == ""
    assert c.zones == ["三环内", "三环至四环", "四环至绕城"]
    assert c.axes == ["嵩山路", "大学路", "京广路"]
    assert c.zone_of("三环内") == "三环内"
    assert c.zone_of("京广路") == "京广路"
    assert c.zone_of("三环以内") == "三环内"
    assert c.zone_of("火星") is None
    assert c.wheels == ["服务业", "工业"]


def test_catalog_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "industries.toml"
    path.write_text(
        '[[industry]]\nname = "文旅"\nwheel = "服务业"\nsynonyms = ["文化旅游"]\n'
        '[zones]\nnames = ["一环"]\n[axes]\nnames = []\n',
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert isinstance(catalog, Catalog)
    assert catalog.industry_of("文化旅游") == "文旅" and catalog.zone_of("一环") == "一环"
    result = parse("签约 #1 文化旅游 一环", catalog=catalog)
    assert isinstance(result, Command) and (result.industry, result.zone) == ("文旅", "一环")


@pytest.mark.parametrize(
    "body",
    [
        "",
        '[[industry]]\nname = "A"\n',
        '[[industry]]\nname = "A"\nwheel = "x"\nsynonyms = ["s"]\n[[industry]]\nname = "B"\nwheel = "x"\n'
        'synonyms = ["s"]\n',
        '[[industry]]\nname = "A"\nwheel = "x"\n[[industry]]\nname = "A"\nwheel = "x"\n',
        '[[industry]]\nname = "A"\nwheel = "x"\nparent = "Z"\n',
        '[[industry]]\nname = "A"\nwheel = "x"\n[zones]\nnames = ["z"]\n[zones.synonyms]\n"q" = "nope"\n',
    ],
)
def test_bad_catalog_files_are_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError):
        load_catalog(path)


# ------------------------------------------------------------------------------------------ render


def test_render_examples() -> None:
    c = ok("洽谈 比亚迪河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团")
    assert render(c) == '洽谈 "比亚迪河南体验中心" 2亿 汽车 @深圳 公司:比亚迪集团'
    assert render(ok("/sign #12 2b")) == "sign #12 2b"
    assert render(ok("1")) == "1"
    again = p(render(c))
    assert isinstance(again, Command) and same_command(again, c)
