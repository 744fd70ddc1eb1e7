"""`zsbot members [--squad NAME]` and `zsbot teams` as subprocesses, on a roster built through the core,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ADMIN, Chat, MovableClock, make_core, squad_with_members

ROOT = Path(__file__).parents[1]


def zsbot(args: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI with only the database and the settings' admins and leaders set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZSBOT_")}
    env.update(PYTHONPATH=str(ROOT), ZSBOT_DATABASE_URL=db_url, ZSBOT_ADMINS=f"console:{ADMIN}",
               ZSBOT_LEADERS="console:领导")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def build_roster(sessions, clock: MovableClock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:领导"]), clock)
    await squad_with_members(chat, "德化街", "老张", "小李")
    await squad_with_members(chat, "长江路", "小周")
    await chat.ok(ADMIN, "设为队长 老张")
    await chat.ok(ADMIN, "1")
    await chat.ok(ADMIN, "绑定 德化街", chat="德化街群", group=True)
    await chat.ok("领导", "帮助")


async def test_members_and_teams_print_the_roster(db_url: str, sessions, clock, tmp_path: Path) -> None:
    await build_roster(sessions, clock)
    members = await asyncio.to_thread(zsbot, ["members"], db_url, tmp_path)
    assert members.returncode == 0, members.stderr
    rows = [line.split("\t")[1:] for line in members.stdout.splitlines()[1:]]
    assert members.stdout.splitlines()[0] == "队员 5 人 / 5 members"
    assert sorted(rows) == sorted([
        ["admin", "-", "管理员", "console:admin"], ["领导", "-", "领导", "console:领导"],
        ["小李", "德化街", "队员", "console:小李"], ["老张", "德化街", "队长", "console:老张"],
        ["小周", "长江路", "队员", "console:小周"]])

    squad = await asyncio.to_thread(zsbot, ["members", "--squad", "长江路"], db_url, tmp_path)
    assert squad.returncode == 0, squad.stderr
    assert squad.stdout.splitlines() == ["队员 1 人 / 1 members", squad.stdout.splitlines()[1]]
    assert squad.stdout.splitlines()[1].split("\t")[1:] == ["小周", "长江路", "队员", "console:小周"]

    teams = await asyncio.to_thread(zsbot, ["teams"], db_url, tmp_path)
    assert teams.returncode == 0, teams.stderr
    assert [line.split("\t")[1:] for line in teams.stdout.splitlines()[1:]] == [
        ["德化街", "squad", "队员 2", "队长 老张", "绑定群 1"], ["长江路", "squad", "队员 1", "队长 -", "绑定群 0"]]


async def test_members_of_a_squad_that_does_not_exist_is_one_line_and_exit_2(
        db_url: str, sessions, clock, tmp_path: Path) -> None:
    await build_roster(sessions, clock)
    result = await asyncio.to_thread(zsbot, ["members", "--squad", "不存在"], db_url, tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["没有名为「不存在」的小分队 / no squad named '不存在'"]
