"""staff invitations: one-time links to choose an invited account's first password

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:40:00

Owners invite colleagues and admins create accounts by e-mail (issue 21): the account is made without a usable
password, and a link (only its hash is kept here; it expires and works once) lets its owner choose one. The two new
mail kinds need no change: ``kind`` columns are VARCHAR(20) without a check constraint.
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['staff_user.id'], name=op.f('fk_staff_invitation_invited_by_id_staff_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_staff_invitation_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_invitation_token_hash'))
    )
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invitation_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invitation_user_id'))

    op.drop_table('staff_invitation')
