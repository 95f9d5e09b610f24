"""The panellist's journey through the test client, with plain form posts only (as with JavaScript off)."""
import re

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Panellist, Suggestion

CONSENT_PROTOCOL_EXTRA = '''
consent = """
I have read the information.
My answers are anonymous.
I can leave at any time."""
information = "We ask what recovery-oriented practice means."
'''


def checked_value(html: str, name: str) -> str | None:
    """The value of the checked radio button called ``name`` in a page, or None."""
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and " checked" in tag:
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def study_text():
    from tests.conftest import MINIMAL_PROTOCOL

    # A third domain, so that the journey crosses three pages.
    third_page = '\n[[statements]]\ncode = "C-01"\ndomain = "Connectedness"\ntext = "Families are invited when the person agrees."\n'
    return MINIMAL_PROTOCOL.replace('min_group_feedback = 3', 'min_group_feedback = 3' + CONSENT_PROTOCOL_EXTRA) + third_page


def test_whole_round_one_journey(app, client, make_study, make_panellist, open_round, ratings_of, submissions,
                                 statement_ids):
    study_id = make_study(study_text())
    round_id = open_round(study_id)
    ids = statement_ids(study_id)
    panellist_id, token = make_panellist(study_id, "staff")

    # The link leads to the information and consent page.
    assert client.get(f"/p/{token}").headers["Location"] == "/panel/"
    assert client.get("/panel/").headers["Location"] == "/panel/consent"
    consent_page = client.get("/panel/consent").get_data(as_text=True)
    assert "We ask what recovery-oriented practice means." in consent_page
    assert consent_page.count('type="checkbox"') == 3

    # Ticking only some boxes is not consent; the page says what to do and keeps the ticks.
    partial = client.post("/panel/consent", data={"statements": ["0", "2"], "agree": "1"})
    assert partial.status_code == 422
    assert "please tick every box" in partial.get_data(as_text=True)
    assert client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"}).status_code == 303
    with app.app_context():
        record = db.session.scalar(sa.select(ConsentRecord))
        assert record.decision is ConsentDecision.given and record.consent_version == 1
        assert record.statements[1] == "My answers are anonymous."

    home = client.get("/panel/").get_data(as_text=True)
    assert "Round 1 is open." in home and "You have answered 0 of 4." in home
    assert 'href="/panel/rate/1"' in home

    # Page 1 (Hope): two statements in a fieldset each, with the scale and "unable to rate" in a fieldset inside it
    # that asks the question.
    page1 = client.get("/panel/rate/1").get_data(as_text=True)
    assert "Page 1 of 3" in page1
    assert page1.count('<fieldset class="statement') == 2 and page1.count('<fieldset class="rating-scale">') == 2
    assert page1.count("<legend") == 4
    assert 'value="unable"' in page1
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "8", f"c{ids['A-01']}": "Hope matters.",
                                                  "leave": "1"})
    assert response.headers["Location"] == "/panel/saved"
    assert ratings_of(panellist_id, round_id) == {"A-01": (8, False, "Hope matters.")}

    # Coming back on another device with the same link: the answers are there, and "Continue" goes to page 1,
    # which still has an unanswered statement.
    other_device = app.test_client()
    other_device.get(f"/p/{token}")
    home = other_device.get("/panel/").get_data(as_text=True)
    assert "You have answered 1 of 4." in home and 'href="/panel/rate/1"' in home
    page1 = other_device.get("/panel/rate/1").get_data(as_text=True)
    assert checked_value(page1, f"s{ids['A-01']}") == "8"
    assert "Hope matters." in page1

    r = other_device.post("/panel/rate/1", data={f"s{ids['A-01']}": "8", f"c{ids['A-01']}": "Hope matters.",
                                                 f"s{ids['A-02']}": "unable", "next": "1"})
    assert r.headers["Location"] == "/panel/rate/2"
    r = other_device.post("/panel/rate/2", data={f"s{ids['B-01']}": "9", "next": "1"})
    assert r.headers["Location"] == "/panel/rate/3"
    # Going back a page keeps what was saved, then on to the last page.
    r = other_device.post("/panel/rate/3", data={f"s{ids['C-01']}": "7", "previous": "1"})
    assert r.headers["Location"] == "/panel/rate/2"
    assert checked_value(other_device.get("/panel/rate/2").get_data(as_text=True), f"s{ids['B-01']}") == "9"
    r = other_device.post("/panel/rate/3", data={f"s{ids['C-01']}": "7", "next": "1"})
    assert r.headers["Location"] == "/panel/review"

    review = other_device.get("/panel/review").get_data(as_text=True)
    assert "Your answer: 8" in review and "Unable to rate" in review and "Your answer: 9" in review
    assert "Your answer: 7" in review and "Not answered" not in review
    assert "Hope matters." in review

    # Submitting twice (double click, retry) records one submission.
    assert other_device.post("/panel/review", data={"submit": "1"}).headers["Location"] == "/panel/thanks"
    assert other_device.post("/panel/review", data={"submit": "1"}).headers["Location"] == "/panel/thanks"
    assert submissions(round_id) == 1
    assert "What happens next" in other_device.get("/panel/thanks").get_data(as_text=True)

    # Answers can still change after submitting, until the round closes.
    other_device.post("/panel/rate/2", data={f"s{ids['B-01']}": "6", "next": "1"})
    assert ratings_of(panellist_id, round_id)["B-01"] == (6, False, "")
    assert "You have already sent your answers" in other_device.get("/panel/review").get_data(as_text=True)
    assert submissions(round_id) == 1


