"""The words of the command language (DESIGN §4): verbs, stage words, edit fields, problem categories,
settings words, and the usage line and one-line description of every verb in Chinese and English.
"""

from __future__ import annotations

from typing import get_args

from handlers.commands import Lang, Verb
from handlers.wording import in_lang, say

# Verb words → verb key. Chinese first (the table of DESIGN §4), then English.
ZH_VERBS: dict[str, Verb] = {
    "谋划": "plan", "储备": "plan",
    "招引": "pursue", "洽谈": "pursue", "对接": "pursue", "在谈": "pursue",
    "签约": "sign", "签了": "sign", "已签约": "sign",
    "落地": "land", "开工": "land", "注册落地": "land",
    "进展": "note", "跟进": "note", "更新": "note",
    "拜访": "visit", "考察": "visit", "外出": "visit",
    "问题": "problem", "困难": "problem", "卡点": "problem",
    "解决": "resolve",
    "放弃": "drop", "终止": "drop",
    "撤销": "undo", "撤回": "undo",
    "改": "edit",
    "核实": "verify",
    "预计": "expect",
    "到位": "funds", "资金到位": "funds", "到账": "funds",
    "转交": "transfer", "移交": "transfer",
    # Activity words stand on their own only (a space, `#`, `@`, `:` or the end after them: parse.verbs):
    # 接待了X集团来访 and 活动中心签约了 are sentences, read by handlers.understand.
    "接待": "reception", "来访": "reception", "接待来访": "reception",
    "活动": "promo", "招商活动": "promo", "推介活动": "promo",
    "线索": "lead", "招商线索": "lead",
    "宣传": "publicity", "宣传报道": "publicity",
    "撞单": "clashes", "撞单清单": "clashes",
    "考核": "assess", "考核积分": "assess",
    "活跃": "activity", "活跃指数": "activity", "活跃度": "activity", "赛马榜": "activity",
    "查": "find", "查询": "find", "项目": "find",
    "我的": "mine", "本队": "mine",
    "排行": "rank", "排名": "rank", "比学赶超": "rank",
    "进度": "status", "状态": "status", "全区": "status",
    "问题清单": "problems",
    "导出": "export", "台账": "export",
    "请假": "away", "出差": "away",
    "建队": "newteam",
    "邀请码": "invite",
    "加入": "join",
    "关联": "link", "关联账号": "link",
    "绑定": "bind",
    "目标": "target",
    "设置": "settings",
    "帮助": "help", "?": "help",
    "设为队长": "appoint", "任命队长": "appoint", "设为领导": "appoint", "任命领导": "appoint",
    "取消队长": "dismiss", "撤销队长": "dismiss", "免去队长": "dismiss", "取消领导": "dismiss", "撤销领导": "dismiss",
    "移出": "remove", "移除": "remove", "踢出": "remove",
    "改名": "rename", "队伍改名": "rename",
    "解绑": "unbind", "解除绑定": "unbind",
    "看板": "dashboard", "驾驶舱": "dashboard",
}
EN_VERBS: dict[str, Verb] = {
    "plan": "plan", "pursue": "pursue", "sign": "sign", "land": "land", "note": "note", "visit": "visit",
    "problem": "problem", "resolve": "resolve", "drop": "drop", "undo": "undo", "edit": "edit",
    "verify": "verify", "expect": "expect", "funds": "funds", "transfer": "transfer", "clashes": "clashes",
    "assess": "assess", "activity": "activity",
    "reception": "reception", "promo": "promo", "lead": "lead", "publicity": "publicity",
    "find": "find", "mine": "mine", "rank": "rank",
    "status": "status", "problems": "problems", "export": "export", "away": "away", "newteam": "newteam",
    "invite": "invite", "join": "join", "link": "link", "bind": "bind", "target": "target", "settings": "settings",
    "help": "help", "start": "start",
    "appoint": "appoint", "dismiss": "dismiss", "remove": "remove", "rename": "rename", "unbind": "unbind",
    "dashboard": "dashboard",
}

