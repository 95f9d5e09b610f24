"""contact details and the outbox's texts encrypted at rest, with a blind index to find an e-mail address

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 09:00:00

A contact's e-mail address, phone number and name, and an outbox mail's subject, body and error, move into
``*_encrypted`` columns holding AES-256-GCM ciphertext under the app's contacts key (delphi/contact_cipher.py), and
the plaintext columns are dropped; ``contact.email_index`` is each address's blind index within its study. Run with the
key the server will use (``DELPHI_CONTACTS_KEY`` or contacts.key in the instance folder): the migration encrypts
with the key of the app it runs under. An empty address, phone or name becomes NULL. The downgrade decrypts back.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CONTACT = ("email", "phone", "name")
OUTBOX = ("subject", "body", "error")


def _cipher():
    return current_app.extensions["contact_cipher"]


def upgrade():
    cipher = _cipher()
    with op.batch_alter_table('contact', schema=None) as batch_op:
        for name in CONTACT:
            batch_op.add_column(sa.Column(f'{name}_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('email_index', sa.String(length=64), nullable=True))
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        for name in OUTBOX:
            batch_op.add_column(sa.Column(f'{name}_encrypted', sa.Text(), nullable=True))

    conn = op.get_bind()
    contact = sa.table('contact', sa.column('id', sa.Integer), sa.column('panellist_id', sa.Integer),
                       *[sa.column(n, sa.Text) for n in CONTACT],
                       *[sa.column(f'{n}_encrypted', sa.Text) for n in CONTACT], sa.column('email_index', sa.String))
    panellist = sa.table('panellist', sa.column('id', sa.Integer), sa.column('study_id', sa.Integer))
    rows = conn.execute(sa.select(contact.c.id, panellist.c.study_id, *[contact.c[n] for n in CONTACT])
                        .join(panellist, panellist.c.id == contact.c.panellist_id)).mappings().all()
    for row in rows:
        values = {f'{n}_encrypted': cipher.encrypt(row[n].strip(), f'contact.{n}') if (row[n] or '').strip() else None
                  for n in CONTACT}
        values['email_index'] = cipher.email_index(row['study_id'], row['email'])
        conn.execute(sa.update(contact).where(contact.c.id == row['id']).values(**values))

    outbox = sa.table('outbox_mail', sa.column('id', sa.Integer), *[sa.column(n, sa.Text) for n in OUTBOX],
                      *[sa.column(f'{n}_encrypted', sa.Text) for n in OUTBOX])
    for row in conn.execute(sa.select(outbox.c.id, *[outbox.c[n] for n in OUTBOX])).mappings().all():
        conn.execute(sa.update(outbox).where(outbox.c.id == row['id']).values(
            **{f'{n}_encrypted': cipher.encrypt(row[n] or '', f'outbox_mail.{n}') for n in OUTBOX}))

    with op.batch_alter_table('contact', schema=None) as batch_op:
        for name in CONTACT:
            batch_op.drop_column(name)
        batch_op.create_index(batch_op.f('ix_contact_email_index'), ['email_index'], unique=False)
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        for name in OUTBOX:
            batch_op.drop_column(name)
            batch_op.alter_column(f'{name}_encrypted', existing_type=sa.Text(), nullable=False)


def downgrade():
    cipher = _cipher()
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.String(length=500), nullable=True))

    conn = op.get_bind()
    for table_name, names in (('contact', CONTACT), ('outbox_mail', OUTBOX)):
        table = sa.table(table_name, sa.column('id', sa.Integer), *[sa.column(n, sa.Text) for n in names],
                         *[sa.column(f'{n}_encrypted', sa.Text) for n in names])
        for row in conn.execute(sa.select(table.c.id, *[table.c[f'{n}_encrypted'] for n in names])).mappings().all():
            conn.execute(sa.update(table).where(table.c.id == row['id']).values(**{
                n: cipher.decrypt(row[f'{n}_encrypted'], f'{table_name}.{n}') if row[f'{n}_encrypted'] else None
                for n in names}))

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        for name in OUTBOX:
            batch_op.drop_column(f'{name}_encrypted')
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('error', existing_type=sa.String(length=500), nullable=False)
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_email_index'))
        batch_op.drop_column('email_index')
        for name in CONTACT:
            batch_op.drop_column(f'{name}_encrypted')
