"""`zsbot run` with only a Bot ID and Secret (no public URL): a squad reports by @-mentioning the bot in its
WeCom group and the morning ranking is posted there; `zsbot jobs run` posts through the running bot's
connection, or its own when none runs; a secondary worker never connects. All against the local fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import select

from bot.app import ZsBot
from bot.jobs_cli import run_job
from bot.runner import build_web_app
from bot.settings import Settings
from bot.wecom_bot import frames
from bot.wecom_bot.relay import RelayMessenger
from storage.models import Event, Project
from tests.fakes.wecom_aibot_server import BOT_ID, SECRET, FakeAiBotServer, eventually
from tests.helpers import MovableClock
from tests.test_wecom_bot_adapter import GROUP, MENTION, local


@dataclass
class Running:
    settings: Settings
    bot: ZsBot
    fake: FakeAiBotServer
    clock: MovableClock
    runner: web.AppRunner

    async def say(self, user: str, text: str, *, chat: str | None = None) -> str:
        delivery = await self.fake.deliver(self.fake.message(user, text, chat=chat))
        await eventually(lambda: self.fake.replies_to(delivery), what=f"an answer to {text}")
        return str(self.fake.replies_to(delivery)[0]["stream"]["content"])


@pytest.fixture
async def running(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with FakeAiBotServer() as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=db_url, host="127.0.0.1", port=0, admins=["wecom:admin"],
            files_dir=str(tmp_path / "files"), wecom_bot_id=BOT_ID, wecom_bot_secret=SECRET,
            wecom_bot_ws_url=fake.ws_url,
        )
        clock = MovableClock()
        async with ZsBot(settings, clock=clock) as bot:
            runner = web.AppRunner(build_web_app(bot, start_scheduler=False))
            await runner.setup()
            try:
                await eventually(lambda: fake.live, what="zsbot run subscribed")
                yield Running(settings, bot, fake, clock, runner)
            finally:
                await runner.cleanup()


async def test_a_squad_reports_by_mentioning_the_bot_and_the_morning_ranking_is_posted_in_its_group(
        running: Running) -> None:
    created = await running.say("admin", "建队 德化街")
    code = created.split("邀请码：")[1].split()[0]
    await running.say("zhangwei", f"加入 {code}")
    await running.say("lisi", f"加入 {code}")
    assert "绑定" in await running.say("admin", f"{MENTION}绑定 德化街", chat=GROUP)
    answer = await running.say("zhangwei", f"{MENTION}签约 杉杉奥特莱斯 20亿", chat=GROUP)
    assert "杉杉奥特莱斯" in answer
    async with running.bot.sessions() as session:
        project = (await session.exec(select(Project))).one()
        event = (await session.exec(select(Event))).one()
    assert project.stage == "signed" and event.source_chat == GROUP

    running.clock.now = local(2026, 11, 25, 8, 30)
    outcomes = await running.bot.scheduler().tick()
    assert [o.status for o in outcomes if o.job == "daily_rank"] == ["sent"]
    ranking = [r.body for r in running.fake.frames(frames.SEND) if r.body["chatid"] == GROUP]
    assert "比学赶超" in ranking[0]["markdown"]["content"] and "德化街" in ranking[0]["markdown"]["content"]
    assert any(body["msgtype"] == "image" for body in ranking)

    # `zsbot jobs run` beside the running bot posts through its connection: no second connection.
    assert await run_job(running.settings, "daily_remind", chat=GROUP, out=lambda _line: None) == 0
    reminders = [r for r in running.fake.frames(frames.SEND) if "报送提醒" in str(r.body)]
    assert reminders and "<@lisi>" in reminders[0].body["markdown"]["content"]
    assert len(running.fake.connections) == 1 and running.fake.subscribe_attempts == 1

    # With the bot stopped, `zsbot jobs run` connects on its own for the run.
    await running.runner.cleanup()
    await eventually(lambda: not running.fake.live)
    lines: list[str] = []
    assert await run_job(running.settings, "daily_rank", chat=GROUP, out=lines.append) == 0, lines
    assert running.fake.subscribe_attempts >= 2 and not running.fake.live
    assert len([r for r in running.fake.frames(frames.SEND) if "比学赶超" in str(r.body)]) == 2


async def test_a_secondary_worker_never_opens_the_connection(db_url: str, tmp_path: Path) -> None:
    async with FakeAiBotServer() as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=db_url, files_dir=str(tmp_path / "files"), wecom_bot_id=BOT_ID,
            wecom_bot_secret=SECRET, wecom_bot_ws_url=fake.ws_url, workers=2,
        )
        async with ZsBot(settings) as bot:
            runner = web.AppRunner(build_web_app(bot, worker=1))
            await runner.setup()
            try:
                assert "wecom-bot" not in bot.messengers
            finally:
                await runner.cleanup()
        assert fake.connections == []


async def test_a_second_zsbot_run_of_the_same_bot_on_the_host_posts_through_the_first(running: Running) -> None:
    async with ZsBot(running.settings) as other:
        runner = web.AppRunner(build_web_app(other, start_scheduler=False))
        await runner.setup()
        try:
            await asyncio.sleep(0.3)
            assert isinstance(other.messengers["wecom-bot"], RelayMessenger)
            assert len(running.fake.connections) == 1 and running.fake.live  # not taken over
        finally:
            await runner.cleanup()
