"""The 驾驶舱 in a real headless browser (Debian's chromium, driven by Playwright): a leader's link from
`看板` opened on a phone (375×812) and on the office screen (1920×1080), the figures on the pages the same
as the chat reports', nothing for an expired, forged or other-squad link, and no request leaving the
machine. Screenshots go to tests/screenshots/ (gitignored) for people to look at."""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from tests.dashboard_world import LEADER, DashWorld, dash_world
from tests.helpers import MovableClock

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).with_name("screenshots")
SIZES = {"phone": {"width": 375, "height": 812}, "screen": {"width": 1920, "height": 1080}}
BOT_TOKEN = "123456:ABC-def"
STAGES = {"谋划": "planned", "招引": "attracting", "签约": "signed", "落地": "landed"}

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (scripts/test.sh installs it)"),
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),  # both backends: tests/test_dashboard_web.py
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def served(db_url: str, clock: MovableClock) -> AsyncIterator[tuple[DashWorld, str]]:
    """The district's bot serving its web app on 127.0.0.1, its links pointing there."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    async with dash_world(db_url, clock, public_url=base, telegram_token=BOT_TOKEN) as world:
        server = TestServer(world.bot.web_app(), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            yield world, base
        finally:
            await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            await launched.close()


async def _context(browser: object, size: str, requests: list[str]) -> object:
    """A browser context of one size that records every request and lets none leave 127.0.0.1."""
    context = await browser.new_context(viewport=SIZES[size], is_mobile=size == "phone",  # type: ignore[attr-defined]
                                        device_scale_factor=2 if size == "phone" else 1, locale="zh-CN")

    async def only_here(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        requests.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            await route.continue_()  # type: ignore[attr-defined]
        else:
            await route.abort()  # type: ignore[attr-defined]

    await context.route("**/*", only_here)
    return context


async def _figures(page: object) -> dict[str, str]:
    values = await page.eval_on_selector_all(  # type: ignore[attr-defined]
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.textContent.trim()])")
    return dict(values)


async def _link(world: DashWorld, user: str) -> str:
    reply = await world.chat.ok(user, "看板")
    found = re.search(r"https?://\S+", reply.text)
    assert found, reply.text
    return found.group(0)


@pytest.mark.parametrize("size", list(SIZES))
async def test_a_leader_taps_the_link_and_sees_the_chats_figures(served, browser, size: str) -> None:
    world, base = served
    SHOTS.mkdir(exist_ok=True)
    requests: list[str] = []
    context = await _context(browser, size, requests)
    page = await context.new_page()  # type: ignore[attr-defined]
    await page.goto(await _link(world, LEADER))
    assert page.url == f"{base}/dash/" and "t=" not in page.url  # the token went into a cookie

    shown = await _figures(page)
    chat = await world.text(LEADER, "进度")
    for line in chat.splitlines():
        found = re.match(r"(谋划|招引|签约|落地) (\d+)/(\d+) ([\d.]+%)", line)
        if found:
            stage = STAGES[found.group(1)]
            assert [shown[f"district-{stage}-{k}"] for k in ("count", "target", "pct")] == list(found.groups()[1:])
    assert f"序时进度 {shown['schedule']}" in chat
    if size == "phone":  # readable at 375 px: nothing wider than the screen
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await page.screenshot(path=str(SHOTS / f"{size}-overview.png"), full_page=True)

    board = await world.text(LEADER, "排行")
    for path in ("rank", f"squad/{world.teams['甲队']}", "problems", "forecast", "movers", "breakdowns", "screen"):
        response = await page.goto(f"{base}/dash/{path}")
        assert response.status == 200, path
        if size == "phone" and path != "screen":
            assert await page.evaluate("document.documentElement.scrollWidth") <= 375, path
        await page.screenshot(path=str(SHOTS / f"{size}-{path.split('/')[0]}.png"), full_page=True)
        if path == "rank":
            figures = await _figures(page)
            for name, team_id in world.teams.items():
                assert re.search(rf"^{figures[f'rank-{team_id}']}\. {name} \S+ {re.escape(figures[f'completion-{team_id}'])}",
                                 board, re.MULTILINE), name
            assert await page.locator("svg.spark polyline").count() == 3
        if path == "screen":
            assert await page.locator('meta[http-equiv="refresh"]').count() == 1

    await context.close()  # type: ignore[attr-defined]
    assert requests and all(urlsplit(url).hostname == "127.0.0.1" for url in requests), requests


async def test_expired_forged_and_other_squad_links_show_nothing(served, browser) -> None:
    world, base = served
    SHOTS.mkdir(exist_ok=True)
    requests: list[str] = []
    context = await _context(browser, "phone", requests)
    page = await context.new_page()  # type: ignore[attr-defined]

    link = await _link(world, "队员甲")
    await page.goto(link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"))
    assert "链接无效或已过期" in await page.inner_text("body") and not await _figures(page)
    await page.screenshot(path=str(SHOTS / "phone-denied.png"), full_page=True)

    await page.goto(link)
    assert page.url == f"{base}/dash/" and await _figures(page)
    response = await page.goto(f"{base}/dash/squad/{world.teams['乙队']}")
    assert response.status == 403 and not await _figures(page)
    assert "杉杉奥特莱斯" not in await page.content()
    response = await page.goto(f"{base}/dash/forecast")
    assert response.status == 403

    world.clock.now += timedelta(hours=13)
    response = await page.goto(f"{base}/dash/")
    assert response.status == 403 and "发送「看板」" in await page.inner_text("body") and not await _figures(page)
    await context.close()  # type: ignore[attr-defined]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests), requests


async def test_telegram_opens_the_mini_app(served, browser) -> None:
    """Telegram puts its signed launch data in the address's fragment; the served script trades it for the
    cookie and the overview opens, with nothing loaded from elsewhere."""
    from urllib.parse import quote

    from tests.test_dashboard_tokens import signed_init_data

    world, base = served
    SHOTS.mkdir(exist_ok=True)
    code = re.search(r"[2-9A-Z]{6}", (await world.chat.ok("admin", "邀请码 甲队")).text.split("邀请码")[-1])
    assert code
    await world.chat.ok("4242", f"加入 {code.group(0)}", platform="telegram")
    requests: list[str] = []
    context = await _context(browser, "phone", requests)
    page = await context.new_page()  # type: ignore[attr-defined]
    await page.goto(f"{base}/dash/tg#tgWebAppData={quote(signed_init_data(BOT_TOKEN, 4242, world.clock.now))}")
    await page.wait_for_url(f"{base}/dash/")
    shown = await _figures(page)
    assert shown["district-signed-count"] and shown["own-rank"]
    await page.screenshot(path=str(SHOTS / "phone-mini-app.png"), full_page=True)

    forged = signed_init_data("999:other", 4242, world.clock.now)
    await context.clear_cookies()  # type: ignore[attr-defined]
    await page.goto(f"{base}/dash/tg#tgWebAppData={quote(forged)}")
    await page.wait_for_url(f"{base}/dash/")
    assert "链接无效或已过期" in await page.inner_text("body") and not await _figures(page)
    await context.close()  # type: ignore[attr-defined]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests), requests
