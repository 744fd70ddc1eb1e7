"""Ingest benchmark: end-to-end updates per second and latency over real loopback HTTP.

    python -m bench.ingest [--backend sqlite|postgres|both] [--quick] [--rate 100] [--seconds 20]
                           [--workers 40] [--rounds 3]

Three processes: the fake Bot API (bench.fake_api), the bot (`python -m bot.cli run` in webhook mode on
a copy of a generated 20-squad district) and this load generator, which plays Telegram: it POSTs
updates to /telegram/webhook with the secret header from many squad members (签约 <new project> 2亿,
进展 #N <note>, 查 #N) and measures each update from the moment it was due to the moment its answer
arrived: a sendMessage at the fake API, or a Bot API method in the webhook answer's body (which the
load generator then replays to the fake, as Telegram would execute it).

Two loads: open loop at a fixed rate (default 100 updates a second for 20 s; latency p50/p99), and closed
loop with `workers` concurrent senders (like Telegram's 40 webhook connections), each waiting for its
answer before the next (maximum throughput). The baseline is a bare PTB echo bot (bench.echo_bot) on
the same fake API and the same load, measured in the same run; the ratio is the bot's throughput over
the echo bot's. The bot is measured as one process and, with `--bot-workers N` (default one per core),
as `zsbot run` with ZSBOT_WORKERS=N; its CPU is that of all its processes, and the share of the whole
machine's CPU in use shows when the machine, not the bot, is the limit. Each is run `rounds` times,
alternating, and the median taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import common
from bench.datagen import Spec, ensure, roster

GOAL_P99_MS = 50.0
REPLY_TIMEOUT = 15.0
NEW_NAMES = ("宁德新能源电池", "杉杉奥特莱斯", "比亚迪整车", "京东方显示", "药明康德研发", "华为鲲鹏", "顺丰物流枢纽",
             "盒马鲜生", "蔚来汽车", "中芯国际", "隆基光伏", "美团配送", "迈瑞医疗", "安踏体育")
NOTES = ("与企业高层面谈，对方有意向", "企业来访考察", "合同条款谈判中", "对接规划部门", "企业补充材料")


# -- processes -------------------------------------------------------------------------------------

@dataclass
class Fake:
    """The fake Bot API process and its URLs."""

    child: common.Child
    url: str
    stats_url: str

    async def stats(self) -> dict[str, Any]:
        """The fake's counters (bench.fake_api /stats)."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.stats_url}/stats") as response:
            result: dict[str, Any] = await response.json()
            return result


@contextlib.asynccontextmanager
async def fake_api(*, limits: bool = False, light: bool = False, name: str = "fake_api") -> AsyncIterator[Fake]:
    """Start bench.fake_api in a child process for the block."""
    port = common.free_port()
    args = ["-m", "bench.fake_api", "--stats-port", str(port)]
    args += ["--limits"] if limits else []
    args += ["--light"] if light else []
    child = common.spawn(name, args)
    try:
        stats_url = f"http://127.0.0.1:{port}"
        await common.wait_http(f"{stats_url}/info", child)
        async with aiohttp.ClientSession() as http, http.get(f"{stats_url}/info") as response:
            url = (await response.json())["url"]
        yield Fake(child, url, stats_url)
    finally:
        await asyncio.to_thread(child.stop)


