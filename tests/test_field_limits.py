"""One limit per text field, the same on SQLite and PostgreSQL (issue 14): refused in the core with a clear
answer, and checked by a restore before it writes anything."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from storage.backup import backup_to
from storage.limits import ALIAS_LIMIT, clip_to, limits, violations
from storage.models import Event, Project
from tests.helpers import squad_with_members


async def test_overlong_fields_are_refused_alike_on_both_backends(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 华润万象城三期")
    events = await _count(sessions, Event)
    refusal = await chat.refused("张伟", "改 #1 别名 " + "甲" * 1900)
    assert f"别名太长（1900字），最多{ALIAS_LIMIT}字" in refusal.text
    assert "最多100字" in (await chat.refused("张伟", "改 #1 名称 " + "乙" * 150)).text
    assert "公司太长（250字），最多200字" in (await chat.refused("张伟", "改 #1 公司 " + "丙" * 250)).text
    assert "地点太长" in (await chat.refused("张伟", "改 #1 地点 " + "丁" * 150)).text
    assert await _count(sessions, Event) == events  # nothing half-written
    async with sessions() as session:
        project = (await session.exec(select(Project))).one()
    assert (project.aliases, project.company, project.place) == ("", "", "")


def test_clip_to_cuts_to_the_column_the_model_declares() -> None:
    assert limits()[("evidence", "file_name")] == 300
    assert clip_to("evidence", "file_name", "甲" * 301) == "甲" * 300
    assert clip_to("ownership_clash", "resolution", "transfer:12") == "transfer:12"
    with pytest.raises(KeyError):  # an unbounded or misspelt column is a bug, not "no limit"
        clip_to("evidence", "no_such_column", "x")


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def test_every_varchar_and_the_bounded_text_columns_have_a_limit() -> None:
    found = limits()
    assert found[("project", "name")] == 200 and found[("project", "company")] == 200
    assert found[("project", "aliases")] == 2000 and found[("event", "text")] == 2000
    rows = [{"id": 7, "name": "好" * 201, "company": "x"}]
    assert [str(v) for v in violations("project", rows)] == ["project id=7: name has 201 characters, at most 200"]


def _zsbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "ZSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'target.db'}"}


async def test_restore_reports_every_overlong_row_and_writes_nothing(chat, db_url, tmp_path, cli_env) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 华润万象城三期")
    await chat.ok("张伟", "谋划 胖东来旗舰店")
    backup = tmp_path / "zsbot.backup"
    await backup_to(db_url, backup)
    data = json.loads(gzip.decompress(backup.read_bytes()))
    # What a SQLite database written before the limits could hold: two overlong values.
    data["tables"]["project"][0]["aliases"] = "|" + "甲" * 2100 + "|"
    data["tables"]["project"][1]["company"] = "乙" * 300
    backup.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode()))
    done = _zsbot("restore", str(backup), env=cli_env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "project id=1: aliases has 2102 characters, at most 2000" in done.stderr
    assert "project id=2: company has 300 characters, at most 200" in done.stderr
    # Nothing was written: the same database still takes a good backup.
    data["tables"]["project"][0]["aliases"] = ""
    data["tables"]["project"][1]["company"] = ""
    backup.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode()))
    assert _zsbot("restore", str(backup), env=cli_env).returncode == 0


# Fixed ids (and mtime): the gzip header would otherwise differ between the parallel workers collecting it.
@pytest.mark.parametrize("content", [None, b"not a backup", gzip.compress(b"{broken json", mtime=0)],
                         ids=["missing", "not-a-backup", "broken-gzip-json"])
def test_restore_of_a_bad_file_is_one_clear_line(tmp_path: Path, cli_env: dict[str, str], content: bytes | None) -> None:
    path = tmp_path / "zsbot.backup"
    if content is not None:
        path.write_bytes(content)
    done = _zsbot("restore", str(path), env=cli_env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("恢复失败，未做任何更改")
