"""Closing a round: a failure half-way leaves the round open and nothing stored; two closes at once close it once."""
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


@pytest.mark.parametrize("propagate", [True, False])
def test_a_failure_mid_close_leaves_the_round_open_and_nothing_stored(app, client, answered, monkeypatch, propagate):
    real_store = rounds_service.store_round_figures

    def store_then_fail(round_, figures):
        real_store(round_, figures)  # rows inserted, classifications set ...
        raise RuntimeError("disk full")  # ... and then the close fails

    monkeypatch.setattr(rounds_service, "store_round_figures", store_then_fail)
    if propagate:
        with pytest.raises(RuntimeError):
            client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    else:
        app.config["PROPAGATE_EXCEPTIONS"] = False
        response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
        assert response.status_code == 500
    assert _state(app, answered) == (RoundStatus.open, 0, [None, None, None], None, 0)
    monkeypatch.setattr(rounds_service, "store_round_figures", real_store)
    assert client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    status, results, classified, figures, closes = _state(app, answered)
    assert status is RoundStatus.closed and results == 3 * 4 and None not in classified and closes == 1


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
    assert sorted(loc.rsplit("/", 1)[1] for loc in locations) == [str(answered), "review"]
    status, results, classified, figures, closes = _state(app, answered)
    assert status is RoundStatus.closed and results == 3 * 4 and closes == 1


def test_closing_twice_says_so(app, client, answered, runner):
    assert client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "can only be closed once" in response.get_data(as_text=True)
    result = runner.invoke("round", "close", str(answered))
    assert result.exit_code == 1
    assert _state(app, answered)[4] == 1
