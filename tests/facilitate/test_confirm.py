"""Irreversible actions (open or close a round, close the study, delete a statement, erase a contact's details) say
on a page of their own what will happen, and act only from that page's button (issue 21)."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import AuditEvent, Contact, MailKind, OutboxMail, Panellist, Rating, Round, Statement, Study
from delphi.services.outbox import queue_panel_mail

CONFIRM = {"confirm": "yes"}


@pytest.fixture
def round_open(client, owner, make_panellist, answer_round):
    """Round 1 open; 3 of 5 panellists have sent it. Returns the study id."""
    _, study_id = owner
    pids = [make_panellist(study_id, key)[0] for key in ("staff", "staff", "staff", "service_user", "service_user")]
    assert client.post(f"/studies/{study_id}/rounds/open", data=CONFIRM).status_code == 303
    answer_round(study_id, {pid: {"A-01": 8, "A-02": 3, "B-01": 9} for pid in pids[:3]})
    answer_round(study_id, {pids[3]: {"A-01": 5}}, submit=False)
    return study_id


def _rounds(app, study_id):
    with app.app_context():
        return [(r.number, r.status.value) for r in db.session.get(Study, study_id).rounds]


def test_opening_a_round_without_its_page_does_nothing(app, client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/rounds/open")
    assert response.status_code == 303 and response.headers["Location"] == f"/studies/{study_id}/rounds/open"
    assert _rounds(app, study_id) == []


def test_the_open_round_page_says_what_opening_does(app, client, owner, make_panellist):
    _, study_id = owner
    for _ in range(4):
        make_panellist(study_id)
    page = client.get(f"/studies/{study_id}/rounds/open").get_data(as_text=True)
    assert "Open round 1?" in page
    assert "round 1 asks the panel to rate 3 statements" in page
    assert "the 4 people on the panel can answer it" in page
    assert "are locked, and can no longer change" in page
    assert 'name="confirm" type="hidden" value="yes"' in page and "No, back to the study" in page
    assert client.post(f"/studies/{study_id}/rounds/open", data=CONFIRM).status_code == 303
    assert _rounds(app, study_id) == [(1, "open")]


def test_closing_a_round_without_its_page_does_nothing(app, client, round_open):
    response = client.post(f"/studies/{round_open}/rounds/1/close")
    assert response.headers["Location"] == f"/studies/{round_open}/rounds/1/close"
    assert _rounds(app, round_open) == [(1, "open")]


def test_the_close_round_page_says_who_has_not_sent_it(app, client, round_open):
    page = client.get(f"/studies/{round_open}/rounds/1/close").get_data(as_text=True)
    assert "Close round 1?" in page
    assert "3 of 5 people have sent round 1; 2 have not and will not be able to." in page
    assert "answers saved but not sent count in its figures too" in page
    assert client.post(f"/studies/{round_open}/rounds/1/close", data=CONFIRM).status_code == 303
    assert _rounds(app, round_open) == [(1, "closed")]
    # A closed round has no close page: it says so on the study page.
    response = client.get(f"/studies/{round_open}/rounds/1/close", follow_redirects=True)
    assert "Round 1 is not open, so there is nothing to close." in response.get_data(as_text=True)


def test_the_study_page_links_to_the_pages_not_to_one_click_forms(client, round_open):
    monitor = client.get(f"/studies/{round_open}/rounds/current").get_data(as_text=True)
    assert f'href="/studies/{round_open}/rounds/1/close"' in monitor
    assert f'action="/studies/{round_open}/rounds/1/close"' not in monitor
    client.post(f"/studies/{round_open}/rounds/1/close", data=CONFIRM)
    page = client.get(f"/studies/{round_open}").get_data(as_text=True)
    assert f'href="/studies/{round_open}/rounds/open"' in page and f'href="/studies/{round_open}/close"' in page
    assert f'action="/studies/{round_open}/rounds/open"' not in page
    assert f'action="/studies/{round_open}/close"' not in page


def test_closing_the_study_needs_its_page(app, client, round_open):
    client.post(f"/studies/{round_open}/rounds/1/close", data=CONFIRM)
    response = client.post(f"/studies/{round_open}/close")
    assert response.headers["Location"] == f"/studies/{round_open}/close"
    with app.app_context():
        assert db.session.get(Study, round_open).status.value == "running"
    page = client.get(f"/studies/{round_open}/close").get_data(as_text=True)
    assert "no more rounds can open; the study ends after round 1" in page
    assert "panellists who follow their link read that the study has ended" in page
    assert "contact details are kept until you erase them" in page
    assert client.post(f"/studies/{round_open}/close", data=CONFIRM).status_code == 303
    with app.app_context():
        assert db.session.get(Study, round_open).status.value == "closed"


def test_the_close_study_page_warns_of_an_open_round(client, round_open):
    page = client.get(f"/studies/{round_open}/close").get_data(as_text=True)
    assert "Round 1 is still open. Close it before closing the study." in page
    assert f'action="/studies/{round_open}/close"' not in page  # no button to press in vain


def test_the_open_round_page_says_why_a_round_cannot_open(client, round_open):
    page = client.get(f"/studies/{round_open}/rounds/open").get_data(as_text=True)
    assert "Round 1 is still open; close it first." in page
    assert f'action="/studies/{round_open}/rounds/open"' not in page


def test_deleting_a_statement_needs_its_page(app, client, owner):
    _, study_id = owner
    with app.app_context():
        statement = db.session.get(Study, study_id).statements[0]
        statement_id, text = statement.id, statement.text
    url = f"/studies/{study_id}/statements/{statement_id}/delete"
    assert client.post(url).headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "Delete statement A-01?" in page and text in page and "This cannot be undone." in page
    assert f'href="/studies/{study_id}/statements/{statement_id}/delete"' in client.get(
        f"/studies/{study_id}/statements").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Statement, statement_id) is not None
    assert client.post(url, data=CONFIRM).status_code == 303
    with app.app_context():
        assert db.session.get(Statement, statement_id) is None
        assert db.session.scalar(sa.select(AuditEvent.target).where(AuditEvent.action == "statement.delete")) \
            == "statement A-01"


def test_erasing_contact_details_keeps_the_panellist_and_answers(app, client, round_open, make_panellist):
    pid, _ = make_panellist(round_open, "staff", email="kari@example.org")
    with app.app_context():
        panellist = db.session.get(Panellist, pid)
        panellist.contact.phone, panellist.contact.name = "+47 900 00 000", "Kari"
        queue_panel_mail(panellist.study, MailKind.reminder, [panellist], "Reminder", "{link}", None)
        db.session.commit()
        contact_id = panellist.contact.id
    url = f"/studies/{round_open}/panel/contacts/{contact_id}/erase"
    assert client.post(url).headers["Location"] == url
    with app.app_context():
        assert db.session.get(Contact, contact_id).email == "kari@example.org"
    page = client.get(url).get_data(as_text=True)
    assert "their e-mail address, phone number and name" in page and "their answers" in page
    assert "Withdraw contact #" in page
    assert client.post(url, data=CONFIRM).status_code == 303
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert (contact.email, contact.email_index, contact.phone, contact.name) == (None, None, None, None)
        assert contact.panellist.withdrawn is False and contact.panellist.token_hash is not None
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))
                                 .where(OutboxMail.contact_id == contact_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 3 * 3 + 1
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "panel.erase_contact"))
        assert event.target == f"contact #{contact_id}" and event.study_id == round_open


@pytest.mark.parametrize("path", ["/rounds/open", "/rounds/1/close", "/close"])
def test_a_researcher_sees_no_confirmation_page(client, make_user, make_study, auth, path):
    from delphi.models import StudyRole

    user = make_user("researcher@example.org")
    study_id = make_study(members={user: StudyRole.researcher})
    auth.login(email="researcher@example.org")
    assert client.get(f"/studies/{study_id}{path}").status_code == 403


def test_rounds_page_of_another_study_is_not_found(client, owner, make_study):
    other = make_study()
    assert client.get(f"/studies/{other}/rounds/open").status_code == 404
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Round.id))) == 0
