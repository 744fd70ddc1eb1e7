"""Shared helpers of the reliability suite (issue 7): the bot as a subprocess, a TCP proxy that can cut
PostgreSQL connections, database row counts, and a squad seeded through the real core.

Everything is loopback-only and bounded: every wait has a timeout, and subprocesses are killed by the
callers' finally blocks (`BotProcess.kill`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from bot.app import ZsBot
from bot.runner import WECOM_ADAPTER_KEY, build_web_app
from bot.settings import Settings
from bot.telegram_adapter import WEBHOOK_PATH
from bot.wecom_crypto import WeComCrypto
from storage.db import create_engine, session_factory
from storage.models import Event, Identity, InboundMessage, Member, PendingChoice, Problem, Project, Team
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi
from tests.helpers import ADMIN, DISTRICT_TZ, Chat, MovableClock, make_core

REPO_ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "reliability-secret_1"
INTERNAL_ERROR_MARK = "系统出错"  # Core.handle's answer when a handler raised (a crash in disguise)

# Tables whose row counts say whether a message stored anything.
WATCHED_TABLES = (Event, Member, Identity, InboundMessage, Project, Problem, Team, PendingChoice)


def free_port() -> int:
    """A TCP port that was free a moment ago (bound to port 0, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the database -----------------------------------------------------------------------------------

async def events_per_message(url: str, platform: str = "telegram") -> Counter[str]:
    """How many events each platform message id produced."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(Event.source_message_id, func.count())  # type: ignore[call-overload]
                .where(Event.source_platform == platform).group_by(Event.source_message_id)
            )).all()
    finally:
        await engine.dispose()
    return Counter({message_id: int(count) for message_id, count in rows})


async def inbox_ids(url: str, platform: str = "telegram") -> set[str]:
    """Message ids in the inbox (handled and committed)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(InboundMessage.message_id).where(InboundMessage.platform == platform))).all()
    finally:
        await engine.dispose()
    return {row[0] for row in rows}


def all_tables() -> list[str]:
    """Every table of the schema, in dependency order."""
    return [table.name for table in SQLModel.metadata.sorted_tables]


def with_host_port(url: str, host: str, port: int) -> str:
    """The same database URL reaching the server at host:port (e.g. through a proxy)."""
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


# --- a squad seeded through the core ------------------------------------------------------------------

# Names far enough apart that the fuzzy matcher never asks "which one did you mean?".
PROJECT_NAMES = ("仲景医药健康产业园", "杉杉奥特莱斯", "华润万象城二期", "比亚迪体验中心", "国际汽车产业园",
                 "宇通新能源基地", "郑州航空物流港", "中原科技城总部")


@dataclass
class Squad:
    """A squad with Telegram members and projects, created through `Core.handle` like real messages."""

    code: str
    members: list[int]
    projects: list[int] = field(default_factory=list)


async def seed_squad(url: str, members: Iterable[int], *, projects: int = 0, team: str = "一队",
                     platform: str = "telegram") -> Squad:
    """Create squad `team` as the console admin, join `members` on `platform`, have the first create
    `projects` projects (from PROJECT_NAMES, in 招引). Returns their ids."""
    engine = create_engine(url)
    try:
        chat = Chat(make_core(session_factory(engine, tz=DISTRICT_TZ), MovableClock()), MovableClock())
        reply = await chat.ok(ADMIN, f"建队 {team}")
        code = reply.text.split("邀请码：")[1].split()[0]
        ids = list(members)
        for user in ids:
            await chat.ok(str(user), f"加入 {code}", platform=platform)
        squad = Squad(code, ids)
        for name in PROJECT_NAMES[:projects]:
            created = await chat.ok(str(ids[0]), f"招引 {name}", platform=platform)
            squad.projects.append(int(created.text.split("#")[1].split()[0]))
        return squad
    finally:
        await engine.dispose()


# --- the bot as a subprocess ----------------------------------------------------------------------------

