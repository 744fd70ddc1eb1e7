"""platforms as they behave (issue 16): a binding's forum topic and pause; evidence size and fetch state;
files held for the next update (and when a member last held one); callbacks already run (WeCom replays)

Existing evidence rows without a local copy become `pending`: Telegram file ids do not expire, so the
start-up sweep downloads them now (within the size limit); a WeCom media id older than three days is
marked `expired` by the same sweep.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_held_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('chatbinding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('paused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size_bytes', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('fetch_state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False,
                                      server_default='pending'))
        batch_op.create_index(batch_op.f('ix_evidence_fetch_state'), ['fetch_state'], unique=False)
    op.execute("UPDATE evidence SET fetch_state = 'stored' WHERE stored_path <> ''")
    op.create_table('held_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('file_ref', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('mime_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('held_file', schema=None) as batch_op:
        batch_op.create_index('ix_held_file_owner', ['identity', 'chat_id', 'created_at'], unique=False)
    op.create_table('seen_callback',
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('platform', 'key')
    )
    with op.batch_alter_table('seen_callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_callback_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('seen_callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_callback_expires_at'))
    op.drop_table('seen_callback')
    with op.batch_alter_table('held_file', schema=None) as batch_op:
        batch_op.drop_index('ix_held_file_owner')
    op.drop_table('held_file')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_fetch_state'))
        batch_op.drop_column('fetch_state')
        batch_op.drop_column('size_bytes')
    with op.batch_alter_table('chatbinding', schema=None) as batch_op:
        batch_op.drop_column('paused_reason')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('thread_id')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('files_held_at')
