"""company_contact: a squad's lead, visit or reception naming a company before any project counts as its
first contact (首谈负责制); ownership_clash.first_subject says whether the first squad holds a project or
such a contact. Filled from the stored events (not undone, without a project, naming a company).

Revision ID: 0016_company_contact
Revises: 0015_report_week
Create Date: 2026-12-01 04:20:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.company_names import company_key

revision: str = '0016_company_contact'
down_revision: str | None = '0015_report_week'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("lead", "visit", "reception")


def upgrade() -> None:
    op.create_table('company_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('company', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id'),
    )
    with op.batch_alter_table('company_contact', schema=None) as batch_op:
        batch_op.create_index('ix_company_contact_key', ['company_key', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_contact_team_id'), ['team_id'], unique=False)
    with op.batch_alter_table('ownership_clash', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_subject', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False,
                                      server_default='project'))
    _backfill()


def _backfill() -> None:
    connection = op.get_bind()
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('project_id', sa.Integer),
                     sa.column('team_id', sa.Integer), sa.column('kind', sa.String), sa.column('data', sa.Text),
                     sa.column('undoes_event_id', sa.Integer),
                     sa.column('created_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    undone = sa.select(event.c.undoes_event_id).where(event.c.undoes_event_id.is_not(None))
    rows = connection.execute(
        sa.select(event.c.id, event.c.team_id, event.c.kind, event.c.data, event.c.created_at)
        .where(event.c.kind.in_(_KINDS), event.c.project_id.is_(None), event.c.team_id.is_not(None),
               event.c.id.not_in(undone))
    ).all()
    contact = sa.table('company_contact', sa.column('team_id', sa.Integer), sa.column('company', sa.String),
                       sa.column('company_key', sa.String), sa.column('kind', sa.String),
                       sa.column('event_id', sa.Integer), sa.column('removed', sa.Boolean),
                       sa.column('created_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    values = []
    for event_id, team_id, kind, data, created_at in rows:
        try:
            company = str(json.loads(data or "{}").get("company") or "")
        except ValueError:
            continue
        key = company_key(company)
        if len(key) >= 2:
            values.append({"team_id": team_id, "company": company[:200], "company_key": key[:200], "kind": kind,
                           "event_id": event_id, "removed": False, "created_at": created_at})
    if values:
        connection.execute(contact.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table('ownership_clash', schema=None) as batch_op:
        batch_op.drop_column('first_subject')
    with op.batch_alter_table('company_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_contact_team_id'))
        batch_op.drop_index('ix_company_contact_key')
    op.drop_table('company_contact')
