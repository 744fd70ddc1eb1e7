"""Evidence files (issue 16): downloaded only after the core accepted the update and stored its evidence
row, under a stated size limit, WeCom's while its media id is valid, and pruned — through the real web app
over real HTTP against both fakes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.runner import WECOM_ADAPTER_KEY
from storage.models import Evidence, HeldFile
from tests.fakes.wecom_api import build_callback, image_message_xml
from tests.live_rig import Live, live_bot
from tests.reliability_support import CRYPTO

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

MEMBER, STRANGER = 501, 999
WECOM_MEMBER = "zhangwei"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The bot with squad 德化街: member 501 on Telegram, zhangwei on WeCom, and project #1 of 501's."""
    async with live_bot(db_url, tmp_path, files_max_mb=0.004) as running:  # 4,194 bytes: files are small here
        code = await running.squad("德化街")
        await running.tg_says(MEMBER, MEMBER, f"加入 {code}")
        assert await running.wecom_says(WECOM_MEMBER, f"加入 {code}") == 200
        await running.settle()
        await running.ok(str(MEMBER), "招引 仲景医药健康产业园", platform="telegram")
        yield running


async def evidence(live: Live) -> list[Evidence]:
    async with live.bot.sessions() as session:
        return list((await session.exec(select(Evidence).order_by(Evidence.id))).all())


async def held(live: Live) -> list[HeldFile]:
    async with live.bot.sessions() as session:
        return list((await session.exec(select(HeldFile))).all())


def content(path: str) -> bytes:
    """A stored copy's bytes (tests read small files directly)."""
    return Path(path).read_bytes()


def present(path: str | Path) -> bool:
    """Whether a file is on disk."""
    return Path(path).exists()


def stored_files(live: Live) -> list[Path]:
    return sorted(p for p in live.files_dir.rglob("*") if p.is_file()) if live.files_dir.exists() else []


async def test_a_strangers_files_cost_no_download_and_leave_nothing(live: Live) -> None:
    document = dict(live.tg.add_file(b"%PDF" + b"x" * 3000, "合同.pdf"), file_name="合同.pdf")
    photo = live.tg.add_file(PNG, "p.jpg", folder="photos")
    for update in (live.tg.message_update(STRANGER, STRANGER, caption="签约 #1", document=document),
                   live.tg.message_update(STRANGER, STRANGER, photo=photo)):
        assert await live.telegram(update) == 200
    answers = [c.params["text"] for c in live.tg.calls if c.method == "sendMessage"
               and c.params.get("chat_id") == str(STRANGER)]
    assert len(answers) == 2 and all("加入" in text for text in answers)
    assert live.tg.calls_to("getFile") == [] and stored_files(live) == []
    assert await evidence(live) == [] and await held(live) == []


async def test_a_members_bare_photo_waits_for_the_update_then_is_downloaded(live: Live) -> None:
    """A photo without a command is held (nothing downloaded); the member's next update takes it as evidence
    and only then is it fetched. A redelivered update neither stores nor downloads it twice."""
    photo = live.tg.add_file(PNG, "licence.jpg", folder="photos")
    (answer,) = await live.tg_says(MEMBER, MEMBER, "", photo=photo)
    assert "收到附件" in answer and live.tg.calls_to("getFile") == []
    assert len(await held(live)) == 1 and await evidence(live) == []
    update = live.tg.message_update(MEMBER, MEMBER, "签约 #1")
    before = len(live.tg.calls)
    for _ in range(2):  # Telegram redelivers the same update
        assert await live.telegram(update) == 200
    await live.settle()
    card = next(c.params["text"] for c in live.tg.calls[before:] if c.method == "sendMessage")
    assert "📎 已保存附件 1 个" in card
    (row,) = await evidence(live)
    assert row.fetch_state == "stored" and row.size_bytes == len(PNG)
    assert content(row.stored_path) == PNG and Path(row.stored_path).parent == live.files_dir / "telegram"
    assert len(live.tg.calls_to("getFile")) == 1 and await held(live) == []


async def test_an_album_with_a_caption_keeps_every_photo_as_evidence(live: Live) -> None:
    """Three contract pages sent as one album, the caption on the first: one 签约, three evidence rows, each
    downloaded once, and one answer."""
    pages = [live.tg.add_file(PNG + bytes([n]), f"page{n}.jpg", folder="photos") for n in range(3)]
    before = len(live.tg.calls)
    for n, page in enumerate(pages):
        update = live.tg.message_update(MEMBER, MEMBER, photo=page, media_group_id="contract",
                                        caption="签约 #1" if n == 0 else None)
        assert await live.telegram(update) == 200
    await live.settle()
    answers = [c.params["text"] for c in live.tg.calls[before:] if c.method == "sendMessage"]
    assert len(answers) == 1 and "📎 已保存附件 3 个" in answers[0]
    rows = await evidence(live)
    assert [row.fetch_state for row in rows] == ["stored"] * 3 and {row.project_id for row in rows} == {1}
    assert sorted(content(row.stored_path)[-1] for row in rows) == [0, 1, 2]
    assert len(live.tg.calls_to("getFile")) == 3 and await held(live) == []


async def test_a_held_file_goes_stale_and_is_never_downloaded(live: Live) -> None:
    photo = live.tg.add_file(PNG, "old.jpg", folder="photos")
    await live.tg_says(MEMBER, MEMBER, "", photo=photo)
    live.clock.advance(minutes=31)
    (card,) = await live.tg_says(MEMBER, MEMBER, "进展 #1 第二轮洽谈")
    assert "📎" not in card and await evidence(live) == [] and live.tg.calls_to("getFile") == []


