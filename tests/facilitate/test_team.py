"""The team in the app (issue 21): owners invite colleagues by e-mail with a role, change roles and remove members
without leaving a study ownerless; admins manage accounts; owners read and download the audit log."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent,
    MailKind,
    OutboxMail,
    Panellist,
    StaffInvitation,
    StaffUser,
    Study,
    StudyMember,
    StudyRole,
    utcnow,
)
from delphi.services import audit
from delphi.services.invitations import reissue_link, revoke_link, withdraw_at_request

PASSWORD = "a long new password"


def join_link(mailbox, address: str) -> str:
    [message] = mailbox.to(address)
    link = re.search(r"http://\S+/staff/join/\S+", mailbox.body(message)).group(0)
    assert link.startswith("http://delphi.test/staff/join/")  # built on PUBLIC_URL, never the request's host
    return link.removeprefix("http://delphi.test")


def member_of(app, study_id: int, email: str) -> StudyMember | None:
    with app.app_context():
        return db.session.scalar(sa.select(StudyMember).join(StaffUser).where(
            StudyMember.study_id == study_id, StaffUser.email == email))


def actions(app, study_id=None) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.study_id == study_id if study_id else AuditEvent.study_id.is_(None)).order_by(AuditEvent.id)))


def test_invitation_mail_reaches_the_server_and_its_link_lets_the_colleague_join(app, client, auth, owner, smtp):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/members", data={"email": " New@Example.org ", "role": "facilitator"})
    assert response.status_code == 303
    assert "has been invited as facilitator" in client.get(f"/studies/{study_id}/members").get_data(as_text=True)
    path = join_link(smtp, "new@example.org")
    assert "owner@example.org has invited you" in smtp.body(smtp.to("new@example.org")[0])
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        # Stored hashed only; the mail's text (holding the link) is not kept once sent.
        invitation = db.session.scalar(sa.select(StaffInvitation))
        assert invitation.token_hash != token and token not in invitation.token_hash
        assert invitation.expires_at - invitation.created_at == timedelta(days=7)
        row = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == MailKind.staff_invitation))
        assert row.body == "" and row.staff_user.email == "new@example.org"
    # Invited but not joined: the account is on the team, cannot sign in, and is shown as waiting.
    assert "has not chosen a password yet" in client.get(f"/studies/{study_id}/members").get_data(as_text=True)
    assert member_of(app, study_id, "new@example.org").role is StudyRole.facilitator
    auth.logout()
    for guess in ("", "correct horse battery", "0" * 64):
        assert auth.login(email="new@example.org", password=guess).status_code == 422

    page = client.get(path)
    assert page.status_code == 200 and "new@example.org" in page.get_data(as_text=True)
    response = client.post(path, data={"new_password": PASSWORD, "confirm": "something else"})
    assert response.status_code == 422 and "not the same" in response.get_data(as_text=True)
    response = client.post(path, data={"new_password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/studies/"
    assert client.get(f"/studies/{study_id}").status_code == 200  # signed in, and on the team
    assert client.get(f"/studies/{study_id}/panel").status_code == 200  # a facilitator runs the study
    # Single use: the same link now gets the plain page.
    used = client.get(path)
    assert used.status_code == 404 and "This invitation link does not work" in used.get_data(as_text=True)
    auth.logout()
    assert auth.login(email="new@example.org", password=PASSWORD).status_code == 303
    assert actions(app, study_id)[-1] == "study.member_add"
    assert actions(app)[-2:] == ["staff.invite", "staff.join"]


def test_an_existing_account_is_added_at_once_and_told_by_mail(app, client, owner, make_user, smtp):
    _, study_id = owner
    make_user("colleague@example.org")
    response = client.post(f"/studies/{study_id}/members", data={"email": "colleague@example.org", "role": "researcher"})
    assert response.status_code == 303
    [message] = smtp.to("colleague@example.org")
    body = smtp.body(message)
    assert f"http://delphi.test/studies/{study_id}" in body and "as researcher" in body and "/staff/join/" not in body
    assert member_of(app, study_id, "colleague@example.org").role is StudyRole.researcher
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StaffInvitation.id))) == 0


@pytest.mark.parametrize("email, message", [
    ("", "Enter your colleague"),
    ("not an address", "like name@example.org"),
    ("owner@example.org", "already a owner"),
])
def test_bad_invitations_show_the_form_again(client, owner, email, message):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/members", data={"email": email, "role": "owner"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text and f'value="{email}"' in text if email else message in text


def test_a_closed_account_is_not_added(app, client, owner, make_user):
    _, study_id = owner
    make_user("gone@example.org", active=False)
    response = client.post(f"/studies/{study_id}/members", data={"email": "gone@example.org", "role": "owner"})
    assert response.status_code == 422 and "is closed" in response.get_data(as_text=True)
    assert member_of(app, study_id, "gone@example.org") is None


def test_expired_replaced_and_forged_links_get_the_plain_page(app, client, owner, smtp):
    _, study_id = owner
    client.post(f"/studies/{study_id}/members", data={"email": "late@example.org", "role": "researcher"})
    first = join_link(smtp, "late@example.org")
    member_id = member_of(app, study_id, "late@example.org").id
    smtp.messages.clear()
    assert client.post(f"/studies/{study_id}/members/{member_id}/reinvite").status_code == 303
    second = join_link(smtp, "late@example.org")
    assert client.get(first).status_code == 404  # replaced by the newer invitation
    assert client.get(second).status_code == 200
    with app.app_context():
        db.session.execute(sa.update(StaffInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    expired = client.get(second)
    assert expired.status_code == 404 and "expired" in expired.get_data(as_text=True)
    assert client.post(second, data={"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 404
    assert client.get("/staff/join/" + "x" * 43).status_code == 404
    assert client.get("/staff/join/" + "x" * 500).status_code == 404
    assert "study.member_reinvite" in actions(app, study_id)


def test_the_accept_page_is_rate_limited(app, client, owner, smtp):
    _, study_id = owner
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "3 per minute"
    client.post(f"/studies/{study_id}/members", data={"email": "new@example.org", "role": "researcher"})
    path = join_link(smtp, "new@example.org")
    statuses = [client.post(path, data={"new_password": "short", "confirm": "short"}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_owners_change_roles_but_never_leave_the_study_without_an_owner(app, client, auth, owner, make_user, smtp):
    owner_id, study_id = owner
    make_user("colleague@example.org")
    client.post(f"/studies/{study_id}/members", data={"email": "colleague@example.org", "role": "researcher"})
    client.post(f"/studies/{study_id}/members", data={"email": "invited@example.org", "role": "owner"})
    mine = member_of(app, study_id, "owner@example.org").id
    theirs = member_of(app, study_id, "colleague@example.org").id
    # An invited owner who has not joined cannot act as owner yet: the only real owner stays.
    response = client.post(f"/studies/{study_id}/members/{mine}/role", data={"role": "facilitator"})
    assert "at least one owner" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert member_of(app, study_id, "owner@example.org").role is StudyRole.owner
    client.post(f"/studies/{study_id}/members/{mine}/remove")
    assert member_of(app, study_id, "owner@example.org") is not None
    # A bad role is refused; a real second owner lets the first step down.
    client.post(f"/studies/{study_id}/members/{theirs}/role", data={"role": "admin"})
    assert member_of(app, study_id, "colleague@example.org").role is StudyRole.researcher
    client.post(f"/studies/{study_id}/members/{theirs}/role", data={"role": "owner"})
    assert member_of(app, study_id, "colleague@example.org").role is StudyRole.owner
    client.post(f"/studies/{study_id}/members/{mine}/role", data={"role": "researcher"})
    assert member_of(app, study_id, "owner@example.org").role is StudyRole.researcher
    assert client.get(f"/studies/{study_id}/audit").status_code == 403  # a researcher now
    assert client.post(f"/studies/{study_id}/members/{theirs}/remove").status_code == 403
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "study.member_role")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.target, e.details) for e in events] == [
            (f"staff {member_of(app, study_id, 'colleague@example.org').user_id}",
             {"role": "owner", "previous": "researcher"}),
            (f"staff {owner_id}", {"role": "researcher", "previous": "owner"})]


@pytest.mark.parametrize("role", [StudyRole.facilitator, StudyRole.researcher])
def test_only_owners_see_the_audit_log(client, auth, make_user, make_study, role):
    user_id = make_user("member@example.org")
    study_id = make_study(members={user_id: role})
    auth.login(email="member@example.org")
    assert client.get(f"/studies/{study_id}/audit").status_code == 403
    assert client.get(f"/studies/{study_id}/audit.csv").status_code == 403
    assert "Audit log" not in client.get(f"/studies/{study_id}/members").get_data(as_text=True)


def test_audit_csv_holds_the_studys_entries_newest_first(app, client, owner, make_user, make_study):
    owner_id, study_id = owner
    colleague = make_user("colleague@example.org")
    other_study = make_study(members={owner_id: StudyRole.owner})
    with app.app_context():
        study, other = db.session.get(Study, study_id), db.session.get(Study, other_study)
        me = db.session.get(StaffUser, owner_id)
        audit.record("statement.edit", study=study, actor=me, target="statement S1")
        audit.record("study.member_add", study=study, actor=me, target=f"staff {colleague}", role="researcher")
        audit.record("statement.add", study=study, actor=me, target="=HYPERLINK(\"http://x\")", note="-1+2")
        audit.record("statement.add", study=other, actor=me, target="statement OTHER")
        db.session.commit()
    response = client.get(f"/studies/{study_id}/audit.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"audit-study-{study_id}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    # The stable code, and last (the other columns keep their places) what it means in the reader's language.
    assert list(rows[0]) == ["id", "time_utc", "actor", "action", "target", "details", "description"]
    assert {r["action"]: r["description"] for r in rows}["statement.edit"] == "A statement was changed"
    assert [(r["action"], r["target"], r["details"]) for r in rows if r["action"] != "study.create"] == [
        ("statement.add", "'=HYPERLINK(\"http://x\")", "note=-1+2"),  # no formula reaches a spreadsheet
        ("study.member_add", f"staff {colleague} (colleague@example.org)", "role=researcher"),
        ("statement.edit", "statement S1", ""),
    ]
    assert {r["actor"] for r in rows if r["action"] != "study.create"} == {"owner@example.org"}
    assert "OTHER" not in response.get_data(as_text=True)
    filtered = client.get(f"/studies/{study_id}/audit.csv?action=statement.edit").get_data(as_text=True)
    assert "statement S1" in filtered and "member_add" not in filtered


def test_audit_page_is_paged_newest_first_and_filtered(app, client, owner):
    _, study_id = owner
    with app.app_context():
        study = db.session.get(Study, study_id)
        for n in range(1, 61):
            audit.record("statement.edit", study=study, actor=None, target=f"statement N{n:02d}")
        audit.record("round.open", study=study, actor=None, target="round 1")
        db.session.commit()
    # 50 a page, newest first: round 1, then N60 down to N12; the rest (and the study's creation) on page 2.
    first = client.get(f"/studies/{study_id}/audit").get_data(as_text=True)
    assert first.index("round 1") < first.index("statement N60") < first.index("statement N12")
    assert "statement N11" not in first and "Older entries" in first and "Page 1 of 2" in first
    second = client.get(f"/studies/{study_id}/audit?page=2").get_data(as_text=True)
    assert "statement N11" in second and "statement N01" in second and "statement N60" not in second
    only = client.get(f"/studies/{study_id}/audit?action=round.open").get_data(as_text=True)
    assert "round 1" in only and "statement N60" not in only
    # An action that is not in the log shows everything rather than failing.
    assert client.get(f"/studies/{study_id}/audit?action=%3Cscript%3E").status_code == 200


def test_no_audit_entry_puts_a_pseudonym_beside_a_contact(app, client, owner, make_panellist):
    """docs/security.md "Who can know what": the contacts side names people as "contact #N"; the audit log, which
    owners read and download, must never hold the panellist's pseudonym beside it."""
    owner_id, study_id = owner
    pids = [make_panellist(study_id, "staff", email=f"p{n}@example.org")[0] for n in range(3)]
    with app.app_context():
        me = db.session.get(StaffUser, owner_id)
        first, second, third = (db.session.get(Panellist, p) for p in pids)
        pseudonyms = [p.pseudonym for p in (first, second, third)]
        revoke_link(first, me)
        reissue_link(second, me)
        withdraw_at_request(third.contact, True, me)
        db.session.commit()
    text = client.get(f"/studies/{study_id}/audit.csv").get_data(as_text=True)
    assert "contact #" in text
    for pseudonym in pseudonyms:
        assert pseudonym not in text
    page = client.get(f"/studies/{study_id}/audit").get_data(as_text=True)
    assert "contact #" in page and not any(p in page for p in pseudonyms)


