"""Staff accounts."""
from __future__ import annotations

import re

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import StaffUser
from delphi.services import audit

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class StaffError(ValueError):
    """An account that cannot be created or changed as asked; the message says why in plain words."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise StaffError(f"the password must have at least {min_length} characters.")
    if len(password) > 200:
        raise StaffError("the password must have at most 200 characters.")


def create_staff_user(email: str, password: str, *, is_admin: bool = False, min_length: int = 10) -> StaffUser:
    address = normalise_email(email)
    if not _EMAIL.match(address) or len(address) > 320:
        raise StaffError(f"{email!r} is not an email address.")
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise StaffError(f"there is already an account for {address}.")
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
