"""Dashboard link tokens: an HMAC-SHA256-signed, expiring claim of who asked.

Hand-written rather than a JWT library: the token is one fixed shape, signed and read only by us, and a
dozen lines of the standard library (hmac, compare_digest) leave no algorithm choice to get wrong.
The token names the member and the identity that asked; what they may see is decided at each request
from their current role (handlers.dashboard.viewer), so a demoted captain's link narrows with them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

_VERSION = "v1"
MAX_TOKEN_LENGTH = 600  # a longer cookie or query value is refused before any work


class TokenError(Exception):
    """A token that is not ours, altered, malformed or expired (`reason` says which, for the log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    """What a valid token says: who asked, when it was issued and until when it is valid (ms since epoch)."""

    member_id: int
    identity: str
    issued_ms: int
    expires_ms: int

    @property
    def issued_at(self) -> datetime:
        """When the link was issued."""
        return datetime.fromtimestamp(self.issued_ms / 1000, UTC)

    @property
    def expires_at(self) -> datetime:
        """When the link stops working."""
        return datetime.fromtimestamp(self.expires_ms / 1000, UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def sign_token(secret: str, *, member_id: int, identity: str, now: datetime, ttl_seconds: int) -> str:
    """A token for `member_id` (asking as `identity`), valid from `now` for `ttl_seconds`."""
    if not secret:
        raise ValueError("no dashboard secret")
    payload = {"m": member_id, "i": identity, "iat": _ms(now), "exp": _ms(now) + ttl_seconds * 1000}
    body = f"{_VERSION}.{_b64(json.dumps(payload, separators=(',', ':'), ensure_ascii=False).encode('utf-8'))}"
    return f"{body}.{_b64(_mac(secret, body))}"


def read_token(secret: str, token: str, *, now: datetime) -> Claims:
    """The claims of a token we signed and that has not expired; TokenError otherwise."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise TokenError("malformed")
    body = f"{parts[0]}.{parts[1]}"
    try:
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None
    if not hmac.compare_digest(signature, _mac(secret, body)):
        raise TokenError("forged")
    try:
        data = json.loads(_unb64(parts[1]))
        claims = Claims(int(data["m"]), str(data["i"]), int(data["iat"]), int(data["exp"]))
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise TokenError("malformed") from None
    if _ms(now) >= claims.expires_ms:
        raise TokenError("expired")
    return claims
