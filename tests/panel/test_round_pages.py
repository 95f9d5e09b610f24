"""A round's pages (statements by domain, in order) are read once per process and kept while the round is open:
what every panellist page shows must still be that round's own statements."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Round, Study
from delphi.services.answers import round_pages
from delphi.services.rounds import open_next_round


def page_texts(app, round_id):
    with app.app_context():
        return [(p.number, p.domain, [s.text for s in p.statements])
                for p in round_pages(db.session.get(Round, round_id))]


def test_pages_follow_the_round_and_its_order(app, make_study, open_round):
    round_id = open_round(make_study())
    expected = [(1, "Hope", ["Staff believe recovery is possible.", "A relapse is not a failure."]),
                (2, "Empowerment", ["The person decides what goes into their plan."])]
    assert page_texts(app, round_id) == expected
    assert page_texts(app, round_id) == expected  # the kept copy


def test_kept_pages_are_not_used_for_a_new_round_that_reuses_an_id(app, client, make_study, consented):
    """SQLite hands out a deleted row's id again: a round opened in place of a deleted one must not be shown the
    deleted round's statements."""
    study_id = make_study()
    with app.app_context():
        first = open_next_round(db.session.get(Study, study_id))
        db.session.commit()
        first_id = first.id
    assert page_texts(app, first_id)[0][2][0] == "Staff believe recovery is possible."
    with app.app_context():
        db.session.execute(sa.delete(Round).where(Round.id == first_id))
        study = db.session.get(Study, study_id)
        for statement in study.statements:
            statement.text = "Reworded: " + statement.text
        db.session.commit()
        db.session.expire_all()
        second = open_next_round(db.session.get(Study, study_id))
        db.session.commit()
        second_id = second.id
    assert page_texts(app, second_id)[0][2] == ["Reworded: Staff believe recovery is possible.",
                                                 "Reworded: A relapse is not a failure."]
    # And through the panellist's page.
    consented(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert "Reworded: A relapse is not a failure." in page

