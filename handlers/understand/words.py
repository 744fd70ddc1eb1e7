"""The words around the command language: particles, adverbs, verb phrases of free sentences, chatter.

Written by hand: these are the few hundred words squads actually use around their reports; a general
segmenter (jionlp's, measured and rejected in bench/README.md: slow to import, GPL-3.0, wrong on 1.5个亿 and 月底) would
still need exactly these lists to know which words are reports.
"""

from __future__ import annotations

from handlers.commands import Verb

# Right after a verb word: 签约了, 签过, 谈完, 落地啦.
PARTICLES_AFTER: tuple[str, ...] = ("了了", "了", "过", "完", "啦", "咯", "喽", "好了", "完了", "下来了", "下了")
# Right before a verb word, meaning nothing for the record: 已经签约, 也签了, 正式落地.
ADVERBS_BEFORE: tuple[str, ...] = (
    "已经", "已", "也都", "也已", "也", "都已", "都", "正式", "顺利", "成功", "终于", "刚刚", "刚", "又", "均",
    "今天已", "现已", "目前已", "目前", "现在", "今天",
)
# Before a verb, these mean it has NOT happened: never read as the move itself.
NEGATIONS: tuple[str, ...] = ("没有", "没", "未", "还没", "尚未", "不", "别", "无法", "不能", "不会", "暂未", "还未")
# Before a verb, these put it in the future: an expectation (预计), never the move.
FUTURE_MARKERS: tuple[str, ...] = (
    "即将", "准备", "打算", "计划", "拟", "将要", "将", "要", "马上", "争取", "有望", "预计", "预期", "可能",
    "会", "能", "可以", "下周", "下月", "月底前", "年底前", "近期", "尽快", "定在", "安排在",
)
# A person, not a company or project: 张总, 王局, 李书记, 刘董, 赵主任.
PERSON_TITLES: tuple[str, ...] = (
    "总经理", "董事长", "副总裁", "总裁", "书记", "主任", "局长", "区长", "市长", "处长", "科长", "部长", "经理",
    "总", "局", "董", "书记",
)
# Who came along with a company: 小米科技一行, 宁德时代考察团, 海康威视的王总.
VISITOR_SUFFIXES: tuple[str, ...] = (
    "考察团", "代表团", "一行人", "一行", "团队", "高管", "的人", "那边的人", "总部", "分公司", "办事处", "的领导",
)
# A question about a move is not the move: 签了吗, 落地了没, 签约没有.
QUESTION_ENDINGS: tuple[str, ...] = ("吗", "么", "没", "没有", "了没", "呢", "不", "?", "？")

# Words that must never become a project name on their own.
PRONOUNS = frozenset({
    "我", "我们", "咱们", "咱", "他", "他们", "她", "它", "对方", "这个", "那个", "这", "那", "这边", "那边",
    "大家", "你", "你们", "本队", "我队", "我们队", "咱们队", "该", "此", "其",
})
GENERIC_NOUNS = frozenset({
    "项目", "公司", "企业", "集团", "合同", "协议", "客户", "领导", "老板", "资金", "问题", "事情", "情况", "东西",
    "一期", "二期", "三期", "工程", "方案", "材料", "手续", "进展", "事", "这个项目", "那个项目", "该项目",
})
# Particles and function words (a name made of these is a misreading).
FUNCTION_WORDS = frozenset({
    "了", "过", "完", "啦", "咯", "喽", "吗", "呢", "吧", "啊", "呀", "哦", "嗯", "的", "地", "得", "着", "和", "与",
    "及", "跟", "在", "是", "有", "就", "还", "再", "又", "也", "都", "已", "已经", "正式", "顺利", "成功", "终于",
    "刚", "刚刚", "刚才", "现在", "目前", "马上", "即将", "准备", "打算", "计划", "拟",
    "把", "被", "给", "让", "对", "向", "从", "到", "去", "来", "将", "要", "会", "能", "可以", "不", "没", "没有",
    "很", "太", "非常", "比较", "一下", "一个", "个", "些", "这", "那", "哪", "什么", "怎么", "多少",
})

