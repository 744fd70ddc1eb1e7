"""access policy: roles from the settings are no longer stored (reset to member); wrong code attempts table

Before this revision an admin's or ZSBOT_LEADERS leader's role was written on the member and counted
forever; now it is read from the settings on every message, and only roles given in chat (captain, and a
leader appointed by an admin) are stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE member SET role = 'member' WHERE role IN ('admin', 'leader')")
    op.create_table('codeattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('codeattempt', schema=None) as batch_op:
        batch_op.create_index('ix_codeattempt_identity_kind_created', ['identity', 'kind', 'created_at'], unique=False)
        batch_op.create_index('ix_codeattempt_kind_created', ['kind', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('codeattempt', schema=None) as batch_op:
        batch_op.drop_index('ix_codeattempt_kind_created')
        batch_op.drop_index('ix_codeattempt_identity_kind_created')
    op.drop_table('codeattempt')
