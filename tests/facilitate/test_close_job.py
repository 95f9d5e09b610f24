"""Closing a round is a background job: the request only closes the round to answers and queues the work; a worker
computes and stores the figures and finishes the close, once, taking over a killed worker's close after its lease."""
from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.jobs import huey, start_worker_in_background
from delphi.models import AuditEvent, Round, RoundResult, RoundStatus, Study, utcnow
from delphi.services import rounds as rounds_service
from delphi.services.rounds import (
    CLOSE_GAVE_UP_MESSAGE,
    MAX_CLOSE_ATTEMPTS,
    claim_close,
    finish_due_closes,
    open_next_round,
    run_close,
)


@pytest.fixture
def answered(app, client, owner, make_panellist, answer_round):
    """Round 1 open and answered by four panellists; returns the study id."""
    _, study_id = owner
    pids = [make_panellist(study_id, key)[0] for key in ("staff", "staff", "service_user", "service_user")]
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    answer_round(study_id, {pid: {"A-01": 8, "A-02": 2 + i, "B-01": 9} for i, pid in enumerate(pids)})
    return study_id


@pytest.fixture
def queued_only(app):
    """Jobs queued, not run (as in production, where a worker runs them)."""
    app.config.update(JOBS_IMMEDIATE=False)
    huey.flush()
    yield
    huey.flush()


@pytest.fixture
def figures_spy(monkeypatch):
    calls = []
    real = rounds_service.compute_round_figures

    def spy(round_):
        calls.append(round_.id)
        return real(round_)

    monkeypatch.setattr(rounds_service, "compute_round_figures", spy)
    return calls


def _round(app, study_id: int) -> tuple:
    with app.app_context():
        round_ = db.session.scalar(sa.select(Round).where(Round.study_id == study_id, Round.number == 1))
        results = db.session.scalar(sa.select(sa.func.count(RoundResult.id)).where(RoundResult.round_id == round_.id))
        closes = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "round.close"))
        return round_.id, round_.status, results, closes


def _status(html: str) -> str:
    match = re.search(r'<p class="build-status" role="status" aria-live="polite">(.*?)</p>', html, re.S)
    return match.group(1).strip()


def test_the_web_close_answers_at_once_and_only_queues_the_figures(app, client, answered, queued_only, figures_spy):
    started = time.perf_counter()
    response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 303
    assert response.headers["Location"] == f"/studies/{answered}/rounds/1/closing"
    assert figures_spy == []  # no statistics in the request
    round_id, status, results, closes = _round(app, answered)
    assert (status, results, closes) == (RoundStatus.closing, 0, 0)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task.name.endswith("close_round_job") and task.args == (round_id,)


def test_the_progress_page_says_queued_then_computing_and_then_sends_on_to_the_review(app, client, answered,
                                                                                        queued_only, figures_spy):
    page_url = f"/studies/{answered}/rounds/1/closing"
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    html = client.get(page_url).get_data(as_text=True)
    assert _status(html) == "Its figures will be computed as soon as the worker is free."
    # Without JavaScript: a link that loads the page again, and no refresh that moves the page under the reader.
    assert f'<a class="check-again" href="{page_url}">Check again</a>' in html
    assert 'http-equiv="refresh"' not in html.lower() and "Try again" not in html
    # With JavaScript: the page's script asks the same status as JSON.
    assert f'data-close-progress="{page_url}.json"' in html and "/static/js/close_progress.js" in html
    assert client.get(f"{page_url}.json").get_json() == {
        "status": "queued", "message": "Its figures will be computed as soon as the worker is free."}
    round_id = _round(app, answered)[0]
    with app.app_context():
        assert claim_close(round_id) == 1  # a worker has started
    assert _status(client.get(page_url).get_data(as_text=True)) == (
        "Its figures are being computed. For a large panel this takes about a minute.")
    assert client.get(f"{page_url}.json").get_json()["status"] == "running"
    # The study page and the monitor say it is closing, not closed, and offer no next round yet.
    study_page = client.get(f"/studies/{answered}").get_data(as_text=True)
    assert "Round 1 is closing" in study_page and f'href="{page_url}"' in study_page
    assert "Review the statements" not in study_page and "/rounds/open" not in study_page
    assert f'href="{page_url}"' in client.get(f"/studies/{answered}/rounds/current").get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(Round).where(Round.id == round_id).values(close_claimed_until=utcnow()))
        db.session.commit()
        assert run_close(round_id, now=utcnow() + timedelta(seconds=1)) is True
    assert client.get(f"{page_url}.json").get_json() == {
        "status": "closed", "message": "Its figures are computed and stored."}
    done = client.get(page_url)
    assert done.status_code == 303 and done.headers["Location"] == f"/studies/{answered}/review"
    assert "Round 1 is closed and its figures are computed." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert figures_spy == [round_id] and _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)


