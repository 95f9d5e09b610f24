"""Who works on a study: adding a colleague's staff account in a role, and removing one, while the study keeps an
owner. Each change is audited."""
from __future__ import annotations

import sqlalchemy as sa

from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.models import DomainError, StaffUser, Study, StudyMember, StudyRole
from delphi.services import audit


def memberships_of(user: StaffUser) -> list[StudyMember]:
    """The studies ``user`` works on, as their memberships, oldest study first."""
    return list(db.session.scalars(
        sa.select(StudyMember).where(StudyMember.user_id == user.id).order_by(StudyMember.study_id)))


def add_member(study: Study, email: str, role: StudyRole, actor: StaffUser | None) -> StudyMember:
    """Add the active staff account with ``email`` to the study in ``role``; :class:`InputErrors` on the ``email``
    field when there is no such account or it is already a member."""
    email = email.strip().lower()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email, StaffUser.active.is_(True)))
    if user is None:
        raise InputErrors([Problem("There is no staff account with that email address. An administrator can make "
                                   "one with `delphi user create`.", field="email")])
    if (current := user.role_in(study)) is not None:
        raise InputErrors([Problem(f"{email} is already a {current.value} of this study.", field="email")])
    study.members.append(member := StudyMember(user=user, role=role))
    audit.record("study.member_add", study=study, actor=actor, target=f"staff {user.id}", role=role.value)
    db.session.flush()
    return member


def remove_member(study: Study, member: StudyMember, actor: StaffUser | None) -> None:
    """Remove a colleague from the study; :class:`DomainError` when they are its last owner."""
    owners = [m for m in study.members if m.role is StudyRole.owner]
    if member.role is StudyRole.owner and len(owners) == 1:
        raise DomainError("A study needs at least one owner; add another owner first.")
    study.members.remove(member)
    audit.record("study.member_remove", study=study, actor=actor, target=f"staff {member.user_id}")
    db.session.flush()
