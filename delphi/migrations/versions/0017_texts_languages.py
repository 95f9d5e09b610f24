"""Texts in more than one language: the languages a study offers, and each text's other languages

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 19:00:00

Issue 21 (delphi/localised.py): ``study.languages`` (the languages offered beyond the study's own; empty: only it) and
a ``translations`` column, {field: {language: text}}, on the rows whose texts panellists read (study, stakeholder
group, statement, open question). The existing text columns keep the study language's text; existing studies have
no translations.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TABLES = ('study', 'stakeholder_group', 'statement', 'open_question')


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=False, server_default='[]'))
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('translations', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('translations')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('languages')
