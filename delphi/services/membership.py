"""Who works on a study: inviting a colleague by e-mail in a role, changing a role, and removing a colleague, while the
study keeps an owner. Each change is audited, and the colleague is told by mail."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.models import DomainError, StaffUser, Study, StudyMember, StudyRole
from delphi.services import audit
from delphi.services.staff import StaffError
from delphi.services.staff_invitations import (
    account_by_email,
    create_invited_account,
    role_word,
    send_added_notice,
    send_invitation,
)


def memberships_of(user: StaffUser) -> list[StudyMember]:
    """The studies ``user`` works on, as their memberships, oldest study first."""
    return list(db.session.scalars(
        sa.select(StudyMember).where(StudyMember.user_id == user.id).order_by(StudyMember.study_id)))


@dataclass(frozen=True)
class Added:
    member: StudyMember
    invited: bool  # True: the account is new or has no password yet, and was sent a link to choose one


def add_member(study: Study, email: str, role: StudyRole, actor: StaffUser | None) -> Added:
    """Add the person with ``email`` to the study in ``role``, and queue a mail telling them. Someone without an
    account gets one, with an invitation link to choose its password. :class:`InputErrors` on the ``email`` field
    for an address that is not one, a closed account, or someone already on the team. The caller commits, then wakes
    the mail sender."""
    user = account_by_email(email)
    if user is None:
        try:
            user = create_invited_account(email, actor)
        except StaffError as exc:
            raise InputErrors([Problem(str(exc), field="email")]) from exc
    elif not user.active:
        raise InputErrors([Problem(_("The account for %(email)s is closed. An administrator can open it again.",
                                     email=user.email), field="email")])
    elif (current := user.role_in(study)) is not None:
        raise InputErrors([Problem(_("%(email)s is already a %(role)s of this study.", email=user.email,
                                     role=role_word(current)), field="email")])
    study.members.append(member := StudyMember(user=user, role=role))
    audit.record("study.member_add", study=study, actor=actor, target=f"staff {user.id}", role=role.value)
    db.session.flush()
    if user.has_password:
        send_added_notice(user, study, role, actor)
    else:
        send_invitation(user, actor, study, role)
    return Added(member, invited=not user.has_password)


def resend_invitation(study: Study, member: StudyMember, actor: StaffUser | None) -> None:
    """Send a new invitation link to a colleague who has not chosen a password yet (the old link stops working)."""
    if member.user.has_password or not member.user.active:
        raise DomainError(_("%(email)s can already sign in; there is no invitation to send again.",
                            email=member.user.email))
    send_invitation(member.user, actor, study, member.role)
    audit.record("study.member_reinvite", study=study, actor=actor, target=f"staff {member.user_id}")
    db.session.flush()


def _owners(study: Study) -> list[StudyMember]:
    """Owners who can act: an invited owner who has not chosen a password yet, or a closed account, does not count."""
    return [m for m in study.members if m.role is StudyRole.owner and m.user.active and m.user.has_password]


def change_role(study: Study, member: StudyMember, role: StudyRole, actor: StaffUser | None) -> None:
    """Give a colleague another role; :class:`DomainError` when that would leave the study without an owner."""
    if member.role is role:
        return
    if member.role is StudyRole.owner and _owners(study) in ([], [member]):
        raise DomainError(_("A study needs at least one owner; make someone else an owner first."))
    audit.record("study.member_role", study=study, actor=actor, target=f"staff {member.user_id}",
                 role=role.value, previous=member.role.value)
    member.role = role
    db.session.flush()


def remove_member(study: Study, member: StudyMember, actor: StaffUser | None) -> None:
    """Remove a colleague from the study; :class:`DomainError` when they are its last owner."""
    if member.role is StudyRole.owner and _owners(study) in ([], [member]):
        raise DomainError(_("A study needs at least one owner; add another owner first."))
    study.members.remove(member)
    audit.record("study.member_remove", study=study, actor=actor, target=f"staff {member.user_id}")
    db.session.flush()
