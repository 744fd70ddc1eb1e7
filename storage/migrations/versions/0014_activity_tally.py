"""activity counters (activity_tally) per squad, kind and local day, filled from the stored projects and
events; an index for one squad's activity events over a period

The days are local to the zone the year counters were last built in (ledger_meta.tally_timezone); with none
stored, Asia/Shanghai, and `zsbot` rebuilds every counter in the configured zone at start-up anyway
(storage.db.ensure_derived). The counting rule is storage.activity_tallies' (written out here, so later
changes to the models cannot change what this migration did).

Revision ID: 0014_activity_tally
Revises: 0013_funds_and_ownership
Create Date: 2026-12-01 03:50:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014_activity_tally'
down_revision: str | None = '0013_funds_and_ownership'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENT_KINDS = ("visit", "reception", "promo", "lead", "publicity")


def _day(moment: datetime, tz: tzinfo) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def upgrade() -> None:
    op.create_table('activity_tally',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'kind', 'day')
    )
    with op.batch_alter_table('activity_tally', schema=None) as batch_op:
        batch_op.create_index('ix_activity_tally_day', ['day', 'team_id', 'kind', 'count'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_team_kind_created', ['team_id', 'kind', 'created_at'], unique=False)
    _backfill()


def _backfill() -> None:
    connection = op.get_bind()
    meta = sa.table('ledger_meta', sa.column('key', sa.String), sa.column('value', sa.String))
    stored = connection.execute(sa.select(meta.c.value).where(meta.c.key == 'tally_timezone')).scalar_one_or_none()
    tz = ZoneInfo(stored or 'Asia/Shanghai')
    counts: Counter[tuple[int, str, date]] = Counter()
    utc = sqlmodel.sql.sqltypes.UTCDateTime
    project = sa.table('project', sa.column('team_id', sa.Integer), sa.column('stage', sa.String),
                       sa.column('removed', sa.Boolean), sa.column('signed_at', utc),
                       sa.column('landed_at', utc))
    rows = connection.execute(
        sa.select(project.c.team_id, project.c.signed_at, project.c.landed_at)
        .where(project.c.removed.is_not(True), project.c.stage != 'dropped',
               sa.or_(project.c.signed_at.is_not(None), project.c.landed_at.is_not(None))))
    for team_id, signed_at, landed_at in rows:
        for moment, kind in ((signed_at, 'sign'), (landed_at, 'land')):
            if moment is not None:
                counts[(int(team_id), kind, _day(moment, tz))] += 1
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('team_id', sa.Integer),
                     sa.column('kind', sa.String), sa.column('created_at', utc),
                     sa.column('undoes_event_id', sa.Integer))
    undo = event.alias('undo')
    rows = connection.execute(
        sa.select(event.c.team_id, event.c.kind, event.c.created_at)
        .select_from(event.outerjoin(undo, undo.c.undoes_event_id == event.c.id))
        .where(event.c.kind.in_(_EVENT_KINDS), event.c.team_id.is_not(None), undo.c.id.is_(None)))
    for team_id, kind, created_at in rows:
        counts[(int(team_id), str(kind), _day(created_at, tz))] += 1
    tally = sa.table('activity_tally', sa.column('team_id', sa.Integer), sa.column('kind', sa.String),
                     sa.column('day', sa.Date), sa.column('count', sa.Integer))
    values = [{'team_id': team_id, 'kind': kind, 'day': day, 'count': n}
              for (team_id, kind, day), n in sorted(counts.items())]
    if values:
        connection.execute(tally.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_team_kind_created')
    with op.batch_alter_table('activity_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_tally_day')
    op.drop_table('activity_tally')