# Main Chinese word and English word per verb (help menus, render). `choose` is the answer to a numbered
# question and has no word of its own: the labels below only name it.
VERB_NAMES: dict[Verb, tuple[str, str]] = {
    "plan": ("谋划", "plan"), "pursue": ("洽谈", "pursue"), "sign": ("签约", "sign"),
    "land": ("落地", "land"), "note": ("进展", "note"), "visit": ("拜访", "visit"),
    "problem": ("问题", "problem"), "resolve": ("解决", "resolve"), "drop": ("放弃", "drop"),
    "undo": ("撤销", "undo"), "edit": ("改", "edit"), "verify": ("核实", "verify"),
    "expect": ("预计", "expect"), "funds": ("到位", "funds"), "transfer": ("转交", "transfer"),
    "assess": ("考核", "assess"), "activity": ("活跃", "activity"),
    "clashes": ("撞单", "clashes"), "reception": ("接待", "reception"), "promo": ("活动", "promo"),
    "lead": ("线索", "lead"), "publicity": ("宣传", "publicity"), "find": ("查", "find"), "mine": ("我的", "mine"),
    "rank": ("排行", "rank"), "status": ("进度", "status"), "problems": ("问题清单", "problems"),
    "export": ("导出", "export"), "away": ("请假", "away"), "newteam": ("建队", "newteam"),
    "invite": ("邀请码", "invite"), "join": ("加入", "join"), "link": ("关联", "link"), "bind": ("绑定", "bind"),
    "target": ("目标", "target"), "settings": ("设置", "settings"), "help": ("帮助", "help"),
    "start": ("start", "start"), "choose": ("序号", "number"),
    "appoint": ("设为队长", "appoint"), "dismiss": ("取消队长", "dismiss"), "remove": ("移出", "remove"),
    "rename": ("改名", "rename"), "unbind": ("解绑", "unbind"), "dashboard": ("看板", "dashboard"),
}
# The order verbs appear in help menus (`choose` and `start` are not typed by people on purpose).
HELP_ORDER: tuple[Verb, ...] = (
    "plan", "pursue", "sign", "land", "note", "visit", "problem", "resolve", "drop", "undo", "edit",
    "verify", "expect", "funds", "transfer", "reception", "promo", "lead", "publicity", "find", "mine", "rank", "status", "problems", "export", "clashes",
    "assess", "activity", "target", "away",
    "newteam", "invite", "join", "link", "bind", "settings", "help", "dashboard",
    "appoint", "dismiss", "remove", "rename", "unbind",
)
# A few verbs worth listing when someone types something unknown.
COMMON_VERBS: tuple[Verb, ...] = ("pursue", "sign", "land", "note", "problem", "find", "rank", "help")

# Stage words (expect, target) → stage key.
STAGE_WORDS: dict[str, str] = {
    "谋划": "planned", "储备": "planned",
    "招引": "attracting", "洽谈": "attracting", "对接": "attracting", "在谈": "attracting",
    "签约": "signed", "签了": "signed", "已签约": "signed",
    "落地": "landed", "开工": "landed", "注册落地": "landed",
    "plan": "planned", "planned": "planned",
    "pursue": "attracting", "attract": "attracting", "attracting": "attracting",
    "sign": "signed", "signed": "signed",
    "land": "landed", "landed": "landed",
}
STAGE_NAMES: dict[str, tuple[str, str]] = {
    "planned": ("谋划", "planned"), "attracting": ("招引", "attracting"),
    "signed": ("签约", "signed"), "landed": ("落地", "landed"),
}

# Edit field words → field key.
FIELD_WORDS: dict[str, str] = {
    "金额": "amount", "投资": "amount", "投资额": "amount", "总投资": "amount",
    "名称": "name", "名字": "name", "项目名": "name",
    "别名": "alias", "简称": "alias",
    "行业": "industry", "产业": "industry",
    "区域": "zone", "片区": "zone",
    "地点": "place", "城市": "place",
    "公司": "company", "企业": "company",
    "amount": "amount", "name": "name", "alias": "alias", "industry": "industry", "zone": "zone",
    "place": "place", "city": "place", "company": "company",
}
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "amount": ("金额", "amount"), "name": ("名称", "name"), "alias": ("别名", "alias"),
    "industry": ("行业", "industry"), "zone": ("区域", "zone"), "place": ("地点", "place"),
    "company": ("公司", "company"),
}

