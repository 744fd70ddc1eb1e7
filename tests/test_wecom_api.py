"""The WeCom app client and the group-robot sender, over real HTTP against a local fake WeCom API."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.wecom_api import WeComApiError, WeComClient, mask_secret
from bot.wecom_messengers import RobotMessenger, WeComAppMessenger
from bot.wecom_payloads import split_utf8
from handlers.messages import OutgoingFile, Reply
from handlers.ports import DeliveryError, Messenger
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, ROBOT_KEY, SECRET, FakeWeComApi

SEND = "/cgi-bin/message/send"
TOKEN = "/cgi-bin/gettoken"
UPLOAD = "/cgi-bin/media/upload"
HOOK = "/cgi-bin/webhook/send"
HOOK_UPLOAD = "/cgi-bin/webhook/upload_media"


class FakeTime:
    """A clock and a sleep that advances it, so retries and rate limits run instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ftime() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def fake(ftime: FakeTime) -> AsyncIterator[FakeWeComApi]:
    async with FakeWeComApi(clock=ftime.clock) as api:
        yield api


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make_client(session: aiohttp.ClientSession, url: str, ftime: FakeTime, **kw: object) -> WeComClient:
    return WeComClient(
        session, api_url=url, corp_id=CORP_ID, secret=SECRET, agent_id=str(AGENT_ID),
        clock=ftime.clock, sleep=ftime.sleep, **kw,  # type: ignore[arg-type]
    )


def png_bytes(width: int = 40, height: int = 30, noise: bool = False) -> bytes:
    from PIL import Image

    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---- helpers -------------------------------------------------------------------------------------
def test_mask_secret_shows_only_a_prefix() -> None:
    assert mask_secret(ROBOT_KEY) == "693a****"
    assert mask_secret("short") == "****"


@given(st.lists(st.text(alphabet="ab中文 \n", max_size=40), max_size=60), st.integers(10, 60))
def test_split_utf8_fits_and_keeps_everything(parts: list[str], limit: int) -> None:
    text = "\n".join(parts)
    pieces = split_utf8(text, limit)
    assert all(len(p.encode("utf-8")) <= limit and p.strip() for p in pieces)
    # Only whitespace may be lost (blank pieces at a cut are dropped: WeCom refuses empty content).
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_split_utf8_cuts_at_line_breaks() -> None:
    lines = [f"第{i}行：项目进展顺利" for i in range(400)]
    pieces = split_utf8("\n".join(lines), 2048)
    assert len(pieces) > 1
    assert "\n".join(pieces) == "\n".join(lines)  # no line was cut in two


