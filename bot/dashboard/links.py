"""The DashLinks port (handlers.ports): signs links with ZSBOT_DASH_SECRET on ZSBOT_PUBLIC_URL."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.settings import Settings
from handlers.dashboard.tokens import sign_token
from handlers.ports import DashLink

OPEN_PATH = "/dash/open"  # the link's page: it trades the token for a cookie and redirects (bot.dashboard.web)
MINI_APP_PATH = "/dash/tg"  # the Telegram Mini App's page: it trades Telegram's initData for the same cookie


class SignedLinks:
    """Issues dashboard links; the secret stays here, out of the core's Rules."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.dash_secret.get_secret_value()
        self._base = settings.public_url.rstrip("/")
        self._ttl = int(settings.dash_ttl_hours * 3600)
        # Telegram opens Mini Apps from https addresses only; it hands them who is asking (bot.dashboard.web).
        https = self._base.startswith("https://")
        self._web_app = f"{self._base}{MINI_APP_PATH}" if https and settings.telegram_enabled else ""

    @property
    def missing(self) -> str:
        """"" when configured, else the setting lacking."""
        if not self._secret:
            return "secret"
        return "" if self._base else "public_url"

    def issue(self, *, member_id: int, identity: str, now: datetime) -> DashLink:
        """A link valid from `now` for ZSBOT_DASH_TTL_HOURS."""
        token = sign_token(self._secret, member_id=member_id, identity=identity, now=now, ttl_seconds=self._ttl)
        return DashLink(f"{self._base}{OPEN_PATH}?t={token}", now + timedelta(seconds=self._ttl), self._web_app)
