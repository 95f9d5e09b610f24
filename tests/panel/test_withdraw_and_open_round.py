"""Withdrawal, and a study that begins with an open round of free-text questions."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Contact, OpenAnswer, Panellist, Rating, Submission, Suggestion, WithdrawalPolicy
from tests.conftest import MINIMAL_PROTOCOL


@pytest.mark.parametrize("policy, ratings_left", [(WithdrawalPolicy.keep, 1), (WithdrawalPolicy.delete, 0)])
def test_withdrawal_follows_the_protocol_and_ends_the_link(app, client, make_study, make_panellist, open_round,
                                                           statement_ids, policy, ratings_left):
    study_id = make_study(withdrawal_policy=policy)
    open_round(study_id)
    panellist_id, token = make_panellist(study_id, email="person@example.org")
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"agree": "1"})
    ids = statement_ids(study_id)
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "7", "next": "1"})
    client.post("/panel/review", data={"submit": "1"})
    client.post("/panel/suggest", data={"text": "A suggestion that may stay."})

    page = client.get("/panel/withdraw").get_data(as_text=True)
    expected = "kept without your name" if policy is WithdrawalPolicy.keep else "Your answers are deleted"
    assert expected in page
    unconfirmed = client.post("/panel/withdraw", data={"submit": "1"})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    assert client.post("/panel/withdraw", data={"confirm": "y", "submit": "1"}).headers["Location"] == "/panel/withdrawn"

    with app.app_context():
        panellist = db.session.get(Panellist, panellist_id)
        assert panellist.withdrawn and panellist.token_hash is None
        assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == ratings_left
        assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == ratings_left
        suggestion = db.session.scalar(sa.select(Suggestion))
        assert suggestion.text == "A suggestion that may stay." and suggestion.panellist_id is None
    # The session is gone and the link no longer works.
    assert client.get("/panel/").status_code == 404
    assert client.get(f"/p/{token}").status_code == 404


OPEN_PROTOCOL = MINIMAL_PROTOCOL.replace(
    'title = "Test study"',
    'title = "Test study"\nopen_questions = ["What does recovery-oriented practice mean to you?", "What gets in the way?"]',
)


def test_open_round_answers_are_saved_reviewed_and_submitted(app, client, make_study, make_panellist, open_round):
    study_id = make_study(OPEN_PROTOCOL)
    round_id = open_round(study_id)
    panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"agree": "1"})
    home = client.get("/panel/").get_data(as_text=True)
    assert 'href="/panel/questions"' in home
    page = client.get("/panel/questions").get_data(as_text=True)
    assert "What does recovery-oriented practice mean to you?" in page
    with app.app_context():
        questions = {q.text: q.id for q in db.session.get(Panellist, panellist_id).study.open_questions}
    first, second = questions["What does recovery-oriented practice mean to you?"], questions["What gets in the way?"]
    response = client.post("/panel/questions", data={f"q{first}": "Being treated as a person.\nHaving hope.",
                                                     "save": "1"})
    assert response.headers["Location"] == "/panel/questions"
    client.post("/panel/autosave", data={"field": f"q{second}", "value": "Waiting lists."})
    review = client.get("/panel/review").get_data(as_text=True)
    assert "Being treated as a person." in review and "Waiting lists." in review
    assert client.post("/panel/review", data={"submit": "1"}).headers["Location"] == "/panel/thanks"
    with app.app_context():
        answers = {a.question_id: a.text for a in db.session.scalars(sa.select(OpenAnswer))}
        assert answers == {first: "Being treated as a person.\nHaving hope.", second: "Waiting lists."}
        assert db.session.scalar(sa.select(sa.func.count(Submission.id)).where(Submission.round_id == round_id)) == 1
    # A rating page is not offered in an open round.
    # The round is open, so not "This round is not open": the start page shows what there is to do.
    assert client.get("/panel/rate/1").headers["Location"] == "/panel/"