# Suffixes of a subject that name the project loosely: 比亚迪项目, 海康那个项目, 仲景这边.
SUBJECT_SUFFIXES: tuple[str, ...] = (
    "那个项目", "这个项目", "的项目", "项目那边", "项目这边", "项目方", "那边", "这边", "方面", "那块",
    "这块", "那家", "这家", "那个", "这个", "的事", "的",
)
# Prefixes of a subject: 那个比亚迪, 关于仲景.
SUBJECT_PREFIXES: tuple[str, ...] = ("关于", "那个", "这个", "跟", "和", "与", "同", "对", "把")

# Company suffixes: a word ending in one of these is a company (集团, 公司 …).
COMPANY_SUFFIXES: tuple[str, ...] = (
    "股份有限公司", "有限责任公司", "有限公司", "集团公司", "控股集团", "集团", "公司", "股份", "控股", "科技",
    "实业", "银行", "证券", "基金", "资本", "投资", "置业", "置地", "地产", "商管", "电子", "电气", "汽车", "医药",
    "药业", "制药", "物流", "能源", "新能源", "材料", "传媒", "网络", "软件", "信息", "智能", "机器人", "电器",
    "食品", "餐饮", "酒店", "研究院", "研究所", "大学", "医院", "商业", "建设", "建工", "工业", "Group", "Inc",
    "Ltd", "Co", "Corp", "Company",
)

# Free-sentence verb phrases → the verb they report, strongest first within each verb. Order across verbs
# is decided by STRENGTH (a sentence with both 拜访 and 签了 reports the signing).
SENTENCE_VERBS: dict[Verb, tuple[str, ...]] = {
    "land": ("注册落地", "正式开工", "开工建设", "开工", "投产", "注册", "落地", "入驻", "开业", "竣工", "动工", "奠基"),
    "sign": ("签约仪式", "签约", "签署", "签订", "签下", "草签", "签了", "签合同", "签协议", "签"),
    "drop": ("放弃", "黄了", "不来了", "不投了", "终止", "撤了", "没戏了", "谈崩了", "取消投资"),
    "resolve": ("解决了", "搞定了", "批下来了", "批复了", "已获批", "获批", "批了", "办好了", "落实了", "解决"),
    "problem": (
        "卡在", "难在", "需要协调", "需协调", "卡住", "受阻", "遇到问题", "遇到困难", "存在问题", "有困难", "困难是",
        "问题是", "缺指标", "没批", "未批", "批不下来", "卡点", "难点", "没到位", "未到位", "不到位", "资金缺口",
        "还没批下来", "没批下来",
    ),
    "pursue": (
        "洽谈", "在谈", "谈了", "谈过", "谈得", "谈妥", "谈好了", "对接", "磋商", "商谈", "谈判", "面谈", "沟通了",
        "接洽",
    ),
    "plan": (
        "有投资意向", "有意向", "意向投资", "想投", "想来", "计划投", "拟投", "打算投", "准备投", "有兴趣", "感兴趣",
        "意向", "储备",
    ),
    # Money that arrived (到位资金): read only with an exact amount (handlers.understand.sentence).
    "funds": ("资金到位", "资金已到位", "首笔到位", "到账了", "已到账", "到账", "到位了", "已到位"),
    # A company coming to the district (接待) and a promotion event (推介会): activity of their own (issue 20).
    "reception": ("接待来访", "接待", "来访", "来我区考察", "来区考察"),
    "promo": (
        "推介会", "招商会", "对接会", "恳谈会", "洽谈会", "说明会", "招商推介", "推介活动", "招商活动", "办了场",
        "办了一场", "举办了", "开了场",
    ),
    "visit": (
        "拜访", "拜会", "走访", "考察", "见了", "见面", "会见", "约见", "座谈", "登门", "去了", "调研",
    ),
    "note": (
        "进展", "更新", "汇报", "反馈", "回复", "答复", "跟进", "通过了", "同意了", "确定了", "定了", "定下来了",
        "接到", "来电",
    ),
}
# A sentence with several verb phrases reports the strongest: a signing beats the visit it happened on, and a
# visit beats the interest the company showed during it.
STRENGTH: tuple[Verb, ...] = (
    "land", "sign", "drop", "resolve", "funds", "problem", "promo", "reception", "visit", "pursue", "plan", "note",
)
# The kinds of promotion event a sentence names (下午办了场推介会 → 推介会).
EVENT_TYPES: tuple[str, ...] = ("推介会", "招商会", "对接会", "恳谈会", "洽谈会", "说明会", "签约仪式", "博览会", "展会")
# 签 alone is a signing only where it ends a clause (这个月能签, 下个月签吧); elsewhere it starts another
# word (签到, 签证, 签名) or is a typo of one (签越).
SIGN_ENDINGS = ("", " ", "了", "吧", "啦", "呢", ",", "，", "。", "!", "！", "下")

