"""Loading a study for the signed-in staff member, refusing anyone without a role in it."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from delphi.extensions import db
from delphi.models import Contact, StudyMember, StudyRole, Study
import sqlalchemy as sa

ALL_ROLES = frozenset(StudyRole)
RUNNING_ROLES = frozenset({StudyRole.owner, StudyRole.facilitator})
# The two sides of a study (docs/security.md, "Who can know what"). The contacts side (the panel page, links,
# invitations and reminders, withdrawal on request, proxy entry) is for those who run the study; the data side
# (reports, exports, review of comments and suggestions) is for every role, researchers included. No page is on both.
CONTACTS_SIDE = RUNNING_ROLES
DATA_SIDE = ALL_ROLES


def get_study_or_404(study_id: int, roles: frozenset[StudyRole] = ALL_ROLES) -> tuple[Study, StudyRole]:
    """The study and the user's role in it. 404 when the user has no role (a study of others does not exist for
    them); 403 when they have a role that may not do this."""
    member = db.session.scalar(
        sa.select(StudyMember).where(StudyMember.study_id == study_id, StudyMember.user_id == current_user.id)
    )
    if member is None:
        abort(404)
    if member.role not in roles:
        abort(403)
    return member.study, member.role

OWNER_ONLY = frozenset({StudyRole.owner})


def get_in_study_or_404(model, object_id: int, study: Study):
    """An object of ``model`` with that id that belongs to the study; 404 for one of another study or none."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.study_id != study.id:
        abort(404)
    return obj


def get_contact_or_404(contact_id: int, study: Study) -> Contact:
    """A contact of a panellist still in the study; 404 for one of another study, a withdrawn panellist or none."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.panellist.study_id != study.id or contact.panellist.withdrawn:
        abort(404)
    return contact
