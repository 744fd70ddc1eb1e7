"""The platforms as they really behave (issue 16), through the real web app and scheduler over real HTTP
against the fake Telegram and WeCom servers, on SQLite and PostgreSQL:

- a Telegram group upgraded to a supergroup (the service messages, and the 400 with migrate_to_chat_id in
  the middle of the morning fan-out) keeps its binding, settings and ledger, and is told once;
- a bot removed from a group, or a WeCom robot key revoked, pauses the binding (the admins hear it once)
  until the bot is added back or the robot bound again;
- forum topics: replies go to the topic, a binding made in a topic posts there;
- a forwarded message is never run as the forwarder's command (offered to them, after confirmation);
- `/start CODE` answers in the user's language;
- updates the bot cannot parse or use are acknowledged with one log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.jobs_cli import list_jobs
from jobs.scheduler import PAUSED
from storage.models import ChatBinding, Event, JobRun, Project
from tests.live_rig import ADMIN_TG, ADMIN_WECOM, Live, live_bot, local

# PTB 22 itself warns inside RetryAfter() that retry_after will become a timedelta in v23.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

OLD, NEW = -1001, -1001777  # a basic group, and the supergroup it becomes
MEMBER, OTHER = 501, 502


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The bot, with squad 德化街 (members 501 and 502 on Telegram) and its group bound as an admin does it."""
    async with live_bot(db_url, tmp_path) as running:
        code = await running.squad("德化街")
        for user in (MEMBER, OTHER):
            assert "欢迎" in (await running.tg_says(user, user, f"加入 {code}"))[0]
        await running.tg_says(OLD, ADMIN_TG, "绑定 德化街")
        yield running


async def bindings(live: Live) -> list[ChatBinding]:
    async with live.bot.sessions() as session:
        return list((await session.exec(select(ChatBinding).order_by(ChatBinding.id))).all())


def sent_to(live: Live, chat: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in live.tg.sent_messages(chat)]


def calls_to_chat(live: Live, chat: int) -> list[str]:
    return [c.method for c in live.tg.calls if str(c.params.get("chat_id")) == str(chat)]


# --- a group upgraded to a supergroup -------------------------------------------------------------------

async def test_a_group_upgraded_to_a_supergroup_keeps_its_binding_and_settings(live: Live) -> None:
    """The two service messages (and their redelivery): the binding moves once with its settings, the group
    is told once, `设置` in the new group finds it, and the posts go there."""
    assert "08:45" in (await live.tg_says(OLD, ADMIN_TG, "设置 排行 08:45"))[0]
    for update in [*live.tg.migration_updates(OLD, NEW, ADMIN_TG), *live.tg.migration_updates(OLD, NEW, ADMIN_TG)]:
        assert await live.telegram(update) == 200
    (binding,) = await bindings(live)
    assert binding.chat_id == str(NEW)
    assert [t for t in sent_to(live, NEW) if "本群已升级" in t] == [sent_to(live, NEW)[0]]
    assert len(sent_to(live, NEW)) == 1
    (settings,) = await live.tg_says(NEW, ADMIN_TG, "设置")
    assert "比学赶超排行：08:45" in settings or "08:45" in settings, settings
    live.clock.now = local(2026, 11, 24, 8, 45)
    outcomes = await live.scheduler.tick()
    assert [o.status for o in outcomes if o.job == "daily_rank"] == ["sent"]
    assert not [t for t in sent_to(live, OLD) if "🏆 比学赶超" in t]
    assert len([t for t in sent_to(live, NEW) if "🏆 比学赶超" in t]) == 1


async def test_a_question_asked_before_the_upgrade_is_answered_in_the_new_group(live: Live) -> None:
    """A member asked "is it #1?" in the old group answers `1` in the upgraded one: the question moved too."""
    await live.tg_says(OLD, MEMBER, "招引 网易河南区域总部")
    (asked,) = await live.tg_says(OLD, MEMBER, "网易签了")
    assert "尚未保存" in asked
    for update in live.tg.migration_updates(OLD, NEW, ADMIN_TG):
        assert await live.telegram(update) == 200
    (stored,) = await live.tg_says(NEW, MEMBER, "1")
    assert "已签约" in stored, stored


