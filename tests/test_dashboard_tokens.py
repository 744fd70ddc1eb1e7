"""Dashboard link tokens: signed, expiring, refused when altered, forged or malformed; the access table of
the pages (who sees what)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from handlers import access
from handlers.dashboard.tokens import MAX_TOKEN_LENGTH, TokenError, read_token, sign_token

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SECRET = "s3cret"


def _token(**kwargs: object) -> str:
    values: dict[str, object] = {"member_id": 7, "identity": "wecom:zhangsan", "now": NOW, "ttl_seconds": 3600}
    values.update(kwargs)
    return sign_token(SECRET, **values)  # type: ignore[arg-type]


def test_a_token_reads_back_until_it_expires() -> None:
    token = _token()
    claims = read_token(SECRET, token, now=NOW + timedelta(minutes=59))
    assert (claims.member_id, claims.identity) == (7, "wecom:zhangsan")
    assert claims.issued_at == NOW and claims.expires_at == NOW + timedelta(hours=1)
    with pytest.raises(TokenError) as error:
        read_token(SECRET, token, now=NOW + timedelta(hours=1))
    assert error.value.reason == "expired"


def test_another_secret_or_an_altered_payload_is_forged() -> None:
    token = _token()
    with pytest.raises(TokenError) as error:
        read_token("other", token, now=NOW)
    assert error.value.reason == "forged"
    version, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["m"] = 8  # someone else's member id, same signature
    altered = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError) as error:
        read_token(SECRET, f"{version}.{altered}.{signature}", now=NOW)
    assert error.value.reason == "forged"
    data["exp"] = data["exp"] + 10**9  # a longer life, same signature
    longer = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        read_token(SECRET, f"{version}.{longer}.{signature}", now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "v1.x", "v2.a.b", "v1.!!.??", "v1." + "a" * MAX_TOKEN_LENGTH + ".b",
                                   "v1.e30.签名"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        read_token(SECRET, token, now=NOW)


def test_no_secret_signs_nothing_and_reads_nothing() -> None:
    with pytest.raises(ValueError):
        sign_token("", member_id=1, identity="x", now=NOW, ttl_seconds=60)
    with pytest.raises(TokenError):
        read_token("", _token(), now=NOW)


def test_the_pages_follow_the_chat_scopes() -> None:
    """Everyone with a squad reads the district overview, the ranking and the movers; their own squad's
    page and problems; leaders and admins everything; strangers nothing."""
    assert access.dash_allowed("overview", "member", own_team=1, team_id=None)
    assert access.dash_allowed("squad", "member", own_team=1, team_id=1)
    assert not access.dash_allowed("squad", "member", own_team=1, team_id=2)
    assert not access.dash_allowed("squad", "captain", own_team=1, team_id=2)
    assert access.dash_allowed("squad", "leader", own_team=None, team_id=2)
    for page in ("forecast", "breakdowns", "screen"):
        assert not access.dash_allowed(page, "captain", own_team=1, team_id=None)
        assert access.dash_allowed(page, "admin", own_team=None, team_id=None)
    assert not any(access.dash_allowed(page, "stranger", own_team=None, team_id=None) for page in access.DASH_PAGES)


def signed_init_data(bot_token: str, user_id: int, auth_date: datetime, **extra: str) -> str:
    """Launch data as Telegram signs it (core.telegram.org/bots/webapps): fields sorted into key=value lines,
    HMAC-SHA256 keyed with HMAC-SHA256("WebAppData", token)."""
    import hashlib
    import hmac
    from urllib.parse import urlencode

    fields = {"auth_date": str(int(auth_date.timestamp())), "query_id": "AAF1",
              "user": json.dumps({"id": user_id, "first_name": "张伟", "language_code": "zh-hans"},
                                 ensure_ascii=False, separators=(",", ":")), **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def test_mini_app_launch_data_is_checked_as_the_bot_api_says() -> None:
    from bot.dashboard.telegram_app import telegram_user_id

    token, age = "123456:ABC-def", timedelta(hours=12)
    data = signed_init_data(token, 4242, NOW - timedelta(minutes=1))
    assert telegram_user_id(token, data, now=NOW, max_age=age) == 4242
    for bad, reason in ((signed_init_data("999:other", 4242, NOW), "forged"),
                        (data.replace("4242", "4243"), "forged"),
                        (signed_init_data(token, 4242, NOW - timedelta(hours=13)), "expired"),
                        (data + "&hash=00", "malformed"), ("", "malformed"), ("a=b&&", "malformed")):
        with pytest.raises(TokenError) as error:
            telegram_user_id(token, bad, now=NOW, max_age=age)
        assert error.value.reason == reason, bad
