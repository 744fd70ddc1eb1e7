"""SQLModel tables for the domain model of DESIGN §3.

Conventions: every datetime is timezone-aware and stored as UTC (SQLModel's UTCDateTime: timestamptz on
PostgreSQL, UTC text on SQLite); local-time questions such as "which year" are answered by converting the
boundaries to UTC, never the rows. Amounts are integer yuan
in BIGINT. Events are append-only: an undo is a new event pointing at the one it reverses.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

STAGES: tuple[str, ...] = ("planned", "attracting", "signed", "landed")
STAGE_ORDER: dict[str, int] = {stage: index for index, stage in enumerate(STAGES)}
ALL_STAGES: tuple[str, ...] = (*STAGES, "dropped")

# Stored roles: only those given in chat (handlers.access computes admin and settings leaders per message).
ROLES: tuple[str, ...] = ("member", "captain", "leader")
ADMIN_EVENT_KINDS: tuple[str, ...] = ("role", "roster", "team", "binding")


class Team(SQLModel, table=True):
    """A squad (小分队), street office (街道) or bureau (局)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    kind: str = Field(default="squad", max_length=20)  # squad / street / bureau
    invite_code: str = Field(unique=True, max_length=32)
    created_at: datetime


class Member(SQLModel, table=True):
    """A person. Platform identities point at it, so one person can use Telegram and WeCom."""

    __table_args__ = (Index("uq_member_link_code", "link_code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    role: str = Field(default="member", max_length=10)
    away_until: date | None = None  # reminders paused up to and including this day (请假)
    link_code: str | None = Field(default=None, max_length=16)  # `关联`: link another platform
    link_code_until: datetime | None = None
    # The member's last update that changed nothing (refused, or already so): `撤销` right after it says
    # there is nothing to undo from that message instead of silently undoing an older one.
    last_unchanged_at: datetime | None = None
    last_unchanged_text: str = Field(default="", max_length=200)
    # When the member last sent a photo or file without a command (handlers.attachments): only then does
    # an update look for held files, so the other updates cost no query.
    files_held_at: datetime | None = None
    # `看板 作废`: dashboard links (handlers.dashboard.tokens) issued to this member before this moment are void.
    dash_revoked_at: datetime | None = None
    created_at: datetime


class Identity(SQLModel, table=True):
    """One platform identity (`telegram:<id>`, `wecom:<userid>`, `console:<name>`) of a member."""

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(unique=True, max_length=200)
    member_id: int = Field(foreign_key="member.id", index=True)
    display_name: str = Field(default="", max_length=200)
    created_at: datetime


class Project(SQLModel, table=True):
    """A project in one of the four pools (or dropped)."""

    __table_args__ = (
        # Covers the reports' per-team tallies (SQLite answers them from the index alone).
        Index("ix_project_report_team", "team_id", "stage", "removed", "planned_at", "attracting_at",
              "signed_at", "landed_at", "amount_yuan", "signed_verified_at", "landed_verified_at"),
        Index("ix_project_expected_date", "expected_date"),
        Index("ix_project_company", "company"),  # a project named by its company (中原数据集团 → #15)
        Index("ix_project_expected_slips", "expected_slips"),
        # 考核's size bands: the projects that reached 签约 (落地) in a period, per squad and amount, from the
        # index alone (storage.assessment_queries.band_counts).
        Index("ix_project_signed_cover", "signed_at", "team_id", "amount_yuan", "stage", "removed",
              "signed_verified_at"),
        Index("ix_project_landed_cover", "landed_at", "team_id", "amount_yuan", "stage", "removed",
              "landed_verified_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    name_key: str = Field(max_length=200, index=True)  # normalised name for exact matching
    aliases: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # "|"-separated
    team_id: int = Field(foreign_key="team.id")
    stage: str = Field(default="planned", max_length=12, index=True)
    amount_yuan: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    amount_text: str = Field(default="", max_length=100)  # as the user wrote it, e.g. "300万美元"
    industry: str = Field(default="", max_length=50)
    wheel: str = Field(default="", max_length=10)  # 服务业 / 工业
    zone: str = Field(default="", max_length=50)
    place: str = Field(default="", max_length=100)
    company: str = Field(default="", max_length=200)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime
    updated_at: datetime = Field(index=True)
    last_event_at: datetime = Field(index=True)  # drives the stale-project lights
    planned_at: datetime | None = Field(default=None, index=True)
    attracting_at: datetime | None = Field(default=None, index=True)
    signed_at: datetime | None = Field(default=None, index=True)
    landed_at: datetime | None = Field(default=None, index=True)
    dropped_at: datetime | None = None
    drop_reason: str = Field(default="", max_length=500)
    signed_verified_at: datetime | None = None
    landed_verified_at: datetime | None = None
    expected_stage: str = Field(default="", max_length=12)
    expected_date: date | None = None
    expected_slips: int = 0
    removed: bool = Field(default=False, index=True)  # its creation was undone: out of the pools
    # The counterparty company as first-contact ownership (首谈负责制) compares it: storage.company_names
    # keeps it from `company` in every flush.
    company_key: str = Field(default="", max_length=200, index=True, sa_column_kwargs={"server_default": ""})


class Event(SQLModel, table=True):
    """An append-only record of one change. History, undo, movers and the audit trail read it."""

    __table_args__ = (
        Index("ix_event_member_created", "member_id", "created_at"),
        Index("ix_event_project_created", "project_id", "created_at"),
        # The leaderboard's 学 (yesterday's movers and reporters) and the weekly summary read a day or a
        # week of events by time: with kind, stage, team and project in the index they never touch the
        # wide event rows (bench/README.md, reports).
        Index("ix_event_created_cover", "created_at", "kind", "to_stage", "team_id", "project_id"),
        # 考核's explanation lines: one squad's activity events of some kinds over a period
        # (storage.activity_queries.activity_items).
        Index("ix_event_team_kind_created", "team_id", "kind", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    member_id: int | None = Field(default=None, foreign_key="member.id")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)  # the project's team then
    kind: str = Field(max_length=12, index=True)
    from_stage: str = Field(default="", max_length=12)
    to_stage: str = Field(default="", max_length=12)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # JSON: what undo needs to restore (the fields before the change) and structured extras.
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    undoes_event_id: int | None = Field(default=None, foreign_key="event.id", unique=True)
    source_platform: str = Field(default="", max_length=20)
    source_chat: str = Field(default="", max_length=200)
    source_message_id: str = Field(default="", max_length=200)
    created_at: datetime


class Problem(SQLModel, table=True):
    """A problem (问题) holding a project back, open until resolved."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    category: str = Field(max_length=10)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    opened_at: datetime = Field(index=True)
    opened_by: int | None = Field(default=None, foreign_key="member.id")
    resolved_at: datetime | None = Field(default=None, index=True)
    resolved_by: int | None = Field(default=None, foreign_key="member.id")
    resolution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    escalated_at: datetime | None = None
    withdrawn: bool = False  # the opening was undone


class Target(SQLModel, table=True):
    """A yearly target: for the district (team_id NULL) or one team, per stage."""

    __table_args__ = (UniqueConstraint("year", "scope", "stage", name="uq_target_year_scope_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    scope: str = Field(max_length=30)  # "district" or "team:<id>" (NULL-free, so the unique key holds)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    stage: str = Field(max_length=12)  # a stage, or "funds" (到位资金, in yuan)
    number: int = Field(sa_column=Column(BigInteger, nullable=False))  # yuan for "funds": past 2^31


class ChatBinding(SQLModel, table=True):
    """A group chat bound to a team or to the leaders, with its post settings."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_chat_platform_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=300)  # WeCom group robots: the robot key (a secret: never logged)
    title: str = Field(default="", max_length=200)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    is_leaders: bool = False
    mentions: bool = True
    settings: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # job times
    created_at: datetime
    # A Telegram forum topic the binding was made in: its scheduled posts go there ("" = the chat itself).
    thread_id: str = Field(default="", max_length=50)
    # Set when the chat was lost (the bot removed from the group, a robot key revoked): no posts go out
    # until the bot is added back (or the robot bound again). The reason is for the admins' listing.
    paused_at: datetime | None = None
    paused_reason: str = Field(default="", max_length=300)


class JobRun(SQLModel, table=True):
    """The exactly-once ledger: one row per job, chat and period, claimed before sending."""

    __table_args__ = (UniqueConstraint("job", "chat_key", "period", name="uq_jobrun_job_chat_period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=50)
    chat_key: str = Field(max_length=100)  # "platform:binding_id", never the robot key
    period: str = Field(max_length=20)
    state: str = Field(default="claimed", max_length=10)  # claimed / sent / failed
    attempts: int = 0
    owner: str = Field(default="", max_length=100)
    claimed_at: datetime
    finished_at: datetime | None = None
    error: str = Field(default="", max_length=1000)


class RankSnapshot(SQLModel, table=True):
    """A team's rank and score on a day, so the leaderboard can show ↑↓ against yesterday."""

    __table_args__ = (UniqueConstraint("day", "team_id", name="uq_ranksnapshot_day_team"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    team_id: int = Field(foreign_key="team.id")
    rank: int
    score: float


class InboundMessage(SQLModel, table=True):
    """Every platform message handled, with its reply: a redelivery gets the same answer, stores nothing."""

    __table_args__ = (UniqueConstraint("platform", "message_id", name="uq_inbound_platform_message"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    message_id: str = Field(max_length=200)
    identity: str = Field(max_length=200)
    reply: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class PendingChoice(SQLModel, table=True):
    """A question the bot asked ("which project did you mean?"), answered later with `1`, `2` …"""

    __table_args__ = (UniqueConstraint("identity", "chat_id", name="uq_pending_identity_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=200)
    chat_id: str = Field(max_length=300)
    command_text: str = Field(sa_column=Column(Text, nullable=False))  # the original message
    options: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of project ids
    created_at: datetime


class Evidence(SQLModel, table=True):
    """A photo or file (contract, licence) sent with an update and kept on the project."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    platform: str = Field(max_length=20)
    file_ref: str = Field(max_length=500)
    file_name: str = Field(default="", max_length=300)
    mime_type: str = Field(default="", max_length=100)
    stored_path: str = Field(default="", max_length=500)  # local copy, when downloaded
    created_at: datetime
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))  # 0: unknown
    # pending (its copy is to be downloaded), stored, too_large (over ZSBOT_FILES_MAX_MB: name and size only),
    # failed (the platform would not give it), expired (a WeCom media id older than its 3 days), pruned.
    fetch_state: str = Field(default="pending", max_length=12, index=True)


class HeldFile(SQLModel, table=True):
    """A photo or file a member sent without a command (WeCom images carry no caption): it becomes evidence
    of the member's next update in that chat, within ATTACH_WINDOW (handlers.attachments)."""

    __tablename__ = "held_file"
    __table_args__ = (Index("ix_held_file_owner", "identity", "chat_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=200)
    chat_id: str = Field(max_length=300)
    kind: str = Field(max_length=10)  # photo / document
    file_ref: str = Field(max_length=500)
    file_name: str = Field(default="", max_length=300)
    mime_type: str = Field(default="", max_length=100)
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    created_at: datetime


class SeenCallback(SQLModel, table=True):
    """A platform callback already run (WeCom: its MsgId), kept until its timestamp leaves the accepted
    window: a replay inside the window is answered without running again, even a read-only question."""

    __tablename__ = "seen_callback"

    platform: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=200)
    expires_at: datetime = Field(index=True)


class TeamYearTally(SQLModel, table=True):
    """Per squad, local year, stage and verification: the live projects that reached the stage that year.

    A counter kept by storage.tallies in the same flush as every change to a project, so the yearly
    reports (排行, 进度, 汇总) sum a few rows per squad instead of scanning the projects.
    """

    __tablename__ = "team_year_tally"

    year: int = Field(primary_key=True)
    team_id: int = Field(primary_key=True, foreign_key="team.id")
    stage: str = Field(primary_key=True, max_length=12)
    verified: bool = Field(primary_key=True)  # 签约/落地 confirmed by a leader (always true for the others)
    projects: int = 0
    amount_yuan: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class BreakdownYearTally(SQLModel, table=True):
    """The same counter by wheel (两轮), industry and zone for the whole district ("" where none is set)."""

    __tablename__ = "breakdown_year_tally"

    year: int = Field(primary_key=True)
    wheel: str = Field(primary_key=True, max_length=10)
    industry: str = Field(primary_key=True, max_length=50)
    zone: str = Field(primary_key=True, max_length=50)
    stage: str = Field(primary_key=True, max_length=12)
    verified: bool = Field(primary_key=True)
    projects: int = 0
    amount_yuan: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class LedgerMeta(SQLModel, table=True):
    """Facts about the stored ledger itself, e.g. the time zone the year counters were bucketed in."""

    __tablename__ = "ledger_meta"

    key: str = Field(primary_key=True, max_length=50)
    value: str = Field(default="", max_length=500)


class CodeAttempt(SQLModel, table=True):
    """A wrong invite or link code, counted so guessing is slow (per identity and district-wide)."""

    __table_args__ = (
        Index("ix_codeattempt_identity_kind_created", "identity", "kind", "created_at"),
        Index("ix_codeattempt_kind_created", "kind", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=200)
    kind: str = Field(max_length=10)  # invite / link
    # The platform message the guess came in (a redelivery of it is not counted again); "" when none.
    message_id: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    created_at: datetime


class ProjectKey(SQLModel, table=True):
    """A searchable key of a project: its name key and each alias (storage.name_index keeps these)."""

    __tablename__ = "project_key"

    key: str = Field(primary_key=True, max_length=200)
    project_id: int = Field(primary_key=True, foreign_key="project.id", index=True)


class ProjectGram(SQLModel, table=True):
    """A two-character piece of a project's keys, for substring look-ups (storage.name_index)."""

    __tablename__ = "project_gram"

    gram: str = Field(primary_key=True, max_length=2)
    project_id: int = Field(primary_key=True, foreign_key="project.id")


class FundsArrival(SQLModel, table=True):
    """Money that actually arrived for a signed project (到位资金), dated, attributed, with its event."""

    __tablename__ = "funds_arrival"
    __table_args__ = (
        # The reports sum a period per squad (and per district) without reading the wide rows.
        Index("ix_funds_arrival_team_day", "team_id", "arrived_on", "removed", "amount_yuan"),
        Index("ix_funds_arrival_day", "arrived_on", "removed", "team_id", "amount_yuan"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    team_id: int = Field(foreign_key="team.id")  # the project's team when recorded (转交 moves them)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)  # the "funds" event
    amount_yuan: int = Field(sa_column=Column(BigInteger, nullable=False))
    arrived_on: date
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime
    removed: bool = False  # the report was undone (撤销)


class OwnershipClash(SQLModel, table=True):
    """Two squads courting the same company (撞单, 首谈负责制): who had it first, who came second, when."""

    __tablename__ = "ownership_clash"
    __table_args__ = (
        Index("ix_ownership_clash_open", "resolved_at", "created_at"),
        Index("ix_ownership_clash_first_project", "first_project_id"),
        Index("ix_ownership_clash_second_project", "second_project_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company: str = Field(max_length=200)  # the company (or project name) both named, as first recorded
    first_team_id: int = Field(foreign_key="team.id")
    first_project_id: int | None = Field(default=None, foreign_key="project.id")
    first_seen_at: datetime  # when the first squad started courting it
    second_team_id: int = Field(foreign_key="team.id")
    second_project_id: int | None = Field(default=None, foreign_key="project.id")
    subject: str = Field(max_length=12)  # what the second squad reported: project, visit, reception, lead
    subject_text: str = Field(default="", max_length=200)  # the name the second squad wrote
    member_id: int | None = Field(default=None, foreign_key="member.id")
    event_id: int | None = Field(default=None, foreign_key="event.id")
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: int | None = Field(default=None, foreign_key="member.id")
    resolution: str = Field(default="", max_length=30)  # "transfer:<event id>" (转交), "dropped:<event id>" (放弃), "undone"
    # What the first squad holds: "project" (first_project_id), or the contact it recorded before any
    # project: "lead", "visit" or "reception" (a CompanyContact).
    first_subject: str = Field(default="project", max_length=12)


class CompanyContact(SQLModel, table=True):
    """A squad's first-hand contact with a company before any project (首谈): a lead, a visit or a reception
    naming it. First-contact ownership counts it as courting the company, like a project naming it."""

    __tablename__ = "company_contact"
    __table_args__ = (Index("ix_company_contact_key", "company_key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    company: str = Field(max_length=200)
    company_key: str = Field(max_length=200)  # storage.company_names.company_key of `company`
    kind: str = Field(max_length=12)  # lead, visit, reception
    event_id: int = Field(foreign_key="event.id", unique=True)
    created_at: datetime
    removed: bool = False  # its event was undone


class ActivityTally(SQLModel, table=True):
    """Per squad, activity kind and local day: how many (签约/落地 moves, visits, receptions, events, leads,
    publicity). Kept by storage.activity_tallies in the same transaction as the change it counts, so the
    activity index and 考核 sum a few rows per squad instead of reading the events."""

    __tablename__ = "activity_tally"
    __table_args__ = (
        # activity_counts over a period for every squad reads the index alone.
        Index("ix_activity_tally_day", "day", "team_id", "kind", "count"),
    )

    team_id: int = Field(primary_key=True, foreign_key="team.id")
    kind: str = Field(primary_key=True, max_length=12)
    day: date = Field(primary_key=True)  # local to the district's zone (settings.tz)
    count: int = 0


class ActivityRollup(SQLModel, table=True):
    """activity_tally summed per local month (span "m") and per year (span "y"), `first` the span's first day,
    written with it in every change: a year to date reads one row per squad and kind, a quarter three."""

    __tablename__ = "activity_rollup"

    span: str = Field(primary_key=True, max_length=1)  # "m" month, "y" year
    first: date = Field(primary_key=True)
    team_id: int = Field(primary_key=True, foreign_key="team.id")
    kind: str = Field(primary_key=True, max_length=12)
    count: int = 0


class ReportWeek(SQLModel, table=True):
    """Per squad and local week (its Monday): how many reports its members made, not undone. Kept by
    storage.report_weeks as each event is appended (and undone), so 考核's no-report deduction reads a few
    rows per squad instead of probing the events week by week."""

    __tablename__ = "report_week"
    __table_args__ = (
        # The weeks of a period for every squad, from the index alone.
        Index("ix_report_week_week", "week", "team_id", "reports"),
    )

    team_id: int = Field(primary_key=True, foreign_key="team.id")
    week: date = Field(primary_key=True)  # the Monday, local to the district's zone (settings.tz)
    reports: int = 0
