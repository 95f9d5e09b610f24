"""the outbox, mail texts kept per study, round closing dates and reminders, phone numbers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:44:03

Requests only queue mail; a job sends each row once, retries with back-off while the server is away, and records a
refusal with the server's reason (delphi/models/outbox.py). A round may have a closing date, reminders a number of
days before it, and close by itself; a contact may have a phone number.
"""
from alembic import op
import sqlalchemy as sa

import delphi.models.base


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_text',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invitation', 'reminder', 'password_reset', name='mailkind', native_enum=False, length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_mail_text_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_text')),
    sa.UniqueConstraint('study_id', 'kind', 'language', name=op.f('uq_mail_text_study_id_kind_language'))
    )
    op.create_table('outbox_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('invitation', 'reminder', 'password_reset', name='mailkind', native_enum=False, length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'failed', name='mailstatus', native_enum=False, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_at', delphi.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', delphi.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(contact_id IS NULL) <> (staff_user_id IS NULL)', name=op.f('ck_outbox_mail_one_recipient')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_outbox_mail_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_outbox_mail_staff_user_id_staff_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_outbox_mail_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mail'))
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_mail_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_outbox_mail_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_study_id'), ['study_id'], unique=False)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))

    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closes_at', delphi.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auto_close', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reminder_days', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('reminders_sent', sa.JSON(), server_default='[]', nullable=False))



def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('reminders_sent')
        batch_op.drop_column('reminder_days')
        batch_op.drop_column('auto_close')
        batch_op.drop_column('closes_at')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mail_study_id'))
        batch_op.drop_index('ix_outbox_mail_due')
        batch_op.drop_index(batch_op.f('ix_outbox_mail_contact_id'))

    op.drop_table('outbox_mail')
    op.drop_table('mail_text')