async def test_a_file_over_the_limit_is_recorded_but_not_downloaded(live: Live) -> None:
    big = dict(live.tg.add_file(b"%PDF" + b"x" * 10_000, "scan.pdf"), file_name="扫描件.pdf")
    small = dict(live.tg.add_file(b"%PDF small", "small.pdf"), file_name="小.pdf")
    (card,) = await live.tg_says(MEMBER, MEMBER, "", caption="进展 #1 合同扫描件", document=big)
    assert "超过" in card and "0.004MB" in card
    await live.tg_says(MEMBER, MEMBER, "", caption="进展 #1 补充", document=small)
    too_large, stored = await evidence(live)
    assert (too_large.fetch_state, too_large.stored_path, too_large.file_name) == ("too_large", "", "扫描件.pdf")
    assert stored.fetch_state == "stored"
    assert [c.params["file_id"] for c in live.tg.calls_to("getFile")] == [small["file_id"]]


async def test_wecom_images_are_fetched_while_their_media_id_is_valid(live: Live) -> None:
    """A WeCom image has no caption: it is held, and the member's next update fetches it (media/get) and
    keeps it like Telegram's; an image whose media id already expired is recorded as failed; the start-up
    sweep fetches what was left pending and expires what is older than three days."""
    media = live.wecom.add_media("现场照片.jpg", PNG)
    query, body = _image(media, "90001")
    assert await live.wecom_post(query, body) == 200
    await live.settle()
    assert live.wecom.calls("/cgi-bin/media/get") == []
    assert await live.wecom_says(WECOM_MEMBER, "拜访 #1 @上海") == 200
    await live.settle()
    (row,) = await evidence(live)
    assert row.platform == "wecom" and row.fetch_state == "stored"
    assert content(row.stored_path) == PNG and Path(row.stored_path).parent == live.files_dir / "wecom"
    assert len(live.wecom.calls("/cgi-bin/media/get")) == 1
    gone = live.wecom.add_media("过期.jpg", PNG)
    live.wecom.expire_media(gone)
    assert await live.wecom_post(*_image(gone, "90002")) == 200
    assert await live.wecom_says(WECOM_MEMBER, "进展 #1 图片补充") == 200
    await live.settle()
    assert [r.fetch_state for r in await evidence(live)] == ["stored", "failed"]
    # Left pending (a restart between the commit and the download): fetched by the sweep within three days,
    # expired after them.
    fresh, stale = live.wecom.add_media("a.jpg", PNG), live.wecom.add_media("b.jpg", PNG)
    async with live.bot.sessions() as session:
        first = (await evidence(live))[0]
        for ref, age in ((fresh, timedelta(days=1)), (stale, timedelta(days=4))):
            session.add(Evidence(project_id=first.project_id, event_id=first.event_id, platform="wecom", file_ref=ref,
                                 file_name=f"{ref}.jpg", created_at=live.clock() - age, fetch_state="pending"))
        await session.commit()
    fetch = live.runner_app[WECOM_ADAPTER_KEY].fetch
    assert await live.bot.evidence.fetch_pending("wecom", fetch, valid_for=timedelta(days=3)) == 1
    assert [r.fetch_state for r in await evidence(live)] == ["stored", "failed", "stored", "expired"]


def _image(media_id: str, msg_id: str) -> tuple[dict[str, str], bytes]:
    return build_callback(CRYPTO, image_message_xml(from_user=WECOM_MEMBER, media_id=media_id, msg_id=msg_id))


async def test_prune_removes_orphans_undone_evidence_and_what_is_past_retention(live: Live) -> None:
    live.files_dir.mkdir(parents=True, exist_ok=True)
    orphan, fresh = live.files_dir / "telegram" / "old_download.pdf", live.files_dir / "telegram" / "writing.part"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"a stranger's file from an older version")
    fresh.write_bytes(b"a download being written right now")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    kept = live.tg.add_file(PNG, "kept.jpg", folder="photos")
    undone = live.tg.add_file(PNG + b"2", "undone.jpg", folder="photos")
    await live.tg_says(MEMBER, MEMBER, "", caption="进展 #1 保留", photo=kept)
    await live.tg_says(MEMBER, MEMBER, "", caption="进展 #1 撤销的", photo=undone)
    await live.tg_says(MEMBER, MEMBER, "撤销")
    kept_row, undone_row = await evidence(live)
    report = await live.bot.evidence.prune()
    assert (report.orphans, report.undone, report.expired) == (1, 1, 0)
    assert not present(orphan) and present(fresh) and not present(undone_row.stored_path)
    assert present(kept_row.stored_path)
    assert [r.fetch_state for r in await evidence(live)] == ["stored", "pruned"]
    # With a retention limit, a copy older than it goes too (the row stays: the project keeps its history).
    live.bot.evidence.retention_days = 30
    live.clock.advance(days=31)
    report = await live.bot.evidence.prune()
    assert report.expired == 1 and not present(kept_row.stored_path)
    assert [r.fetch_state for r in await evidence(live)] == ["pruned", "pruned"]


def test_files_prune_from_the_command_line(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ZSBOT_"):
            monkeypatch.delenv(name)
    files = tmp_path / "evidence"
    (files / "wecom").mkdir(parents=True)
    orphan = files / "wecom" / "left_over.jpg"
    orphan.write_bytes(b"x" * 100)
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    monkeypatch.setenv("ZSBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("ZSBOT_FILES_DIR", str(files))
    assert main(["files", "prune"]) == 0
    output = capsys.readouterr().out
    assert "孤立文件 1" in output and "100 bytes freed" in output and not orphan.exists()
