"""Model constraints and cascades: what the database itself guarantees, whatever the code above it does."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from delphi.extensions import db
from delphi.models import (
    Contact,
    DomainError,
    Panellist,
    Rating,
    Round,
    RoundResult,
    RoundStatement,
    RoundStatus,
    StakeholderGroup,
    Statement,
    Study,
    Submission,
)
from delphi.services.panel import add_panellist


@pytest.fixture
def study_with_round(app, make_study):
    """A study with round 1 open (all three statements) and one panellist; returns a dict of ids."""
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = Round(number=1)
        study.rounds.append(round_)
        round_.statements = [RoundStatement(statement=s, text=s.text, position=i) for i, s in enumerate(study.statements)]
        round_.open()
        panellist, _ = add_panellist(study, study.groups[0], email="someone@example.org")
        db.session.commit()
        return {"study": study.id, "round": round_.id, "panellist": panellist.id,
                "statements": [s.id for s in study.statements]}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_pseudonym_is_unique_even_across_studies(app, make_study, study_with_round):
    other = make_study()
    with app.app_context():
        existing = db.session.get(Panellist, study_with_round["panellist"])
        db.session.add(Panellist(study_id=other, pseudonym=existing.pseudonym))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_one_rating_per_panellist_statement_and_round(app, study_with_round):
    ids = study_with_round
    with app.app_context():
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][0], value=7))
        db.session.flush()
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][0], value=3))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_rating_must_be_of_a_statement_in_that_round(app, make_study, study_with_round):
    ids = study_with_round
    other_study = make_study()
    with app.app_context():
        foreign_statement = db.session.scalars(sa.select(Statement).where(Statement.study_id == other_study)).first()
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=foreign_statement.id, value=5))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_rating_cannot_be_both_a_value_and_unable_to_rate(app, study_with_round):
    ids = study_with_round
    with app.app_context():
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][0],
                              value=5, unable_to_rate=True))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_one_submission_per_panellist_and_round(app, study_with_round):
    ids = study_with_round
    with app.app_context():
        db.session.add(Submission(panellist_id=ids["panellist"], round_id=ids["round"]))
        db.session.flush()
        db.session.add(Submission(panellist_id=ids["panellist"], round_id=ids["round"]))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_group_keys_and_statement_codes_unique_within_a_study(app, make_study):
    study_id = make_study()
    with app.app_context():
        db.session.add(StakeholderGroup(study_id=study_id, key="staff", name="Staff again"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.add(Statement(study_id=study_id, code="A-01", text="Duplicate code"))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_round_numbers_unique_within_a_study(app, study_with_round):
    with app.app_context():
        db.session.add(Round(study_id=study_with_round["study"], number=1))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_erasing_contact_details_keeps_ratings(app, study_with_round):
    ids = study_with_round
    with app.app_context():
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][1], value=8))
        db.session.commit()
        panellist = db.session.get(Panellist, ids["panellist"])
        assert panellist.contact.email == "someone@example.org"
        panellist.contact = None  # delete-orphan
        db.session.commit()
        assert count(Contact) == 0
        assert count(Rating) == 1
        assert db.session.get(Panellist, ids["panellist"]) is not None


def test_deleting_a_study_removes_everything_that_belongs_to_it(app, study_with_round):
    ids = study_with_round
    with app.app_context():
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][0], value=9))
        db.session.add(Submission(panellist_id=ids["panellist"], round_id=ids["round"]))
        db.session.add(RoundResult(round_id=ids["round"], statement_id=ids["statements"][0], scope="overall", n=1))
        db.session.commit()
        db.session.delete(db.session.get(Study, ids["study"]))
        db.session.commit()
        for model in (Study, StakeholderGroup, Statement, Round, RoundStatement, Panellist, Contact, Rating,
                      Submission, RoundResult):
            assert count(model) == 0, model.__name__


def test_database_cascades_without_the_orm(app, study_with_round):
    """ON DELETE CASCADE holds at the database level too (foreign keys are on in SQLite)."""
    ids = study_with_round
    with app.app_context():
        db.session.add(Rating(panellist_id=ids["panellist"], round_id=ids["round"], statement_id=ids["statements"][0], value=9))
        db.session.commit()
        db.session.execute(sa.delete(Panellist).where(Panellist.id == ids["panellist"]))
        db.session.commit()
        assert count(Rating) == 0
        assert count(Contact) == 0


def test_a_group_with_panellists_cannot_be_deleted(app, study_with_round):
    with app.app_context():
        group_id = db.session.get(Panellist, study_with_round["panellist"]).group_id
        with pytest.raises(IntegrityError):
            db.session.execute(sa.delete(StakeholderGroup).where(StakeholderGroup.id == group_id))
            db.session.flush()


def test_round_lifecycle_refuses_illegal_transitions():
    round_ = Round(number=1, status=RoundStatus.draft)
    with pytest.raises(DomainError):
        round_.close()
    round_.open()
    assert round_.status is RoundStatus.open and round_.opened_at is not None
    with pytest.raises(DomainError):
        round_.open()
    round_.close()
    assert round_.status is RoundStatus.closed and round_.closed_at >= round_.opened_at
    with pytest.raises(DomainError, match="only an open round can be closed"):
        round_.close()


def test_datetimes_come_back_timezone_aware(app, study_with_round):
    with app.app_context():
        round_ = db.session.get(Round, study_with_round["round"])
        db.session.expire(round_)
        assert round_.opened_at.tzinfo is not None
