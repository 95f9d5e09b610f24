"""Nothing typed is lost: autosave, an expired CSRF token, an ended session."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Rating
from tests.panel.conftest import csrf_from, keeper_from


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def ready(client, make_study, open_round, make_panellist, statement_ids):
    study_id = make_study()
    round_id = open_round(study_id)
    panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    token_field = csrf_from(client.get("/panel/consent").get_data(as_text=True))
    assert client.post("/panel/consent", data={"agree": "1", "csrf_token": token_field}).status_code == 303
    return {"round": round_id, "panellist": panellist_id, "token": token, "ids": statement_ids(study_id)}


def ratings(app):
    with app.app_context():
        return {(r.statement_id): (r.value, r.unable_to_rate, r.comment) for r in db.session.scalars(sa.select(Rating))}


def test_posts_without_csrf_token_are_refused_elsewhere(client, ready):
    assert client.post("/panel/suggest", data={"text": "No token here at all"}).status_code == 400
    assert client.post("/panel/autosave", data={"field": f"s{ready['ids']['A-01']}", "value": "5"}).status_code == 400


def test_autosave_saves_each_answer_as_it_changes(app, client, ready):
    ids = ready["ids"]
    page = client.get("/panel/rate/1").get_data(as_text=True)
    header = {"X-CSRFToken": csrf_from(page)}
    assert client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "7"}, headers=header).get_json() \
        == {"saved": True, "message": "Saved"}
    client.post("/panel/autosave", data={"field": f"c{ids['A-01']}", "value": "typed slowly"}, headers=header)
    client.post("/panel/autosave", data={"field": f"s{ids['A-02']}", "value": "unable"}, headers=header)
    # A comment saved after the rating does not blank the rating, and the other way round.
    assert ratings(app) == {ids["A-01"]: (7, False, "typed slowly"), ids["A-02"]: (None, True, "")}
    client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "9"}, headers=header)
    assert ratings(app)[ids["A-01"]] == (9, False, "typed slowly")
    bad = client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "10"}, headers=header)
    assert bad.status_code == 400 and ratings(app)[ids["A-01"]] == (9, False, "typed slowly")


def test_expired_csrf_token_rerenders_the_answers_and_saves_on_confirm(app, client, ready):
    ids = ready["ids"]
    answers = {f"s{ids['A-01']}": "6", f"c{ids['A-01']}": "Twenty minutes of thought", f"s{ids['A-02']}": "2",
               "next": "1", "csrf_token": "expired-or-forged"}
    response = client.post("/panel/rate/1", data=answers)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Your answers are not saved yet" in text
    assert "Twenty minutes of thought" in text
    assert 'value="6"' in text and "checked" in text
    assert ratings(app) == {}
    # The re-rendered page carries a fresh token: pressing save again keeps everything.
    answers["csrf_token"] = csrf_from(text)
    assert client.post("/panel/rate/1", data=answers).status_code == 303
    assert ratings(app) == {ids["A-01"]: (6, False, "Twenty minutes of thought"), ids["A-02"]: (2, False, "")}


def test_answers_posted_after_the_session_ended_are_kept_until_confirmed(app, client, ready):
    ids = ready["ids"]
    page = client.get("/panel/rate/1").get_data(as_text=True)
    token_field, keeper = csrf_from(page), keeper_from(page)
    with client.session_transaction() as session:
        session.pop("panellist")  # the session ended (cookie lost, server restarted with a new key, ...)
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "4", f"c{ids['A-01']}": "after a long break",
                                                  "next": "1", "csrf_token": token_field, "keeper": keeper})
    assert response.status_code == 401
    assert "open your personal link again" in response.get_data(as_text=True).lower()
    assert "kept in this browser" in response.get_data(as_text=True)
    assert ratings(app) == {}

    client.get(f"/p/{ready['token']}")
    assert client.get("/panel/").headers["Location"] == "/panel/pending"
    confirm_page = client.get("/panel/pending").get_data(as_text=True)
    assert "Save your earlier answers?" in confirm_page
    # The panellist sees what would be saved before saying yes.
    assert "Staff believe recovery is possible." in confirm_page
    assert "Your answer: 4" in confirm_page and "after a long break" in confirm_page
    response = client.post("/panel/pending", data={"save": "1", "csrf_token": csrf_from(confirm_page)})
    assert response.headers["Location"] == "/panel/rate/1"
    assert ratings(app) == {ids["A-01"]: (4, False, "after a long break")}
    assert client.get("/panel/").status_code == 200  # nothing pending any more
