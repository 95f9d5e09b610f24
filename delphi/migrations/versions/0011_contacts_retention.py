"""a study's retention period for contact details after it closes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:30:00

Issue 21: contact details are erased by a scheduled job a set number of days after the study closes. Empty (the
default, and every existing study's value) keeps them until staff erase them, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contacts_retention_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('contacts_retention_days')
