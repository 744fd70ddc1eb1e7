"""Shared bench plumbing: backends and their databases, child processes, timing statistics, tables.

Benchmarks are scripts, not library code: they may block where noted (subprocess start-up, file copies),
but everything that talks to a database or a server is async like the bot itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BACKENDS = ("sqlite", "postgres")
PG_ENV = "ZSBOT_BENCH_POSTGRES_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BOT_TOKEN = "123456:BENCH-token"
WEBHOOK_SECRET = "bench-secret_1"


def parse_args(description: str, argv: Sequence[str] | None = None,
               extra: Any = None) -> argparse.Namespace:
    """The common command line: --backend sqlite|postgres|both, --quick, plus a benchmark's own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def backends(choice: str) -> list[str]:
    """The backends a --backend value names."""
    return list(BACKENDS) if choice == "both" else [choice]


# -- databases -------------------------------------------------------------------------------------

def pg_admin_dsn() -> str:
    """A libpq DSN of the PostgreSQL server benches create their databases on (ZSBOT_BENCH_POSTGRES_URL)."""
    url = os.environ.get(PG_ENV) or os.environ.get("ZSBOT_TEST_POSTGRES_URL") or PG_DEFAULT
    return "postgresql://" + url.split("://", 1)[1]


def pg_dsn(name: str) -> str:
    """The DSN of database `name` on the bench server."""
    return pg_admin_dsn().rsplit("/", 1)[0] + "/" + name


def sqlite_path(name: str) -> Path:
    """Where the SQLite database `name` lives (under bench/out/, gitignored)."""
    return OUT / f"{name}.sqlite"


def database_url(backend: str, name: str) -> str:
    """The SQLAlchemy URL (async drivers) of database `name` on `backend`."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{sqlite_path(name)}"
    return "postgresql+asyncpg://" + pg_dsn(name).split("://", 1)[1]


async def pg_admin(statement: str) -> None:
    """Run one statement on the bench server's admin database (CREATE/DROP DATABASE)."""
    connection = await asyncpg.connect(pg_admin_dsn())
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def pg_exists(name: str) -> bool:
    """Whether database `name` exists on the bench server."""
    connection = await asyncpg.connect(pg_admin_dsn())
    try:
        return bool(await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await connection.close()


async def drop_database(backend: str, name: str) -> None:
    """Remove database `name` (and, on SQLite, its WAL files)."""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(str(sqlite_path(name)) + suffix).unlink, missing_ok=True)
    else:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def copy_database(backend: str, source: str, target: str) -> None:
    """A private copy of a cached database (benchmarks that write never touch the cache)."""
    await drop_database(backend, target)
    if backend == "sqlite":
        await asyncio.to_thread(shutil.copyfile, sqlite_path(source), sqlite_path(target))
    else:
        await pg_admin(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


@contextlib.asynccontextmanager
async def scratch_copy(backend: str, source: str, target: str) -> AsyncIterator[str]:
    """Copy `source` to `target` for the block, then drop it; yields the copy's SQLAlchemy URL."""
    await copy_database(backend, source, target)
    try:
        yield database_url(backend, target)
    finally:
        await drop_database(backend, target)


# -- processes -------------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port free on the loopback interface right now, below the ephemeral range.

    Port 0 would hand out a port from the ephemeral range (32768–60999 on Linux), the same range every
    outgoing connection (the bot's to PostgreSQL, the load generator's) takes its source port from: in
    the moment between this check and the child's bind, one of those took it ("address already in use").
    """
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@dataclass
class Child:
    """A child process started by a bench, stopped (SIGTERM, then SIGKILL) by `stop`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate the child and wait for it (blocking, at most `timeout` seconds)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self, lines: int = 30) -> str:
        """The last lines of the child's log (for error messages)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Child:
    """Start `python args…` from the project root, its output in bench/out/<name>.log."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{name}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ZSBOT_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env, stdout=handle,
                               stderr=subprocess.STDOUT)
    handle.close()
    return Child(name, process, log)


async def wait_http(url: str, child: Child | None = None, within: float = 60.0) -> None:
    """Wait until GET `url` answers 200 (the child's log is shown if it dies first)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if child is not None and child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {within}s" + (f":\n{child.tail()}" if child else ""))


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB, from /proc/<pid>/status (VmRSS, VmHWM)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


# -- statistics and output ---------------------------------------------------------------------------

def median(values: Iterable[float]) -> float:
    """The median (0 for no values)."""
    items = list(values)
    return statistics.median(items) if items else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile `pct` (0-100) of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine_line() -> str:
    """CPU count and the load average, printed with every result (other work shares this machine)."""
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, right-aligned numbers, for terminals and the README."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(_pad(value, widths[i], right=index > 0 and _numeric(value))
                               for i, value in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def _numeric(value: str) -> bool:
    return bool(value) and (value[0].isdigit() or value[0] in "-+.") and not value.startswith("--")


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill
