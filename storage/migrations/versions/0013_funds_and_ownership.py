"""funds in place (到位资金) and first-contact ownership (首谈负责制): funds_arrival, ownership_clash,
project.company_key (filled here from project.company), and target.number as BIGINT (a 到位 target is yuan)

Revision ID: 0013_funds_and_ownership
Revises: 0011
Create Date: 2026-11-30 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.company_names import company_key

revision: str = '0013_funds_and_ownership'
down_revision: str | None = '0012_dash_revocation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('funds_arrival',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('amount_yuan', sa.BigInteger(), nullable=False),
    sa.Column('arrived_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('funds_arrival', schema=None) as batch_op:
        batch_op.create_index('ix_funds_arrival_day', ['arrived_on', 'removed', 'team_id', 'amount_yuan'], unique=False)
        batch_op.create_index('ix_funds_arrival_team_day', ['team_id', 'arrived_on', 'removed', 'amount_yuan'], unique=False)
        batch_op.create_index(batch_op.f('ix_funds_arrival_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funds_arrival_project_id'), ['project_id'], unique=False)

    op.create_table('ownership_clash',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('first_team_id', sa.Integer(), nullable=False),
    sa.Column('first_project_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('second_team_id', sa.Integer(), nullable=False),
    sa.Column('second_project_id', sa.Integer(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('subject_text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['first_project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['first_team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['resolved_by'], ['member.id'], ),
    sa.ForeignKeyConstraint(['second_project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['second_team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ownership_clash', schema=None) as batch_op:
        batch_op.create_index('ix_ownership_clash_first_project', ['first_project_id'], unique=False)
        batch_op.create_index('ix_ownership_clash_open', ['resolved_at', 'created_at'], unique=False)
        batch_op.create_index('ix_ownership_clash_second_project', ['second_project_id'], unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_project_company_key'), ['company_key'], unique=False)

    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)

    # Fill the new key from the companies already stored (a district's few hundred, a province's few
    # hundred thousand: one pass over the distinct names).
    connection = op.get_bind()
    project = sa.table('project', sa.column('company', sa.String), sa.column('company_key', sa.String))
    names = connection.execute(sa.select(project.c.company).where(project.c.company != '').distinct()).scalars().all()
    for name in names:
        connection.execute(project.update().where(project.c.company == name).values(company_key=company_key(name)))


def downgrade() -> None:
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_company_key'))
        batch_op.drop_column('company_key')

    with op.batch_alter_table('ownership_clash', schema=None) as batch_op:
        batch_op.drop_index('ix_ownership_clash_second_project')
        batch_op.drop_index('ix_ownership_clash_open')
        batch_op.drop_index('ix_ownership_clash_first_project')

    op.drop_table('ownership_clash')
    with op.batch_alter_table('funds_arrival', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funds_arrival_project_id'))
        batch_op.drop_index(batch_op.f('ix_funds_arrival_event_id'))
        batch_op.drop_index('ix_funds_arrival_team_day')
        batch_op.drop_index('ix_funds_arrival_day')

    op.drop_table('funds_arrival')
