"""The README's first walk-through is exact: every line of it, run against a fresh demo, answers what its
`←` part says (issue 14)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.app import ZsBot
from bot.console import ConsoleSession
from bot.demo import DEMO_ADMIN, build_demo
from bot.settings import Settings
from tests.helpers import MovableClock

README = Path(__file__).parent.parent / "README.md"
_STEP = re.compile(r"^(?P<who>\S+)> (?P<text>.+?)(?:\s{2,}← (?P<expect>.+?))?(?:\s{2,}\S.*)?$")


def walkthrough() -> list[tuple[str, str, str]]:
    """(who, what they type, what the answer must contain) for each line of the walk-through."""
    section = README.read_text(encoding="utf-8").split("## A first walk through the console", 1)[1]
    block = section.split("```text", 1)[1].split("```", 1)[0]
    steps = []
    for line in block.splitlines():
        match = _STEP.match(line)
        if match:
            steps.append((match["who"], match["text"].strip(), (match["expect"] or "").strip()))
    return steps


async def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    steps = walkthrough()
    assert len(steps) >= 15 and steps[0] == ("admin", ":user 张伟", "")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'demo.db'}",  # type: ignore[call-arg]
                        admins=[f"console:{DEMO_ADMIN}"])
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    async with ZsBot(settings, clock=MovableClock(now)) as bot:
        await build_demo(bot, now=now)
        out = io.StringIO()
        console = ConsoleSession(bot.core.handle, user=DEMO_ADMIN, out=out, files_dir=tmp_path)
        for who, text, expect in steps:
            assert console.user == who, (who, text)
            before = out.tell()
            await console.say(text)
            shown = out.getvalue()[before:]
            assert expect in shown, f"{who}> {text}: {expect!r} not in {shown!r}"
