"""report builds kept in the database, and an index for the reports' fingerprint

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00

A study's downloads are built by a background job and kept, file by file in chunks of about a megabyte, until the
study's data change (delphi/models/report_build.py). The fingerprint that says whether they still match reads each
closed round's ratings by (round_id, updated_at), from the index alone.
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_build',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'ready', 'failed', name='buildstatus', native_enum=False, length=20), nullable=False),
    sa.Column('files_done', sa.Integer(), nullable=False),
    sa.Column('files_total', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff_user.id'], name=op.f('fk_report_build_requested_by_id_staff_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_report_build_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_build')),
    sa.UniqueConstraint('study_id', 'fingerprint', name=op.f('uq_report_build_study_id_fingerprint'))
    )
    with op.batch_alter_table('report_build', schema=None) as batch_op:
        batch_op.create_index('ix_report_build_due', ['status', 'claimed_until'], unique=False)

    op.create_table('report_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['report_build.id'], name=op.f('fk_report_file_build_id_report_build'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_file')),
    sa.UniqueConstraint('build_id', 'name', name=op.f('uq_report_file_build_id_name'))
    )
    op.create_table('report_chunk',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['report_file.id'], name=op.f('fk_report_chunk_file_id_report_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'number', name=op.f('pk_report_chunk'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_round_updated', ['round_id', 'updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_round_updated')

    op.drop_table('report_chunk')
    op.drop_table('report_file')
    with op.batch_alter_table('report_build', schema=None) as batch_op:
        batch_op.drop_index('ix_report_build_due')

    op.drop_table('report_build')
