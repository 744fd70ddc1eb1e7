"""`zsbot demo`: a ready database of the reference district (郑州市二七区), built through the real core.

The demo is written as the messages squads would have sent over the year, replayed through `Core.handle`
with a clock set to each message's time, so every project, event, problem and stage time is exactly what
the bot itself would have stored. Dates are placed as fractions of the year elapsed so far, so the demo
looks alive whatever day it is run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.app import ZsBot
from handlers.dispatch import Core
from handlers.messages import Incoming
from storage import people_queries, roster_queries
from storage.db import transaction

DEMO_ADMIN = "admin"
DEMO_LEADER = "李局长"

# Squads of the reference district: street offices and industry squads, each with its members.
DEMO_TEAMS: dict[str, tuple[str, list[str]]] = {
    "德化街": ("street", ["张伟", "王芳"]),
    "长江路": ("street", ["刘洋", "陈静"]),
    "五里堡": ("street", ["赵磊"]),
    "建中街": ("street", ["孙丽"]),
    "马寨镇": ("street", ["周强", "吴敏"]),
    "现代商贸小分队": ("squad", ["郑浩", "冯雪"]),
    "健康服务小分队": ("squad", ["黄鹏"]),
    "智能制造小分队": ("squad", ["林峰", "何晓"]),
}
# The demo holds a sample of the district's projects, so its targets are scaled to the sample (the real
# reference targets are 200/160/80/60); they are chosen so the leaderboard shows every light colour.
DISTRICT_TARGETS = {"planned": 30, "attracting": 20, "signed": 10, "landed": 6}
TEAM_TARGETS: dict[str, tuple[int, int, int, int]] = {
    "德化街": (5, 3, 2, 1), "长江路": (4, 2, 1, 1), "五里堡": (3, 2, 1, 1), "建中街": (3, 2, 1, 1),
    "马寨镇": (5, 4, 2, 1), "现代商贸小分队": (3, 3, 2, 1), "健康服务小分队": (3, 2, 1, 1),
    "智能制造小分队": (2, 1, 1, 1),
}


@dataclass(frozen=True)
class DemoMessage:
    """One message of the demo year: when (share of the year elapsed, or days ago), who, what."""

    user: str
    text: str
    share: float | None = None  # 0..1 of the time elapsed since 1 January
    days_ago: float | None = None


def _m(user: str, text: str, share: float | None = None, days_ago: float | None = None) -> DemoMessage:
    return DemoMessage(user, text, share, days_ago)


DEMO_SCRIPT: list[DemoMessage] = [
    # 德化街
    _m("张伟", "洽谈 比亚迪品牌形象河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团 三环内", 0.10),
    _m("张伟", "进展 比亚迪品牌形象河南体验中心 完成第二轮洽谈，对方认可德化街商圈", 0.30),
    _m("王芳", "签约 比亚迪品牌形象河南体验中心", days_ago=1),
    _m("王芳", "谋划 华润万象城二期 30亿 现代商贸 三环内 对接:华润置地", 0.05),
    _m("王芳", "招引 华润万象城二期", 0.20),
    _m("张伟", "签约 华润万象城二期", 0.45),
    _m("张伟", "落地 华润万象城二期", 0.80),
    _m("王芳", "谋划 德化街老字号特色商业街区 5000万 特色商业", 0.40),
    _m("张伟", "洽谈 网易河南区域总部 3亿 总部经济 @杭州 对接:网易集团", 0.55),
    _m("张伟", "问题 网易河南区域总部 审批 总部认定政策需区里明确", 0.60),
    _m("王芳", "谋划 二七万达写字楼招商运营 8000万 楼宇经济", 0.70),
    # 长江路
    _m("刘洋", "谋划 长江路智慧商圈改造 1.5亿 现代商贸 三环至四环", 0.15),
    _m("陈静", "洽谈 京东智能供应链华中结算中心 5亿 总部经济 @北京 对接:京东集团", 0.35),
    _m("刘洋", "拜访 @上海 公司:盒马鲜生 介绍长江路商圈", days_ago=3),
    _m("陈静", "签约 京东智能供应链华中结算中心", 0.85),
    _m("刘洋", "谋划 长江路健康体检中心 3000万 优质医疗", days_ago=2),
    # 五里堡
    _m("赵磊", "谋划 五里堡数字经济产业园 2亿 科技服务 三环至四环", 0.25),
    _m("赵磊", "洽谈 五里堡数字经济产业园", 0.50),
    _m("赵磊", "谋划 中原医美产业中心 1亿 医美", 0.65),
    # 建中街
    _m("孙丽", "谋划 建中街楼宇经济提质项目 6000万 楼宇经济", 0.30),
    _m("孙丽", "洽谈 中原科技服务大厦 4亿 科技服务 对接:中原科技城", 0.75),
    # 马寨镇
    _m("周强", "谋划 国际汽车产业园 50亿 汽车 四环至绕城 对接:宇通集团", 0.08),
    _m("吴敏", "洽谈 国际汽车产业园", 0.40),
    _m("周强", "问题 国际汽车产业园 土地 园区三期用地需调规", 0.50),
    _m("周强", "洽谈 仲景医药健康产业园 15亿 生物医药 @南阳 对接:仲景食品 四环至绕城", 0.20),
    _m("吴敏", "进展 仲景医药健康产业园 完成第三轮洽谈，下周来郑考察", days_ago=1),
    _m("周强", "问题 仲景医药健康产业园 资金 企业希望区里协调产业基金参股", days_ago=20),
    _m("吴敏", "签约 马寨精密制造产业基地 8亿 精密制造 四环至绕城", 0.60),
    _m("周强", "落地 马寨精密制造产业基地", 0.90),
    _m("吴敏", "谋划 新能源汽车零部件配套园 12亿 汽车", 0.70),
    # 现代商贸小分队
    _m("郑浩", "洽谈 杉杉奥特莱斯 20亿 现代商贸 @宁波 对接:杉杉商业集团 四环至绕城", 0.12),
    _m("冯雪", "签约 杉杉奥特莱斯", 0.50),
    _m("郑浩", "问题 杉杉奥特莱斯 土地 用地指标未批", 0.55),
    _m("冯雪", "谋划 胖东来二七店 3亿 现代商贸 @许昌 对接:胖东来商贸集团", 0.35),
    _m("冯雪", "洽谈 胖东来二七店", 0.78),
    _m("郑浩", "签约 宜家郑州体验店 6亿 现代商贸 @上海", days_ago=1),
    # 健康服务小分队
    _m("黄鹏", "谋划 二七区医养结合示范中心 2亿 医养", 0.22),
    _m("黄鹏", "洽谈 二七区医养结合示范中心", 0.58),
    _m("黄鹏", "谋划 华大基因中原检测中心 3亿 生物医药 @深圳 对接:华大基因", 0.66),
    _m("黄鹏", "问题 华大基因中原检测中心 规划 实验楼用途需规划确认", 0.68),
    # 智能制造小分队
    _m("林峰", "谋划 郑州智能装备研发总部 10亿 智能制造 @苏州", 0.18),
    _m("何晓", "洽谈 郑州智能装备研发总部", 0.42),
    _m("林峰", "签约 郑州智能装备研发总部", 0.72),
    _m("何晓", "落地 郑州智能装备研发总部", days_ago=1),
    _m("林峰", "谋划 新材料中试基地 300万美元 新材料 @新加坡", 0.52),
    _m("何晓", "预计 新材料中试基地 招引 2099-12", 0.53),
]


async def demo_state(bot: ZsBot) -> str:
    """'empty', 'demo' (a demo built before, with whatever was tried in it since) or 'other' (real data:
    the demo must not touch it)."""
    async with bot.sessions() as session:
        names = set(await people_queries.team_names(session))
        members = await roster_queries.member_count(session)
    if not names and not members:
        return "empty"
    return "demo" if set(DEMO_TEAMS) <= names else "other"


async def build_demo(bot: ZsBot, *, now: datetime | None = None) -> int:
    """Fill an empty database with the demo district; returns how many messages were replayed."""
    real_now = now or bot.clock()
    tz = bot.settings.tz
    local_now = real_now.astimezone(tz)
    year_start = datetime(local_now.year, 1, 1, 9, 0, tzinfo=tz).astimezone(UTC)
    elapsed = real_now - year_start
    moment = [year_start]
    admin = f"console:{DEMO_ADMIN}"
    rules = bot.rules if admin in bot.rules.admins else replace(bot.rules, admins=(*bot.rules.admins, admin))
    core = Core(settings=rules, sessions=bot.sessions, catalog=bot.catalog, clock=lambda: moment[0])

    async def send(user: str, text: str, chat: str = "") -> str:
        reply = await core.handle(Incoming(platform="console", user_id=user, display_name=user, text=text,
                                           chat_id=chat or f"console:{user}"))
        if not reply.ok:
            raise RuntimeError(f"demo message refused: {text!r}: {reply.text}")
        return reply.text

    for name, (kind, members) in DEMO_TEAMS.items():
        kind_word = {"street": "街道", "squad": "小分队", "bureau": "局"}[kind]
        text = await send(DEMO_ADMIN, f"建队 {name} {kind_word}")
        code = text.split("邀请码：")[1].split()[0]
        for member in members:
            await send(member, f"加入 {code}")
        numbers = zip(("planned", "attracting", "signed", "landed"), TEAM_TARGETS[name], strict=True)
        await send(DEMO_ADMIN, f"目标 {name} " + " ".join(f"{_zh(s)} {n}" for s, n in numbers))
    await send(DEMO_ADMIN, "目标 " + " ".join(f"{_zh(s)} {n}" for s, n in DISTRICT_TARGETS.items()))
    async with transaction(bot.sessions) as session:
        await people_queries.add_member(session, identity=f"console:{DEMO_LEADER}", name=DEMO_LEADER, now=real_now,
                                 role="leader")

    timed: list[tuple[datetime, DemoMessage]] = []
    for message in DEMO_SCRIPT:
        if message.days_ago is not None:
            at = real_now - timedelta(days=message.days_ago, hours=-1)
        else:
            at = year_start + elapsed * (message.share or 0)
        timed.append((min(at, real_now), message))
    for at, message in sorted(timed, key=lambda pair: pair[0]):
        moment[0] = at
        await send(message.user, message.text)
    moment[0] = real_now
    return len(DEMO_SCRIPT)


def _zh(stage: str) -> str:
    return {"planned": "谋划", "attracting": "招引", "signed": "签约", "landed": "落地"}[stage]


async def demo_summary(bot: ZsBot) -> str:
    """A few lines telling a newcomer what is in the demo and what to try."""
    async with bot.sessions() as session:
        teams = len(await people_queries.team_names(session))
        targets = await roster_queries.target_count(session)
    return (
        f"演示数据：郑州市二七区，{teams} 个小分队/街道，{targets} 条目标。\n"
        f"你现在是管理员（console:{DEMO_ADMIN}）。试试：排行、进度、问题清单、查 杉杉奥特莱斯、导出；\n"
        f"切换身份：:user {DEMO_LEADER}（领导），:user 张伟（德化街队员）。"
    )
