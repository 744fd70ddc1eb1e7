"""member: the sender's last message that changed nothing (so 撤销 right after it can say so); project
named by its company (index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_unchanged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_unchanged_text', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=''))
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index('ix_project_company', ['company'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_company')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('last_unchanged_text')
        batch_op.drop_column('last_unchanged_at')