# Problem categories (canonical names are Chinese).
CATEGORIES: tuple[str, ...] = ("规划", "土地", "技术", "资金", "审批", "其他")
CATEGORY_WORDS: dict[str, str] = {c: c for c in CATEGORIES} | {
    "其它": "其他", "用地": "土地",
    "planning": "规划", "land": "土地", "technology": "技术", "tech": "技术", "funding": "资金",
    "finance": "资金", "approval": "审批", "approvals": "审批", "other": "其他",
}
DEFAULT_CATEGORY = "其他"
CATEGORY_NAMES_EN: dict[str, str] = {
    "规划": "planning", "土地": "land", "技术": "technology", "资金": "funding", "审批": "approval",
    "其他": "other",
}

# newteam kinds.
KIND_WORDS: dict[str, str] = {
    "小分队": "squad", "分队": "squad", "队": "squad", "squad": "squad", "team": "squad",
    "街道": "street", "街道办": "street", "办事处": "street", "street": "street",
    "局": "bureau", "委": "bureau", "部门": "bureau", "bureau": "bureau", "department": "bureau",
}
KIND_NAMES: dict[str, tuple[str, str]] = {
    "squad": ("小分队", "squad"), "street": ("街道", "street"), "bureau": ("局", "bureau"),
}
ROTATE_WORDS = frozenset({"换", "更换", "换一个", "换个", "重置", "新", "rotate", "new", "reset", "renew"})
CANCEL_WORDS = frozenset({"取消", "结束", "销假", "回来了", "已返回", "cancel", "end", "back", "stop"})
LEADER_WORDS = frozenset({"领导", "领导群", "领导组", "leaders", "leader", "leadership"})
ON_WORDS = frozenset({"开", "开启", "打开", "启用", "on", "enable", "enabled", "yes"})
OFF_WORDS = frozenset({"关", "关闭", "停", "停用", "禁用", "off", "disable", "disabled", "no"})

# settings: job words → canonical job key (Chinese; the handler decides what each one controls).
SETTING_JOBS: dict[str, str] = {
    "排行": "排行", "排名": "排行", "比学赶超": "排行",
    "rank": "排行", "ranking": "排行", "leaderboard": "排行",
    "提醒": "提醒", "remind": "提醒", "reminder": "提醒", "reminders": "提醒",
    "点名": "点名", "mention": "点名", "mentions": "点名",
    "预警": "预警", "亮灯": "预警", "alert": "预警", "alerts": "预警", "lights": "预警",
    "周报": "周报", "weekly": "周报",
    "赛马榜": "赛马榜", "赛马": "赛马榜", "race": "赛马榜",
    "问题": "问题", "升级": "问题", "problems": "问题", "escalation": "问题",
    "核实": "核实", "verify": "核实", "verification": "核实",
}
SETTING_NAMES_EN: dict[str, str] = {
    "排行": "rank", "提醒": "reminders", "点名": "mentions", "预警": "alerts", "周报": "weekly", "赛马榜": "race",
    "问题": "escalation", "核实": "verify",
}

