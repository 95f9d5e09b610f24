"""phone and paper parity: how each answer, round and consent was given; corrections in an open round

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-30 15:40:00

Issue 21: ``mode`` (web, phone, paper, in_person) on ratings, submissions and consent records, so the ratings export
and the report's participant flow say how answers came in. Rows saved by the panellist are "web"; rows staff typed in
before this revision (``entered_by_id`` set) take the channel the audit log recorded when they were entered (the latest
``ratings.entered_for_panellist`` entry for that contact and round), else stay "web". ``round.wording_version`` moves
on with each correction of a statement's wording in an open round, and ``statement_revision.previous_text`` keeps the wording a correction replaced.
"""
from alembic import op
import json

import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('rating', 'submission', 'consent_record'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('mode', sa.String(length=10), server_default='web', nullable=False))
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wording_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('statement_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_text', sa.Text(), nullable=True))
    _modes_from_audit_log()


CHANNELS = {'phone', 'paper', 'in_person'}


def _modes_from_audit_log():
    """Staff-entered rows get the channel their audit entry names (entries in id order: the latest wins)."""
    bind = op.get_bind()
    events = bind.execute(sa.text(
        "SELECT study_id, target, details FROM audit_event WHERE action = 'ratings.entered_for_panellist' "
        "ORDER BY id")).all()
    for study_id, target, details in events:
        details = json.loads(details) if isinstance(details, str) else (details or {})
        channel, number = details.get('channel'), details.get('round')
        if channel not in CHANNELS or not target.startswith('contact #') or not target[9:].isdigit():
            continue
        found = bind.execute(sa.text(
            "SELECT contact.panellist_id, round.id FROM contact JOIN panellist ON panellist.id = contact.panellist_id "
            "JOIN round ON round.study_id = panellist.study_id AND round.number = :number "
            "WHERE contact.id = :contact AND panellist.study_id = :study"),
            {"number": number, "contact": int(target[9:]), "study": study_id}).first()
        if found is None:
            continue
        for table in ('rating', 'submission'):
            bind.execute(sa.text(
                f"UPDATE {table} SET mode = :mode WHERE panellist_id = :panellist AND round_id = :round "
                "AND entered_by_id IS NOT NULL"), {"mode": channel, "panellist": found[0], "round": found[1]})


def downgrade():
    with op.batch_alter_table('statement_revision', schema=None) as batch_op:
        batch_op.drop_column('previous_text')
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('wording_version')
    for table in ('consent_record', 'submission', 'rating'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('mode')
