"""Telegram Mini App launch data (initData): who opened the 驾驶舱 inside Telegram, checked as the Bot API
documents (core.telegram.org/bots/webapps, "Validating data received via the Mini App"): the data-check
string is every field but `hash`, sorted by key, as `key=value` lines; the key is HMAC-SHA256 of the bot's
token keyed with "WebAppData"; `hash` is the hex HMAC-SHA256 of the data-check string with that key.

Hand-written: a dozen lines of hmac, and python-telegram-bot (which we use) has no helper for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from handlers.dashboard.tokens import TokenError

MAX_INIT_DATA = 4096


def telegram_user_id(bot_token: str, init_data: str, *, now: datetime, max_age: timedelta) -> int:
    """The Telegram user id in initData signed for this bot within `max_age`; TokenError otherwise."""
    if not bot_token or not init_data or len(init_data) > MAX_INIT_DATA:
        raise TokenError("malformed")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise TokenError("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a key twice: which one was signed is ambiguous
        raise TokenError("malformed")
    received = fields.pop("hash", "")
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode("utf-8"), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise TokenError("forged")
    try:
        issued = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user_id = int(json.loads(fields["user"])["id"])
    except (KeyError, ValueError, TypeError):
        raise TokenError("malformed") from None
    if now - issued > max_age or issued - now > timedelta(minutes=5):
        raise TokenError("expired")
    return user_id
