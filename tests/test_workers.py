"""`zsbot run` with ZSBOT_WORKERS=2 (bot.workers): two processes share the port for Telegram's webhook and
WeCom's callback; the primary alone registers the webhook and runs the scheduler; every update is stored
once whichever process took it; a dead secondary is started again; a primary killed with SIGKILL takes its
secondaries down with it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from bot.runner import run_forever
from bot.settings import Settings
from bot.workers import settings_from_line, settings_line
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi, build_callback, text_message_xml
from tests.reliability_support import (
    AES_KEY,
    CRYPTO,
    WECOM_TOKEN,
    BotProcess,
    bot_env,
    deliver,
    events_per_message,
    free_port,
    gather_limited,
    message_key,
    seed_squad,
    telegram_update,
)

USERS = (601, 602, 603, 604)
UPDATES = 80
WECOM_USERS = (701, 702)
CALLBACKS = 30


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def until(condition: Callable[[], bool], within: float, what: str, bot: BotProcess) -> None:
    """Wait up to `within` seconds for `condition`."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {within}s:\n{bot.log()}")
        await asyncio.sleep(0.05)


async def workers_answering(base_url: str) -> set[int]:
    """The worker numbers /healthz reports over 40 fresh connections (the kernel spreads them)."""
    seen = set()
    for _ in range(40):
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5)) as http:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with http.get(f"{base_url}/healthz") as response:
                    if response.status == 200:
                        seen.add((await response.json())["worker"])
    return seen


async def wait_for_workers(bot: BotProcess, expected: set[int], within: float = 30.0) -> None:
    """Wait until /healthz has been answered by every worker in `expected`."""
    deadline = time.monotonic() + within
    seen: set[int] = set()
    while not expected <= seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"workers {sorted(expected - seen)} never answered:\n{bot.log()}")
        seen |= await workers_answering(bot.base_url)
        await asyncio.sleep(0.1)


def start_workers(db_url: str, telegram: FakeBotApi, tmp_path: Path, log: str,
                  wecom: FakeWeComApi | None = None) -> BotProcess:
    """`zsbot run` with two workers in Telegram webhook mode (and receiving WeCom callbacks with `wecom`)."""
    extra = {"ZSBOT_WORKERS": "2"}
    if wecom is not None:
        extra |= {"ZSBOT_WECOM_CORP_ID": CORP_ID, "ZSBOT_WECOM_AGENT_ID": str(AGENT_ID), "ZSBOT_WECOM_SECRET": SECRET,
                  "ZSBOT_WECOM_TOKEN": WECOM_TOKEN, "ZSBOT_WECOM_AES_KEY": AES_KEY, "ZSBOT_WECOM_API_URL": wecom.url}
    env = bot_env(database_url=db_url, port=free_port(), telegram_url=telegram.url, telegram_token=telegram.token,
                  files_dir=tmp_path / "files", extra=extra)
    return BotProcess(env, tmp_path / log).start()


