"""experiment: a study within the study (randomised feedback formats), its seed and each panellist's arm

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 19:00:00

Issue 23: ``study.experiment`` (the protocol's ``[experiment]`` table as JSON), ``study.allocation_seed`` (64 bits as
text, drawn when round 1 opens), when it was drawn and when the arms were allocated (round 2 opens), and
``panellist.arm``. Existing studies have no experiment (all null).
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('experiment', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('allocation_seed', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('allocation_seed_drawn_at', delphi.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('arms_allocated_at', delphi.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('panellist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('panellist', schema=None) as batch_op:
        batch_op.drop_column('arm')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('arms_allocated_at')
        batch_op.drop_column('allocation_seed_drawn_at')
        batch_op.drop_column('allocation_seed')
        batch_op.drop_column('experiment')
