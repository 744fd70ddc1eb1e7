"""activity_month_tally: activity_tally summed per local month, so a year's activity reads whole months.
Filled from activity_tally.

Revision ID: 0017_activity_month_tally
Revises: 0016_company_contact
Create Date: 2026-12-01 04:55:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017_activity_month_tally'
down_revision: str | None = '0016_company_contact'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activity_month_tally',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'kind', 'month')
    )
    connection = op.get_bind()
    day_table = sa.table('activity_tally', sa.column('team_id', sa.Integer), sa.column('kind', sa.String),
                         sa.column('day', sa.Date), sa.column('count', sa.Integer))
    months: Counter[tuple[int, str, date]] = Counter()
    for team_id, kind, day, count in connection.execute(sa.select(day_table)):
        day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        months[(int(team_id), str(kind), day.replace(day=1))] += int(count)
    month_table = sa.table('activity_month_tally', sa.column('team_id', sa.Integer), sa.column('kind', sa.String),
                           sa.column('month', sa.Date), sa.column('count', sa.Integer))
    rows = [{"team_id": t, "kind": k, "month": m, "count": n} for (t, k, m), n in sorted(months.items()) if n]
    if rows:
        connection.execute(month_table.insert(), rows)


def downgrade() -> None:
    op.drop_table('activity_month_tally')