async def test_a_group_migrated_during_the_morning_fan_out_gets_its_post_once(live: Live) -> None:
    """Six groups get the 08:30 leaderboard; one was upgraded without the bot seeing the service messages, so
    its send answers 400 with migrate_to_chat_id: the binding and its ledger row follow the group, the post
    lands in the new chat once, the others are untouched, and tomorrow it goes straight to the new id."""
    groups = [-2001, -2002, -2003, -2004, -2005]
    for number, chat in enumerate(groups):
        await live.squad(f"分队{number}")
        await live.tg_says(chat, ADMIN_TG, f"绑定 分队{number}")
    live.tg.migrated_chats[str(OLD)] = NEW
    live.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await live.scheduler.tick()
    ranks = [o for o in outcomes if o.job == "daily_rank"]
    assert sorted(o.status for o in ranks) == ["sent"] * 6
    new_texts = sent_to(live, NEW)
    assert len([t for t in new_texts if "本群已升级" in t]) == 1
    assert len([t for t in new_texts if "🏆 比学赶超" in t]) == 1
    for chat in groups:
        assert len([t for t in sent_to(live, chat) if "🏆 比学赶超" in t]) == 1
    binding = next(b for b in await bindings(live) if b.team_id is not None and b.chat_id == str(NEW))
    async with live.bot.sessions() as session:
        rows = (await session.exec(select(JobRun).where(JobRun.chat_key == f"telegram:{binding.id}"))).all()
    assert [(row.job, row.state) for row in rows] == [("daily_rank", "sent")]
    # Later ticks the same morning post nothing more; the next morning goes straight to the new chat.
    live.clock.now = local(2026, 11, 24, 8, 31)
    await live.scheduler.tick()
    assert len([t for t in sent_to(live, NEW) if "🏆 比学赶超" in t]) == 1
    old_calls = len(calls_to_chat(live, OLD))
    live.clock.now = local(2026, 11, 25, 8, 30)
    await live.scheduler.tick()
    assert len(calls_to_chat(live, OLD)) == old_calls
    assert len([t for t in sent_to(live, NEW) if "🏆 比学赶超" in t]) == 2
    assert len([t for t in sent_to(live, NEW) if "本群已升级" in t]) == 1


async def test_a_new_group_bound_before_the_upgrade_was_seen_keeps_the_newer_binding(live: Live) -> None:
    """An admin bound the upgraded group to another squad before the bot saw the upgrade: that binding
    stays, the old one goes, and today's ledger row comes along so nothing is posted twice."""
    await live.squad("长江路")
    live.clock.now = local(2026, 11, 24, 8, 30)
    await live.scheduler.tick()  # the old group got today's leaderboard
    await live.tg_says(NEW, ADMIN_TG, "绑定 长江路")
    for update in live.tg.migration_updates(OLD, NEW, ADMIN_TG):
        assert await live.telegram(update) == 200
    (binding,) = await bindings(live)
    assert binding.chat_id == str(NEW)
    live.clock.now = local(2026, 11, 24, 8, 40)
    await live.scheduler.tick()
    assert [t for t in sent_to(live, NEW) if "🏆 比学赶超" in t] == []  # already posted today, as the old group


# --- a bot removed, a robot key revoked ------------------------------------------------------------------

async def test_a_bot_removed_from_a_group_pauses_its_binding_until_it_is_added_back(live: Live) -> None:
    removed = live.tg.my_chat_member_update(OLD, "member", "kicked", by_user=OTHER)
    assert await live.telegram(removed) == 200
    assert await live.telegram(live.tg.my_chat_member_update(OLD, "member", "left")) == 200  # said twice
    (binding,) = await bindings(live)
    assert binding.paused_at is not None and "踢出" in binding.paused_reason
    notices = [t for t in sent_to(live, ADMIN_TG) if "已暂停" in t]
    assert len(notices) == 1 and "德化街" in notices[0]
    live.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await live.scheduler.tick()
    assert [o for o in outcomes if o.job == "daily_rank"] == []  # nothing claimed, nothing tried
    assert calls_to_chat(live, OLD) == ["sendMessage"] * 1  # only the answer to 绑定, long ago
    assert await live.telegram(live.tg.my_chat_member_update(OLD, "left", "member", by_user=OTHER)) == 200
    (binding,) = await bindings(live)
    assert binding.paused_at is None
    assert len([t for t in sent_to(live, ADMIN_TG) if "已恢复" in t]) == 1
    live.clock.now = local(2026, 11, 25, 8, 30)
    outcomes = await live.scheduler.tick()
    assert [o.status for o in outcomes if o.job == "daily_rank"] == ["sent"]