def zsbot_env(database_url: str, fake_url: str, port: int, **extra: str) -> dict[str, str]:
    """The ZSBOT_* environment of `zsbot run` in webhook mode against the fake API."""
    env = {
        "ZSBOT_DATABASE_URL": database_url,
        "ZSBOT_HOST": "127.0.0.1",
        "ZSBOT_PORT": str(port),
        "ZSBOT_TELEGRAM_TOKEN": common.BOT_TOKEN,
        "ZSBOT_TELEGRAM_API_URL": fake_url,
        "ZSBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "ZSBOT_TELEGRAM_WEBHOOK_SECRET": common.WEBHOOK_SECRET,
        "ZSBOT_FILES_DIR": str(common.OUT / "files"),
    }
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def zsbot(database_url: str, fake_url: str, *, name: str = "zsbot", profile: bool = False,
                **extra: str) -> AsyncIterator[tuple[common.Child, str]]:
    """`python -m bot.cli run` for the block; yields the child and its webhook URL.

    With `profile`, the bot runs under pyinstrument (installed separately: the benches do not need it)
    and its profile is written to bench/out/<name>_profile.txt when it stops.
    """
    port = common.free_port()
    args = ["-m", "bot.cli", "run"]
    if profile:
        args = ["-m", "pyinstrument", "-r", "text", "-o", str(common.OUT / f"{name}_profile.txt"), *args]
    child = common.spawn(name, args, zsbot_env(database_url, fake_url, port, **extra))
    try:
        await common.wait_http(f"http://127.0.0.1:{port}/healthz", child, within=120)
        await _all_workers_up(f"http://127.0.0.1:{port}/healthz", int(extra.get("ZSBOT_WORKERS", "1")))
        yield child, f"http://127.0.0.1:{port}/telegram/webhook"
    finally:
        # Under pyinstrument the bot writes its profile after it stops, which takes longer than the 10 s
        # a plain bot gets before SIGKILL (the profile file was left empty).
        await asyncio.to_thread(child.stop, 120.0 if profile else 10.0)


async def _all_workers_up(healthz: str, workers: int, within: float = 60.0) -> None:
    """Wait until every worker of `zsbot run` (ZSBOT_WORKERS) has answered /healthz."""
    seen: set[int] = set()
    deadline = time.monotonic() + within
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {sorted(seen)} of {workers} answered")
        # Fresh connections: the kernel spreads connections, not requests, over the workers.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            for _ in range(10):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(healthz) as response:
                        seen.add((await response.json())["worker"])
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def echo_bot(fake_url: str) -> AsyncIterator[tuple[common.Child, str]]:
    """The baseline echo bot for the block; yields the child and its webhook URL."""
    port = common.free_port()
    child = common.spawn("echo_bot", ["-m", "bench.echo_bot", "--port", str(port), "--api-url", fake_url])
    try:
        await common.wait_http(f"http://127.0.0.1:{port}/healthz", child)
        yield child, f"http://127.0.0.1:{port}/telegram/webhook"
    finally:
        await asyncio.to_thread(child.stop)


def machine_ticks() -> tuple[int, int]:
    """The machine's (total, idle) CPU ticks so far (/proc/stat)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


def busy_since(start: tuple[int, int]) -> float:
    """The share of the machine's CPU in use since `start` (machine_ticks)."""
    total, idle = machine_ticks()
    elapsed = total - start[0]
    return 1 - (idle - start[1]) / elapsed if elapsed else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its live children (the bot's workers) have used (/proc)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(entry) == pid or int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# -- the load ----------------------------------------------------------------------------------------

class Traffic:
    """Realistic updates from squad members in their private chats with the bot."""

    def __init__(self, users: Sequence[tuple[int, int]], projects: dict[int, list[int]], seed: int = 11) -> None:
        self.users = [u for u in users if projects.get(u[1])]
        self.projects = projects
        self.rng = random.Random(seed)
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)
        self.names = itertools.count(1)
        self.free: deque[int] = deque(uid for uid, _ in self.users)
        self.team_of = dict(self.users)

    def text(self, uid: int) -> str:
        """One message: a new signing, a progress note or a project look-up."""
        team = self.team_of[uid]
        roll = self.rng.random()
        if roll < 0.3:
            return f"签约 {self.rng.choice(NEW_NAMES)}{next(self.names)}期 2亿"
        project = self.rng.choice(self.projects[team])
        if roll < 0.7:
            return f"进展 #{project} {self.rng.choice(NOTES)}"
        return f"查 #{project}"

    def update(self, uid: int, text: str) -> dict[str, Any]:
        """A Telegram Update with a private-chat message."""
        user = {"id": uid, "is_bot": False, "first_name": "队员", "last_name": str(uid)}
        return {
            "update_id": next(self.update_ids),
            "message": {"message_id": next(self.message_ids), "date": int(time.time()),
                        "chat": {"id": uid, "type": "private", "first_name": "队员"}, "from": user, "text": text},
        }

    def take_user(self) -> int | None:
        """A member with no update in flight (answers are matched per chat, oldest first)."""
        return self.free.popleft() if self.free else None

    def give_back(self, uid: int) -> None:
        """The member's update was answered: they may send again."""
        self.free.append(uid)


