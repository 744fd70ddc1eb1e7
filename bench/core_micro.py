"""Where an update's time goes, without HTTP: Core.handle called directly, per kind of message.

    python -m bench.core_micro [--backend sqlite|postgres|both] [--quick] [--count 600]

The same messages as bench.ingest (签约 <new project>, 进展 #N, 查 #N from the members of a generated
20-squad district), one at a time on a private copy of the database; prints the mean and p99 wall time
per kind and the share of the process's CPU. Use it to iterate on handlers and queries; bench.ingest
is the end-to-end figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench import common
from bench.datagen import Spec, ensure, roster
from bench.ingest import Traffic
from bot.app import ZsBot
from bot.settings import Settings
from handlers.messages import Incoming


async def run(backend_choice: str, count: int) -> None:
    """Time `count` messages on each backend and print the table."""
    for backend in common.backends(backend_choice):
        data = await ensure(backend, Spec(20, 2_000))
        users, projects = await roster(data.url)
        async with common.scratch_copy(backend, data.name, f"{data.name}_micro") as url:
            settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
            traffic = Traffic(users, projects, seed=3)
            timings: dict[str, list[float]] = {}
            cpu: dict[str, list[float]] = {}
            async with ZsBot(settings) as bot:
                for index in range(count + 50):
                    uid = traffic.users[index % len(traffic.users)][0]
                    text = traffic.text(uid)
                    incoming = Incoming(platform="telegram", user_id=str(uid), text=text, chat_id=str(uid),
                                        chat_kind="private", display_name="队员", message_id=f"{uid}:{index}")
                    started, cpu_started = time.perf_counter(), time.process_time()
                    reply = await bot.core.handle(incoming)
                    elapsed = (time.perf_counter() - started) * 1000
                    used = (time.process_time() - cpu_started) * 1000  # every thread: SQLite's too
                    if index >= 50:  # the first 50 warm the caches
                        timings.setdefault(text.split()[0], []).append(elapsed)
                        cpu.setdefault(text.split()[0], []).append(used)
                    if not reply.ok and index < 60:
                        print(f"  refused: {text} → {reply.text[:60]}")
        rows: list[Sequence[Any]] = []
        for verb, values in sorted(timings.items()):
            rows.append([verb, len(values), sum(values) / len(values), common.percentile(values, 50),
                         common.percentile(values, 99), sum(cpu[verb]) / len(cpu[verb])])
        every = [v for values in timings.values() for v in values]
        every_cpu = [v for values in cpu.values() for v in values]
        rows.append(["all", len(every), sum(every) / len(every), common.percentile(every, 50),
                     common.percentile(every, 99), sum(every_cpu) / len(every_cpu)])
        print(f"\n== Core.handle on {backend} (ms per message; CPU: this process, every thread)")
        print(common.table(["message", "n", "mean", "p50", "p99", "CPU mean"], rows))
    print(common.machine_line())


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.core_micro`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--count", type=int, default=600)

    args = common.parse_args("Core.handle per message, without HTTP", argv, extra)
    asyncio.run(run(args.backend, 100 if args.quick else args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
