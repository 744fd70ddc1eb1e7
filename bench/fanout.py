"""Fan-out benchmark: the morning 比学赶超 ranking to thousands of bound Telegram groups.

    python -m bench.fanout [--backend sqlite|postgres|both] [--quick] [--chats 5000] [--no-charts]

A generated 200-squad district with `chats` bound Telegram group chats (ChatBinding rows, round robin over
the squads), on a private copy of the database. The fake Bot API runs in its own process and enforces
Telegram's flood limits (30 messages a second overall, 20 a minute per group), answering 429 past them.
The daily_rank job runs through jobs.scheduler.JobScheduler (run_now, as `zsbot jobs run daily_rank`
does) with the real TelegramAdapter (send-only start) as the messenger.

The baseline is the limit-imposed minimum: the messages the fake received divided by 30 a second. The
ratio total/minimum is the goal (≤ 1.1), with zero 429s.
The issue's minimum of 5,000/30 s = 166.7 s assumes one message per chat; with the chart the leaderboard
is a photo plus its text when the text is longer than a caption, so the table also shows the messages.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench import common
from bench.datagen import Spec, ensure
from bench.ingest import fake_api
from bot.app import ZsBot
from bot.settings import Settings
from bot.telegram_adapter import TelegramAdapter

OVERALL_RATE = 30.0  # messages a second, Telegram's overall limit
GOAL_RATIO = 1.1


async def fan_out(backend: str, chats: int, *, charts: bool) -> dict[str, Any]:
    """Run daily_rank to `chats` groups once; returns the measured figures."""
    data = await ensure(backend, Spec(200, 20_000, 10, bindings=chats))
    async with fake_api(limits=True, light=True, name="fake_api_fanout") as fake, \
            common.scratch_copy(backend, data.name, f"{data.name}_fanout") as url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=url, telegram_token=common.BOT_TOKEN, telegram_api_url=fake.url,
        )
        async with ZsBot(settings) as bot:
            telegram = TelegramAdapter(settings, bot.core.handle)
            await telegram.start(receive=False)
            bot.messengers["telegram"] = telegram
            try:
                scheduler = bot.scheduler(charts=charts)
                started = time.monotonic()
                outcomes = await scheduler.run_now("daily_rank")
                total = time.monotonic() - started
            finally:
                await telegram.stop()
        stats = await fake.stats()
    statuses = Counter(o.status for o in outcomes)
    sent = int(stats["sent"])
    first, last = stats["first_send"] or 0.0, stats["last_send"] or 0.0
    minimum = sent / OVERALL_RATE
    return {
        "backend": backend, "chats": chats, "sent_ok": statuses.get("sent", 0), "other": dict(statuses),
        "messages": sent, "too_many": int(stats["too_many"]), "errors": int(stats["errors"]),
        "total": total, "sending": last - first, "minimum": minimum,
        "ratio": total / minimum if minimum else 0.0, "calls": stats["calls"],
    }


async def run(backend_choice: str, chats: int, *, charts: bool) -> list[dict[str, Any]]:
    """Fan out on each backend, print the table."""
    results = [await fan_out(backend, chats, charts=charts) for backend in common.backends(backend_choice)]
    print(f"\n== fan-out: daily_rank to {chats} Telegram groups, fake API enforcing 30/s overall and "
          f"20/min per group (charts {'on' if charts else 'off'})")
    rows = []
    for r in results:
        rows.append([r["backend"], r["chats"], r["sent_ok"], r["messages"], r["too_many"], r["total"],
                     r["sending"], r["minimum"], f"{r['ratio']:.3f}", f"{chats / OVERALL_RATE:.1f}",
                     "yes" if r["ratio"] <= GOAL_RATIO and r["too_many"] == 0 and r["sent_ok"] == chats else "NO"])
        if set(r["other"]) - {"sent"}:
            print(f"  ! {r['backend']}: outcomes {r['other']}")
    print(common.table(
        ["backend", "chats", "posted", "messages", "429s", "total s", "first→last send s",
         "minimum s (messages/30)", "total/minimum", "5000-style minimum (chats/30)", f"≤ {GOAL_RATIO}× and no 429"],
        rows,
    ))
    print(common.machine_line())
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.fanout`."""
    def extra(parser: Any) -> None:
        parser.add_argument("--chats", type=int, default=5000)
        parser.add_argument("--no-charts", action="store_true", help="post the ranking without its chart")

    args = common.parse_args("the morning ranking to thousands of Telegram groups under flood limits", argv, extra)
    asyncio.run(run(args.backend, 300 if args.quick else args.chats, charts=not args.no_charts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