@pytest.fixture
def admin(make_user, auth):
    user_id = make_user("admin@example.org", is_admin=True)
    auth.login(email="admin@example.org")
    return user_id


def test_non_admins_get_403_and_anonymous_the_sign_in_page(client, auth, make_user):
    for path in ("/admin/accounts", "/admin/audit", "/admin/audit.csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    make_user("staff@example.org")
    auth.login(email="staff@example.org")
    for method, path in (("GET", "/admin/accounts"), ("POST", "/admin/accounts"), ("GET", "/admin/audit"),
                         ("GET", "/admin/audit.csv"), ("POST", "/admin/accounts/1/deactivate"),
                         ("POST", "/admin/accounts/1/admin"), ("POST", "/admin/accounts/1/reactivate")):
        assert client.open(path, method=method).status_code == 403, path
    assert "Accounts" not in client.get("/studies/").get_data(as_text=True)


def test_admin_invites_an_account_that_then_joins(app, client, auth, admin, smtp):
    response = client.post("/admin/accounts", data={"email": "fresh@example.org", "is_admin": "y"})
    assert response.status_code == 303
    path = join_link(smtp, "fresh@example.org")
    again = client.post("/admin/accounts", data={"email": "FRESH@example.org"})
    assert again.status_code == 422 and "already an account" in again.get_data(as_text=True)
    assert 'value="FRESH@example.org"' in again.get_data(as_text=True)
    auth.logout()
    assert client.post(path, data={"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 303
    assert client.get("/admin/accounts").status_code == 200  # invited as an administrator
    assert actions(app)[-2:] == ["staff.invite", "staff.join"]


def test_admin_deactivation_ends_sessions_and_keeps_the_last_admin(app, client, admin, make_user):
    user_id = make_user("colleague@example.org")
    other = app.test_client()
    other.post("/staff/login", data={"email": "colleague@example.org", "password": "correct horse battery"})
    assert other.get("/studies/").status_code == 200
    assert client.post(f"/admin/accounts/{user_id}/deactivate").status_code == 303
    assert other.get("/studies/").status_code == 302  # the colleague's session ended at once
    with app.app_context():
        assert db.session.get(StaffUser, user_id).active is False
    client.post(f"/admin/accounts/{user_id}/reactivate")
    assert other.get("/studies/").status_code == 302  # ended, not paused: reopening does not bring it back
    assert other.post("/staff/login", data={"email": "colleague@example.org",
                                            "password": "correct horse battery"}).status_code == 303
    # The only administrator can neither lose the rights nor be closed.
    for action in ("not-admin", "deactivate"):
        response = client.post(f"/admin/accounts/{admin}/{action}")
        assert "only administrator" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        me = db.session.get(StaffUser, admin)
        assert me.is_admin and me.active
    client.post(f"/admin/accounts/{user_id}/admin")
    client.post(f"/admin/accounts/{admin}/not-admin")
    with app.app_context():
        assert db.session.get(StaffUser, user_id).is_admin and not db.session.get(StaffUser, admin).is_admin
    assert client.get("/admin/accounts").status_code == 403
    assert actions(app)[-4:] == ["staff.deactivate", "staff.reactivate", "staff.admin_grant", "staff.admin_revoke"]
    assert client.post("/admin/accounts/99999/deactivate").status_code == 403  # no longer an admin
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.actor_id).where(AuditEvent.action == "staff.deactivate")) == admin


def test_site_audit_log_shows_account_changes_not_study_entries(app, client, admin, owner_of_a_study):
    client.post(f"/admin/accounts/{owner_of_a_study}/admin")
    text = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "staff.admin_grant" in text and "owner@example.org" in text and "study.create" not in text
    page = client.get("/admin/audit?action=staff.admin_grant").get_data(as_text=True)
    assert "staff.admin_grant" in page


@pytest.fixture
def owner_of_a_study(app, make_user, make_study):
    from delphi.services import audit as audit_service

    user_id = make_user("owner@example.org")
    study_id = make_study(members={user_id: StudyRole.owner})
    with app.app_context():
        audit_service.record("study.create", study=db.session.get(Study, study_id), target=f"study {study_id}")
        db.session.commit()
    return user_id
