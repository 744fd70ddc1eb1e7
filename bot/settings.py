"""Settings from ZSBOT_* environment variables and an optional .env file (DESIGN §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.assessment_scheme import Scheme, load_scheme
from handlers.rules import RANKING_BY, RankingBy, Rules


class Settings(BaseSettings):
    """Every knob of a deployment. Built once, in the composition root, never at import time."""

    model_config = SettingsConfigDict(env_prefix="ZSBOT_", env_file=".env", extra="ignore")

    # A PostgreSQL URL may carry a password: kept out of repr (the CLI prints it masked).
    database_url: str = Field(default="sqlite+aiosqlite:///zsbot.db", repr=False)
    timezone: str = "Asia/Shanghai"
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The names people @ the bot by in chats (`@招商助手 落地 #19`), besides the platforms' own usernames.
    bot_names: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["招商助手", "zsbot"])
    leaders: Annotated[list[str], NoDecode] = Field(default_factory=list)  # identities with the leader role
    host: str = "0.0.0.0"
    port: int = 8080
    # Web worker processes of `zsbot run`, sharing the port (bot.workers); more than 1 needs the Telegram
    # webhook, since getUpdates allows a single consumer.
    workers: int = Field(default=1, ge=1, le=64)

    # Secrets are SecretStr: repr(settings), a log line or a traceback's locals show "**********".
    telegram_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr = SecretStr("")

    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: SecretStr = SecretStr("")
    wecom_token: SecretStr = SecretStr("")
    wecom_aes_key: SecretStr = SecretStr("")
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    # A signed WeCom callback whose timestamp is further than this from our clock is refused (a replay of
    # an old capture, or a clock gone wrong). WeCom's own retries need well under a minute (measured by
    # bench.wecom_retries; figures in bench/README.md); the rest is room for two clocks that
    # drift apart between NTP syncs (a server clock off by tens of ppm gains minutes in a few months).
    # Within the window a replayed callback is acknowledged but never run twice (bot.replays).
    wecom_callback_window_seconds: int = Field(default=900, ge=30, le=86_400)

    # The web server against slow or greedy clients (bot.web_guard): a connection must finish its request
    # headers within `http_header_timeout` seconds of connecting (or of its last answer), its body within
    # `http_body_timeout`; one address may hold at most `http_max_connections_per_peer` connections
    # (0: no cap, e.g. behind a reverse proxy where every client has the proxy's address).
    http_header_timeout: float = Field(default=15.0, gt=0, le=3600)
    http_body_timeout: float = Field(default=10.0, gt=0, le=3600)
    http_max_connections_per_peer: int = Field(default=64, ge=0)

    # WeCom 智能机器人 (AI bot, bot.wecom_bot): the long connection with its Bot ID and Secret (the default,
    # no public URL needed), or the callback URL with its Token and EncodingAESKey.
    wecom_bot_id: str = ""
    wecom_bot_secret: str = ""
    wecom_bot_ws_url: str = "wss://openws.work.weixin.qq.com"
    wecom_bot_token: str = ""
    wecom_bot_aes_key: str = ""

    # The 驾驶舱 (bot/dashboard): `看板` answers with a link on `public_url` (the address people reach
    # `zsbot run` at, e.g. https://zsbot.example.gov.cn), signed with `dash_secret` and valid for
    # `dash_ttl_hours`. Without both, `看板` says the dashboard is not set up and /dash/ serves nothing.
    dash_secret: SecretStr = SecretStr("")
    public_url: str = ""
    dash_ttl_hours: float = Field(default=12.0, gt=0, le=24 * 31)
    dash_screen_refresh_seconds: int = Field(default=60, ge=10, le=3600)  # the big screen reloads itself

    files_dir: str = "zsbot_files"  # evidence files (contracts, licences) downloaded from platforms
    # Evidence files larger than this are recorded (name, size) but not downloaded. Telegram's getFile
    # serves at most 20 MB; a scanned contract or a licence photo is well under 10.
    files_max_mb: float = Field(default=10.0, gt=0, le=20)
    # `zsbot files prune` (and the daily housekeeping) deletes evidence copies older than this many days
    # (0: keep them as long as their project exists); files no stored evidence points at go regardless.
    files_retention_days: int = Field(default=0, ge=0)

    # Domain knobs.
    undo_window_minutes: int = 30
    usd_cny_rate: float = 7.1
    industries_file: str = ""  # a TOML file replacing the default industries (handlers/industries.toml)
    stage_weights: dict[str, float] = Field(
        default_factory=lambda: {"planned": 1.0, "attracting": 2.0, "signed": 3.0, "landed": 4.0}
    )
    # Stale-project lights: months without an event before yellow, red, and flagged for removal.
    stale_months: tuple[int, int, int] = (2, 3, 6)
    # Squad lights against 序时进度: points behind for yellow and red.
    schedule_yellow_points: float = 10
    schedule_red_points: float = 30
    problem_escalation_days: int = 14
    job_grace_minutes: int = 180  # a post missed at its time (bot down) is still sent this long after
    require_verification: bool = False  # 签约/落地 moves need a leader's 核实 before they count
    captains_verify: bool = False  # captains may also 核实 their own squad's 签约/落地 (handlers.access)
    fuzzy_threshold: float = 72.0  # rapidfuzz score (0-100) a name must reach to be offered
    # A TOML file replacing the default assessment scheme (handlers/assessment_default.toml): points per
    # item for 考核, and the activity index's weights for 活跃 and the weekly 赛马榜. Checked at start-up.
    assessment_file: str = ""
    # What the morning 比学赶超 ranks squads by: pools (composite completion, today's weighting), assessment
    # (考核 points for the year so far) or activity (活跃指数 for the year so far).
    ranking_by: str = "pools"

    @field_validator("admins", "leaders", "bot_names", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ranking_by")
    @classmethod
    def _ranking_by(cls, value: str) -> str:
        if value not in RANKING_BY:
            raise ValueError(f"must be one of {', '.join(RANKING_BY)}, not {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain sqlite:// and postgresql:// URLs and pick the async driver for them."""
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("postgresql+psycopg://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The district's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def telegram_enabled(self) -> bool:
        """Telegram starts when a token is configured."""
        return bool(self.telegram_token.get_secret_value())

    @property
    def wecom_enabled(self) -> bool:
        """WeCom starts when the app's credentials are configured."""
        return bool(self.wecom_corp_id and self.wecom_secret.get_secret_value()
                    and self.wecom_token.get_secret_value() and self.wecom_aes_key.get_secret_value())

    @property
    def dash_enabled(self) -> bool:
        """The dashboard is served and `看板` issues links when its secret and public address are set."""
        return bool(self.dash_secret.get_secret_value() and self.public_url)

    @property
    def files_max_bytes(self) -> int:
        """The largest evidence file downloaded, in bytes."""
        return int(self.files_max_mb * 1024 * 1024)

    @property
    def wecom_bot_enabled(self) -> bool:
        """The AI bot's long connection starts when its Bot ID and Secret are configured."""
        return bool(self.wecom_bot_id and self.wecom_bot_secret)

    @property
    def wecom_bot_callback_enabled(self) -> bool:
        """The AI bot's callback route is served when its Token and EncodingAESKey are configured."""
        return bool(self.wecom_bot_token and self.wecom_bot_aes_key)

    def rules(self) -> Rules:
        """The district's rules for the core and the scheduled posts (nothing secret in them)."""
        return Rules(
            tz=self.tz, admins=tuple(self.admins), leaders=tuple(self.leaders), bot_names=tuple(self.bot_names),
            require_verification=self.require_verification, captains_verify=self.captains_verify,
            undo_window_minutes=self.undo_window_minutes, fuzzy_threshold=self.fuzzy_threshold,
            usd_cny_rate=self.usd_cny_rate, stage_weights=dict(self.stage_weights), stale_months=self.stale_months,
            schedule_yellow_points=self.schedule_yellow_points, schedule_red_points=self.schedule_red_points,
            problem_escalation_days=self.problem_escalation_days, job_grace_minutes=self.job_grace_minutes,
            files_max_mb=self.files_max_mb, scheme=load_scheme(self.assessment_path()),
            ranking_by=cast(RankingBy, self.ranking_by),
        )

    @property
    def scheme(self) -> Scheme:
        """The assessment scheme (the default is read once; a district's file at each call: `rules()` keeps one)."""
        return load_scheme(self.assessment_path())

    def assessment_path(self) -> Path | None:
        """The configured assessment scheme file, if any."""
        return Path(self.assessment_file) if self.assessment_file else None

    def industries_path(self) -> Path | None:
        """The configured industries file, if any."""
        return Path(self.industries_file) if self.industries_file else None