async def test_a_kicked_bot_found_out_by_a_send_pauses_and_reports_once(live: Live) -> None:
    """No my_chat_member update arrived (the bot was down): the morning post's 403 pauses the binding, the
    admins hear it once (not the daily failure report), and no later post is tried."""
    live.tg.kicked_chats.add(str(OLD))
    live.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await live.scheduler.tick()
    assert [o.status for o in outcomes if o.job == "daily_rank"] == [PAUSED]
    for day, hour in ((24, 9), (25, 8), (25, 9), (26, 17)):
        live.clock.now = local(2026, 11, day, hour, 30)
        await live.scheduler.tick()
    assert len([c for c in calls_to_chat(live, OLD) if c == "sendMessage"]) == 2  # 绑定's answer, the 403
    notices = [t for t in sent_to(live, ADMIN_TG) if "已暂停" in t]
    assert len(notices) == 1 and "kicked" in notices[0]
    assert not [t for t in sent_to(live, ADMIN_TG) if "定时推送失败" in t]
    listing: list[str] = []
    await list_jobs(live.bot.settings, out=listing.append)
    assert "⏸ 已暂停" in "\n".join(listing) and "kicked" in "\n".join(listing)


async def test_a_revoked_robot_key_pauses_the_robot_until_it_is_bound_again(live: Live) -> None:
    await live.squad("长江路")
    key, new_key = "a1b2c3d4-dead-4bc4-97a0-0ec2aaaa5aaa", "f9e8d7c6-live-4bc4-97a0-0ec2aaaa5aaa"
    live.wecom.robot_keys.add(key)
    await live.ok("admin", f"绑定 长江路 robot:{key}")
    live.wecom.robot_keys.discard(key)  # the robot was removed from its group: 93000 from now on
    live.clock.now = local(2026, 11, 24, 8, 30)
    outcomes = await live.scheduler.tick()
    assert sorted(o.status for o in outcomes if o.job == "daily_rank") == [PAUSED, "sent"]
    await live.settle()
    wecom_notices = [c.json for c in live.wecom.calls("/cgi-bin/message/send")
                     if c.json.get("touser") == ADMIN_WECOM]
    tg_notices = [t for t in sent_to(live, ADMIN_TG) if "已暂停" in t]
    assert len(wecom_notices) == 1 and len(tg_notices) == 1
    assert key not in json.dumps(wecom_notices, ensure_ascii=False) and key not in tg_notices[0]
    robot_posts = len(live.wecom.calls("/cgi-bin/webhook/send"))
    live.clock.now = local(2026, 11, 25, 8, 30)
    await live.scheduler.tick()
    assert len(live.wecom.calls("/cgi-bin/webhook/send")) == robot_posts  # paused: not tried again
    # The admin adds a new robot: the dead binding is replaced, the posts resume there.
    live.wecom.robot_keys.add(new_key)
    await live.ok("admin", f"绑定 长江路 robot:{new_key}")
    robots = [b for b in await bindings(live) if b.platform == "wecom-robot"]
    assert [(b.chat_id, b.paused_at) for b in robots] == [(new_key, None)]
    live.clock.now = local(2026, 11, 26, 8, 30)
    outcomes = await live.scheduler.tick()
    assert sorted(o.status for o in outcomes if o.job == "daily_rank") == ["sent", "sent"]
    assert live.wecom.calls("/cgi-bin/webhook/send")[-1].query["key"] == new_key


# --- forum topics -----------------------------------------------------------------------------------------

async def test_replies_go_to_the_topic_and_a_binding_made_in_a_topic_posts_there(live: Live) -> None:
    forum = -1003000
    await live.squad("长江路")
    await live.tg_says(forum, ADMIN_TG, "绑定 长江路", topic=9)
    # A member's question in topic 5 is answered in topic 5, every part of it.
    before = len(live.tg.calls)
    assert await live.telegram(live.tg.message_update(forum, MEMBER, "/help", topic=5)) == 200
    answers = [c for c in live.tg.calls[before:] if c.method == "sendMessage"]
    assert answers and all(str(c.params.get("message_thread_id")) == "5" for c in answers)
    # The General topic (no thread) gets answers without one.
    before = len(live.tg.calls)
    await live.telegram(live.tg.message_update(forum, MEMBER, "/help"))
    assert all("message_thread_id" not in c.params for c in live.tg.calls[before:] if c.method == "sendMessage")
    live.clock.now = local(2026, 11, 24, 8, 30)
    await live.scheduler.tick()
    posts = [c for c in live.tg.calls if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(forum)
             and "🏆 比学赶超" in str(c.params.get("text", ""))]
    assert len(posts) == 1 and str(posts[0].params["message_thread_id"]) == "9"


