"""`zsbot run` on several cores: extra web workers sharing the port (ZSBOT_WORKERS).

One Python process answers on one core. With ZSBOT_WORKERS=N the process that `zsbot run` starts (the
primary) migrates the database, registers the Telegram webhook, runs the scheduler and serves, and then
starts N-1 secondary processes that only serve: the platforms' webhooks and callbacks and /healthz. Every
process listens on the same host and port with SO_REUSEPORT, so the kernel spreads incoming connections
over them; each has its own database pool and handles at most Core's MAX_CONCURRENT_MESSAGES at once.
Nothing that must be unique in a deployment moves: the inbox row still makes a redelivered message
store once whichever process gets it, and the scheduled posts stay in the primary.

A secondary gets the primary's settings on its standard input (one JSON line, so settings built in code
reach it too) and keeps reading it: end of file means the primary is gone, even killed with SIGKILL, and
the secondary stops. A secondary that dies is started again, after a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator

from pydantic import SecretStr

from bot.settings import Settings

log = logging.getLogger(__name__)

WORKER_FLAG = "--worker"  # `zsbot run --worker N`: a secondary (internal; started by the primary only)
STOP_GRACE = 15.0  # seconds a secondary gets to finish the requests in hand before SIGKILL
RESTART_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)  # before each restart in a row of quick deaths
STABLE_AFTER = 60.0  # seconds a secondary must have run for its next death to count as the first


def settings_line(settings: Settings) -> bytes:
    """The settings as the one JSON line a secondary reads first."""
    data = settings.model_dump(mode="json")
    # SecretStr fields dump as "**********": the secondary needs the values themselves.
    data.update({name: value.get_secret_value() for name, value in settings if isinstance(value, SecretStr)})
    return json.dumps(data, ensure_ascii=False).encode() + b"\n"


def settings_from_line(line: bytes) -> Settings:
    """The primary's settings, exactly (neither the environment nor a .env file can change them)."""
    data = json.loads(line)
    return Settings(_env_file=None, **data)  # type: ignore[call-arg]  # pydantic-settings' init argument


async def primary_gone(reader: asyncio.StreamReader) -> None:
    """Returns when the primary closes our standard input or dies."""
    while await reader.read(4096):
        pass


async def stdin_reader() -> asyncio.StreamReader:
    """Standard input as an asyncio stream (a secondary's line to its primary)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    return reader


class _Secondary:
    """One secondary process, restarted when it dies until the primary stops."""

    def __init__(self, index: int, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self._stopped = asyncio.Event()
        self.restarts = 0

    async def _start(self) -> asyncio.subprocess.Process:
        # A session of its own: a Ctrl-C at the terminal reaches the primary alone, which then stops its
        # workers in order instead of seeing them exit and starting them again.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", WORKER_FLAG, str(self.index), stdin=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdin is not None
        process.stdin.write(settings_line(self.settings))
        await process.stdin.drain()
        return process

    async def keep_running(self) -> None:
        """Start the process and start it again whenever it exits, until `stop`."""
        while not self._stopped.is_set():
            self.process = await self._start()
            log.info("worker %s started (pid %s)", self.index, self.process.pid)
            if self._stopped.is_set():  # stopped while it was starting
                await self.stop()
                return
            started = time.monotonic()
            code = await self.process.wait()
            if self._stopped.is_set():
                return
            if time.monotonic() - started > STABLE_AFTER:  # a crash after a good run starts the pauses over
                self.restarts = 0
            pause = RESTART_PAUSES[min(self.restarts, len(RESTART_PAUSES) - 1)]
            self.restarts += 1
            # Exit code 0 is a worker told to stop on its own (a service manager signalling every process
            # of the unit); the primary's own stop usually follows within the pause.
            log.log(logging.WARNING if code == 0 else logging.ERROR,
                    "worker %s exited with %s; starting it again in %.0f s", self.index, code, pause)
            with contextlib.suppress(TimeoutError):  # a stop during the pause ends it early
                await asyncio.wait_for(self._stopped.wait(), pause)

    async def stop(self) -> None:
        """Close its standard input (it finishes what it holds and exits); SIGKILL after STOP_GRACE."""
        self._stopped.set()
        process = self.process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            log.error("worker %s did not stop within %.0f s; killing it", self.index, STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def secondaries(settings: Settings) -> AsyncIterator[list[_Secondary]]:
    """Run ZSBOT_WORKERS - 1 secondaries for the block (none when it is 1)."""
    workers = [_Secondary(index, settings) for index in range(1, settings.workers)]
    tasks = [asyncio.create_task(worker.keep_running()) for worker in workers]
    try:
        yield workers
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))
        # A task sleeping before a restart ends here; one caught starting stops its process itself.
        await asyncio.gather(*tasks, return_exceptions=True)