# ---- the app client ------------------------------------------------------------------------------
async def test_token_is_cached_across_sends_and_renewed_before_expiry(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    client = make_client(session, fake.url, ftime)
    await client.send_text("zhangsan", "你好")
    await client.send_text("zhangsan", "再见")
    assert len(fake.calls(TOKEN)) == 1
    assert fake.calls(TOKEN)[0].query == {"corpid": CORP_ID, "corpsecret": SECRET}
    sends = fake.calls(SEND)
    assert [s.query["access_token"] for s in sends] == [fake.tokens_issued[0]] * 2
    assert sends[0].json == {
        "touser": "zhangsan", "msgtype": "text", "agentid": AGENT_ID, "text": {"content": "你好"}, "safe": 0,
    }
    ftime.now += 7200 - 299  # within five minutes of expiry: renew
    await client.send_text("zhangsan", "第三条")
    assert len(fake.calls(TOKEN)) == 2
    assert fake.calls(SEND)[-1].query["access_token"] == fake.tokens_issued[1]
    assert ftime.sleeps == []


@pytest.mark.parametrize("how", ["expire", "revoke"])
async def test_token_fetched_again_on_42001_and_40014(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime, how: str
) -> None:
    client = make_client(session, fake.url, ftime)
    await client.send_text("zhangsan", "一")
    fake.expire_tokens() if how == "expire" else fake.revoke_tokens()
    await client.send_text("zhangsan", "二")
    assert [r.path for r in fake.requests] == [TOKEN, SEND, SEND, TOKEN, SEND]
    assert fake.calls(SEND)[-1].query["access_token"] == fake.tokens_issued[1] != fake.tokens_issued[0]
    assert fake.calls(SEND)[-1].json["text"]["content"] == "二"
    assert ftime.sleeps == []  # a token refresh needs no backoff


@pytest.mark.parametrize("errcode", [45009, 45033, -1])
async def test_busy_and_rate_limit_errors_are_retried_with_backoff(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime, errcode: int
) -> None:
    client = make_client(session, fake.url, ftime)
    fake.fail_next(errcode, times=2)
    await client.send_text("zhangsan", "你好")
    assert len(fake.calls(SEND)) == 3
    assert ftime.sleeps == [0.5, 1.0]


async def test_retries_give_up_after_max_attempts(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(session, fake.url, ftime, max_attempts=3)
    fake.fail_next(45009, times=5)
    with pytest.raises(WeComApiError) as info:
        await client.send_text("zhangsan", "你好")
    assert info.value.errcode == 45009 and info.value.transient
    assert len(fake.calls(SEND)) == 3
    assert ftime.sleeps == [0.5, 1.0]
    assert "接口调用超过限制" in caplog.text


async def test_other_errcodes_fail_at_once_and_are_logged_with_meaning(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    client = WeComClient(
        session, api_url=fake.url, corp_id=CORP_ID, secret=SECRET, agent_id=999,
        clock=ftime.clock, sleep=ftime.sleep,
    )
    with pytest.raises(WeComApiError) as info:
        await client.send_text("zhangsan", "你好")
    assert info.value.errcode == 40056 and not info.value.transient
    assert len(fake.calls(SEND)) == 1 and ftime.sleeps == []
    assert "40056 不合法的agentid / invalid agentid" in caplog.text

    bad_secret = WeComClient(
        session, api_url=fake.url, corp_id=CORP_ID, secret="wrong", agent_id=AGENT_ID,
        clock=ftime.clock, sleep=ftime.sleep,
    )
    with pytest.raises(WeComApiError) as info:
        await bad_secret.send_text("zhangsan", "你好")
    assert info.value.errcode == 40001


async def test_unreachable_api_is_a_transient_error_without_secrets(
    session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(session, f"http://127.0.0.1:{port}", ftime, max_attempts=3)
    with pytest.raises(WeComApiError) as info:
        await client.send_text("zhangsan", "你好")
    assert info.value.errcode == -1 and info.value.transient
    assert ftime.sleeps == [0.5, 1.0]
    assert SECRET not in str(info.value) and info.value.__cause__ is None


async def test_long_text_and_markdown_are_split_to_2048_bytes(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    client = make_client(session, fake.url, ftime)
    text = "\n".join(f"{i}. 比亚迪河南体验中心 签约 2亿" for i in range(200))
    await client.send_text("zhangsan", text)
    await client.send_markdown("zhangsan", "**排行**\n" + text)
    sends = fake.calls(SEND)
    texts = [s.json["text"]["content"] for s in sends if s.json["msgtype"] == "text"]
    marks = [s.json["markdown"]["content"] for s in sends if s.json["msgtype"] == "markdown"]
    assert len(texts) > 1 and len(marks) > 1
    assert all(len(c.encode("utf-8")) <= 2048 for c in texts + marks)
    assert "\n".join(texts) == text
    assert "\n".join(marks) == "**排行**\n" + text


async def test_image_and_file_are_uploaded_then_sent(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    client = make_client(session, fake.url, ftime)
    png = png_bytes()
    await client.send_image("zhangsan", png)
    ledger = b"PK\x03\x04 fake xlsx content"
    await client.send_file("zhangsan", "招商台账.xlsx", ledger)
    uploads = fake.calls(UPLOAD)
    assert [u.query["type"] for u in uploads] == ["image", "file"]
    assert uploads[0].files["media"][:2] == ("chart.png", png)
    assert uploads[1].files["media"][:2] == ("招商台账.xlsx", ledger)
    sends = fake.calls(SEND)
    media_ids = list(fake.media)
    assert sends[0].json["image"] == {"media_id": media_ids[0]}
    assert sends[1].json["msgtype"] == "file" and sends[1].json["file"] == {"media_id": media_ids[1]}


async def test_upload_media_refuses_empty_content(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    client = make_client(session, fake.url, ftime)
    with pytest.raises(WeComApiError):
        await client.upload_media("file", "a.txt", b"abc")
    assert fake.calls(UPLOAD) == []


# ---- the app messenger ---------------------------------------------------------------------------
async def test_app_messenger_renders_markdown_image_and_file(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    messenger: Messenger = WeComAppMessenger(make_client(session, fake.url, ftime))
    assert messenger.platform == "wecom"
    reply = Reply(
        text="排行 plain", markdown="**排行**", image=png_bytes(),
        file=OutgoingFile("台账.xlsx", b"PK\x03\x04 xlsx"),
    )
    await messenger.send("zhangsan", reply)
    kinds = [(r.path, (r.json or {}).get("msgtype")) for r in fake.requests if r.path != TOKEN]
    assert kinds == [(SEND, "markdown"), (UPLOAD, None), (SEND, "image"), (UPLOAD, None), (SEND, "file")]
    assert fake.calls(SEND)[0].json["markdown"]["content"] == "**排行**"


async def test_app_messenger_plain_text_and_refused_recipient(
    session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    async with FakeWeComApi(known_users={"zhangsan"}) as fake:
        messenger = WeComAppMessenger(make_client(session, fake.url, ftime))
        await messenger.send("zhangsan", Reply(text="已记录"))
        assert fake.calls(SEND)[0].json["text"] == {"content": "已记录"}
        with pytest.raises(DeliveryError) as info:
            await messenger.send("nobody", Reply(text="已记录"))
        assert info.value.permanent


# ---- the group robot -----------------------------------------------------------------------------
def make_robot(session: aiohttp.ClientSession, url: str, ftime: FakeTime, **kw: object) -> RobotMessenger:
    return RobotMessenger(session, api_url=url, clock=ftime.clock, sleep=ftime.sleep, **kw)  # type: ignore[arg-type]


async def test_robot_markdown_is_split_to_4096_bytes_with_mentions(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    robot: Messenger = make_robot(session, fake.url, ftime)
    assert robot.platform == "wecom-robot"
    board = "\n".join(f"{i}. 德化街小分队 签约3个 落地1个 ↑2" for i in range(300))
    await robot.send(ROBOT_KEY, Reply(text="plain", markdown=board, mentions=["zhangsan", "lisi"]))
    hooks = fake.calls(HOOK)
    contents = [h.json["markdown"]["content"] for h in hooks]
    assert len(contents) > 1
    assert all(h.query == {"key": ROBOT_KEY} and h.json["msgtype"] == "markdown" for h in hooks)
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents)
    assert "\n".join(contents) == board + "\n<@zhangsan> <@lisi>"


async def test_robot_plain_text_goes_as_markdown(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    robot = make_robot(session, fake.url, ftime)
    await robot.send(ROBOT_KEY, Reply(text="今日未报送：", mentions=["wangwu"]))
    expected = {"msgtype": "markdown", "markdown": {"content": "今日未报送：\n<@wangwu>"}}
    assert fake.calls(HOOK)[0].json == expected


async def test_robot_image_is_base64_with_md5(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    png = png_bytes()
    await make_robot(session, fake.url, ftime).send(ROBOT_KEY, Reply(text="", image=png))
    (hook,) = fake.calls(HOOK)  # no markdown message for an empty text
    assert hook.json["msgtype"] == "image"
    assert base64.b64decode(hook.json["image"]["base64"]) == png
    assert hook.json["image"]["md5"] == hashlib.md5(png).hexdigest()


async def test_robot_image_over_the_limit_is_recompressed(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    png = png_bytes(500, 400, noise=True)  # noise does not compress: ~600 kB
    limit = 200 * 1024
    assert len(png) > limit
    await make_robot(session, fake.url, ftime, image_limit=limit).send(ROBOT_KEY, Reply(text="", image=png))
    (hook,) = fake.calls(HOOK)
    sent = base64.b64decode(hook.json["image"]["base64"])
    assert len(sent) <= limit and sent[:2] == b"\xff\xd8"  # a JPEG
    assert hook.json["image"]["md5"] == hashlib.md5(sent).hexdigest()


async def test_robot_file_is_uploaded_then_sent(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    ledger = b"PK\x03\x04 fake xlsx content"
    await make_robot(session, fake.url, ftime).send(
        ROBOT_KEY, Reply(text="台账如下", file=OutgoingFile("招商台账.xlsx", ledger))
    )
    (upload,) = fake.calls(HOOK_UPLOAD)
    assert upload.query == {"key": ROBOT_KEY, "type": "file"}
    assert upload.files["media"][:2] == ("招商台账.xlsx", ledger)
    hooks = fake.calls(HOOK)
    assert [h.json["msgtype"] for h in hooks] == ["markdown", "file"]
    assert hooks[1].json["file"] == {"media_id": next(iter(fake.media))}


async def test_robot_sends_at_most_20_a_minute(session: aiohttp.ClientSession, ftime: FakeTime) -> None:
    # The fake enforces WeCom's limit with the same clock: a send over the limit would be refused.
    async with FakeWeComApi(clock=ftime.clock, robot_per_minute=20) as fake:
        robot = make_robot(session, fake.url, ftime)
        for i in range(45):
            await robot.send(ROBOT_KEY, Reply(text=f"第{i}条"))
        times = [h.at for h in fake.calls(HOOK)]
        assert len(times) == 45  # none refused, none retried
        assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))
        assert times[-1] - times[0] < 130  # and no slower than needed
        other = "0a1b2c3d-0000-4bc4-97a0-0ec2aaaa5aaa"
        fake.robot_keys.add(other)
        before = ftime.now
        await robot.send(other, Reply(text="另一个群"))  # another robot has its own window
        assert ftime.now == before


async def test_robot_retries_rate_limit_and_busy(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    fake.fail_next(45009)
    fake.fail_next(-1)
    await make_robot(session, fake.url, ftime).send(ROBOT_KEY, Reply(text="排行"))
    assert len(fake.calls(HOOK)) == 3
    assert ftime.sleeps == [2.0, 4.0]


async def test_robot_gives_up_on_persistent_busy_as_temporary(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    fake.fail_next(-1, times=10)
    with pytest.raises(DeliveryError) as info:
        await make_robot(session, fake.url, ftime, max_attempts=3).send(ROBOT_KEY, Reply(text="排行"))
    assert not info.value.permanent
    assert len(fake.calls(HOOK)) == 3


async def test_robot_bad_key_is_a_permanent_failure(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime
) -> None:
    removed = "deadbeef-0000-4bc4-97a0-0ec2aaaa5aaa"
    robot = make_robot(session, fake.url, ftime)
    with pytest.raises(DeliveryError) as info:
        await robot.send(removed, Reply(text="排行"))
    assert info.value.permanent and "93000" in str(info.value)
    assert removed not in str(info.value) and mask_secret(removed) in str(info.value)
    assert len(fake.calls(HOOK)) == 1 and ftime.sleeps == []
    with pytest.raises(DeliveryError) as info:
        await robot.send("not a key!", Reply(text="排行"))
    assert info.value.permanent and len(fake.calls(HOOK)) == 1


async def test_secrets_never_reach_the_logs(
    fake: FakeWeComApi, session: aiohttp.ClientSession, ftime: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(session, fake.url, ftime)
    await client.send_text("zhangsan", "一")
    fake.expire_tokens()
    fake.fail_next(-1)
    await client.send_text("zhangsan", "二")
    robot = make_robot(session, fake.url, ftime)
    fake.fail_next(45009)
    await robot.send(ROBOT_KEY, Reply(text="排行", file=OutgoingFile("a.xlsx", b"PK\x03\x04 x")))
    removed = "deadbeef-0000-4bc4-97a0-0ec2aaaa5aaa"
    with pytest.raises(DeliveryError):
        await robot.send(removed, Reply(text="排行"))
    assert "retrying" in caplog.text and "93000" in caplog.text  # the logs did say what happened
    for secret in [SECRET, ROBOT_KEY, removed, *fake.tokens_issued]:
        assert secret not in caplog.text
