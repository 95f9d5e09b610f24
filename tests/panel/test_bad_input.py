"""Bad input on panellist pages gets a plain message or a 4xx page, never a 500, and changes nothing it should not."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Rating, Round, Study
from delphi.services.rounds import close_round


@pytest.fixture
def ready(make_study, open_round, consented, statement_ids):
    study_id = make_study()
    round_id = open_round(study_id)
    panellist_id, token = consented(study_id)
    return {"study": study_id, "round": round_id, "panellist": panellist_id, "token": token,
            "ids": statement_ids(study_id)}


def count_ratings(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Rating.id)))


@pytest.mark.parametrize("value", ["12", "0", "-1", "7.5", "abc", "unable ", "1e1", "\x00"])
def test_rating_off_the_scale_is_refused_with_a_message(app, client, ready, value):
    ids = ready["ids"]
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": value, f"c{ids['A-01']}": "keep me",
                                                  f"s{ids['A-02']}": "5", "next": "1"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose one of the answers shown." in text
    assert "keep me" in text  # what was typed is still on the page
    assert count_ratings(app) == 0  # and nothing on the page was half-saved


def test_unable_to_rate_is_refused_when_the_protocol_does_not_allow_it(app, client, make_study, open_round, consented,
                                                                      statement_ids):
    study_id = make_study(unable_to_rate=False)
    open_round(study_id)
    consented(study_id)
    ids = statement_ids(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert 'value="unable"' not in page
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "unable", "next": "1"})
    assert response.status_code == 422
    assert count_ratings(app) == 0


def test_tampered_statement_ids_are_ignored_or_refused(app, client, make_study, ready):
    other_study = make_study()
    with app.app_context():
        foreign = db.session.get(Study, other_study).statements[0].id
    ids = ready["ids"]
    # Fields the page did not offer are ignored by the form...
    response = client.post("/panel/rate/1", data={f"s{foreign}": "9", f"s{ids['B-01']}": "9",
                                                  f"s{ids['A-01']}": "3", "next": "1"})
    assert response.status_code == 303
    with app.app_context():
        saved = {r.statement_id: r.value for r in db.session.scalars(sa.select(Rating))}
    assert saved == {ids["A-01"]: 3}
    # ...and autosave refuses statements outside this round.
    refused = client.post("/panel/autosave", data={"field": f"s{foreign}", "value": "9"})
    assert refused.status_code == 400
    assert refused.get_json()["saved"] is False
    assert count_ratings(app) == 1


@pytest.mark.parametrize("field", ["x1", "s", "sabc", "s1;DROP TABLE rating", "", "q99999"])
def test_autosave_refuses_nonsense_fields(app, client, ready, field):
    response = client.post("/panel/autosave", data={"field": field, "value": "5"})
    assert response.status_code == 400
    assert count_ratings(app) == 0


def test_page_out_of_range_is_404(client, ready):
    assert client.get("/panel/rate/0").status_code == 404
    assert client.get("/panel/rate/99").status_code == 404


def test_form_posted_after_the_round_closed_changes_nothing(app, client, ready):
    ids = ready["ids"]
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "8", "next": "1"})
    with app.app_context():
        close_round(db.session.get(Round, ready["round"]))
        db.session.commit()
    late = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "2", "next": "1"})
    assert late.status_code == 409
    assert "The round has closed" in late.get_data(as_text=True)
    late_autosave = client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "2"})
    assert late_autosave.status_code == 409
    assert client.post("/panel/review", data={"submit": "1"}).status_code == 409
    with app.app_context():
        assert [r.value for r in db.session.scalars(sa.select(Rating))] == [8]


def test_a_huge_body_is_refused_and_the_server_stays_up(client, ready):
    ids = ready["ids"]
    response = client.post("/panel/rate/1", data={f"c{ids['A-01']}": "x" * (10 * 1024 * 1024), "next": "1"})
    assert response.status_code == 413
    assert "too much to send at once" in response.get_data(as_text=True)
    assert client.get("/panel/rate/1").status_code == 200


def test_a_too_long_comment_is_refused_with_the_text_kept(app, client, ready):
    ids = ready["ids"]
    long_comment = "word " * 1200
    response = client.post("/panel/rate/1", data={f"c{ids['A-01']}": long_comment, "next": "1"})
    assert response.status_code == 422
    assert "5000 characters or fewer" in response.get_data(as_text=True)
    assert long_comment.strip() in response.get_data(as_text=True)
    assert count_ratings(app) == 0


def test_control_characters_and_direction_overrides_are_removed(app, client, ready):
    ids = ready["ids"]
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "5",
                                       f"c{ids['A-01']}": "ok\x00 \u202eevil\u202c\x07 text\r\nline two",
                                       "next": "1"})
    with app.app_context():
        assert db.session.scalar(sa.select(Rating.comment)) == "ok evil text\nline two"


def test_a_panellist_can_only_reach_their_own_answers(app, client, make_panellist, ready):
    ids = ready["ids"]
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "8", f"c{ids['A-01']}": "mine only", "next": "1"})
    stranger = app.test_client()
    _, token = make_panellist(ready["study"], "staff")
    stranger.get(f"/p/{token}")
    stranger.post("/panel/consent", data={"agree": "1"})
    page = stranger.get("/panel/rate/1").get_data(as_text=True)
    assert "mine only" not in page
    assert "mine only" not in stranger.get("/panel/review").get_data(as_text=True)
    # Extra form fields (a panellist id, a round, a group) change nothing.
    stranger.post("/panel/rate/1", data={f"s{ids['A-01']}": "1", "panellist_id": str(ready["panellist"]),
                                         "round_id": "999", "group": "staff", "next": "1"})
    with app.app_context():
        mine = db.session.scalar(sa.select(Rating).where(Rating.panellist_id == ready["panellist"]))
        assert (mine.value, mine.comment) == (8, "mine only")


@pytest.mark.parametrize("value", ["²", "٣", "۷", "５", "٣٣", "9" * 5000])
def test_autosave_takes_only_the_digits_a_page_sends(app, client, ready, value):
    """"²".isdigit() is true and int("²") raises; Arabic-Indic and full-width digits are read by int() as 3, 7, 5:
    none is an answer a page can send, so each is refused with the page's message and nothing is saved."""
    response = client.post("/panel/autosave", data={"field": f"s{ready['ids']['A-01']}", "value": value})
    assert response.status_code == 400
    assert response.get_json() == {"saved": False, "message": "Choose one of the answers shown."}
    assert count_ratings(app) == 0


@pytest.mark.parametrize("field", ["s99999999999999999999", "c99999999999999999999", "q99999999999999999999",
                                   "s²", "s٣", "c" + "1" * 5000])
def test_autosave_refuses_ids_no_statement_can_have(app, client, ready, field):
    """An id beyond the database's integers once reached the INSERT (SQLite: OverflowError; PostgreSQL:
    "integer out of range"), a 500."""
    response = client.post("/panel/autosave", data={"field": field, "value": "5"})
    assert response.status_code == 400
    assert response.get_json()["saved"] is False
    assert count_ratings(app) == 0
