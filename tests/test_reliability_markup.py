"""Markup from members never becomes markup for others (issue 16): a display name, a squad name, a project
name, a note and a problem text made of Telegram HTML and WeCom markdown reach every outgoing format —
Telegram HTML, WeCom markdown (group robots, app markdown) and WeCom text (app messages) — through every
scheduled job and every notice, escaped: no link, colour, mention, heading or tag but the bot's own.

Real HTTP against both fakes, on SQLite and PostgreSQL; every payload the fakes received is checked.
"""

from __future__ import annotations

import html.parser
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobs.posts import JOBS
from jobs.scheduler import PAUSED
from tests.fakes.telegram_api import visible_text
from tests.live_rig import ADMIN_TG, ADMIN_WECOM, Live, live_bot, local

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

NAME = '[紧急通知](https://evil.example)<font color="warning">速看</font>'
TEAM = "[队](//evil.example)<font>蓝</font>**粗**"  # a squad name is one word: no space, no colon
PROJECT = "**[加急](https://evil.example)**项目`x`<b>粗</b>"
NOTE = '<a href="https://evil.example">点我</a> [看](https://evil.example) <@all>'
PROBLEM = '[协调](https://evil.example)<font color="warning">红</font><@all> `code`'
SQUAD_GROUP, LEADERS_GROUP, LOST_GROUP, REFUSING_GROUP, UPGRADED_GROUP = -1001, -1009, -1005, -1006, -1007
ROBOT, LEADERS_ROBOT = "693a91f6-7aaa-4bc4-97a0-0ec2aaaa5aaa", "8f7e6d5c-7aaa-4bc4-97a0-0ec2aaaa5aaa"
WECOM_MEMBER = "zhangwei"
_MENTION = re.compile(r"<@[A-Za-z0-9_.@-]+>$")  # what the robot messenger appends for a reminder


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def check_telegram_html(text: str) -> str:
    """Only the renderer's own tags: bold titles and tg://user mentions. Returns what a member sees."""
    parser = _Tags()
    parser.feed(text)
    for tag, attrs in parser.tags:
        assert tag == "b" or (tag == "a" and re.fullmatch(r"tg://user\?id=\d+", attrs.get("href") or "")), text
    return visible_text(text, "HTML")


def check_wecom_markdown(content: str) -> None:
    """No link, font, mention (but the appended ones), code, quote or heading from anyone's words."""
    for line in content.splitlines():
        words = _MENTION.sub("", line.rstrip()).rstrip()
        while _MENTION.search(words):
            words = _MENTION.sub("", words).rstrip()
        assert "<" not in words and ">" not in words and "](" not in words and "`" not in words, line
        assert not re.match(r"\s*#{1,6}\s", line), line
        bold = words.count("**")
        assert bold in (0, 2) and (not bold or (words.startswith("**") and words.endswith("**"))), line


def check_wecom_text(content: str) -> None:
    """No tag at all: a text message renders <a href> links."""
    assert "<" not in content and ">" not in content, content


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    async with live_bot(db_url, tmp_path, now=local(2026, 9, 1, 10, 0)) as running:
        yield running


