"""Password resets by e-mail. The links are signed, expiring, and single-use because the signature's salt holds the
password hash (setting a new password changes the hash, so the link stops working).

A reset request only queues a job with the address it was given (:func:`request_password_reset`): the request does
the same work, and takes the same time, whether or not the address has an account. The worker looks the account up
and, for an active one, queues the mail in the outbox and sends it (:func:`send_password_reset`)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from delphi.db import writing
from delphi.extensions import db
from delphi.jobs import job, run_soon
from delphi.links import password_reset_link
from delphi.models import StaffUser
from delphi.services.outbox import deliver_due, queue_password_reset

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


def request_password_reset(email: str) -> None:
    """Hand a reset request for ``email`` to the worker, with the page's language for the mail; nothing about the
    address is looked up here.

    If the queue cannot be reached, the work is done here instead (the mail matters more than the timing then).
    """
    address = email.strip().lower()
    language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    try:
        run_soon(send_password_reset, address, language)
    except Exception:  # the queue is away (Redis, the SQLite queue file): do the job's work in this request
        if current_app.config.get("JOBS_IMMEDIATE"):
            raise  # the job itself failed, here and now: there is no queue to fall back from
        current_app.logger.exception("could not queue a password reset; handling it in the request")
        send_password_reset.call_local(address, language)


def queue_reset_mail(email: str, language: str = "en") -> StaffUser | None:
    """Queue a reset mail in ``language`` (the language of the page it was asked on) in the outbox to the active
    account with this address; the account, or None when there is none. Flushes; the caller commits."""
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email, StaffUser.active.is_(True)))
    if user is None:
        return None
    with force_locale(language):  # the worker has no request to take the language from
        body = render_template("email/password_reset.txt", link=password_reset_link(make_reset_token(user)),
                               minutes=RESET_MAX_AGE // 60)
        subject = _("Reset your password")
    queue_password_reset(user, subject, body)
    return user


@job()
def send_password_reset(email: str, language: str = "en") -> None:
    """The worker's half of a reset request: queue the mail, in ``language``, for an active account with this
    address, and send it. (``language`` has a default so that a job queued before it existed still runs.)"""
    with writing():
        user = queue_reset_mail(email, language)
        db.session.commit()
    if user is not None:
        deliver_due()
