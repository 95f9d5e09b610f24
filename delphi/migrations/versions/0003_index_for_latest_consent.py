"""index for a panellist's latest consent decision

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:50:00

The latest decision (highest id) of one panellist is read by every save. An index on (panellist_id, id) finds it in
one step down the index; the index on panellist_id alone, which it replaces, left PostgreSQL without statistics free to
walk the primary key backwards through every other panellist's records.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index('ix_consent_record_panellist_latest', ['panellist_id', 'id'], unique=False)
        batch_op.drop_index('ix_consent_record_panellist_id')


def downgrade():
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index('ix_consent_record_panellist_id', ['panellist_id'], unique=False)
        batch_op.drop_index('ix_consent_record_panellist_latest')
