"""Stored moments: a naive datetime is UTC (SQLite returns times raw outside the ORM's UTCDateTime), and the
local day one falls on."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def as_utc(moment: datetime) -> datetime:
    """`moment` made aware: a naive one is taken as UTC, an aware one is returned as it is."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The calendar day `moment` falls on in the zone `tz` (a naive moment is UTC)."""
    return as_utc(moment).astimezone(tz).date()
