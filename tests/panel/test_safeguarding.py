"""Safeguarding (issue 22): the help panel on every panellist page, the start page's time estimate and what pausing
means, and a panellist's request to delete their data reaching the contacts side as a task."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent, Contact, DeletionRequest, DeletionScope, Panellist, Rating, Study, StudyRole, WithdrawalPolicy,
)
from delphi.protocol import ProtocolError, SupportService, load_protocol, protocol_to_toml
from tests.conftest import MINIMAL_PROTOCOL

SUPPORT = """
minutes = 15

[support]
contact_name = "Kari Nordmann, study coordinator"
contact_email = "kari@example.org"
contact_phone = "+47 22 00 00 00"

[[support.services]]
name = "Mental Health Helpline"
phone = "116 123"
hours = "every day, 24 hours"

[[support.services]]
name = "Drug information line"
url = "https://rusinfo.example.org/chat"
"""
SUPPORTED_PROTOCOL = MINIMAL_PROTOCOL.replace('min_group_feedback = 3\n', 'min_group_feedback = 3\n' + SUPPORT, 1)


def test_support_keys_round_trip_through_the_protocol_and_the_study(app):
    from delphi.services.studies import create_study, study_protocol

    protocol = load_protocol(SUPPORTED_PROTOCOL)
    assert protocol.minutes == 15 and protocol.support.contact_email == "kari@example.org"
    assert protocol.support.services[0] == SupportService("Mental Health Helpline", "116 123", "",
                                                          "every day, 24 hours")
    assert load_protocol(protocol_to_toml(protocol)) == protocol
    with app.app_context():
        assert study_protocol(create_study(protocol)) == protocol


@pytest.mark.parametrize("toml, key", [
    ('[support]\ncontact_email = "not an address"', "support.contact_email"),
    ('[support]\ncontact_phone = "call me"', "support.contact_phone"),
    ('[[support.services]]\nname = "Line"\nurl = "javascript:alert(1)"', "support.services[1].url"),
    ('[[support.services]]\nname = "Line"', "support.services[1].phone"),
    ('[[support.services]]\nphone = "113"', "support.services[1].name"),
    ('[support]\nfax = "1"', "support.fax"),
    ('minutes = 900', "minutes"),
])
def test_bad_support_keys_are_refused_by_name(toml, key):
    text = MINIMAL_PROTOCOL.replace('min_group_feedback = 3\n', 'min_group_feedback = 3\n' + toml + "\n", 1)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    assert key in [problem.field for problem in caught.value.problems]


def test_the_help_panel_is_on_every_panellist_page_in_both_languages(client, make_study, make_panellist,
                                                                     open_round):
    study_id = make_study(SUPPORTED_PROTOCOL)
    open_round(study_id)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    pages = [("/panel/consent", client.get("/panel/consent").get_data(as_text=True))]
    client.post("/panel/consent", data={"agree": "1"})
    pages += [(url, client.get(url).get_data(as_text=True))
              for url in ("/panel/", "/panel/rate/1", "/panel/review", "/panel/suggest", "/panel/withdraw")]
    for url, page in pages:
        assert "<details>" in page and "Need help or support?" in page, url
        assert "Kari Nordmann, study coordinator" in page and 'href="mailto:kari@example.org"' in page, url
        assert 'href="tel:+4722000000"' in page and 'href="tel:116123"' in page, url
        assert 'href="https://rusinfo.example.org/chat"' in page and "every day, 24 hours" in page, url
    client.post("/language", data={"lang": "nb", "next": "/panel/"})
    page = client.get("/panel/").get_data(as_text=True)
    assert "Trenger du hjelp eller støtte?" in page and "Kari Nordmann" in page
    assert 'lang="en"' in page  # the study's own texts are in the study's language (English), marked as such


def test_without_support_keys_the_panel_still_says_what_to_do_in_danger(client, make_study, make_panellist,
                                                                       open_round):
    study_id = make_study()
    open_round(study_id)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    page = client.get("/panel/consent").get_data(as_text=True)
    assert "Need help or support?" in page and "local emergency number" in page
    assert "mailto:" not in page and "Questions about the study" not in page


@pytest.mark.parametrize("protocol, estimate", [(MINIMAL_PROTOCOL, "about 5 minutes"),
                                                (SUPPORTED_PROTOCOL, "about 15 minutes")])
def test_the_start_page_says_how_long_it_takes_and_what_pausing_means(client, make_study, consented, open_round,
                                                                     protocol, estimate):
    study_id = make_study(protocol)
    open_round(study_id)
    consented(study_id)
    home = client.get("/panel/").get_data(as_text=True)
    assert f"It takes {estimate}." in home
    assert "the answers you have given are kept" in home
    rate = client.get("/panel/rate/1").get_data(as_text=True)
    assert "You can take a break at any time." in rate and "same link" in rate


def test_the_estimate_grows_with_the_statements(app, make_study):
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert [study.round_minutes(n) for n in (1, 6, 7, 34, 100)] == [5, 5, 10, 20, 55]
        study.minutes = 12
        assert study.round_minutes(100) == 12


def _contact_id(app, panellist_id):
    with app.app_context():
        return db.session.scalar(sa.select(Contact.id).where(Contact.panellist_id == panellist_id))


def test_a_deletion_request_reaches_the_contacts_side_as_a_task(app, client, make_user, make_study, make_panellist,
                                                                open_round):
    owner = make_user("owner@example.org")
    study_id = make_study(members={owner: StudyRole.owner})
    open_round(study_id)
    panellist_id, token = make_panellist(study_id, email="asks@example.org")
    contact = _contact_id(app, panellist_id)
    panellist_client = app.test_client()
    panellist_client.get(f"/p/{token}")
    page = panellist_client.get("/panel/withdraw").get_data(as_text=True)
    assert "Ask for your information to be deleted" in page and 'action="/panel/delete-request"' in page
    refused = panellist_client.post("/panel/delete-request", data={"delete-submit": "1"})
    assert refused.status_code == 422 and "Choose what you want deleted." in refused.get_data(as_text=True)
    response = panellist_client.post("/panel/delete-request", data={"delete-scope": "contact", "delete-submit": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/panel/withdraw"
    page = panellist_client.get("/panel/withdraw").get_data(as_text=True)
    assert "for your contact details to be deleted" in page and "The study team has your request" in page
    # Asked again for more, the one request widens.
    panellist_client.post("/panel/delete-request", data={"delete-scope": "answers", "delete-submit": "1"})

    with app.app_context():
        request = db.session.scalar(sa.select(DeletionRequest))
        assert (request.contact_id, request.scope) == (contact, DeletionScope.answers)
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "panel.deletion_request")).all()
        assert [(e.target, e.details["scope"], e.actor_id) for e in events] == [
            (f"contact #{contact}", "contact", None), (f"contact #{contact}", "answers", None)]
        pseudonym = db.session.get(Panellist, panellist_id).pseudonym

    client.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery"})
    panel = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "Requests from panellists" in panel
    assert f"Contact #{contact} asked for deletion of their answers and contact details on" in panel
    assert f'href="/studies/{study_id}/panel/contacts/{contact}/withdraw"' in panel
    assert pseudonym not in panel
    # The withdraw page comes with "they also asked for their answers to be deleted" ticked.
    withdraw = client.get(f"/studies/{study_id}/panel/contacts/{contact}/withdraw").get_data(as_text=True)
    assert 'id="erase_answers" name="erase_answers" type="checkbox" value="y"' in withdraw
    assert 'checked id="erase_answers"' in withdraw
    client.post(f"/studies/{study_id}/panel/contacts/{contact}/withdraw", data={"confirm": "y", "erase_answers": "y"})
    assert "Requests from panellists" not in client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DeletionRequest.id))) == 0


def test_erasing_contact_details_settles_a_request_for_them(app, client, make_user, make_study, make_panellist):
    owner = make_user("owner@example.org")
    study_id = make_study(members={owner: StudyRole.owner})
    panellist_id, token = make_panellist(study_id, email="asks@example.org")
    contact = _contact_id(app, panellist_id)
    panellist_client = app.test_client()
    panellist_client.get(f"/p/{token}")
    panellist_client.post("/panel/delete-request", data={"delete-scope": "contact", "delete-submit": "1"})
    client.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery"})
    panel = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert f'href="/studies/{study_id}/panel/contacts/{contact}/erase"' in panel
    client.post(f"/studies/{study_id}/panel/contacts/{contact}/erase", data={"confirm": "yes"})
    assert "Requests from panellists" not in client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Contact, contact).email is None
        assert db.session.scalar(sa.select(sa.func.count(DeletionRequest.id))) == 0


def test_leaving_after_asking_for_answers_to_be_deleted_deletes_them(app, client, make_study, consented, open_round):
    study_id = make_study(withdrawal_policy=WithdrawalPolicy.keep)
    open_round(study_id)
    panellist_id, _ = consented(study_id)
    with app.app_context():
        ids = {s.code: s.id for s in db.session.get(Study, study_id).statements}
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "7", "next": "1"})
    client.post("/panel/delete-request", data={"delete-scope": "answers", "delete-submit": "1"})
    assert client.post("/panel/withdraw", data={"confirm": "y", "submit": "1"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id)).where(Rating.panellist_id == panellist_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count(DeletionRequest.id))) == 0


def test_the_texts_page_sets_the_support_keys(app, client, make_user, make_study):
    owner = make_user("owner@example.org")
    study_id = make_study(members={owner: StudyRole.owner})
    client.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery"})
    form = {"title": "Test study", "language": "en", "min_group_feedback": "3", "withdrawal": "keep",
            "minutes": "20", "contact_name": "Ola", "contact_email": "ola@example.org", "contact_phone": "22 00 00 00",
            "services": "Helpline | 116 123 | | always\nChat | | https://chat.example.org |"}
    assert client.post(f"/studies/{study_id}/settings", data=form).status_code == 303
    with app.app_context():
        from delphi.services.studies import study_protocol
        protocol = study_protocol(db.session.get(Study, study_id))
    assert protocol.minutes == 20 and protocol.support.contact_phone == "22 00 00 00"
    assert protocol.support.services == (SupportService("Helpline", "116 123", "", "always"),
                                         SupportService("Chat", "", "https://chat.example.org", ""))
    page = client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    assert "Helpline | 116 123 |  | always" in page
    # Left empty, the time is estimated again; posted without the field (an older form), it stays as it was.
    assert client.post(f"/studies/{study_id}/settings", data={**form, "minutes": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).minutes == 0
    client.post(f"/studies/{study_id}/settings", data={**form, "minutes": "25"})
    without = {key: value for key, value in form.items() if key != "minutes"}
    assert client.post(f"/studies/{study_id}/settings", data=without).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).minutes == 25
    assert client.post(f"/studies/{study_id}/settings", data={**form, "minutes": "601"}).status_code == 422
    bad = client.post(f"/studies/{study_id}/settings", data={**form, "services": "Chat | | javascript:alert(1)"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "must be a web address starting with https://" in text
    assert text.rindex("must be a web address") > text.index('for="services"')  # beside the field it names


@pytest.mark.parametrize("lang, link, heading", [("en", "Accessibility statement", "What we know does not meet"),
                                                 ("nb", "Tilgjengelighetserklæring", "Dette vet vi at ikke")])
def test_the_accessibility_statement_is_in_every_footer(client, make_study, make_panellist, lang, link, heading):
    study_id = make_study()
    _, token = make_panellist(study_id)
    client.post("/language", data={"lang": lang, "next": "/"})
    for url in ("/", "/staff/login"):
        assert f'<a href="/accessibility">{link}</a>' in client.get(url).get_data(as_text=True), url
    client.get(f"/p/{token}")
    client.post("/language", data={"lang": lang, "next": "/panel/consent"})
    assert f'<a href="/accessibility">{link}</a>' in client.get("/panel/consent").get_data(as_text=True)
    page = client.get("/accessibility").get_data(as_text=True)
    assert heading in page and "HTML_CodeSniffer" in page and "30" in page


def test_the_page_after_leaving_stays_in_the_panellists_language(client, make_study, consented, open_round):
    study_id = make_study(language="nb")
    open_round(study_id)
    consented(study_id)
    response = client.post("/panel/withdraw", data={"confirm": "y", "submit": "1"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert '<html lang="nb">' in page and "Du har gått ut av studien" in page