# --- forwards ---------------------------------------------------------------------------------------------

async def test_a_forwarded_message_is_never_run_as_the_forwarders_command(live: Live) -> None:
    created = await live.ok(str(MEMBER), "招引 项目甲", platform="telegram")
    project_id = int(created.text.split("#")[1].split()[0])
    # Forwarded into the group without speaking to the bot: silence, nothing changes.
    before = len(live.tg.calls)
    assert await live.telegram(live.tg.message_update(OLD, OTHER, "放弃 项目甲 不做了", forwarded_from=MEMBER)) == 200
    assert [c for c in live.tg.calls[before:] if c.method == "sendMessage"] == []
    # Forwarded to the bot: a question, not an action; a forwarded "1" answers nothing either.
    (question,) = await live.tg_says(OTHER, OTHER, "放弃 项目甲 不做了", forwarded_from=MEMBER)
    assert "转发" in question and "尚未保存" in question
    (ignored,) = await live.tg_says(OTHER, OTHER, "1", forwarded_from=MEMBER)
    assert "转发" in ignored
    async with live.bot.sessions() as session:
        assert (await session.get(Project, project_id)).stage == "attracting"  # type: ignore[union-attr]
    # The forwarder confirms: it is stored as the forwarder's own update.
    (stored,) = await live.tg_says(OTHER, OTHER, "1")
    assert "放弃" in stored
    async with live.bot.sessions() as session:
        project = await session.get(Project, project_id)
        drop = (await session.exec(select(Event).where(Event.project_id == project_id, Event.kind == "drop"))).one()
    assert project is not None and project.stage == "dropped"
    assert drop.source_message_id.startswith(f"{OTHER}:")


# --- /start in the user's language -------------------------------------------------------------------------

async def test_the_deep_link_welcome_speaks_the_users_language(live: Live) -> None:
    code = await live.squad("五里堡")
    (chinese,) = await live.tg_says(601, 601, f"/start {code}")
    (also_chinese,) = await live.tg_says(602, 602, f"/start {code}", language_code="zh-hans")
    (english,) = await live.tg_says(603, 603, f"/start {code}", language_code="en")
    assert "欢迎" in chinese and "Welcome" not in chinese
    assert "欢迎" in also_chinese
    assert "Welcome" in english and "欢迎" not in english
    (intro,) = await live.tg_says(604, 604, "/start", language_code="ru")
    assert "招商助手" in intro and "加入" in intro


# --- updates the bot cannot parse or use --------------------------------------------------------------------

async def test_updates_that_cannot_be_parsed_or_used_are_acknowledged_with_one_line(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    odd_poll = {"id": "p1", "question": "去哪吃？"}  # a poll in a shape this PTB cannot build
    updates = [
        {"poll": odd_poll},  # an update kind the bot never asked for
        {"message_reaction": {"chat": {"id": OLD, "type": "supergroup"}, "message_id": 3}},
        {"message": {"message_id": 77, "date": 1_700_000_000, "chat": {"id": OLD, "type": "supergroup"},
                     "from": {"id": MEMBER, "is_bot": False, "first_name": "张"}, "poll": odd_poll}},
        {"my_chat_member": {"chat": {"id": OLD, "type": "supergroup"}, "date": "not a date"}},
    ]
    for number, update in enumerate(updates):
        caplog.clear()
        update["update_id"] = 90_000 + number
        assert await live.telegram(update) == 200, update
        lines = [r for r in caplog.records if r.name.startswith(("bot.", "telegram"))]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO and lines[0].exc_info is None, lines
    # A message the bot would act on, but broken, is still refused.
    broken = {"update_id": 90_100, "message": {"message_id": 78, "date": 1, "chat": {"id": OLD},
                                               "from": {"id": MEMBER}, "text": "帮助"}}
    caplog.clear()
    assert await live.telegram(broken) == 400
    assert all(r.exc_info is None for r in caplog.records)
    (binding,) = await bindings(live)
    assert binding.paused_at is None
