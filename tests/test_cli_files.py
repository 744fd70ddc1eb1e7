"""The CLI's file commands end to end: ledger export/import round trips, backup and restore, demo refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.app import ZsBot
from bot.demo import build_demo, demo_state
from bot.ledger_files import export_ledger, import_ledger
from bot.settings import Settings
from handlers.ledger import LedgerFormatError, read_ledger
from handlers.messages import Incoming
from storage.backup import backup_to, restore_from
from storage.models import Event, Project
from tests.helpers import DISTRICT_TZ, MovableClock

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, admins=["console:admin"])  # type: ignore[call-arg]


@pytest.fixture
async def demo_bot(db_url):
    async with ZsBot(settings_for(db_url), clock=MovableClock(NOW)) as bot:
        await build_demo(bot, now=NOW)
        yield bot


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
async def test_export_then_import_into_an_empty_database_reproduces_the_ledger(
    demo_bot, tmp_path: Path, suffix: str, sqlite_template
) -> None:
    first = tmp_path / f"ledger{suffix}"
    count = await export_ledger(demo_bot, first)
    assert count >= 20
    target = tmp_path / "copy.db"
    target.write_bytes(sqlite_template.read_bytes())
    async with ZsBot(settings_for(f"sqlite+aiosqlite:///{target}"), clock=MovableClock(NOW)) as other:
        with pytest.raises(LedgerFormatError, match="不是已有的小分队"):  # an import never creates squads
            await import_ledger(other, first)
        for team in sorted({row.team for row in read_ledger(first.read_bytes(), first.name)}):
            reply = await other.core.handle(Incoming(platform="console", user_id="admin", text=f"建队 {team}",
                                                     chat_id="c"))
            assert reply.ok, reply.text
        report = await import_ledger(other, first)
        assert (report.created, report.updated) == (count, 0)
        again = tmp_path / f"again{suffix}"
        await export_ledger(other, again)
        # Importing the same file again changes nothing and never duplicates.
        report = await import_ledger(other, first)
        assert (report.created, report.updated, report.unchanged, report.notes) == (0, 0, count, 0)
        async with other.sessions() as session:
            assert (await session.exec(select(func.count()).select_from(Project))).one() == count
    original = read_ledger(first.read_bytes(), first.name)
    copied = read_ledger(again.read_bytes(), again.name)
    strip = lambda rows: sorted((r.id, r.name, r.team, r.stage, r.amount_yuan, r.industry, r.wheel, r.zone,  # noqa: E731
                                 r.place, r.company, r.planned_at, r.attracting_at, r.signed_at, r.landed_at,
                                 r.latest_note, r.expected_stage, r.expected_date)
                                for r in rows)
    assert strip(copied) == strip(original)


async def test_a_bad_ledger_changes_nothing(demo_bot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,team,stage,amount_yuan\n好项目,德化街,planned,100\n坏项目,德化街,flying,100\n",
                   encoding="utf-8")
    async with demo_bot.sessions() as session:
        before = (await session.exec(select(func.count()).select_from(Project))).one()
    with pytest.raises(LedgerFormatError):
        await import_ledger(demo_bot, bad)
    async with demo_bot.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Project))).one() == before


async def test_backup_restores_into_an_empty_database_with_an_identical_ledger(
    demo_bot, db_url: str, tmp_path: Path
) -> None:
    backup = tmp_path / "zsbot.backup"
    counts = await backup_to(db_url, backup)
    assert counts["project"] >= 20 and counts["event"] > counts["project"]
    target = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    await restore_from(target, backup, tz=DISTRICT_TZ)
    with pytest.raises(ValueError, match="not empty"):
        await restore_from(target, backup, tz=DISTRICT_TZ)
    async with ZsBot(settings_for(target), clock=MovableClock(NOW)) as restored:
        await export_ledger(demo_bot, tmp_path / "a.json")
        await export_ledger(restored, tmp_path / "b.json")
        assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
        # The restored database keeps working: new rows get fresh ids.
        reply = await restored.core.handle(Incoming(
            platform="console", user_id="张伟", text="谋划 恢复后的新项目", chat_id="c", message_id="new-1"))
        assert reply.ok, reply.text
        async with restored.sessions() as session:
            assert (await session.exec(select(func.count()).select_from(Event))).one() == counts["event"] + 1


async def test_demo_refuses_a_database_with_other_data(db_url: str) -> None:
    async with ZsBot(settings_for(db_url), clock=MovableClock(NOW)) as bot:
        assert await demo_state(bot) == "empty"
        await bot.core.handle(Incoming(
            platform="console", user_id="admin", text="建队 真实的队", chat_id="c"))
        assert await demo_state(bot) == "other"
