"""Staff sign-in, sign-out, and who may see a study's page."""
import pytest

from delphi.models import StudyRole


@pytest.fixture
def owner_and_study(make_user, make_study):
    user_id = make_user()
    study_id = make_study(members={user_id: StudyRole.owner})
    return user_id, study_id


def test_login_page_renders(client):
    response = client.get("/staff/login")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'autocomplete="current-password"' in text
    assert 'for="email"' in text and 'id="email"' in text


def test_login_and_logout(client, auth, owner_and_study):
    response = auth.login()
    assert response.status_code == 303
    assert response.headers["Location"] == "/studies/"
    assert "Test study" in client.get("/studies/").get_data(as_text=True)
    assert auth.logout().status_code == 303
    assert client.get("/studies/").status_code == 302


def test_wrong_password_rerenders_with_email_and_plain_error(auth, owner_and_study):
    response = auth.login(password="wrong password")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "do not match an account" in text
    assert 'value="facilitator@example.org"' in text
    assert 'href="#password"' in text  # the error summary links to the field


def test_unknown_email_gets_the_same_message(auth, owner_and_study):
    response = auth.login(email="nobody@example.org")
    assert response.status_code == 422
    assert "do not match an account" in response.get_data(as_text=True)


def test_empty_form_says_what_is_missing(client):
    response = client.post("/staff/login", data={})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Enter your email address." in text and "Enter your password." in text


def test_inactive_account_cannot_sign_in(auth, make_user):
    make_user("gone@example.org", active=False)
    assert auth.login(email="gone@example.org").status_code == 422


@pytest.mark.parametrize("target, expected", [
    ("/studies/", "/studies/"),
    ("https://evil.example.com/", "/studies/"),
    ("//evil.example.com/", "/studies/"),
    ("/\\evil.example.com", "/studies/"),
    ("javascript:alert(1)", "/studies/"),
])
def test_next_redirect_stays_on_this_site(auth, owner_and_study, target, expected):
    response = auth.login(next=target)
    assert response.headers["Location"] == expected


def test_anonymous_user_is_sent_to_login(client, owner_and_study):
    _, study_id = owner_and_study
    response = client.get(f"/studies/{study_id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_staff_of_another_study_see_nothing(client, auth, make_user, make_study, owner_and_study):
    _, study_id = owner_and_study
    other_user = make_user("other@example.org")
    make_study(members={other_user: StudyRole.owner}, title="Other study")
    auth.login(email="other@example.org")
    response = client.get(f"/studies/{study_id}")
    assert response.status_code == 404
    dashboard = client.get("/studies/").get_data(as_text=True)
    assert "Other study" in dashboard
    assert "Test study" not in dashboard


@pytest.mark.parametrize("role", list(StudyRole))
def test_each_role_sees_the_study_page(client, auth, make_user, make_study, role):
    user_id = make_user("member@example.org")
    study_id = make_study(members={user_id: role})
    auth.login(email="member@example.org")
    response = client.get(f"/studies/{study_id}")
    assert response.status_code == 200
    assert f"Your role: {role.value.capitalize()}" in response.get_data(as_text=True)


def test_password_change_ends_existing_sessions(app, client, auth, owner_and_study):
    from delphi.extensions import db
    from delphi.models import StaffUser

    user_id, study_id = owner_and_study
    auth.login()
    assert client.get(f"/studies/{study_id}").status_code == 200
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        user.set_password("a brand new password")
        db.session.commit()
    assert client.get(f"/studies/{study_id}").status_code == 302
