"""report_week: per squad and local week, its reports not undone (考核's no-report deduction), filled from the
events; covering indexes on the 签约 and 落地 times for 考核's size bands

The weeks are local to the zone the year counters were last built in (ledger_meta.tally_timezone); with none
stored, Asia/Shanghai, and `zsbot` rebuilds every counter in the configured zone at start-up anyway
(storage.db.ensure_derived). The counting rule is storage.report_weeks' (written out here, so later changes
to the models cannot change what this migration did).

Revision ID: 0015_report_week
Revises: 0014_activity_tally
Create Date: 2026-12-01 04:20:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015_report_week'
down_revision: str | None = '0014_activity_tally'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPORT_KINDS = ("create", "stage", "note", "visit", "problem", "resolve", "edit", "drop", "expect", "evidence",
                 "funds", "reception", "promo", "lead", "publicity")


def _week(moment: datetime, tz: tzinfo) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday())


def upgrade() -> None:
    op.create_table('report_week',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'week')
    )
    with op.batch_alter_table('report_week', schema=None) as batch_op:
        batch_op.create_index('ix_report_week_week', ['week', 'team_id', 'reports'], unique=False)
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index('ix_project_signed_cover', ['signed_at', 'team_id', 'amount_yuan', 'stage', 'removed',
                                                          'signed_verified_at'], unique=False)
        batch_op.create_index('ix_project_landed_cover', ['landed_at', 'team_id', 'amount_yuan', 'stage', 'removed',
                                                          'landed_verified_at'], unique=False)
    _backfill()


def _backfill() -> None:
    connection = op.get_bind()
    meta = sa.table('ledger_meta', sa.column('key', sa.String), sa.column('value', sa.String))
    stored = connection.execute(sa.select(meta.c.value).where(meta.c.key == 'tally_timezone')).scalar_one_or_none()
    tz = ZoneInfo(stored or 'Asia/Shanghai')
    utc = sqlmodel.sql.sqltypes.UTCDateTime
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('team_id', sa.Integer),
                     sa.column('kind', sa.String), sa.column('created_at', utc),
                     sa.column('undoes_event_id', sa.Integer))
    undo = event.alias('undo')
    rows = connection.execute(
        sa.select(event.c.team_id, event.c.created_at)
        .select_from(event.outerjoin(undo, undo.c.undoes_event_id == event.c.id))
        .where(event.c.kind.in_(_REPORT_KINDS), event.c.team_id.is_not(None), undo.c.id.is_(None)))
    counts: Counter[tuple[int, date]] = Counter()
    for team_id, created_at in rows:
        counts[(int(team_id), _week(created_at, tz))] += 1
    table = sa.table('report_week', sa.column('team_id', sa.Integer), sa.column('week', sa.Date),
                     sa.column('reports', sa.Integer))
    values = [{'team_id': team_id, 'week': week, 'reports': n} for (team_id, week), n in sorted(counts.items())]
    if values:
        connection.execute(table.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_landed_cover')
        batch_op.drop_index('ix_project_signed_cover')
    with op.batch_alter_table('report_week', schema=None) as batch_op:
        batch_op.drop_index('ix_report_week_week')
    op.drop_table('report_week')
