"""Accounts made by invitation: an owner invites a colleague to a study, or an admin creates an account, by e-mail.

The account is made at once without a usable password (it cannot sign in), and a mail through the outbox carries a
one-time link on ``PUBLIC_URL`` that lets its owner choose one. Only a SHA-256 hash of the link's token is stored;
the link expires after :data:`INVITATION_DAYS` days and works once, and a newer invitation replaces older ones."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext as _

from delphi.extensions import db
from delphi.links import external_url
from delphi.models import MailKind, StaffInvitation, StaffUser, Study, StudyRole, utcnow
from delphi.models.staff import UNUSABLE_HASH
from delphi.services import audit
from delphi.services.outbox import queue_staff_mail
from delphi.services.staff import StaffError, normalise_email, valid_email

INVITATION_DAYS = 7


def role_word(role: StudyRole) -> str:
    """The role as a word inside a sentence ("... as facilitator"), in the current language."""
    return {StudyRole.owner: _("owner"), StudyRole.facilitator: _("facilitator"),
            StudyRole.researcher: _("researcher")}[role]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def account_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == normalise_email(email)))


def create_invited_account(email: str, actor: StaffUser | None, *, is_admin: bool = False) -> StaffUser:
    """An account for ``email`` that cannot sign in until its owner follows the invitation link; :class:`StaffError`
    when the address is not one or already has an account. Audited; flushes."""
    address = normalise_email(email)
    if not valid_email(address):
        raise StaffError(_("Enter an email address like name@example.org."))
    if account_by_email(address) is not None:
        raise StaffError(_("There is already an account for %(email)s.", email=address))
    user = StaffUser(email=address, password_hash=UNUSABLE_HASH, is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    audit.record("staff.invite", actor=actor, target=f"staff {user.id}", admin=is_admin)
    return user


def send_invitation(user: StaffUser, actor: StaffUser | None, study: Study | None = None,
                    role: StudyRole | None = None) -> None:
    """Queue a mail with a new one-time link for ``user`` to choose a password; earlier links stop working. The
    caller commits, then wakes the sender."""
    now = utcnow()
    db.session.execute(sa.update(StaffInvitation).where(StaffInvitation.user_id == user.id,
                                                        StaffInvitation.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    db.session.add(StaffInvitation(user_id=user.id, token_hash=_hash(token), invited_by_id=actor.id if actor else None,
                                   created_at=now, expires_at=now + timedelta(days=INVITATION_DAYS)))
    body = render_template("email/staff_invitation.txt", link=external_url("auth.join", token=token), study=study,
                           role=role_word(role) if role else None, inviter=actor.email if actor else None,
                           days=INVITATION_DAYS)
    subject = _("You are invited to %(study)s", study=study.title) if study else _("Your staff account")
    queue_staff_mail(user, MailKind.staff_invitation, subject[:200], body)


def send_added_notice(user: StaffUser, study: Study, role: StudyRole, actor: StaffUser | None) -> None:
    """Tell an account that can already sign in that it now works on ``study``."""
    body = render_template("email/staff_added.txt", study=study, role=role_word(role),
                           inviter=actor.email if actor else None,
                           link=external_url("facilitate.study", study_id=study.id))
    queue_staff_mail(user, MailKind.staff_added, _("You have been added to %(study)s", study=study.title)[:200], body)


def invitation_for_token(token: str) -> StaffInvitation | None:
    """The unused, unexpired invitation of an active account that the token belongs to; None otherwise."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(sa.select(StaffInvitation).where(StaffInvitation.token_hash == _hash(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        return None
    if not invitation.user.active or invitation.user.has_password:
        return None  # closed since, or a password chosen another way (a reset): the link has done its work
    return invitation


def accept_invitation(invitation: StaffInvitation, password: str) -> StaffUser:
    """Set the password the invited person chose; the link (and any other of theirs) stops working. Audited."""
    user = invitation.user
    user.set_password(password)
    db.session.execute(sa.update(StaffInvitation).where(StaffInvitation.user_id == user.id,
                                                        StaffInvitation.used_at.is_(None)).values(used_at=utcnow()))
    audit.record("staff.join", actor=user, target=f"staff {user.id}")
    db.session.flush()
    return user