def test_refusing_consent_stores_only_the_refusal(app, client, make_study, make_panellist, open_round):
    study_id = make_study(study_text())
    open_round(study_id)
    panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    response = client.post("/panel/consent", data={"decline": "1"})
    # Asked once more on a page of its own; nothing is kept until they say yes.
    assert response.status_code == 200 and "You chose not to take part. Is that right?" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(ConsentRecord)).all() == []
    response = client.post("/panel/consent/decline", data={"yes": "1"})
    assert response.status_code == 303
    page = client.get("/panel/").get_data(as_text=True)
    assert "You have chosen not to take part" in page
    with app.app_context():
        records = db.session.scalars(sa.select(ConsentRecord)).all()
        assert [(r.decision, r.statements) for r in records] == [(ConsentDecision.refused, [])]
    # Rating pages stay shut.
    assert client.get("/panel/rate/1").headers["Location"] == "/panel/consent"


def test_group_chosen_once_when_the_study_allows_it(app, client, make_study, make_panellist, open_round):
    study_id = make_study(study_text(), allow_group_choice=True)
    open_round(study_id)
    panellist_id, token = make_panellist(study_id, None)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    assert client.get("/panel/").headers["Location"] == "/panel/group"
    empty = client.post("/panel/group", data={})
    assert empty.status_code == 422 and "Choose the group that describes you best." in empty.get_data(as_text=True)
    with app.app_context():
        staff_group = db.session.get(Panellist, panellist_id).study.group_by_key("staff")
        staff_group_id = staff_group.id
    # The choice is shown back ("You chose: ... Is that right?") and kept only on "Yes, continue".
    shown = client.post("/panel/group", data={"group": str(staff_group_id)})
    assert shown.status_code == 200 and "Is that right?" in shown.get_data(as_text=True)
    assert client.get("/panel/").headers["Location"] == "/panel/group"
    assert client.post("/panel/group/confirm", data={"group": str(staff_group_id), "yes": "1"}).status_code == 303
    # Once chosen, the page sends them on.
    assert client.get("/panel/group").headers["Location"] == "/panel/"
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group.key == "staff"


def test_without_group_choice_a_panellist_without_group_is_told_calmly(client, make_study, make_panellist, open_round):
    study_id = make_study(study_text())
    open_round(study_id)
    _, token = make_panellist(study_id, None)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    assert "needs to add you to a group" in client.get("/panel/group").get_data(as_text=True)


def test_suggestion_is_stored_without_changing_anything_else(app, client, make_study, consented, open_round):
    study_id = make_study()
    open_round(study_id)
    panellist_id, _ = consented(study_id)
    empty = client.post("/panel/suggest", data={"text": ""})
    assert empty.status_code == 422
    assert "Write the statement you would like the panel to rate." in empty.get_data(as_text=True)
    response = client.post("/panel/suggest", data={"text": "Staff ask what helped before.", "domain": "Hope"})
    assert response.headers["Location"] == "/panel/suggested"
    with app.app_context():
        suggestion = db.session.scalar(sa.select(Suggestion))
        assert (suggestion.text, suggestion.domain, suggestion.panellist_id) == (
            "Staff ask what helped before.", "Hope", panellist_id)


def test_draft_survives_a_restart_of_the_app(app, app_config, client, make_study, consented, open_round, statement_ids,
                                             build_app):
    study_id = make_study()
    open_round(study_id)
    _, token = consented(study_id)
    ids = statement_ids(study_id)
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "4", f"c{ids['A-01']}": "Kept across restarts", "leave": "1"})
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()

    restarted = build_app(app_config)  # a new process would build a new app the same way
    browser = restarted.test_client()
    browser.get(f"/p/{token}")
    page = browser.get("/panel/rate/1").get_data(as_text=True)
    assert "Kept across restarts" in page
    assert checked_value(page, f"s{ids['A-01']}") == "4"
