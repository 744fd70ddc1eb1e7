"""`zsbot` as a user runs it: every error is one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def zsbot(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZSBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "expected"), [
    (("export", "台账.txt"), "不支持的文件类型 .txt"),
    (("export", "nodir/x.xlsx"), "目录不存在：nodir"),
    (("import", "missing.xlsx"), "missing.xlsx"),
    (("import", "台账.xlsx", "--map", "德化街办事处"), "原名=小分队"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    if args[1] == "台账.xlsx":
        (tmp_path / "台账.xlsx").write_bytes(b"")
    assert expected in one_line_error(zsbot(tmp_path, *args), 2)


def test_a_corrupt_xlsx_is_refused_cleanly(tmp_path: Path) -> None:
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    line = one_line_error(zsbot(tmp_path, "import", "bad.xlsx"), 2)
    assert "未做任何更改" in line and "不是有效的 .xlsx" in line


def test_unknown_squads_are_listed_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("项目名称,责任单位\n甲,德化街办事处\n", encoding="utf-8")
    result = zsbot(tmp_path, "import", "a.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "德化街办事处（1 行）" in result.stderr and "--map" in result.stderr


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZSBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    # `zsbot demo | head -c 1`: the reader leaves after one byte.
    with subprocess.Popen([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(1)
        process.stdout.close()
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert code in (0, 141)  # 0 when everything was written before the reader left


def test_unexpected_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "x.db").write_bytes(b"this is not a database")
    line = one_line_error(zsbot(tmp_path, "jobs", "list"), 1)
    assert "-v" in line


def test_help_describes_commands_settings_and_jobs(tmp_path: Path) -> None:
    main = zsbot(tmp_path, "--help").stdout
    assert "ZSBOT_DATABASE_URL" in main and "exit codes" in main
    for command in ("run", "console", "demo", "export", "import", "backup", "restore", "jobs"):
        assert command in main
    jobs = zsbot(tmp_path, "jobs", "--help").stdout
    run = zsbot(tmp_path, "jobs", "run", "--help").stdout
    for name in ("daily_rank", "daily_remind", "stale_projects", "problem_escalation", "weekly_summary"):
        assert name in jobs and name in run
    assert "--out" in run
    importer = zsbot(tmp_path, "import", "--help").stdout
    assert "--map" in importer and "--dry-run" in importer and "Never creates a squad" in importer
    usage = zsbot(tmp_path, "jobs", "run", "daily_rank", "--out", "o")
    assert usage.returncode == 2 and "--dry-run" in usage.stderr
