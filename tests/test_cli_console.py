"""The `zsbot` command line as a user runs it: console from a script, demo, migrate, export, jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def zsbot(args: list[str], cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ZSBOT_DATABASE_URL": f"sqlite:///{cwd / 'zsbot.db'}", **env}
    environment.pop("ZSBOT_ADMINS", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True, cwd=cwd,
        env={**environment, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=120, check=False,
    )


def test_console_script_walkthrough(tmp_path: Path) -> None:
    script = "建队 测试队\n邀请码 测试队\n"
    first = zsbot(["console"], tmp_path, script)
    assert first.returncode == 0, first.stderr
    code = first.stdout.split("邀请码：")[1].split()[0]
    steps = (f"加入 {code}\n谋划 杉杉奥特莱斯二期 两亿 现代商贸 @宁波 对接:杉杉商业集团\n"
             "洽谈 杉杉奥特莱斯二期 五千万元\n签约 #1 1.5亿元\n落地 #1\n问题 #1 土地 用地指标未批\n解决 #1 已获批\n"
             "改 #1 金额 3亿\n撤销\n查 #1\n")
    second = zsbot(["console", "--user", "小王"], tmp_path, steps)
    assert second.returncode == 0, second.stderr
    out = second.stdout
    for expected in ("欢迎", "🆕", "谋划 → 招引", "招引 → 签约", "签约 → 落地", "问题", "已解决", "↩️ 已撤销",
                     "1.5亿元", "用地指标未批"):
        assert expected in out, expected
    # Each input line gets exactly one reply (replies end with a blank line).
    assert out.count("\n\n") == steps.count("\n")
    export = zsbot(["export", str(tmp_path / "ledger.csv")], tmp_path)
    assert export.returncode == 0, export.stderr
    ledger = (tmp_path / "ledger.csv").read_text(encoding="utf-8-sig")
    assert "杉杉奥特莱斯二期,测试队,landed,150000000" in ledger


def test_demo_builds_then_reopens_and_refuses_other_data(tmp_path: Path) -> None:
    first = zsbot(["demo"], tmp_path, "排行\n")
    assert first.returncode == 0, first.stderr
    assert "比学赶超" in first.stdout and "已生成演示数据" in first.stdout
    assert list(tmp_path.glob("zsbot-*-leaderboard.png"))
    again = zsbot(["demo"], tmp_path, "问题清单\n")
    assert again.returncode == 0 and "已生成" not in again.stdout and "杉杉奥特莱斯" in again.stdout
    other = tmp_path / "other"
    other.mkdir()
    assert zsbot(["console"], other, "建队 真实队\n").returncode == 0
    refused = zsbot(["demo"], other)
    assert refused.returncode == 2 and "非演示数据" in refused.stderr and "zsbot console" in refused.stderr
    # What was tried in the demo keeps it a demo; --fresh starts over.
    assert zsbot(["demo"], tmp_path, "建队 试试的队\n").returncode == 0
    reopened = zsbot(["demo"], tmp_path, "")
    assert reopened.returncode == 0 and "zsbot demo --fresh" in reopened.stdout
    fresh = zsbot(["demo", "--fresh"], tmp_path, "我的\n")
    assert fresh.returncode == 0 and "已生成演示数据" in fresh.stdout
    assert "试试的队" not in zsbot(["console"], tmp_path, "排行\n").stdout


def test_the_interactive_console_has_line_editing() -> None:
    from bot.console import enable_line_editing

    assert enable_line_editing()  # the standard library's readline, present on Linux


@pytest.mark.parametrize("command", [["migrate"], ["jobs", "list"], ["jobs", "run", "daily_rank", "--dry-run"]])
def test_admin_commands_run_on_a_fresh_database(tmp_path: Path, command: list[str]) -> None:
    result = zsbot(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


async def test_each_chart_and_file_gets_a_new_name(tmp_path) -> None:
    import io

    from bot.console import ConsoleSession
    from handlers.messages import OutgoingFile, Reply

    async def handle(incoming):
        return Reply(text="排行", image=incoming.text.encode(), image_name="leaderboard.png",
                     file=OutgoingFile(name="台账.xlsx", content=incoming.text.encode(), mime_type="x"))

    for first in ("一", "二"):  # two console sessions in the same folder, as on two days
        session = ConsoleSession(handle, user="admin", out=io.StringIO(), files_dir=tmp_path)
        await session.say(first + "1")
        await session.say(first + "2")
    charts = sorted(tmp_path.glob("zsbot-*-leaderboard.png"))
    assert sorted(path.read_bytes().decode() for path in charts) == ["一1", "一2", "二1", "二2"]
    assert sorted(path.name for path in tmp_path.glob("台账*.xlsx")) == [
        "台账-2.xlsx", "台账-3.xlsx", "台账-4.xlsx", "台账.xlsx"]
