"""consensus.unable_in_denominator: whether "unable to rate" counts in the percentages' denominator

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:30:00

A protocol option of the consensus definition (issue 20), locked at round 1 like the rest of [consensus]. Existing
studies keep today's meaning: "unable to rate" counts in no statistic (false).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unable_in_denominator', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('unable_in_denominator')
