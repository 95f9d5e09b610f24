"""Staff accounts."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.extensions import db
from delphi.models import StaffUser
from delphi.models.staff import check_password_of_nobody
from delphi.services import audit

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class StaffError(ValueError):
    """An account that cannot be created or changed as asked; the message says why in plain words."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address)) and len(address) <= 320


def check_password_rules(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise StaffError(_("the password must have at least %(count)s characters.", count=min_length))
    if len(password) > 200:
        raise StaffError(_("the password must have at most 200 characters."))


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active account with this address and password, or None.

    Every answer costs exactly one password-hash check: an unknown address is checked against a hash of nobody's
    password, and a deactivated account's own hash is checked before it is refused, so that how long a refusal takes
    does not tell an unknown or deactivated account from a wrong password.
    """
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if user is None:
        check_password_of_nobody(password)
        return None
    matches = user.check_password(password)
    return user if matches and user.active else None


def end_sessions(user: StaffUser) -> None:
    """Sign ``user`` out everywhere (on signing out: a copy of the session cookie stops working too)."""
    user.end_sessions()
    db.session.flush()


def deactivate(user: StaffUser, actor: StaffUser | None = None) -> None:
    """Close an account: it can no longer sign in or reset its password, and every session of it ends."""
    user.deactivate()
    audit.record("staff.deactivate", actor=actor, target=f"staff {user.id}")
    db.session.flush()


def accounts() -> list[StaffUser]:
    """Every staff account, by address."""
    return list(db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))


def _keep_an_admin(user: StaffUser) -> None:
    """Refuse to take away the last active administrator: nobody could manage accounts in the app after that."""
    others = db.session.scalar(sa.select(sa.func.count(StaffUser.id)).where(
        StaffUser.is_admin.is_(True), StaffUser.active.is_(True), StaffUser.id != user.id))
    if user.is_admin and user.active and not others:
        raise StaffError(_("This is the only administrator. Make another account an administrator first."))


def close_account(user: StaffUser, actor: StaffUser | None) -> None:
    """Deactivate an account from the administration pages, never the last administrator."""
    _keep_an_admin(user)
    deactivate(user, actor)


def reactivate(user: StaffUser, actor: StaffUser | None) -> None:
    """Open a closed account again; it signs in with its old password (its sessions stay ended)."""
    user.active = True
    audit.record("staff.reactivate", actor=actor, target=f"staff {user.id}")
    db.session.flush()


def set_admin(user: StaffUser, is_admin: bool, actor: StaffUser | None) -> None:
    """Make ``user`` an administrator or not, never removing the last one. Audited."""
    if not is_admin:
        _keep_an_admin(user)
    user.is_admin = is_admin
    audit.record("staff.admin_grant" if is_admin else "staff.admin_revoke", actor=actor, target=f"staff {user.id}")
    db.session.flush()


def create_staff_user(email: str, password: str, *, is_admin: bool = False, min_length: int = 10) -> StaffUser:
    address = normalise_email(email)
    if not valid_email(address):
        raise StaffError(_("%(email)s is not an email address.", email=repr(email)))
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise StaffError(_("there is already an account for %(email)s.", email=address))
    check_password_rules(password, min_length)
    created = StaffUser(email=address, is_admin=is_admin, password_hash="")
    created.set_password(password)
    db.session.add(created)
    db.session.flush()
    return created


def change_password(user: StaffUser, new_password: str) -> None:
    """Set the password ``user`` chose, signed in (every other session of theirs ends), and audit it."""
    user.set_password(new_password)
    audit.record("staff.password_change", actor=user, target=f"staff {user.id}")
    db.session.flush()


def reset_password(user: StaffUser, new_password: str) -> None:
    """Set the password ``user`` chose through a reset link (the link stops working, and so does every session of
    theirs), and audit it."""
    user.set_password(new_password)
    audit.record("staff.password_reset", actor=user, target=f"staff {user.id}")
    db.session.flush()
