"""Closing a round: a failure half-way stores nothing and can be tried again; two closes at once close it once."""
import threading

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import AuditEvent, Round, RoundResult, RoundStatus, StudyRole
from delphi.services import rounds as rounds_service


@pytest.fixture
def answered(app, client, owner, make_panellist, answer_round, round_of):
    """Round 1 open and answered by four panellists; returns the study id."""
    _, study_id = owner
    pids = [make_panellist(study_id, key)[0] for key in ("staff", "staff", "service_user", "service_user")]
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    answer_round(study_id, {pid: {"A-01": 8, "A-02": 2 + i, "B-01": 9} for i, pid in enumerate(pids)})
    return study_id


def _state(app, study_id):
    with app.app_context():
        round_ = db.session.scalar(sa.select(Round).where(Round.study_id == study_id, Round.number == 1))
        results = db.session.scalar(sa.select(sa.func.count(RoundResult.id)))
        classified = [rs.classification for rs in round_.statements]
        closes = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "round.close"))
        return round_.status, results, classified, round_.figures, closes


def test_a_failure_mid_close_leaves_the_round_closing_with_nothing_stored_and_try_again_closes_it(
        app, client, answered, monkeypatch):
    real_store = rounds_service.store_round_figures

    def store_then_fail(round_, figures):
        real_store(round_, figures)  # rows inserted, classifications set ...
        raise RuntimeError("disk full")  # ... and then the close fails

    monkeypatch.setattr(rounds_service, "store_round_figures", store_then_fail)
    response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    assert response.headers["Location"] == f"/studies/{answered}/rounds/1/closing"
    # Never back to open (the panel was told it closed), never half-stored.
    assert _state(app, answered) == (RoundStatus.closing, 0, [None, None, None], None, 0)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Its figures are not ready: The figures could not be computed." in page
    assert f'action="/studies/{answered}/rounds/1/closing/retry"' in page and "Try again" in page
    monkeypatch.setattr(rounds_service, "store_round_figures", real_store)
    retried = client.post(f"/studies/{answered}/rounds/1/closing/retry")
    assert retried.headers["Location"] == f"/studies/{answered}/rounds/1/closing"
    status, results, classified, figures, closes = _state(app, answered)
    assert status is RoundStatus.closed and results == 3 * 4 and None not in classified and closes == 1
    assert client.get(retried.headers["Location"]).headers["Location"] == f"/studies/{answered}/review"


def test_a_failure_in_the_synchronous_close_leaves_the_round_as_it_was(app, answered, monkeypatch):
    """The command line's close (one transaction): rolled back, the round is open again and nothing is stored."""
    monkeypatch.setattr(rounds_service, "store_round_figures", lambda *_: (_ for _ in ()).throw(RuntimeError("x")))
    with app.app_context():
        round_ = db.session.scalar(sa.select(Round).where(Round.study_id == answered))
        with pytest.raises(RuntimeError):
            rounds_service.close_round(round_)
        db.session.rollback()
    assert _state(app, answered) == (RoundStatus.open, 0, [None, None, None], None, 0)


def test_two_facilitators_closing_at_once_close_once(app, answered, make_user):
    from delphi.models import StudyMember

    other = make_user("second@example.org")
    with app.app_context():
        db.session.add(StudyMember(study_id=answered, user_id=other, role=StudyRole.facilitator))
        db.session.commit()
    clients = []
    for email in ("owner@example.org", "second@example.org"):
        c = app.test_client()
        assert c.post("/staff/login", data={"email": email, "password": "correct horse battery"}).status_code == 303
        clients.append(c)
    barrier, locations = threading.Barrier(2), [None, None]

    def close(i):
        barrier.wait()
        locations[i] = clients[i].post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}).headers["Location"]

    threads = [threading.Thread(target=close, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One started the close (its page shows how far it has got), the other was told it is closed or closing.
    assert f"/studies/{answered}/rounds/1/closing" in locations
    assert set(locations) <= {f"/studies/{answered}/rounds/1/closing", f"/studies/{answered}"}
    status, results, classified, figures, closes = _state(app, answered)
    assert status is RoundStatus.closed and results == 3 * 4 and closes == 1


def test_closing_twice_says_so(app, client, answered, runner):
    assert client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "can only be closed once" in response.get_data(as_text=True)
    result = runner.invoke("round", "close", str(answered))
    assert result.exit_code == 1
    assert _state(app, answered)[4] == 1
