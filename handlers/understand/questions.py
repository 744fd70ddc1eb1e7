"""Questions in words mapped to the reports: 我们队排第几 → 排行, 德化街进度怎么样 → 进度 德化街, 本月新增签约多少
→ the count for the month, 有哪些问题 → 问题清单, 我的项目 → 我的, #15怎么样了 → 查 #15.

Questions store nothing, so a reading here is answered at once.
"""

from __future__ import annotations

import re

from handlers.commands import Command, ProjectRef

_OWN_SQUAD = ("我们队", "咱们队", "我队", "本队", "我们小分队", "我们街道", "我们", "咱们", "我的", "俺们")
_RANK = re.compile(r"排第几|排名第几|第几名|排在第几|排名(?:怎么样|如何|情况)?|排行(?:榜)?|名次|比学赶超|排哪")
_STATUS = re.compile(
    r"(?:的)?(?:进度|进展|完成(?:了)?(?:多少|几个|情况|率|得怎么样)|目标完成|序时进度|怎么样了?|如何|情况)"
)
_PROBLEMS = re.compile(r"(?:有)?(?:哪些|什么|啥)(?:问题|困难|卡点)|问题(?:有哪些|清单|有什么)|卡点有哪些|未解决的问题")
_MINE = re.compile(
    r"^(?:我的|我们的?|我们队的?|本队的?|咱们的?|咱们队的?)(?:都)?(?:有)?(?:哪些|什么|啥)?(?:项目)"
    r"(?:有哪些|清单|列表|都有啥|有什么)?(?:发一下|看一下|看看)?[?？]?$"
)
_HELP = re.compile(r"^(?:怎么用|怎么报|怎么填|怎么操作|如何使用|如何报送|不会用|help me|how to use)[?？]?$")
_PERIODS = {
    "今天": "day", "今日": "day", "昨天": "yesterday", "本周": "week", "这周": "week", "这个星期": "week",
    "本月": "month", "这个月": "month", "当月": "month", "上月": "last_month", "上个月": "last_month",
    "上周": "last_week", "今年": "year", "本年": "year", "本年度": "year", "年内": "year",
}
_COUNT = re.compile(
    r"(今天|今日|昨天|本周|这周|这个星期|本月|这个月|当月|上个月|上月|上周|今年|本年度|本年|年内)(?:的)?"
    r"(?:新增|新签|共|一共|总共|累计|全区)?(?:了)?(谋划|储备|招引|洽谈|签约|签|落地|开工|项目)?(?:了)?(?:项目)?"
    r"(?:多少|几个|几家|几项|多少个|多少家)"
)
_COUNT_STAGE = {
    "谋划": "planned", "储备": "planned", "招引": "attracting", "洽谈": "attracting", "签约": "signed", "签": "signed",
    "落地": "landed", "开工": "landed",
}
_ID = re.compile(r"^#(\d{1,9})")
_QUESTION_TAIL = re.compile(
    r"(?:现在)?(?:是)?(?:怎么样了?|什么情况|啥情况|进展如何|进展怎么样|什么进展|到哪一步了?|到哪了|咋样了?|什么阶段|哪个阶段|"
    r"在哪个库|进度如何|进度怎么样)[?？]?$"
)
_SUBJECT_TAIL = re.compile(r"(?:那个项目|这个项目|的项目|项目|那边|这边|现在|目前|的)+$")


def read_question(text: str) -> Command | None:
    """The report a question in words asks for, or None when the words are not such a question."""
    compact = re.sub(r"\s+", "", text).rstrip("?？。.!！")
    if not compact:
        return None
    if _HELP.match(compact):
        return Command(verb="help", text=text)
    if _MINE.match(compact):
        return Command(verb="mine", text=text)
    count = _COUNT.search(compact)
    if count:
        period = _PERIODS[count.group(1)]
        stage = _COUNT_STAGE.get(count.group(2) or "", "")
        return Command(verb="status", text=text, flag=f"count:{period}:{stage}")
    if _RANK.search(compact):
        return Command(verb="rank", text=text, value="own" if compact.startswith(_OWN_SQUAD) else None)
    if _PROBLEMS.search(compact):
        return Command(verb="problems", text=text)
    tail = _QUESTION_TAIL.search(compact)
    ident = _ID.match(compact)
    if ident and tail:
        return Command(verb="find", text=text, project=ProjectRef(id=int(ident.group(1))))
    if tail:
        subject = _SUBJECT_TAIL.sub("", compact[: tail.start()])
        if subject and not subject.startswith(_OWN_SQUAD) and subject not in ("全区", "整体", "总体", "区里"):
            return Command(verb="status", text=text, value=subject, flag="or-project")
    status = _STATUS.search(compact)
    if status:
        subject = compact[: status.start()].strip("的")
        if not subject or subject.startswith(_OWN_SQUAD) or subject in ("全区", "全区的", "整体", "总体", "区里"):
            return Command(verb="status", text=text)
        # A squad's name or a project's: the handler tries the squads first, then the projects.
        return Command(verb="status", text=text, value=subject, flag="or-project")
    return None