@dataclass
class Outcome:
    """What one load run measured."""

    sent: int = 0
    answered: int = 0
    lost: int = 0
    errors: int = 0
    in_body: int = 0
    latencies: list[float] = field(default_factory=list)  # ms
    seconds: float = 0.0
    cpu: float = 0.0  # the bot's CPU seconds during the run (all its processes)
    busy: float = 0.0  # the share of the whole machine's CPU in use during the run (every process)

    @property
    def throughput(self) -> float:
        """Answers per second."""
        return self.answered / self.seconds if self.seconds else 0.0


class LoadGen:
    """Plays Telegram: posts updates, learns when each was answered (stream or webhook body)."""

    def __init__(self, webhook: str, fake: Fake, traffic: Traffic, *, connections: int = 40) -> None:
        self.webhook = webhook
        self.fake = fake
        self.traffic = traffic
        self.connections = connections
        self.waiting: dict[str, deque[asyncio.Future[float]]] = {}
        self.replays: set[asyncio.Task[None]] = set()
        self.replay_errors = 0

    async def __aenter__(self) -> LoadGen:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.connections))
        self.side = aiohttp.ClientSession()
        self.stream = await self.side.get(f"{self.fake.stats_url}/stream", timeout=aiohttp.ClientTimeout(total=None))
        self.reader = asyncio.ensure_future(self._read_stream())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*self.replays, return_exceptions=True)
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        self.stream.close()
        await self.http.close()
        await self.side.close()

    async def _read_stream(self) -> None:
        async for raw in self.stream.content:
            chat, _, at = raw.decode().strip().partition(" ")
            queue = self.waiting.get(chat)
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(float(at))
                    break

    async def one(self, uid: int, due: float, outcome: Outcome, text: str | None = None) -> None:
        """Send one update due at `due` (monotonic) and record its latency (`text`: instead of the mix)."""
        chat = str(uid)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(chat, deque()).append(future)
        update = self.traffic.update(uid, text if text is not None else self.traffic.text(uid))
        outcome.sent += 1
        try:
            headers = {"X-Telegram-Bot-Api-Secret-Token": common.WEBHOOK_SECRET}
            async with self.http.post(self.webhook, json=update, headers=headers) as response:
                body = await response.read()
                answered_at = time.monotonic()
                if response.status != 200:
                    outcome.errors += 1
                    future.cancel()
                    return
            method = _method_in(body, response.content_type)
            if method is not None:
                outcome.in_body += 1
                if not future.done():
                    future.set_result(answered_at)
                self._replay(method)
            try:
                arrived = await asyncio.wait_for(asyncio.shield(future), REPLY_TIMEOUT)
            except TimeoutError:
                outcome.lost += 1
                return
            outcome.answered += 1
            outcome.latencies.append((arrived - due) * 1000)
        except aiohttp.ClientError:
            outcome.errors += 1
        finally:
            queue = self.waiting.get(chat)
            if queue is not None and future in queue:
                queue.remove(future)
            self.traffic.give_back(uid)

    def _replay(self, method: dict[str, Any]) -> None:
        """Execute a webhook-body method at the fake, as Telegram would (checked, not timed)."""
        async def send() -> None:
            name = method.pop("method")
            url = f"{self.fake.url}/bot{common.BOT_TOKEN}/{name}?bench_via=webhook"
            async with self.side.post(url, json=method) as response:
                if response.status != 200:
                    self.replay_errors += 1

        task = asyncio.ensure_future(send())
        self.replays.add(task)
        task.add_done_callback(self.replays.discard)

    async def open_loop(self, rate: float, seconds: float, pid: int) -> Outcome:
        """Updates at a fixed rate; latency counts from when each was due (no coordinated omission)."""
        outcome = Outcome()
        tasks: list[asyncio.Task[None]] = []
        with _accounted(outcome, pid) as start:
            for index in range(int(rate * seconds)):
                due = start + index / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                uid = self.traffic.take_user()
                if uid is None:  # every member has an update in flight: the bot is far behind
                    outcome.lost += 1
                    continue
                tasks.append(asyncio.ensure_future(self.one(uid, due, outcome)))
            await asyncio.gather(*tasks)
        return outcome

    async def closed_loop(self, workers: int, seconds: float, pid: int) -> Outcome:
        """`workers` senders, each waiting for its answer before sending again, for `seconds`."""
        outcome = Outcome()

        async def worker(stop_at: float) -> None:
            while time.monotonic() < stop_at:
                uid = self.traffic.take_user()
                if uid is None:
                    await asyncio.sleep(0.001)
                    continue
                await self.one(uid, time.monotonic(), outcome)

        with _accounted(outcome, pid) as start:
            await asyncio.gather(*(worker(start + seconds) for _ in range(workers)))
        return outcome


