"""personal links derived from the server key and a generation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:50:00

A panellist's link token is now HMAC(key from SECRET_KEY, panellist id and generation), so a reminder can resend the
same link without the token being stored; reissuing or revoking a link moves the generation on. Links made before
this migration (random tokens) keep working; the first reminder that needs such a link gives a new one, once.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('panellist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('panellist', schema=None) as batch_op:
        batch_op.drop_column('link_generation')
