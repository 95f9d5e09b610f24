"""every panellist still in a study has a contact row, addresses or not

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 13:05:00

The contacts side names a person by their contact row ("contact #12"), never by the pseudonym (issue 19). Panellists
added without an e-mail or phone had no such row; they get an empty one. Withdrawn panellists' contact details were
erased on purpose and stay erased.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    panellist = sa.table('panellist', sa.column('id', sa.Integer), sa.column('withdrawn', sa.Boolean))
    contact = sa.table('contact', sa.column('panellist_id', sa.Integer))
    op.execute(sa.insert(contact).from_select(
        ['panellist_id'],
        sa.select(panellist.c.id).where(panellist.c.withdrawn.is_(sa.false()),
                                        panellist.c.id.not_in(sa.select(contact.c.panellist_id)))))


def downgrade():
    # Empty rows are harmless to the code before this revision (it checks for an address, not for a row).
    pass