def fresh_connection() -> aiohttp.ClientSession:
    """A client whose every request opens its own connection (the kernel spreads connections over workers)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                 timeout=aiohttp.ClientTimeout(total=20))


async def test_two_workers_share_the_port_and_store_each_update_once(db_url: str, tmp_path: Path) -> None:
    squad = await seed_squad(db_url, USERS, projects=3)
    updates = [telegram_update(USERS[i % len(USERS)], f"进展 #{squad.projects[i % 3]} 第W{i:03d}次跟进", False)
               for i in range(UPDATES)]
    await seed_squad(db_url, WECOM_USERS, team="二队", platform="wecom")
    callbacks = [build_callback(CRYPTO, text_message_xml(
        from_user=str(WECOM_USERS[i % 2]), content=f"拜访 @上海 公司:企微第{i:03d}号企业", msg_id=str(880_000 + i)))
        for i in range(CALLBACKS)]
    async with FakeBotApi() as telegram, FakeWeComApi() as wecom:
        bot = start_workers(db_url, telegram, tmp_path, "workers.log", wecom)
        children: set[int] = set()
        try:
            await bot.wait_ready(lambda: bool(telegram.webhook.get("url")))
            await wait_for_workers(bot, {0, 1})
            assert len(telegram.calls_to("setWebhook")) == 1, "only the primary registers the webhook"
            assert len(telegram.calls_to("setMyCommands")) == 1
            assert bot.process is not None
            assert len(children_of(bot.process.pid)) == 1

            webhook = f"{bot.base_url}/telegram/webhook"

            async def send(index: int) -> int | None:
                async with fresh_connection() as http:
                    return (await deliver(http, webhook, updates[index], telegram)).status

            async def call_back(index: int) -> int:
                query, body = callbacks[index]
                async with fresh_connection() as http, \
                        http.post(f"{bot.base_url}/wecom/callback", params=query, data=body) as response:
                    return response.status

            statuses = await gather_limited([lambda i=i: send(i) for i in range(UPDATES)], 8)
            statuses += await gather_limited([lambda i=i: call_back(i) for i in range(CALLBACKS)], 8)
            # Both platforms redeliver a sample: answered again, stored nothing new.
            statuses += await gather_limited([lambda i=i: send(i) for i in range(0, UPDATES, 7)], 8)
            statuses += await gather_limited([lambda i=i: call_back(i) for i in range(0, CALLBACKS, 7)], 8)
            assert statuses == [200] * len(statuses)
            stored = await events_per_message(db_url)
            assert [stored[message_key(update)] for update in updates] == [1] * UPDATES
            # WeCom is answered by API call after the 200, so its events may still be committing.
            deadline = time.monotonic() + 20
            while len(wecom_stored := await events_per_message(db_url, "wecom")) < CALLBACKS:
                assert time.monotonic() < deadline, f"{len(wecom_stored)} of {CALLBACKS} WeCom messages stored"
                await asyncio.sleep(0.1)
            assert sorted(wecom_stored.values()) == [1] * CALLBACKS
            assert len(wecom.calls("/cgi-bin/message/send")) >= CALLBACKS
            assert len(wecom.tokens_issued) == 2, "each process answers WeCom with its own access token"

            # SIGTERM to the primary stops both, gracefully.
            children |= children_of(bot.process.pid)
            bot.process.send_signal(signal.SIGTERM)
            assert await bot.wait_exit(30) == 0
            await until(lambda: not any(alive(pid) for pid in children), 20, "the secondary did not stop", bot)
        finally:
            bot.kill()
            kill_all(children)


def kill_all(pids: set[int]) -> None:
    """SIGKILL whatever of `pids` still runs (a failed test must not leave a worker holding the port)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # process handling; the backend is beside the point
async def test_a_dead_worker_is_restarted_and_a_killed_primary_takes_its_workers_down(
    db_url: str, tmp_path: Path
) -> None:
    seen: set[int] = set()
    async with FakeBotApi() as telegram:
        bot = start_workers(db_url, telegram, tmp_path, "restart.log")
        try:
            await bot.wait_ready(lambda: bool(telegram.webhook.get("url")))
            assert bot.process is not None
            primary = bot.process.pid
            await until(lambda: len(children_of(primary)) == 1, 30, "no secondary started", bot)
            (first,) = seen_now = children_of(primary)
            seen |= seen_now
            os.kill(first, signal.SIGKILL)
            await until(lambda: children_of(primary) - {first} != set(), 30, "the secondary was not restarted", bot)
            await wait_for_workers(bot, {0, 1})
            (second,) = seen_now = children_of(primary)
            seen |= seen_now

            bot.kill()  # SIGKILL: the primary runs no shutdown code
            await until(lambda: not alive(second), 20, "the secondary outlived its primary", bot)
        finally:
            bot.kill()
            kill_all(seen)


async def test_several_workers_need_a_webhook() -> None:
    settings = Settings(_env_file=None, database_url="sqlite:///unused.db", telegram_token="1:x",  # type: ignore[call-arg]
                        workers=2)
    assert await run_forever(settings) == 2


def test_a_secondary_gets_the_primarys_settings_exactly() -> None:
    settings = Settings(_env_file=None, database_url="postgresql://db/zsbot", admins=["telegram:1", "wecom:w"],  # type: ignore[call-arg]
                        stage_weights={"planned": 1.0, "attracting": 2.5, "signed": 3.0, "landed": 4.0},
                        stale_months=(1, 2, 3), workers=3, port=9000)
    os.environ["ZSBOT_PORT"] = "1"  # the environment cannot override what the primary sent
    try:
        assert settings_from_line(settings_line(settings)) == settings
    finally:
        del os.environ["ZSBOT_PORT"]
