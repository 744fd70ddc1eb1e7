"""Authentication (issue 7): a forged WeCom callback, a wrong Telegram secret and an unknown user are
refused and store nothing, through `zsbot run`'s real routes against both fake platforms, on SQLite and
PostgreSQL. "Nothing stored" is the row count of every table a message could write (events, members,
identities, the inbox, projects, problems, squads, pending questions)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.wecom_crypto import WeComCrypto
from tests.fakes.wecom_api import CORP_ID, build_callback, text_message_xml
from tests.reliability_support import (
    AES_KEY,
    CRYPTO,
    WEBHOOK_SECRET,
    ErrorLog,
    PlatformRig,
    encrypt_bytes,
    telegram_update,
)

MEMBER = 501  # a squad member on Telegram (seeded), so the refused messages would otherwise be stored
WECOM_MEMBER = "zhangwei"
STRANGER = 424_242


@pytest.fixture
def rig(db_url: str) -> Iterator[PlatformRig]:
    """The in-process app with a squad, a Telegram member and (joined through WeCom) a WeCom member."""
    made = PlatformRig(db_url, members=(MEMBER,))
    try:
        query, body = build_callback(CRYPTO, text_message_xml(
            from_user=WECOM_MEMBER, content=f"加入 {made.squad.code}", msg_id="1"))
        assert made.post("/wecom/callback", body, params=query) == 200
        made.settle()  # the join's reply goes out in the background: out before the tests count sends
        yield made
    finally:
        made.close()


def _update(user: int, text: str) -> bytes:
    return json.dumps(telegram_update(user, text, False)).encode()


WRONG_SECRETS = (
    {},  # no secret at all
    {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
    {"X-Telegram-Bot-Api-Secret-Token": ""},
    {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET.upper()},
    {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]},
    {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
    {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "\u00e9"},  # not even ASCII
    {"X-Telegram-Bot-Api-Secret-Token-Other": WEBHOOK_SECRET},
)


def test_a_wrong_telegram_secret_is_refused_and_stores_nothing(rig: PlatformRig) -> None:
    """A member's real command with anything but the exact secret: 403, nothing stored, nothing sent."""
    before, calls = rig.counts(), len(rig.telegram.calls)
    with ErrorLog() as errors:
        for headers in WRONG_SECRETS:
            status = rig.post("/telegram/webhook", _update(MEMBER, "谋划 伪造的项目 2亿"), headers=headers)
            assert status == 403, headers
    assert rig.counts() == before
    assert len(rig.telegram.calls) == calls
    assert not errors.records, errors.summary()
    # The same command with the secret is stored: the refusals were the secret's doing, not the message's.
    assert rig.post("/telegram/webhook", _update(MEMBER, "谋划 伪造的项目 2亿"),
                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) == 200
    assert rig.counts() != before


def test_an_unknown_telegram_user_is_refused_and_stores_nothing(rig: PlatformRig) -> None:
    """Someone who never joined: every kind of change is refused with the way to join; nothing stored."""
    before = rig.counts()
    for text in ("谋划 陌生人的项目 2亿", "签约 #1", "进展 #1 来过", "问题 #1 土地 没地", "撤销", "改 #1 金额 9亿",
                 "加入 WRONG1", "建队 黑客队", "绑定 领导", "目标 签约 99", "1"):
        calls = len(rig.telegram.calls)
        assert rig.post("/telegram/webhook", _update(STRANGER, text),
                        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) == 200
        (answer,) = rig.telegram.calls[calls:]
        assert answer.status == 200
        shown = answer.params["text"]
        assert "加入" in shown or "邀请码" in shown or "管理员" in shown or "没有" in shown, (text, shown)
    assert rig.counts() == before


def _wecom_post(rig: PlatformRig, query: dict[str, str], body: bytes) -> int:
    return rig.post("/wecom/callback", body, params=query)


def test_forged_wecom_callbacks_are_refused_and_store_nothing(rig: PlatformRig) -> None:
    """A member's real command, forged five ways: 403 each, nothing stored, nothing sent."""
    inner = text_message_xml(from_user=WECOM_MEMBER, content="谋划 伪造的项目 2亿", msg_id="777")
    rig.settle()  # the rig's own welcome replies go out in the background: count sends after them
    before, sends = rig.counts(), len(rig.wecom.calls("/cgi-bin/message/send"))
    query, body = build_callback(CRYPTO, inner)

    forged_signature = dict(query, msg_signature="0" * 40)
    other_timestamp = dict(query, timestamp=str(int(query["timestamp"]) + 1))  # signed over the old one
    other_nonce = dict(query, nonce=query["nonce"] + "1")
    # Encrypted for another corp (a receive id that is not ours), signed correctly with our token.
    foreign = encrypt_bytes(inner.encode(), b"ww-another-corp-id")
    foreign_query = dict(query, msg_signature=CRYPTO.signature(query["timestamp"], query["nonce"], foreign))
    foreign_body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt><![CDATA[{foreign}]]></Encrypt></xml>".encode()
    # Encrypted and signed by someone holding only the AES key, not the token.
    other_token = WeComCrypto("another-token", AES_KEY, CORP_ID)
    stolen_query, stolen_body = build_callback(other_token, inner)

    with ErrorLog() as errors:
        for forged_query, forged_body in ((forged_signature, body), (other_timestamp, body), (other_nonce, body),
                                          (foreign_query, foreign_body), (stolen_query, stolen_body)):
            assert _wecom_post(rig, forged_query, forged_body) == 403
        # URL verification with a forged signature is refused too.
        echo = CRYPTO.encrypt("echo-1")
        assert rig.get("/wecom/callback", {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2",
                                           "echostr": echo}) == 403
    rig.settle()
    assert rig.counts() == before
    assert len(rig.wecom.calls("/cgi-bin/message/send")) == sends
    assert not errors.records, errors.summary()
    # The genuine callback is stored (so the refusals above were the forgery's doing) — and only once,
    # however often it is replayed.
    for _ in range(3):
        assert _wecom_post(rig, query, body) == 200
    after = rig.counts()
    assert after != before
    assert _wecom_post(rig, query, body) == 200 and rig.counts() == after


def test_an_unknown_wecom_user_is_refused_and_stores_nothing(rig: PlatformRig) -> None:
    """A genuine callback from someone who never joined: 200 (WeCom must not retry), a refusal sent back
    through the app API saying how to join, nothing stored."""
    before = rig.counts()
    for number, text in enumerate(("谋划 陌生人的项目 2亿", "签约 #1", "加入 WRONG1", "建队 黑客队")):
        query, body = build_callback(CRYPTO, text_message_xml(from_user="stranger", content=text,
                                                              msg_id=str(9000 + number)))
        assert _wecom_post(rig, query, body) == 200
    rig.settle()
    answers = [call.json for call in rig.wecom.calls("/cgi-bin/message/send") if call.json.get("touser") == "stranger"]
    assert len(answers) == 4
    assert all("加入" in json.dumps(answer, ensure_ascii=False) or "管理员" in json.dumps(answer, ensure_ascii=False)
               for answer in answers)
    assert rig.counts() == before
