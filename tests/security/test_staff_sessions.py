"""Attacks on staff accounts: a copied session cookie after sign-out, timing that tells which accounts exist, and
NUL bytes in the forms anyone can post (issue 19)."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from delphi.extensions import db
from delphi.jobs import huey
from delphi.models import MailKind, OutboxMail, StaffUser
from delphi.models.staff import UNUSABLE_HASH

PASSWORD = "correct horse battery"


def copy_of_session(app, client):
    """A second browser holding a copy of ``client``'s session cookie (as stolen from a shared computer)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_signing_out_ends_a_copied_session_cookie(app, client, auth, make_user, get):
    user_id = make_user()
    assert auth.login().status_code == 303
    thief = copy_of_session(app, client)
    assert thief.get("/studies/").status_code == 200  # the copy works while the session lasts

    assert auth.logout().status_code == 303
    replayed = thief.get("/studies/")
    assert replayed.status_code == 302 and replayed.headers["Location"].startswith("/staff/login")
    assert get(StaffUser, user_id).session_version == 2  # 1 from the password, +1 for the sign-out


def test_signing_in_again_after_signing_out_works(client, auth, make_user):
    make_user()
    auth.login()
    auth.logout()
    assert auth.login().status_code == 303
    assert client.get("/studies/").status_code == 200


def test_deactivating_an_account_ends_its_sessions(app, client, auth, make_user, runner, get):
    user_id = make_user()
    auth.login()
    assert client.get("/studies/").status_code == 200
    result = runner.invoke("user", "deactivate", "Facilitator@Example.org")
    assert result.exit_code == 0, result.output
    assert "Deactivated facilitator@example.org" in result.output
    assert client.get("/studies/").status_code == 302
    account = get(StaffUser, user_id)
    assert account.active is False and account.session_version == 2
    assert auth.login().status_code == 422
    assert runner.invoke("user", "deactivate", "facilitator@example.org").output.strip() == \
        "facilitator@example.org was already deactivated."
    unknown = runner.invoke("user", "deactivate", "nobody@example.org")
    assert unknown.exit_code == 1 and "there is no staff account nobody@example.org" in unknown.output


def test_a_password_reset_ends_the_accounts_sessions(app, client, auth, make_user):
    from delphi.services.password_reset import make_reset_token

    user_id = make_user()
    auth.login()
    with app.test_request_context():
        token = make_reset_token(db.session.get(StaffUser, user_id))
    stranger = app.test_client()
    response = stranger.post(f"/staff/reset/{token}", data={"new_password": "a new long password",
                                                            "confirm": "a new long password"})
    assert response.status_code == 303
    assert client.get("/studies/").status_code == 302


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password hashes computed (werkzeug's scrypt), wherever the check is made."""
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


@pytest.mark.parametrize("email, password, status", [
    ("nobody@example.org", PASSWORD, 422),  # no such account
    ("gone@example.org", PASSWORD, 422),  # deactivated, right password
    ("gone@example.org", "wrong password", 422),  # deactivated, wrong password
    ("here@example.org", "wrong password", 422),  # active, wrong password
    ("here@example.org", PASSWORD, 303),  # signs in
])
def test_every_sign_in_answer_costs_one_password_hash(auth, make_user, hashes, email, password, status):
    """A deactivated account was refused without a hash check: 7 ms against 110 ms for every other answer."""
    make_user("here@example.org")
    make_user("gone@example.org", active=False)
    hashes.clear()
    assert auth.login(email=email, password=password).status_code == status
    assert len(hashes) == 1


def test_the_stand_in_hash_costs_what_an_accounts_hash_costs():
    # Same method and cost parameters as set_password makes (werkzeug's default could change on an upgrade).
    assert UNUSABLE_HASH.split("$")[0] == generate_password_hash("x", method="scrypt").split("$")[0]
    assert len(UNUSABLE_HASH.split("$")[2]) == len(generate_password_hash("x", method="scrypt").split("$")[2])


def test_a_reset_request_does_the_same_work_for_any_address(app, client, make_user, hashes, monkeypatch):
    """A request for a real account queued its mail in the request (token, template, insert, commit): it took longer
    than one for an unknown address. Now each only queues a job with the address, and the worker does the rest."""
    make_user("here@example.org")
    make_user("gone@example.org", active=False)
    app.config["JOBS_IMMEDIATE"] = False  # the jobs wait in the queue, as they do for a worker
    huey.flush()
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    work = {}
    try:
        for email in ("here@example.org", "nobody@example.org", "gone@example.org"):
            statements.clear()
            hashes.clear()
            response = client.post("/staff/reset", data={"email": email})
            assert response.status_code == 303 and response.headers["Location"] == "/staff/reset/sent"
            work[email] = (list(statements), len(hashes), huey.pending_count())
            huey.flush()
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert work["here@example.org"] == work["nobody@example.org"] == work["gone@example.org"] == ([], 0, 1)


def test_the_worker_queues_the_reset_mail_in_the_outbox(app, client, make_user):
    user_id = make_user("here@example.org")
    make_user("gone@example.org", active=False)
    app.config.update(JOBS_IMMEDIATE=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=9)  # no mail server: the mail waits
    huey.flush()
    for email in ("Here@Example.org", "nobody@example.org", "gone@example.org"):
        client.post("/staff/reset", data={"email": email})
    assert huey.pending_count() == 3
    with app.app_context():
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
        [mail] = db.session.scalars(sa.select(OutboxMail)).all()
        assert (mail.kind, mail.staff_user_id, mail.attempts) == (MailKind.password_reset, user_id, 1)
        assert "http://localhost/staff/reset/" in mail.body  # on PUBLIC_URL, kept until it is sent


def test_a_reset_request_is_not_lost_when_the_queue_is_away(app, client, make_user, monkeypatch, caplog):
    user_id = make_user("here@example.org")
    app.config.update(JOBS_IMMEDIATE=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=9)

    def queue_away(task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(huey, "enqueue", queue_away)
    response = client.post("/staff/reset", data={"email": "here@example.org"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/reset/sent"
    assert "could not queue a password reset; handling it in the request" in caplog.text
    with app.app_context():
        [mail] = db.session.scalars(sa.select(OutboxMail)).all()
        assert (mail.kind, mail.staff_user_id) == (MailKind.password_reset, user_id)


@pytest.mark.parametrize("path, data", [
    ("/staff/login", {"email": "here\x00@example.org", "password": PASSWORD}),
    ("/staff/login", {"email": "\x00", "password": "\x00"}),
    ("/staff/reset", {"email": "here@example.org\x00"}),
    ("/staff/reset", {"email": "here@exa\x07mple.org"}),
])
def test_control_characters_in_an_address_are_refused_plainly(client, make_user, path, data):
    """PostgreSQL refuses NUL in text: these answered 500 there before any sign-in."""
    make_user("here@example.org")
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert "it contains a character that cannot be typed on a keyboard" in response.get_data(as_text=True)
