"""The gazetteer (handlers/places.tsv) and the place reader (handlers/places.py)."""

from __future__ import annotations

import time
from collections import Counter
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import places
from handlers.places import PlaceFound, find_places, place_of


def names(text: str) -> list[str]:
    return [p.name for p in find_places(text)]


def rows() -> list[list[str]]:
    raw = resources.files("handlers").joinpath("places.tsv").read_text(encoding="utf-8")
    data = [line.split("\t") for line in raw.splitlines() if line.strip() and not line.startswith("#")]
    assert all(len(row) in (3, 4) for row in data)  # the fourth (province) may lose its empty trailing tab
    return [[*row, ""][:4] for row in data]


# --- the examples of the brief -------------------------------------------------------------------------------


def test_place_after_a_cue_before_a_company() -> None:
    assert find_places("今天去深圳比亚迪集团拜访了") == [PlaceFound("深圳", "深圳", 3, 5, "广东")]


def test_places_joined_by_a_conjunction() -> None:
    found = find_places("下周去合肥和芜湖")
    assert [(p.name, p.start, p.province) for p in found] == [("合肥", 3, "安徽"), ("芜湖", 6, "安徽")]


def test_place_standing_alone_between_spaces() -> None:
    assert names("拜访 深圳 比亚迪") == ["深圳"]


@pytest.mark.parametrize("text", ["宁德时代储能项目", "阿里巴巴", "中山路", "郑州宇通", "华润万象城", "长江路"])
def test_company_street_and_project_names_are_not_places(text: str) -> None:
    assert find_places(text) == []


def test_home_city_is_recognised_like_any_other() -> None:
    assert names("郑州的项目") == ["郑州"]
    assert names("回郑州") == ["郑州"]
    assert names("Zhengzhou showroom") == ["郑州"]


# --- rule 1: a cue before the name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["去芜湖奇瑞", "到芜湖奇瑞", "在芜湖奇瑞", "赴芜湖奇瑞", "飞芜湖奇瑞", "前往芜湖奇瑞", "来自芜湖奇瑞", "从芜湖奇瑞",
     "抵达芜湖奇瑞", "回芜湖奇瑞", "@芜湖奇瑞", "去 芜湖奇瑞", "项目落户芜湖", "去了芜湖奇瑞", "去了一趟芜湖奇瑞"],
)
def test_cue_makes_a_place_whatever_follows(text: str) -> None:
    assert names(text) == ["芜湖"]


def test_without_cue_the_same_words_are_a_company() -> None:
    assert names("芜湖奇瑞") == []
    # Verbs that take a company are not cues: 拜访郑州宇通 names the company.
    assert names("拜访郑州宇通") == []


def test_english_cues() -> None:
    assert names("went to Shenzhen Yutong") == ["深圳"]
    assert names("met them in Shanghai Electric") == ["上海"]
    assert names("Shanghai Electric") == []


def test_conjunction_chains_only_after_a_found_place() -> None:
    assert names("去合肥、芜湖、马鞍山考察") == ["合肥", "芜湖", "马鞍山"]
    assert names("去合肥与芜湖奇瑞") == ["合肥", "芜湖"]
    assert names("去合肥及芜湖奇瑞") == ["合肥", "芜湖"]
    # 和 after something that is not a place is no cue.
    assert names("比亚迪和芜湖奇瑞") == []
    assert names("visit Shenzhen and Hangzhou") == ["深圳", "杭州"]


def test_province_then_city_chain() -> None:
    assert names("广东深圳") == ["广东", "深圳"]
    assert names("上海浦东") == ["上海", "浦东"]
    assert names("深圳南山科技园") == ["深圳", "南山"]
    assert names("在江苏昆山奇瑞") == ["江苏", "昆山"]
    # A district of another city is no chain: 北京福田汽车 is a company.
    assert names("北京福田汽车") == []
    assert names("去北京福田汽车") == ["北京"]


# --- rule 2: standing alone, or followed by an allowed word ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["深圳", "深圳，", "深圳。比亚迪", "深圳 比亚迪", "深圳的企业", "深圳那边", "深圳方面", "深圳考察", "深圳拜访",
     "深圳招商", "深圳出差", "深圳参加展会", "深圳开会", "深圳客商", "深圳2家企业", "深圳BYD", "深圳等地", "深圳了",
     "深圳某企业", "深圳这家公司", "深圳高新区", "深圳坂田街道", "深圳西乡街道的项目"],
)
def test_name_standing_alone_or_before_an_allowed_word(text: str) -> None:
    assert names(text) == ["深圳"]


