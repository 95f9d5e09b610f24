"""safeguarding: the study's contact person and support services, the time a round takes, deletion requests

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 16:00:00

Issue 22: a help panel on every panellist page ([support] in the protocol), the start page's time estimate
(``minutes``; 0, every existing study's value, estimates it from the number of statements), and panellists' requests
to delete their data, which reach the contacts side as tasks.
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('support_contact_name', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('support_contact_email', sa.String(length=254), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('support_contact_phone', sa.String(length=40), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('support_services', sa.JSON(), nullable=True))
    op.execute("UPDATE study SET support_services = '[]'")  # no support services listed yet
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('support_services', existing_type=sa.JSON(), nullable=False)
    op.create_table(
        'deletion_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.Enum('contact', 'answers', name='deletionscope', native_enum=False, length=10,
                                   create_constraint=False), nullable=False),
        sa.Column('requested_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_deletion_request_contact_id_contact'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_deletion_request_study_id_study'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_request')),
        sa.UniqueConstraint('contact_id', name=op.f('uq_deletion_request_contact_id')),
    )
    with op.batch_alter_table('deletion_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_request_study_id'), ['study_id'], unique=False)


def downgrade():
    with op.batch_alter_table('deletion_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_request_study_id'))
    op.drop_table('deletion_request')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('support_services')
        batch_op.drop_column('support_contact_phone')
        batch_op.drop_column('support_contact_email')
        batch_op.drop_column('support_contact_name')
        batch_op.drop_column('minutes')