async def test_hostile_names_and_texts_reach_every_format_and_job_escaped(live: Live) -> None:
    live.wecom.robot_keys |= {ROBOT, LEADERS_ROBOT}
    for team in ("德化街", TEAM, "五里堡", "大学路"):
        code = await live.squad(team)
        if team in ("德化街", TEAM):  # a member whose Telegram name is markup joins each of the two squads
            user = 501 if team == "德化街" else 502
            join = live.tg.message_update(user, user, f"加入 {code}")
            join["message"]["from"].update(first_name=NAME, last_name="")
            assert await live.telegram(join) == 200
        if team == TEAM:
            assert await live.wecom_says(WECOM_MEMBER, f"加入 {code}") == 200
    await live.tg_says(SQUAD_GROUP, ADMIN_TG, "绑定 德化街")
    await live.ok("admin", f"绑定 {TEAM} robot:{ROBOT}")
    await live.tg_says(LEADERS_GROUP, ADMIN_TG, "绑定 领导")
    await live.ok("admin", f"绑定 领导 robot:{LEADERS_ROBOT}")
    await live.tg_says(LOST_GROUP, ADMIN_TG, "绑定 五里堡")
    await live.tg_says(REFUSING_GROUP, ADMIN_TG, "绑定 大学路")
    await live.tg_says(UPGRADED_GROUP, ADMIN_TG, f"绑定 {TEAM}")
    # Projects, notes and problems with markup, three months back (stale, and problems to escalate).
    ids: list[int] = []
    for user, platform in (("501", "telegram"), (WECOM_MEMBER, "wecom")):
        card = await live.ok(user, f"招引 「{PROJECT}{user}」", platform=platform)
        ids.append(int(card.text.split("#")[1].split()[0]))
    for project_id in ids:
        await live.ok("501" if project_id == ids[0] else WECOM_MEMBER, f"进展 #{project_id} {NOTE}",
                      platform="telegram" if project_id == ids[0] else "wecom")
        await live.ok("501" if project_id == ids[0] else WECOM_MEMBER, f"问题 #{project_id} 土地 {PROBLEM}",
                      platform="telegram" if project_id == ids[0] else "wecom")
    # Yesterday's movers (the leaderboard's 学) and last week's (the weekly summary).
    live.clock.now = local(2026, 11, 23, 10, 0).astimezone(live.clock.now.tzinfo)
    await live.ok("501", f"签约 #{ids[0]} 2亿", platform="telegram")
    live.clock.now = local(2026, 11, 24, 17, 30).astimezone(live.clock.now.tzinfo)
    live.tg.kicked_chats.add(str(LOST_GROUP))
    live.tg.rejected_chats[str(REFUSING_GROUP)] = "Bad Request: not enough rights to send text messages to the chat"
    live.tg.migrated_chats[str(UPGRADED_GROUP)] = -1007777  # upgraded: its notice names the squad

    statuses: dict[str, list[str]] = {}
    for key in JOBS:
        outcomes = await live.scheduler.run_now(key)
        statuses[key] = sorted(o.status for o in outcomes)
        assert "sent" in statuses[key], (key, statuses[key])
    assert PAUSED in statuses["daily_rank"] and "failed" in statuses["daily_rank"]
    # Replies: the card (text) and the problem list (markdown) on WeCom's app, the same on Telegram.
    for text in (f"查 #{ids[0]}", "问题清单"):
        assert await live.wecom_says(WECOM_MEMBER, text) == 200
        await live.tg_says(502, 502, text)
    await live.settle()

    # --- every payload, by format ---
    seen_telegram = []
    for call in live.tg.calls:
        if call.method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText") and call.status == 200:
            shown = check_telegram_html(str(call.params.get("text") or call.params.get("caption") or ""))
            seen_telegram.append(shown)
    robot_posts = [c.json["markdown"]["content"] for c in live.wecom.calls("/cgi-bin/webhook/send")
                   if c.json.get("msgtype") == "markdown"]
    app_messages = [c.json for c in live.wecom.calls("/cgi-bin/message/send")]
    for content in robot_posts:
        check_wecom_markdown(content)
    for message in app_messages:
        if message["msgtype"] == "markdown":
            check_wecom_markdown(message["markdown"]["content"])
        elif message["msgtype"] == "text":
            check_wecom_text(message["text"]["content"])

    # --- and the hostile words did reach each of them, shown literally or as look-alikes ---
    everything = "\n".join(seen_telegram)
    assert NAME in everything and PROJECT in everything and TEAM in everything  # Telegram shows them as typed
    robot_text = "\n".join(robot_posts)
    assert "紧急通知" in robot_text and "速看" in robot_text and "加急" in robot_text and "协调" in robot_text
    assert re.search(r"<@zhangwei>", robot_text)  # the reminder's own mention survives
    app_text = "\n".join(str(m) for m in app_messages)
    assert "点我" in app_text and "蓝" in app_text  # the note in 查's card, the squad in the admins' notices
    admin_notices = [t for t in seen_telegram if "已暂停" in t]
    assert len(admin_notices) == 1 and "五里堡" in admin_notices[0]
    assert any(m.get("touser") == ADMIN_WECOM and m["msgtype"] == "text" for m in app_messages)
    assert any("本群已升级" in t and TEAM in t for t in seen_telegram)
    assert any("定时推送失败" in t and "大学路" in t for t in seen_telegram)
