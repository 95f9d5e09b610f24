"""A round whose close is under way ("closing": a worker is computing its figures) takes no more answers: every way in
gets what it gets after the close."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Round, RoundStatus
from delphi.services import answers as answer_service
from delphi.services.answers import Answer, RoundClosed
from delphi.services.rounds import start_close

CLOSED = "The round has closed, so answers can no longer be changed."


@pytest.fixture
def closing(app, client, make_study, open_round, consented, statement_ids):
    """A consented panellist (signed in on ``client``) with one answer saved, in a round whose close has started."""
    study_id = make_study()
    round_id = open_round(study_id)
    panellist_id, _token = consented(study_id)
    ids = statement_ids(study_id)
    assert client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "7"}).status_code == 200
    with app.app_context():
        start_close(db.session.get(Round, round_id))
        db.session.commit()
        assert db.session.get(Round, round_id).status is RoundStatus.closing
    return {"round": round_id, "panellist": panellist_id, "ids": ids}


def _ratings(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(Rating.statement_id, Rating.value).order_by(Rating.id)).all()


def test_a_closing_round_refuses_every_save_and_the_submission(app, client, closing):
    ids = closing["ids"]
    autosave = client.post("/panel/autosave", data={"field": f"s{ids['A-02']}", "value": "5"})
    assert autosave.status_code == 409
    assert autosave.get_json()["message"] == "This round has closed. Your answers can no longer be changed."
    page = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "2", f"s{ids['A-02']}": "5"})
    assert page.status_code == 409 and CLOSED in page.get_data(as_text=True)
    submitted = client.post("/panel/review", data={"submit": "1"})
    assert submitted.status_code == 409 and CLOSED in submitted.get_data(as_text=True)
    assert CLOSED in client.get("/panel/rate/1").get_data(as_text=True)
    assert _ratings(app) == [(ids["A-01"], 7)]  # what was saved before is kept, nothing after


def test_the_services_refuse_a_closing_round_too(app, closing):
    """Staff entry and imports go through the same saves."""
    with app.app_context():
        panellist = db.session.get(Panellist, closing["panellist"])
        round_ = db.session.get(Round, closing["round"])
        with pytest.raises(RoundClosed):
            answer_service.save_answers(panellist, round_, {closing["ids"]["A-02"]: Answer(value=5)})
        db.session.rollback()
        with pytest.raises(RoundClosed):
            answer_service.submit_round(panellist, round_)
        db.session.rollback()
    assert _ratings(app) == [(closing["ids"]["A-01"], 7)]
