""""Prefer not to answer" (issue 22): offered only where the protocol says so, beside "unable to rate" and never the
same answer; saved as its own flag (page and autosave), shown on the review page, and never a rating."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from delphi.extensions import db
from delphi.models import Rating, Study


def _declined(app):
    with app.app_context():
        return {(r.statement_id, r.value, r.unable_to_rate, r.declined) for r in db.session.scalars(sa.select(Rating))}


def test_the_page_offers_it_only_when_the_protocol_does(client, make_study, open_round, consented):
    plain = make_study()
    open_round(plain)
    consented(plain)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert 'value="unable"' in page and 'value="declined"' not in page and "Prefer not to answer" not in page


def test_it_is_its_own_radio_with_its_own_accessible_name(client, make_study, open_round, consented, statement_ids):
    study_id = make_study(prefer_not_to_answer=True)
    open_round(study_id)
    consented(study_id)
    ids = statement_ids(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    sid = ids["A-01"]
    # After the nine scale points (ids -0 to -8) and "unable to rate" (-9): its own id, label and value.
    assert (f'<input id="s{sid}-10" name="s{sid}" type="radio" value="declined"> '
            f'<label for="s{sid}-10">Prefer not to answer</label>') in page
    assert f'<label for="s{sid}-9">I am unable to rate this</label>' in page


def test_saving_it_stores_the_flag_and_no_value(app, client, make_study, open_round, consented, statement_ids):
    study_id = make_study(prefer_not_to_answer=True)
    open_round(study_id)
    consented(study_id)
    ids = statement_ids(study_id)
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "declined", f"s{ids['A-02']}": "unable",
                                                  "next": "1"})
    assert response.status_code == 303
    assert _declined(app) == {(ids["A-01"], None, False, True), (ids["A-02"], None, True, False)}
    # The page shows it chosen again, and the review page says so in plain words.
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert f'name="s{ids["A-01"]}" type="radio" value="declined" checked' in page
    review = client.get("/panel/review").get_data(as_text=True)
    assert "You chose not to answer" in review and "Unable to rate" in review
    # A rating replaces it (never both).
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "7", f"s{ids['A-02']}": "unable", "next": "1"})
    assert _declined(app) == {(ids["A-01"], 7, False, False), (ids["A-02"], None, True, False)}


def test_autosave_stores_it_and_a_rating_replaces_it(app, client, make_study, open_round, consented, statement_ids):
    study_id = make_study(prefer_not_to_answer=True)
    open_round(study_id)
    consented(study_id)
    sid = statement_ids(study_id)["B-01"]
    response = client.post("/panel/autosave", data={"field": f"s{sid}", "value": "declined"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _declined(app) == {(sid, None, False, True)}
    client.post("/panel/autosave", data={"field": f"s{sid}", "value": "unable"})
    assert _declined(app) == {(sid, None, True, False)}


def test_it_is_refused_where_the_protocol_does_not_offer_it(app, client, make_study, open_round, consented,
                                                            statement_ids):
    study_id = make_study()
    open_round(study_id)
    consented(study_id)
    sid = statement_ids(study_id)["A-01"]
    assert client.post("/panel/rate/1", data={f"s{sid}": "declined", "next": "1"}).status_code == 422
    response = client.post("/panel/autosave", data={"field": f"s{sid}", "value": "declined"})
    assert response.status_code == 400 and response.get_json()["message"] == "Choose one of the answers shown."
    assert _declined(app) == set()


def test_the_database_refuses_declined_with_a_value_or_with_unable(app, make_study, open_round, make_panellist):
    study_id = make_study(prefer_not_to_answer=True)
    round_id = open_round(study_id)
    pid, _ = make_panellist(study_id)
    with app.app_context():
        sid = db.session.get(Study, study_id).statements[0].id
        for values in ({"value": 5}, {"unable_to_rate": True}):
            db.session.add(Rating(panellist_id=pid, round_id=round_id, statement_id=sid, declined=True, **values))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()


def test_it_reads_in_norwegian_on_a_norwegian_study(client, make_study, open_round, consented):
    study_id = make_study(prefer_not_to_answer=True, language="nb")
    open_round(study_id)
    consented(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert "Vil helst ikke svare</label>" in page and "Jeg kan ikke svare på dette</label>" in page