def test_the_progress_page_after_the_worker_gave_up_offers_try_again(app, client, answered, queued_only):
    page_url = f"/studies/{answered}/rounds/1/closing"
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    round_id = _round(app, answered)[0]
    with app.app_context():
        finish_due_closes.call_local()  # the minute sweep picks up the close whose wake-up is still queued
        assert db.session.get(Round, round_id).status is RoundStatus.closed
        round_ = db.session.get(Round, round_id)
        round_.status, round_.close_attempts = RoundStatus.closing, MAX_CLOSE_ATTEMPTS
        round_.close_claimed_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        finish_due_closes.call_local()
        assert db.session.get(Round, round_id).close_error == CLOSE_GAVE_UP_MESSAGE
    html = client.get(page_url).get_data(as_text=True)
    assert _status(html).startswith("Its figures are not ready: The figures were started 3 times and never finished")
    assert "Try again" in html and "Check again" not in html
    status = client.get(f"{page_url}.json").get_json()
    assert status["status"] == "failed" and status["message"] == _status(html)


def test_a_closing_round_is_not_closed_for_what_comes_next(app, client, answered, queued_only):
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    with app.app_context():
        with pytest.raises(Exception, match="still closing"):
            open_next_round(db.session.get(Study, answered))
        db.session.rollback()
    refused = client.post(f"/studies/{answered}/rounds/open", data={"confirm": "yes"}, follow_redirects=True)
    assert "Round 1 is still closing" in refused.get_data(as_text=True)
    review = client.get(f"/studies/{answered}/review").get_data(as_text=True)
    assert "Review between rounds" in review and "Review of round 1" not in review
    # A second close, or the close page, goes to the progress page.
    again = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    assert again.headers["Location"] == f"/studies/{answered}/rounds/1/closing"
    assert client.get(f"/studies/{answered}/rounds/1/close").headers["Location"] == again.headers["Location"]


def test_a_killed_workers_close_is_taken_over_after_its_lease(app, answered, client, queued_only):
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    round_id = _round(app, answered)[0]
    with app.app_context():
        assert claim_close(round_id) == 1  # a worker claims it, then is killed
        assert claim_close(round_id) is None and run_close(round_id) is False  # its lease holds
        later = utcnow() + timedelta(seconds=app.config["ROUND_CLOSE_CLAIM_SECONDS"] + 1)
        assert run_close(round_id, now=later) is True
        assert db.session.get(Round, round_id).close_attempts == 2
        assert run_close(round_id, now=later) is False  # closed: nothing left to do
    assert _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)


def test_two_workers_close_once(app, client, answered, queued_only, figures_spy):
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    round_id = _round(app, answered)[0]
    results, barrier = [], threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(run_close(round_id))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert figures_spy == [round_id]
    assert _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)


def test_the_whole_close_through_a_real_worker(app, client, owner, answered):
    """Queued in the instance folder's SQLite queue, as in production, and run by Huey's consumer (``delphi
    serve``'s and the demo's worker thread)."""
    app.config.update(JOBS_IMMEDIATE=False)
    response = client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    assert _round(app, answered)[1] is RoundStatus.closing
    worker = start_worker_in_background(app)
    try:
        deadline = time.monotonic() + 30
        while _round(app, answered)[1] is not RoundStatus.closed and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop(graceful=True)
    assert _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "round.close"))
        assert (event.actor_id, event.target) == (owner[0], "round 1")
    assert client.get(response.headers["Location"]).headers["Location"] == f"/studies/{answered}/review"


def test_the_command_line_finishes_a_close_the_worker_has_not(app, client, answered, runner, queued_only):
    client.post(f"/studies/{answered}/rounds/1/close", data={"confirm": "yes"})
    round_id = _round(app, answered)[0]
    with app.app_context():
        assert claim_close(round_id) == 1  # a worker has it (and may be stuck)
    result = runner.invoke("round", "close", str(answered))
    assert result.exit_code == 0, result.output
    assert "Round 1 of study" in result.output and "is closed" in result.output
    assert _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)
    with app.app_context():
        assert run_close(round_id, now=utcnow() + timedelta(hours=1)) is False  # nothing left for the worker
    assert _round(app, answered)[1:] == (RoundStatus.closed, 3 * 4, 1)