@contextlib.contextmanager
def _accounted(outcome: Outcome, pid: int) -> Iterator[float]:
    """Time the block (yields its start, monotonic) and record its duration, the bot's CPU and the machine's."""
    cpu0, ticks, start = cpu_seconds(pid), machine_ticks(), time.monotonic()
    yield start
    outcome.seconds = time.monotonic() - start
    outcome.cpu = cpu_seconds(pid) - cpu0
    outcome.busy = busy_since(ticks)


def _method_in(body: bytes, content_type: str) -> dict[str, Any] | None:
    if content_type != "application/json" or not body:
        return None
    data = json.loads(body)
    return data if isinstance(data, dict) and "method" in data else None


# -- the benchmark -----------------------------------------------------------------------------------

@dataclass
class Settings:
    """The load's shape."""

    rate: float
    seconds: float
    workers: int
    closed_seconds: float
    rounds: int
    profile: bool = False
    bot_workers: int = 1  # also measure `zsbot run` with this many ZSBOT_WORKERS (1: only the single process)

    def targets(self) -> list[str]:
        """What each round measures: the echo bot, the bot as one process, the bot with its workers."""
        return ["echo", "zsbot"] + ([f"zsbot ×{self.bot_workers}"] if self.bot_workers > 1 else [])


async def measure(target: str, backend: str, source: str, traffic: Traffic, load: Settings) -> tuple[Outcome, Outcome]:
    """One round on one target ("echo", "zsbot" or "zsbot ×N"): warm-up, open loop, closed loop."""
    async with fake_api() as fake, contextlib.AsyncExitStack() as stack:
        if target == "echo":
            child, webhook = await stack.enter_async_context(echo_bot(fake.url))
        else:
            url = await stack.enter_async_context(
                common.scratch_copy(backend, source, f"{source}_ingest")
            )
            workers = target.partition("×")[2] or "1"
            child, webhook = await stack.enter_async_context(
                zsbot(url, fake.url, profile=load.profile, ZSBOT_WORKERS=workers)
            )
        async with LoadGen(webhook, fake, traffic, connections=load.workers) as gen:
            await gen.closed_loop(8, 1.0, child.pid)  # warm-up: connections, caches, JIT-free paths
            opened = await gen.open_loop(load.rate, load.seconds, child.pid)
            closed = await gen.closed_loop(load.workers, load.closed_seconds, child.pid)
            if gen.replay_errors:
                print(f"  ! {gen.replay_errors} webhook-body replies refused by the fake API")
        stats = await fake.stats()
        if stats["errors"]:
            print(f"  ! fake API answered errors: {stats['calls']}")
    return opened, closed


def _row(target: str, opened: Sequence[Outcome], closed: Sequence[Outcome]) -> list[Any]:
    o = _median_outcome(opened, closed_loop=False)
    c = _median_outcome(closed, closed_loop=True)
    return [
        target,
        f"{o.throughput:.1f}",
        common.percentile(o.latencies, 50), common.percentile(o.latencies, 99), max(o.latencies, default=0.0),
        o.lost + o.errors,
        f"{o.cpu / max(o.answered, 1) * 1000:.2f}",
        f"{c.throughput:.1f}",
        common.percentile(c.latencies, 50), common.percentile(c.latencies, 99),
        f"{c.busy:.0%}",
        f"{c.in_body}/{c.answered}",
    ]


