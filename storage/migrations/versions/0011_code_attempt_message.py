"""wrong code attempts remember the platform message they came from, so a redelivery is counted once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('codeattempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('codeattempt', schema=None) as batch_op:
        batch_op.drop_column('message_id')
