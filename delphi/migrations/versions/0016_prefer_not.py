"""scale.prefer_not_to_answer: "prefer not to answer", a flag on each rating apart from "unable to rate"

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 16:45:00

Issue 22: an optional answer a panellist may give instead of a rating, counted separately from "unable to rate"
(``rating.declined``, ``round_result.n_declined``). The study option is off for existing studies; existing ratings
and stored figures had no such answer (false, 0). A rating is never both declined and unable, nor declined with a
value.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefer_not_to_answer', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declined', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint('declined_alone',
                                         'NOT (declined AND (unable_to_rate OR value IS NOT NULL))')
    with op.batch_alter_table('round_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_declined', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('round_result', schema=None) as batch_op:
        batch_op.drop_column('n_declined')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_constraint('ck_rating_declined_alone', type_='check')
        batch_op.drop_column('declined')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('prefer_not_to_answer')
