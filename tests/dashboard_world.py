"""A small district for the dashboard tests: a running ZsBot with the dashboard on, three squads with
targets, projects in every pool, problems (one with markup in its text), an expected date slipped three
times, and 30 days of rank snapshots; people of every role talking to it through the console."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from bot.app import ZsBot
from bot.settings import Settings
from jobs.posts import save_today_snapshot
from storage.db import transaction
from tests.helpers import ADMIN, Chat, MovableClock, squad_with_members

SECRET = "test-dash-secret-0123456789"
LEADER = "领导"
MARKUP_PROBLEM = "<script>alert('x')</script> 缺少用地指标 & 规划"


@dataclass
class DashWorld:
    """The bot, the chat and the squad ids."""

    bot: ZsBot
    chat: Chat
    clock: MovableClock
    teams: dict[str, int]

    async def link(self, user: str) -> str:
        """The path and query of the link `看板` gives `user` (private chat)."""
        reply = await self.chat.ok(user, "看板")
        url = re.search(r"https?://\S+", reply.text)
        assert url, reply.text
        parts = urlsplit(url.group(0))
        return f"{parts.path}?{parts.query}"

    async def text(self, user: str, message: str) -> str:
        """A chat report's text."""
        return (await self.chat.ok(user, message)).text


def settings_for(db_url: str, public_url: str = "http://127.0.0.1:8080", **overrides: object) -> Settings:
    """Settings with the dashboard on, the console admin and the leader."""
    values: dict[str, object] = {
        "database_url": db_url, "admins": [f"console:{ADMIN}"], "leaders": [f"console:{LEADER}"],
        "dash_secret": SECRET, "public_url": public_url, "files_dir": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@asynccontextmanager
async def dash_world(db_url: str, clock: MovableClock, **overrides: object) -> AsyncIterator[DashWorld]:
    """The district, built through the chat as people would, on a started bot."""
    bot = ZsBot(settings_for(db_url, **overrides), clock=clock)
    await bot.start()
    try:
        chat = Chat(bot.core, clock)
        start = clock.now
        clock.now = start - timedelta(days=31)
        await squad_with_members(chat, "甲队", "队员甲", "队长甲")
        await squad_with_members(chat, "乙队", "队员乙")
        await squad_with_members(chat, "丙队", "队员丙")
        await chat.ok(ADMIN, "设为队长 队长甲")
        await chat.ok(ADMIN, "1")
        await chat.ok(LEADER, "目标 签约 12 落地 6 谋划 30 招引 20")
        for team in ("甲队", "乙队", "丙队"):
            await chat.ok(LEADER, f"目标 {team} 签约 4 落地 2 谋划 10")
        # A month of reports, with a rank snapshot at the end of each day (the daily job's own function).
        plan = [("队员甲", "谋划 华润万象城二期 5亿"), ("队员乙", "谋划 杉杉奥特莱斯 3亿"),
                ("队员甲", "招引 比亚迪体验中心 2亿"), ("队员丙", "谋划 仲景医药产业园 8亿"),
                ("队员乙", "签约 国际汽车产业园 12亿"), ("队员甲", "签约 宁德时代基地 20亿"),
                ("队员丙", "招引 京东物流园 1亿"), ("队员乙", "谋划 胖东来商场"),
                ("队员甲", "落地 宇通客车配套 3亿"), ("队员丙", "签约 顺丰速运中心 4亿")]
        for day in range(31):
            clock.now = start - timedelta(days=30 - day, hours=-1)
            if day < len(plan) * 3 and day % 3 == 0:
                user, text = plan[day // 3]
                await chat.ok(user, text)
            async with transaction(bot.sessions) as session:
                await save_today_snapshot(session, settings=bot.rules, now=clock.now)
        clock.now = start - timedelta(days=1)  # yesterday: the movers
        await chat.ok("队员乙", "落地 国际汽车产业园")
        await chat.ok("队员丙", "签约 仲景医药产业园")
        await chat.ok("队员甲", "问题 华润万象城二期 土地 " + MARKUP_PROBLEM)
        clock.now = start - timedelta(days=20)
        await chat.ok("队员乙", "问题 杉杉奥特莱斯 资金 配套资金未落实")
        clock.now = start
        for month in ("2027-01", "2027-02", "2027-03", "2027-04"):
            await chat.ok("队员甲", f"预计 比亚迪体验中心 签约 {month}")
        names = {"甲队": 0, "乙队": 0, "丙队": 0}
        async with bot.sessions() as session:
            from storage import report_queries as rq

            for team_id, name in (await rq.team_names(session)).items():
                names[name] = team_id
        yield DashWorld(bot, chat, clock, names)
    finally:
        await bot.stop()