@pytest.mark.parametrize("text", ["深圳华为", "深圳比亚迪", "Shenzhen比亚迪", "郑州国际医学中心", "胖东来郑州旗舰店"])
def test_name_glued_to_other_words_is_not_a_place(text: str) -> None:
    assert names(text) == []


def test_full_name_with_suffix_is_a_place_wherever_it_stands() -> None:
    assert find_places("比亚迪深圳市分公司") == [PlaceFound("深圳", "深圳市", 3, 6, "广东")]
    assert names("南京市长江大桥") == ["南京"]
    assert names("深圳市比亚迪") == ["深圳"]


def test_suffix_starting_a_word_backs_off() -> None:
    assert find_places("深圳市场") == [PlaceFound("深圳", "深圳", 0, 2, "广东")]
    # 河北区域 is 河北 + 区域 (and glued to 经理, so no place), never 天津's 河北区.
    assert names("河北区域经理") == []
    assert names("去河北区域") == ["河北"]
    assert names("去河北区") == ["河北区"]


def test_city_followed_by_a_district_not_in_the_gazetteer() -> None:
    assert names("杭州余杭区") == ["杭州"]
    assert names("成都天府新区的项目") == ["成都"]
    assert names("郑州航空港区") == ["郑州"]
    assert names("深圳有区别吗") == []
    assert names("深圳宝安区") == ["深圳", "宝安"]


def test_conjunction_after_a_name_needs_a_place_after_it() -> None:
    assert names("合肥和芜湖") == ["合肥", "芜湖"]
    assert names("郑州和宇通") == []


# --- rule 3: not inside company, project or street names ------------------------------------------------------


def test_street_university_bank_block_even_after_a_cue() -> None:
    assert names("在中山路") == []
    assert names("去中山大学") == []
    assert names("到郑州银行") == []
    assert names("去中山考察") == ["中山"]
    # 路演 and 路上 are trips.
    assert names("去深圳路演") == ["深圳"]


def test_blocker_words_are_skipped_whole() -> None:
    assert names("去宁德时代") == []
    assert names("孙中山的故居") == []
    assert names("长白山的雪") == []
    assert names("这是大理石的") == []
    assert names("宁德的项目") == ["宁德"]


def test_name_inside_a_rejected_name_does_not_borrow_its_characters() -> None:
    assert names("上海南站") == []
    assert names("天津南站见") == []
    assert names("去上海南站") == ["上海"]


def test_common_words_that_contain_names() -> None:
    for text in ["隆重庆祝", "北京时间", "长沙发", "加强合作。", "双方合作的项目", "日照充足的", "和田玉", "中美合作",
                 "完美国际", "江苏阳光集团", "广州越秀集团", "网易河南区域总部", "比亚迪品牌形象河南体验中心"]:
        assert names(text) == [], text


# --- longest match, provinces and cities, regions, foreign places ----------------------------------------------


def test_longest_name_first() -> None:
    assert find_places("浦东新区") == [PlaceFound("浦东", "浦东新区", 0, 4, "上海")]
    assert find_places("去浦东") == [PlaceFound("浦东", "浦东", 1, 3, "上海")]
    assert names("去黔西南州") == ["黔西南"]
    assert names("去黔西市") == ["黔西"]


def test_province_and_city_of_the_same_name() -> None:
    assert find_places("吉林省长春市") == [
        PlaceFound("吉林", "吉林省", 0, 3, ""),
        PlaceFound("长春", "长春市", 3, 6, "吉林"),
    ]
    assert place_of("吉林") == "吉林" and place_of("吉林省") == "吉林"
    assert place_of("吉林市") == "吉林市"
    assert find_places("海南") == [PlaceFound("海南", "海南", 0, 2, "")]
    assert find_places("海南州") == [PlaceFound("海南州", "海南州", 0, 3, "青海")]
    assert place_of("大理") == "大理" and place_of("大理白族自治州") == "大理" and place_of("大理州") == "大理"
    assert place_of("大理市") == "大理市"  # the county-level city inside the prefecture


def test_county_level_cities_and_districts() -> None:
    assert names("去昆山和义乌") == ["昆山", "义乌"]
    assert names("晋江的客商") == ["晋江"]
    assert find_places("去张家港市") == [PlaceFound("张家港", "张家港市", 1, 5, "江苏")]
    assert names("在海淀") == ["海淀"]
    assert names("去前海") == ["前海"]