# Problem categories from the words of a problem or a resolution (环评 is an approval, 指标 is land).
CATEGORY_HINTS: dict[str, tuple[str, ...]] = {
    "土地": ("土地", "用地", "指标", "征地", "拆迁", "地块", "供地", "出让", "土地证", "不动产"),
    "规划": ("规划", "容积率", "控规", "用途", "红线", "设计方案", "方案审查"),
    "审批": (
        "审批", "环评", "批复", "手续", "证照", "许可", "备案", "能评", "安评", "立项", "施工证", "施工许可", "消防",
        "验收", "核准", "报批", "稳评", "审查", "批文",
    ),
    "资金": ("资金", "融资", "贷款", "钱", "补贴", "奖励", "资金链", "授信", "垫资", "专项债"),
    "技术": ("技术", "设备", "工艺", "专利", "技改"),
}

# Chatter: said in chats all day, never a report.
CHATTER = frozenset({
    "好", "好的", "好滴", "好嘞", "好哒", "好吧", "行", "行的", "可以", "嗯", "嗯嗯", "哦", "哦哦", "噢", "收到",
    "好的收到", "收到收到", "收到了", "已收到", "明白", "明白了", "知道了", "了解", "懂了", "ok", "okay", "okk", "好哈",
    "谢谢", "谢谢领导", "谢谢大家", "感谢", "多谢", "辛苦", "辛苦了", "辛苦啦", "大家辛苦了", "哈哈", "哈哈哈",
    "哈哈哈哈", "呵呵", "嘿嘿", "赞", "点赞", "厉害", "牛", "666", "加油", "加油加油", "棒", "太棒了", "早",
    "早上好", "早安", "晚安", "大家好", "你好", "您好", "在吗", "在", "在的", "对", "对的", "是", "是的", "没问题",
    "thanks", "thank you", "thx", "hi", "hello", "lol", "good", "great", "nice", "yes", "no", "不用", "不客气",
})
CHATTER_PREFIXES: tuple[str, ...] = (
    "好的", "收到", "谢谢", "辛苦", "哈哈", "明白", "知道了", "早上好", "大家好", "感谢", "加油", "请问", "麻烦",
    "今天天气", "中午", "晚上一起", "几点", "明天几点", "在哪", "哪里集合",
)

# Answers to a pending question.
ACCEPT_WORDS = frozenset({
    "1", "是", "是的", "对", "对的", "确认", "确定", "好", "好的", "嗯", "嗯嗯", "ok", "okay", "yes", "y", "可以", "行",
    "没错", "正确", "就是", "同意", "保存", "确认保存",
})
CANCEL_ANSWERS = frozenset({"取消", "0", "不", "不是", "不对", "算了", "no", "n", "cancel", "否", "不要", "错了", "放弃保存"})


def strip_edges(text: str, words: tuple[str, ...], *, suffix: bool) -> str:
    """Remove any of `words` repeatedly from the end (suffix) or start of `text`."""
    changed = True
    while changed and text:
        changed = False
        for word in words:
            if suffix and text.endswith(word) and len(text) > len(word):
                text, changed = text[: -len(word)], True
                break
            if not suffix and text.startswith(word) and len(text) > len(word):
                text, changed = text[len(word):], True
                break
    return text