def _median_outcome(outcomes: Sequence[Outcome], *, closed_loop: bool) -> Outcome:
    """The round with the median throughput (open loop: the median p99) — a real run, not a blend."""
    if closed_loop:
        ranked = sorted(outcomes, key=lambda o: o.throughput)
    else:
        ranked = sorted(outcomes, key=lambda o: (common.percentile(o.latencies, 99), -o.throughput))
    return ranked[len(ranked) // 2]


async def run(backend_choice: str, load: Settings) -> dict[str, Any]:
    """Measure the echo bot and the bot on each backend; print the table and the ratios."""
    results: dict[str, Any] = {}
    for backend in common.backends(backend_choice):
        data = await ensure(backend, Spec(20, 2_000))
        users, projects = await roster(data.url)
        targets = load.targets()
        runs: dict[str, tuple[list[Outcome], list[Outcome]]] = {target: ([], []) for target in targets}
        for round_ in range(load.rounds):
            for target in targets:
                traffic = Traffic(users, projects, seed=round_)
                opened, closed = await measure(target, backend, data.name, traffic, load)
                runs[target][0].append(opened)
                runs[target][1].append(closed)
                print(f"  round {round_ + 1} {backend} {target}: open p99 "
                      f"{common.percentile(opened.latencies, 99):.1f} ms, closed {closed.throughput:.0f}/s",
                      flush=True)
        print(f"\n== ingest on {backend}: open loop {load.rate:g}/s for {load.seconds:g} s, closed loop "
              f"{load.workers} senders for {load.closed_seconds:g} s, median of {load.rounds} rounds "
              "(CPU: the bot's processes together)")
        print(common.table(
            ["target", "open/s", "p50 ms", "p99 ms", "max ms", "lost", "CPU ms/update", "closed/s",
             "closed p50", "closed p99", "machine busy", "in webhook body"],
            [_row(t, *runs[t]) for t in targets],
        ))
        echo_closed = common.median(o.throughput for o in runs["echo"][1])
        results[backend] = {}
        for target in targets[1:]:
            bot_closed = common.median(o.throughput for o in runs[target][1])
            p99 = common.percentile(_median_outcome(runs[target][0], closed_loop=False).latencies, 99)
            ratio = bot_closed / echo_closed if echo_closed else 0.0
            print(f"{target}: ratio to echo (closed-loop throughput) {ratio:.2f} (goal ≥ 1.0: "
                  f"{'yes' if ratio >= 1 else 'NO'}); p99 at {load.rate:g}/s {p99:.1f} ms "
                  f"(goal < {GOAL_P99_MS:.0f} ms: {'yes' if p99 < GOAL_P99_MS else 'NO'})")
            results[backend][target] = {"ratio": ratio, "p99": p99, "closed": bot_closed}
    print(common.machine_line())
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.ingest`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--rate", type=float, default=100.0, help="open-loop updates per second")
        parser.add_argument("--seconds", type=float, default=20.0, help="open-loop duration")
        parser.add_argument("--workers", type=int, default=40, help="closed-loop concurrent senders")
        parser.add_argument("--closed-seconds", type=float, default=10.0)
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument("--bot-workers", type=int, default=os.cpu_count() or 1,
                            help="also measure the bot with this many ZSBOT_WORKERS (default: one per core; 1: skip)")
        parser.add_argument("--profile", action="store_true",
                            help="run the bot under pyinstrument (pip install pyinstrument): bench/out/zsbot_profile.txt")

    args = common.parse_args("end-to-end ingest: the bot against a bare PTB echo bot", argv, extra)
    if args.quick:
        load = Settings(rate=50, seconds=3, workers=16, closed_seconds=2, rounds=1, profile=args.profile,
                        bot_workers=args.bot_workers)
    else:
        load = Settings(args.rate, args.seconds, args.workers, args.closed_seconds, args.rounds, args.profile,
                        args.bot_workers)
    asyncio.run(run(args.backend, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