def bot_env(*, database_url: str, port: int, telegram_url: str, telegram_token: str, files_dir: Path,
            admins: str = "console:admin", extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of `python -m bot.cli run` in Telegram webhook mode (no other ZSBOT_* leaks in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZSBOT_")}
    env.update({
        "ZSBOT_DATABASE_URL": database_url,
        "ZSBOT_HOST": "127.0.0.1",
        "ZSBOT_PORT": str(port),
        "ZSBOT_ADMINS": admins,
        "ZSBOT_TELEGRAM_TOKEN": telegram_token,
        "ZSBOT_TELEGRAM_API_URL": telegram_url,
        "ZSBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "ZSBOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ZSBOT_FILES_DIR": str(files_dir),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


class BotProcess:
    """`python -m bot.cli <args>` in a subprocess whose output goes to a log file (shown on failure)."""

    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ("run",)) -> None:
        self.env = env
        self.log_path = log_path
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> BotProcess:
        """Launch it (from the repository root, so the packages import without installing)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *self.args], cwd=REPO_ROOT, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    @property
    def base_url(self) -> str:
        """Where the web server listens."""
        return f"http://127.0.0.1:{self.env['ZSBOT_PORT']}"

    def log(self) -> str:
        """What the process printed so far (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    async def wait_ready(self, ready: Callable[[], bool] = lambda: True, within: float = 30.0) -> None:
        """Wait until /healthz answers 200 and `ready()` holds (e.g. setWebhook was called)."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(f"{self.base_url}/healthz") as response:
                        if response.status == 200 and ready():
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the bot was not ready within {within}s:\n{self.log()}")
                await asyncio.sleep(0.05)

    async def wait_exit(self, within: float = 60.0) -> int:
        """Wait for a one-shot command to finish; returns its exit code."""
        assert self.process is not None
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.args} did not finish within {within}s:\n{self.log()}")
            await asyncio.sleep(0.05)
        self._close_log()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL (no cleanup runs in the bot: the crash the suite is about) and reap it."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


# --- posting updates the way Telegram does ----------------------------------------------------------------

async def gather_limited(jobs: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run the jobs concurrently, at most `limit` at a time, in order of results."""
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


# --- a TCP proxy that can imitate a database server restart -------------------------------------------------

class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; `cut()` imitates the server restarting.

    A restart, seen from the client, is every open connection closed at once and, for a moment, new
    connections refused. Stopping the machine's shared PostgreSQL would break other tests running
    against it, so the suite cuts the connections here instead. asyncio streams are enough for a
    byte-pump; no proxy library is needed for two copy loops per connection.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.connections_made = 0
        self.connections_refused = 0
        self._server: asyncio.base_events.Server | None = None
        self._refuse_until = 0.0
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        self._close_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def open_connections(self) -> int:
        """Client connections currently forwarded."""
        return sum(1 for writer in self._open if not writer.is_closing()) // 2

    def cut(self, refuse_for: float = 1.0) -> None:
        """Close every forwarded connection now and refuse new ones for `refuse_for` seconds."""
        self._refuse_until = time.monotonic() + refuse_for
        self._close_all()

    def _close_all(self) -> None:
        for writer in list(self._open):
            transport = writer.transport
            # abort(): an RST, not a polite FIN: the way a killed server's sockets look to the client.
            with contextlib.suppress(Exception):
                transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._refuse_until:
            self.connections_refused += 1
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections_made += 1
        self._open.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(sink)
            with contextlib.suppress(Exception):
                sink.close()


def settings_for(url: str, **overrides: Any) -> Settings:
    """Settings for an in-process bot, reading no .env file."""
    return Settings(_env_file=None, database_url=url, admins=[f"console:{ADMIN}"], **overrides)  # type: ignore[call-arg]


class ErrorLog(logging.Handler):
    """Collects ERROR records while installed: the core and adapters log, rather than raise, what they
    survive (a handler crash becomes a polite refusal), so a clean log is what "no crash" means."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def summary(self) -> str:
        """The collected errors, one line each with the exception type (for assertion messages)."""
        lines = []
        for record in self.records[:10]:
            error = record.exc_info[1] if record.exc_info else None
            kind = f"{type(error).__name__}: {str(error)[:300]}" if error is not None else ""
            lines.append(f"{record.name}: {record.getMessage()[:200]} {kind}")
        return "\n".join(lines)


def counts_statement() -> Any:
    """One SELECT returning the row count of every watched table (cheap enough to run per message)."""
    return select(*(select(func.count()).select_from(model).scalar_subquery().label(model.__tablename__)  # type: ignore[attr-defined]
                    for model in WATCHED_TABLES))


# --- the web app in-process, against both platform fakes -------------------------------------------------

WECOM_TOKEN = "cb-token-Qx7"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
CRYPTO = WeComCrypto(WECOM_TOKEN, AES_KEY, CORP_ID)  # the app's own: what WeCom signs and encrypts with


class PlatformRig:
    """`zsbot run`'s web app in-process (Telegram webhook + WeCom callback) against both fakes, on a
    private event loop that Hypothesis examples step through (the server runs while an example awaits)."""

    def __init__(self, url: str, members: tuple[int, ...] = (501,)) -> None:
        self.url = url
        self.runner = asyncio.Runner()
        self.runner.run(self._start(members))

    async def _start(self, members: tuple[int, ...]) -> None:
        self.squad = await seed_squad(self.url, members, projects=2)
        self.telegram = await FakeBotApi().__aenter__()
        self.wecom = await FakeWeComApi().__aenter__()
        settings = settings_for(
            self.url, host="127.0.0.1", port=0, telegram_token=self.telegram.token,
            telegram_api_url=self.telegram.url, telegram_webhook_url="https://bot.example.invalid/telegram/webhook",
            telegram_webhook_secret=WEBHOOK_SECRET, wecom_corp_id=CORP_ID, wecom_agent_id=str(AGENT_ID),
            wecom_secret=SECRET, wecom_token=WECOM_TOKEN, wecom_aes_key=AES_KEY, wecom_api_url=self.wecom.url,
        )
        self.bot = await ZsBot(settings, clock=MovableClock()).__aenter__()
        # lingering_time=0: after refusing a huge body, aiohttp would otherwise keep reading it for up to
        # 10 s and hold the shutdown that long; production keeps the default.
        self.app_runner = web.AppRunner(build_web_app(self.bot, start_scheduler=False), access_log=None,
                                        lingering_time=0)
        await self.app_runner.setup()
        site = web.TCPSite(self.app_runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self.app_runner.addresses[0][1]}"
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))

    def close(self) -> None:
        """Stop the app, the bot and the fakes."""

        async def stop() -> None:
            await self.http.close()
            await self.app_runner.cleanup()
            await self.bot.__aexit__(None, None, None)
            await self.wecom.__aexit__()
            await self.telegram.__aexit__()

        self.runner.run(stop())
        self.runner.close()

    def counts(self) -> tuple[int, ...]:
        """Row counts of the watched tables."""

        async def read() -> tuple[int, ...]:
            async with self.bot.engine.connect() as connection:
                return tuple((await connection.execute(counts_statement())).one())

        return self.runner.run(read())

    def post(self, path: str, body: bytes, *, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> int:
        """POST raw bytes to the app; the HTTP status. A Bot API method in a webhook's answer is run by
        the fake Bot API, as Telegram runs it, so the fake checks what the bot answered with."""

        async def send() -> int:
            async with self.http.post(self.base + path, data=body, params=params, headers=headers) as response:
                answer = await response.json() if response.content_type == "application/json" else None
                status = response.status
            if status == 200 and isinstance(answer, dict) and "method" in answer:
                await self.telegram._run_answer(answer)
            return status

        return self.runner.run(send())

    def get(self, path: str, params: dict[str, str]) -> int:
        """GET from the app; the HTTP status."""

        async def send() -> int:
            async with self.http.get(self.base + path, params=params) as response:
                await response.read()
                return response.status

        return self.runner.run(send())

    def post_update(self, raw: bytes) -> int:
        """A webhook POST carrying the right secret."""
        return self.post(WEBHOOK_PATH, raw, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                                                     "Content-Type": "application/json"})

    def settle(self) -> None:
        """Wait until the WeCom replies sent in the background are out."""

        async def idle() -> None:
            adapter = self.app_runner.app[WECOM_ADAPTER_KEY]
            await asyncio.wait_for(adapter.aclose(), 20)

        self.runner.run(idle())

    def project_name(self, project_id: int) -> str:
        """A project's stored name."""

        async def read() -> str:
            async with self.bot.engine.connect() as connection:
                name = await connection.scalar(select(Project.name).where(Project.id == project_id))
                return str(name)

        return self.runner.run(read())

    def healthy(self) -> bool:
        """The health check answers 200."""

        async def ask() -> bool:
            async with self.http.get(self.base + "/healthz") as response:
                return response.status == 200

        return self.runner.run(ask())


_UPDATE_IDS = iter(range(10**6, 10**9))


def telegram_update(user: int, text: str, group: bool, *, first_name: str = "陌",
                     last_name: str | None = "生人") -> dict[str, Any]:
    """A text message update (fresh update and message ids) from `user` in a private chat or a group."""
    chat = {"id": -100_000 - user, "type": "supergroup", "title": "群"} if group else \
        {"id": user, "type": "private", "first_name": "陌"}
    sender: dict[str, Any] = {"id": user, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        sender["last_name"] = last_name
    number = next(_UPDATE_IDS)
    return {"update_id": number, "message": {
        "message_id": number, "date": 1_700_000_000, "chat": chat, "text": text, "from": sender}}


def encrypt_bytes(message: bytes, receive_id: bytes = CORP_ID.encode()) -> str:
    """WeCom's framing around arbitrary bytes (the crypto module only encrypts text): for inner
    messages that are not UTF-8 or carry a wrong receive id."""
    key = base64.b64decode(AES_KEY + "=")
    framed = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id
    padder = padding.PKCS7(256).padder()
    padded = padder.update(framed) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


@dataclass
class Delivery:
    """What became of one webhook POST: the HTTP status (None: no answer, the bot was down or died
    mid-request) and the text of the Bot API method answered with, if any."""

    status: int | None
    text: str | None = None


async def deliver(http: aiohttp.ClientSession, webhook: str, update: dict[str, Any], telegram: FakeBotApi) -> Delivery:
    """POST an update the way Telegram does (secret header, JSON) and, as Telegram does, run the Bot API
    method of the answer on the fake API; a connection failure is a Delivery with no status."""
    try:
        async with http.post(webhook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as r:
            answer = await r.json() if r.status == 200 and r.content_type == "application/json" else None
            status = r.status
    except (aiohttp.ClientError, OSError, TimeoutError):
        return Delivery(None)
    if isinstance(answer, dict) and "method" in answer:
        await telegram._run_answer(answer)
        return Delivery(status, str(answer.get("text", "")))
    return Delivery(status)


def message_key(update: dict[str, Any]) -> str:
    """The id the Telegram adapter stores a message under (Event.source_message_id, the inbox)."""
    message = update["message"]
    return f"{message['chat']['id']}:{message['message_id']}"