def test_regions_and_foreign_places() -> None:
    assert find_places("下周去粤港澳大湾区") == [PlaceFound("大湾区", "粤港澳大湾区", 3, 9, "")]
    assert names("去长三角和珠三角") == ["长三角", "珠三角"]
    assert names("去雄安新区") == ["雄安"]
    assert names("去新加坡和日本") == ["新加坡", "日本"]
    assert names("飞东京") == ["东京"]
    assert names("在硅谷") == ["硅谷"]


def test_english_names() -> None:
    assert names("trip to Hong Kong next week") == ["香港"]
    assert names("plan Tesla Zhengzhou showroom 200m") == ["郑州"]
    assert names("SHANGHAI") == ["上海"]
    assert names("in Xi'an now") == ["西安"]
    assert names("Visited Singapore and Tokyo") == ["新加坡", "东京"]
    assert names("Shanghai's office") == ["上海"]
    assert names("ShanghaiTech") == []
    assert names("Nanjing Road") == []
    assert names("去Shenzhen") == ["深圳"]
    # Lower-case ASCII only is not scanned (the fast path): nothing to find without CJK or a capital.
    assert names("went to shenzhen") == []
    assert names("Went to shenzhen") == ["深圳"]


# --- place_of ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "name"),
    [("深圳", "深圳"), ("深圳市", "深圳"), ("广东省", "广东"), ("内蒙古自治区", "内蒙古"), ("大湾区", "大湾区"),
     ("新加坡", "新加坡"), ("Shenzhen", "深圳"), ("shenzhen", "深圳"), (" 深圳 ", "深圳"), ("hong  kong", "香港"),
     ("浦东新区", "浦东"), ("阿里地区", "阿里地区"), ("朝阳区", "朝阳区"), ("昆山市", "昆山")],
)
def test_place_of(word: str, name: str) -> None:
    assert place_of(word) == name


@pytest.mark.parametrize("word", ["", "  ", "阿里", "朝阳", "合作", "宁德时代", "长白山", "深圳比亚迪", "Tesla", "长江"])
def test_place_of_non_places(word: str) -> None:
    assert place_of(word) is None


# --- properties ----------------------------------------------------------------------------------------------

_PIECES = [
    "深圳", "深圳市", "广东", "广东省", "浦东", "浦东新区", "上海", "海南", "南京", "中山", "宁德", "宁德时代", "郑州", "宇通",
    "去", "在", "和", "、", "的", "路", "市", "区域", "市场", "考察", " ", "，", "@", "Shenzhen", "Hong Kong", "to ",
    "and", "Road", "比亚迪", "集团", "x", "A", "1", "\u3000", "𠀋",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_PIECES), max_size=20).map("".join)))
def test_find_places_never_raises_and_spans_are_sound(text: str) -> None:
    found = find_places(text)
    last_end = 0
    for p in found:
        assert 0 <= last_end <= p.start < p.end <= len(text)
        assert text[p.start : p.end] == p.text
        assert place_of(p.text) == p.name
        last_end = p.end


# --- the data file -------------------------------------------------------------------------------------------


def test_tsv_names_unique_and_every_alias_maps_to_one_name() -> None:
    data = rows()
    dup_names = [n for n, c in Counter(row[0] for row in data).items() if c > 1]
    assert dup_names == []
    owner: dict[str, str] = {}
    for name, aliases, _level, _province in data:
        for surface in [name, *filter(None, aliases.split(","))]:
            key = surface.casefold()
            assert owner.setdefault(key, name) == name, (surface, owner[key], name)


def test_tsv_levels_and_provinces() -> None:
    data = rows()
    levels = Counter(row[2] for row in data)
    assert set(levels) == {"province", "prefecture", "county", "district", "region", "foreign", "blocker"}
    assert levels["province"] == 34
    assert levels["prefecture"] >= 330
    assert levels["county"] >= 390
    provinces = {row[0] for row in data if row[2] == "province"}
    for name, _aliases, level, province in data:
        if level in ("prefecture", "county", "district"):
            assert province in provinces, name
        else:
            assert province == "", name


# --- speed ---------------------------------------------------------------------------------------------------


def test_fast_enough() -> None:
    sentence = "今天去深圳比亚迪集团拜访了，对方有意向投资2个亿，下周去合肥和芜湖考察，再到上海浦东新区开会，顺便看看昆山和义乌。"
    assert len(sentence) >= 55
    loads = []
    for _ in range(3):
        places._gazetteer.cache_clear()
        start = time.perf_counter()
        find_places("去深圳")
        loads.append(time.perf_counter() - start)
    assert min(loads) < 0.030
    best = min(_per_call(sentence) for _ in range(5))
    assert best < 0.001


def _per_call(sentence: str, calls: int = 100) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        find_places(sentence)
    return (time.perf_counter() - start) / calls
