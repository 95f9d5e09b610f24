"""Staff accounts: password change (ends other sessions), reset by e-mail through a real SMTP server, colleagues."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import StaffUser, StudyMember, StudyRole


def test_password_change_keeps_this_session_and_ends_others(app, client, auth, owner):
    other = app.test_client()
    other.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery"})
    assert other.get("/studies/").status_code == 200
    response = client.post("/staff/password", data={"current_password": "correct horse battery",
                                                     "new_password": "a much longer secret", "confirm": "a much longer secret"})
    assert response.status_code == 303
    assert client.get("/studies/").status_code == 200
    assert other.get("/studies/").status_code == 302
    auth.logout()
    assert auth.login(email="owner@example.org", password="a much longer secret").status_code == 303


def test_password_change_errors_rerender(client, owner):
    response = client.post("/staff/password", data={"current_password": "wrong", "new_password": "short",
                                                     "confirm": "other"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Use at least 10 characters" in text and "not the same" in text
    response = client.post("/staff/password", data={"current_password": "wrong", "new_password": "long enough pass",
                                                     "confirm": "long enough pass"})
    assert response.status_code == 422 and "not your current password" in response.get_data(as_text=True)


def test_password_reset_by_email(app, client, auth, make_user, smtp):
    make_user("owner@example.org")
    response = client.post("/staff/reset", data={"email": "Owner@Example.org"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/reset/sent"
    [message] = smtp.messages
    link = __import__("re").search(r"http://\S+/staff/reset/\S+", smtp.body(message)).group(0)
    assert link.startswith("http://delphi.test/staff/reset/")  # on PUBLIC_URL
    path = link.removeprefix("http://delphi.test")
    assert client.get(path).status_code == 200
    response = client.post(path, data={"new_password": "brand new password", "confirm": "brand new password"})
    assert response.status_code == 303
    assert client.get(path).status_code == 404  # single use: the hash changed
    assert auth.login(email="owner@example.org", password="brand new password").status_code == 303


def test_reset_for_unknown_email_looks_the_same_and_sends_nothing(client, smtp):
    response = client.post("/staff/reset", data={"email": "nobody@example.org"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/reset/sent"
    assert smtp.messages == []


def test_reset_token_expires_and_rejects_tampering(app, make_user):
    from delphi.services.password_reset import make_reset_token, user_for_reset_token

    user_id = make_user("owner@example.org")
    with app.test_request_context():
        user = db.session.get(StaffUser, user_id)
        token = make_reset_token(user)
        assert user_for_reset_token(token).id == user_id
        assert user_for_reset_token(token, max_age=-1) is None
        assert user_for_reset_token(token[:-2] + "xx") is None
        assert user_for_reset_token("garbage") is None


def test_owner_adds_a_colleague_by_email(app, client, owner, make_user):
    _, study_id = owner
    colleague = make_user("colleague@example.org")
    response = client.post(f"/studies/{study_id}/members", data={"email": "not an address", "role": "facilitator"})
    assert response.status_code == 422 and "like name@example.org" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/members", data={"email": "colleague@example.org", "role": "researcher"})
    assert response.status_code == 303
    with app.app_context():
        member = db.session.scalar(sa.select(StudyMember).where(StudyMember.user_id == colleague))
        assert member.role is StudyRole.researcher
    response = client.post(f"/studies/{study_id}/members", data={"email": "colleague@example.org", "role": "owner"})
    assert response.status_code == 422 and "already a researcher" in response.get_data(as_text=True)


def test_the_last_owner_cannot_be_removed(app, client, owner):
    _, study_id = owner
    with app.app_context():
        member_id = db.session.scalar(sa.select(StudyMember.id).where(StudyMember.study_id == study_id))
    client.post(f"/studies/{study_id}/members/{member_id}/remove")
    with app.app_context():
        assert db.session.get(StudyMember, member_id) is not None