_USAGE: dict[str, tuple[str, str]] = {
    "plan": (
        "谋划 项目名 [金额] [行业] [@城市] [公司:企业] [备注]，例：谋划 华润万象城二期 5亿 现代商贸",
        'plan NAME [amount] [industry] [@city] [company:X] [note], e.g. plan "CR Mixc Phase 2" 500m',
    ),
    "pursue": (
        "洽谈 项目名 [金额] [行业] [@城市] [对接:企业] [备注]，"
        "例：洽谈 比亚迪河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团",
        "pursue NAME [amount] [industry] [@city] [company:X] [note], "
        'e.g. pursue "BYD Henan Center" 200m @Shenzhen',
    ),
    "sign": (
        "签约 #编号或项目名 [金额] [备注]，例：签约 #12 或 签约 仲景医药健康产业园 3亿",
        'sign #ID|NAME [amount] [note], e.g. sign #12 or sign "Tesla Service Center" 2b',
    ),
    "land": (
        "落地 #编号或项目名 [金额] [备注]，例：落地 #12",
        "land #ID|NAME [amount] [note], e.g. land #12",
    ),
    "note": (
        "进展 #编号或项目名 进展内容，例：进展 仲景 完成第三轮洽谈，下周来郑考察",
        "note #ID|NAME TEXT, e.g. note #12 third round of talks done",
    ),
    "visit": (
        "拜访 [#编号] @城市 [公司:企业] [备注]，例：拜访 @上海 公司:比亚迪集团 洽谈新能源基地",
        "visit [#ID] @city [company:X] [note], e.g. visit @Shanghai company:BYD met the CEO",
    ),
    "problem": (
        "问题 #编号或项目名 [类别] 问题描述（类别：规划 土地 技术 资金 审批 其他），"
        "例：问题 杉杉奥特莱斯 土地 用地指标未批",
        "problem #ID|NAME [category] TEXT (planning land technology funding approval other), "
        "e.g. problem #12 land quota not approved",
    ),
    "resolve": (
        "解决 #编号或项目名 [类别] [问题编号] [说明]，例：解决 #12 土地 或 解决 问题3",
        "resolve #ID|NAME [category] [problem id] [note], e.g. resolve #12 land or resolve p3",
    ),
    "drop": (
        "放弃 #编号或项目名 原因，例：放弃 #12 企业调整投资计划",
        "drop #ID|NAME REASON, e.g. drop #12 company changed its plans",
    ),
    "undo": ("撤销（撤销我刚才的修改），例：撤销", "undo (undo my last change), e.g. undo"),
    "edit": (
        "改 #编号 字段 新值（字段：金额 名称 别名 行业 区域 地点 公司），例：改 #12 金额 3亿",
        "edit #ID FIELD VALUE (amount name alias industry zone place company), e.g. edit #12 amount 300m",
    ),
    "verify": ("核实 #编号（单发「核实」看待核实清单），例：核实 #12",
               "verify #ID (alone: the list awaiting verification), e.g. verify #12"),
    "expect": (
        "预计 #编号 阶段 年-月[-日]（单发「预计」看年底预测），例：预计 #12 签约 2027-03",
        "expect #ID STAGE YYYY-MM[-DD] (alone: the year-end forecast), e.g. expect #12 sign 2027-03",
    ),
    "funds": ("到位 #编号或项目名 金额 [日期] [备注]（签约或落地的项目，实际到位的资金；可附照片或文件），"
              "例：到位 #12 5000万 11月28日",
              "funds #ID|NAME AMOUNT [date] [note] (money that arrived for a signed or landed project), "
              "e.g. funds #12 50m 2026-11-28"),
    "transfer": ("转交 #编号或项目名 队名（领导、管理员：把项目改归另一个小分队），例：转交 #12 德化街",
                 "transfer #ID|NAME SQUAD (leaders, admins: the project moves to that squad), e.g. transfer #12 Dehua"),
    "reception": ("接待 公司:企业 [#编号] [@来自城市] [备注]（企业来本区考察），例：接待 公司:中原数据集团 考察团一行5人",
                  "reception company:X [#ID] [@from-city] [note] (a company visiting us), "
                  "e.g. reception company:BYD delegation of five"),
    "promo": ("活动 类型 [@地点] [参会企业数] [备注]，例：活动 推介会 @深圳 30家",
              "promo TYPE [@place] [N companies] [note], e.g. promo roadshow @Shenzhen 30家"),
    "lead": ("线索 企业 [行业] [@城市] [备注]；立项：线索 立项 线索编号，例：线索 宁德时代 新材料 @宁德",
             "lead COMPANY [industry] [@city] [note]; to a project: lead promote ID, e.g. lead CATL @Ningde"),
    "publicity": ("宣传 媒体或事项 [内容]，例：宣传 河南日报 报道我区招商成果",
                  "publicity OUTLET|ITEM [text], e.g. publicity Henan-Daily report on our investment drive"),
    "clashes": ("撞单（两个小分队在对接同一家企业的清单；撞单 全部 含已处理的）",
                "clashes (companies two squads court at once; clashes all: with the settled ones)"),
    "assess": ("考核 [队名] [本周|上周|本月|上月|本季度|上季度|本年|去年]，或 考核 排行 [期间]，例：考核 德化街 本季度",
               "assess [squad] [this week|last week|this month|last month|this quarter|last quarter|this year|"
               "last year], or assess rank [period], e.g. assess Dehua this quarter"),
    "activity": ("活跃 [本周|上周|本月|上月|本季度|上季度|本年|去年]，例：活跃 本月",
                 "activity [period], e.g. activity last week"),
    "find": ("查 #编号或项目名，例：查 #12 或 查 比亚迪", "find #ID|NAME, e.g. find #12"),
    "mine": ("我的 [队名]，例：我的", "mine [team], e.g. mine"),
    "rank": ("排行，例：排行", "rank, e.g. rank"),
    "status": ("进度 [队名]，例：进度 或 进度 德化街", "status [team], e.g. status"),
    "problems": ("问题清单 [队名]，例：问题清单", "problems [team], e.g. problems"),
    "export": ("导出，例：导出", "export, e.g. export"),
    "target": (
        "目标 [队名] [年份] 阶段 数量 …，例：目标 德化街 签约 10 落地 5",
        "target [team] [year] STAGE N …, e.g. target sign 80 land 60",
    ),
    "away": (
        "请假 至日期 或 请假 取消，例：请假 至12月5日",
        "away until DATE or away cancel, e.g. away until 2026-12-05",
    ),
    "newteam": (
        "建队 队名 [小分队|街道|局]，例：建队 德化街 街道",
        "newteam NAME [squad|street|bureau], e.g. newteam Dehua street",
    ),
    "invite": (
        "邀请码 [队名] [换]，例：邀请码 德化街 换",
        "invite [team] [rotate], e.g. invite Dehua rotate",
    ),
    "join": ("加入 邀请码，例：加入 K7P2QX", "join CODE, e.g. join K7P2QX"),
    "link": ("关联（生成关联码），再在另一个平台发送「关联 关联码」，例：关联 8H3KQM",
             "link (makes a code), then send `link CODE` from your other platform, e.g. link 8H3KQM"),
    "bind": (
        "绑定 队名|领导 [robot:群机器人key]，例：绑定 德化街 或 绑定 领导",
        "bind TEAM|leaders [robot:KEY], e.g. bind leaders",
    ),
    "settings": (
        "设置 [排行|提醒|点名|预警|周报|赛马榜] [时间|开|关]，例：设置 排行 08:30 或 设置 提醒 关",
        "settings [rank|reminders|mentions|alerts|weekly|race] [HH:MM|on|off], e.g. settings rank 08:30",
    ),
    "help": ("帮助 [指令]，例：帮助 签约", "help [verb], e.g. help sign"),
    "appoint": ("设为队长 名字（管理员还可：设为领导 名字），例：设为队长 @小李",
                "appoint captain|leader NAME, e.g. appoint captain Li"),
    "dismiss": ("取消队长 名字 或 取消领导 名字，例：取消队长 小李", "dismiss captain|leader NAME, e.g. dismiss captain Li"),
    "remove": ("移出 名字（把队员移出小分队），例：移出 小李", "remove NAME (take a member out of their squad)"),
    "rename": ("改名 队名 新队名，例：改名 德化街 德化街道", "rename SQUAD NEW_NAME, e.g. rename Dehua Dehua-street"),
    "unbind": ("解绑（在群里发送），或 解绑 robot:群机器人key，或 解绑 队名（列出后选择）",
               "unbind (in the group), or unbind robot:KEY, or unbind SQUAD (lists, then choose)"),
    "start": ("/start [邀请码]，例：/start K7P2QX", "/start [invite code], e.g. /start K7P2QX"),
    "choose": ("回复序号选择，例：1", "reply with a number to choose, e.g. 1"),
    "dashboard": ("看板（驾驶舱链接）或 看板 作废（作废我的链接）", "dashboard (a link to the web dashboard) or dashboard revoke"),
}

