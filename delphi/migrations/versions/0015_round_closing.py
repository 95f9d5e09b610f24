"""a round's close as a background job: who asked, the worker's tries, its lease and its error

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 17:00:00

Closing a round computes every figure (5-9 s at 5,000 panellists x 200 statements), so the web close marks the round
"closing" (a new value of the VARCHAR ``round.status``; no constraint to change) and a worker finishes it
(delphi/services/rounds.py). These columns hold that job's claim, as ``report_build`` does for a build.
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('close_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('close_claimed_until', delphi.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('close_error', sa.String(length=500), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_round_close_requested_by_id_staff_user'), 'staff_user',
                                    ['close_requested_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    # A round left "closing" goes back to open: its answers are all kept, and it can be closed again.
    op.execute("UPDATE round SET status = 'open' WHERE status = 'closing'")
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_round_close_requested_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('close_error')
        batch_op.drop_column('close_claimed_until')
        batch_op.drop_column('close_attempts')
        batch_op.drop_column('close_requested_by_id')
