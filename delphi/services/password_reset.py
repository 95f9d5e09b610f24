"""Password-reset links: signed, expiring, and single-use because the signature's salt holds the password hash
(setting a new password changes the hash, so the link stops working)."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from delphi.extensions import db
from delphi.models import StaffUser

RESET_MAX_AGE = 60 * 60  # one hour


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _salt(user: StaffUser) -> str:
    return "password-reset:" + user.password_hash


def make_reset_token(user: StaffUser) -> str:
    return _serializer(_salt(user)).dumps(user.id)


def user_for_reset_token(token: str, max_age: int = RESET_MAX_AGE) -> StaffUser | None:
    """The active account the token was made for, if it is genuine, unexpired and unused; else None."""
    if not token or len(token) > 500:
        return None
    _valid, user_id = _serializer("unverified").loads_unsafe(token)
    if not isinstance(user_id, int) or not 0 < user_id < 2**31:
        return None
    user = db.session.get(StaffUser, user_id)
    if user is None or not user.active:
        return None
    try:
        if _serializer(_salt(user)).loads(token, max_age=max_age) != user.id:
            return None
    except (BadSignature, SignatureExpired):
        return None
    return user
