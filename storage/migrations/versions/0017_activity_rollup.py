"""activity_rollup: activity_tally summed per local month and per year, so a year's or a quarter's activity
reads a few rows per squad and kind. Filled from activity_tally.

Revision ID: 0017_activity_rollup
Revises: 0016_company_contact
Create Date: 2026-12-01 05:00:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017_activity_rollup'
down_revision: str | None = '0016_company_contact'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activity_rollup',
    sa.Column('span', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('first', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('span', 'first', 'team_id', 'kind')
    )
    connection = op.get_bind()
    day_table = sa.table('activity_tally', sa.column('team_id', sa.Integer), sa.column('kind', sa.String),
                         sa.column('day', sa.Date), sa.column('count', sa.Integer))
    sums: Counter[tuple[str, date, int, str]] = Counter()
    for team_id, kind, day, count in connection.execute(sa.select(day_table)):
        day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        sums[("m", day.replace(day=1), int(team_id), str(kind))] += int(count)
        sums[("y", day.replace(month=1, day=1), int(team_id), str(kind))] += int(count)
    rollup = sa.table('activity_rollup', sa.column('span', sa.String), sa.column('first', sa.Date),
                      sa.column('team_id', sa.Integer), sa.column('kind', sa.String), sa.column('count', sa.Integer))
    rows = [{"span": s, "first": f, "team_id": t, "kind": k, "count": n} for (s, f, t, k), n in sorted(sums.items()) if n]
    if rows:
        connection.execute(rollup.insert(), rows)


def downgrade() -> None:
    op.drop_table('activity_rollup')