_DESCRIBE: dict[str, tuple[str, str]] = {
    "plan": ("新建谋划项目，或移入谋划库", "new project in the planned pool, or move it there"),
    "pursue": ("新建招引项目，或移入招引库", "new project in the attracting pool, or move it there"),
    "sign": ("项目签约", "mark a project signed"),
    "land": ("项目落地", "mark a project landed"),
    "note": ("记录项目进展", "add a progress note to a project"),
    "visit": ("记录外出拜访（城市、企业）", "log an outbound visit (city, company)"),
    "problem": ("登记项目问题（带类别）", "open a problem on a project, with a category"),
    "resolve": ("问题已解决", "close a problem"),
    "drop": ("放弃项目（写明原因）", "drop a project, with a reason"),
    "undo": ("撤销我刚才的修改", "undo my last change"),
    "edit": ("修改项目信息", "change a project's field"),
    "verify": ("领导核实签约/落地；单发看待核实清单", "a leader confirms a sign/land move; alone: what awaits it"),
    "expect": ("预计进入下一阶段的时间；单发看年底预测", "expected date of the next stage; alone: the forecast"),
    "funds": ("登记到位资金（签约、落地项目）", "record funds that arrived for a signed or landed project"),
    "transfer": ("领导把项目转交给另一个小分队", "a leader moves a project to another squad"),
    "reception": ("记录接待来访企业", "log a company visiting the district"),
    "promo": ("记录招商活动（推介会等）", "log a promotion event (roadshow, fair)"),
    "lead": ("登记招商线索，可一键立项为谋划项目", "log a lead (a company worth courting); it can become a project"),
    "publicity": ("记录招商宣传（报道、文章）", "log a publicity item (article, report)"),
    "clashes": ("撞单清单（首谈负责制）", "first-contact clashes: two squads courting one company"),
    "assess": ("考核积分：逐项说明每一分的来源；考核 排行 看各队排名", "assessment points explained line by line; assess rank: every squad"),
    "activity": ("招商活跃指数排行（赛马榜）", "the activity index ranking (赛马榜)"),
    "find": ("查看项目卡片和历史", "project card with its history"),
    "mine": ("本队项目（按阶段）", "my squad's projects by stage"),
    "rank": ("比学赶超排行榜", "the leaderboard"),
    "status": ("目标完成进度和序时进度", "progress against targets and schedule"),
    "problems": ("未解决问题清单", "open problems, oldest first"),
    "export": ("导出台账（Excel）", "the ledger as an Excel file"),
    "target": ("设定年度目标", "set yearly targets"),
    "away": ("请假/出差期间暂停提醒", "pause my reminders while away"),
    "newteam": ("新建小分队", "create a squad"),
    "invite": ("查看或更换邀请码", "show or rotate an invite code"),
    "join": ("用邀请码加入小分队", "join a squad with its invite code"),
    "link": ("把企业微信和 Telegram 账号关联为同一人", "link your WeCom and Telegram accounts as one person"),
    "bind": ("把本群绑定到小分队或领导群", "bind this group chat to a squad or the leaders"),
    "settings": ("本群推送设置（时间、开关）", "this chat's scheduled posts (times, on/off)"),
    "help": ("帮助", "help"),
    "start": ("开始使用（可带邀请码）", "start (optionally with an invite code)"),
    "appoint": ("任命队长（领导、管理员）或领导（管理员）", "appoint a captain (leaders, admins) or a leader (admins)"),
    "dismiss": ("取消队长或领导", "take back a captain's or leader's role"),
    "remove": ("把队员移出小分队", "take a member out of their squad"),
    "rename": ("小分队改名", "rename a squad"),
    "unbind": ("解除群或群机器人的绑定", "unbind a group or a WeCom group robot"),
    "choose": ("回复序号进行选择", "answer a numbered question"),
    "dashboard": ("打开驾驶舱（网页看板）的链接；看板 作废：作废已发的链接", "a link to the web dashboard; revoke: void my links"),
}

ALL_VERBS: tuple[Verb, ...] = get_args(Verb)


def verb_key(word: str) -> Verb | None:
    """The verb a whole word names (Chinese, English or the verb key itself), or None."""
    if word in ZH_VERBS:
        return ZH_VERBS[word]
    return EN_VERBS.get(word.lower())


def usage(verb: str, lang: Lang) -> str:
    """The right form of a verb with one example, in the given language."""
    key = verb if verb in _USAGE else verb_key(verb)
    if key is None:
        return say(lang, "usage.common_verbs", verbs=" ".join(verb_word(v, lang) for v in COMMON_VERBS))
    return in_lang(lang, *_USAGE[key])


def describe(verb: str, lang: Lang) -> str:
    """A one-line description of a verb for help menus, in the given language."""
    key = verb if verb in _DESCRIBE else verb_key(verb)
    if key is None:
        return ""
    return in_lang(lang, *_DESCRIBE[key])


def verb_word(verb: Verb, lang: Lang) -> str:
    """The word to write for a verb in the given language."""
    return in_lang(lang, *VERB_NAMES[verb])
