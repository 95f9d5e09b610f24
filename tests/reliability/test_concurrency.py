"""Retries and crowds through a real server process (gunicorn, 2 workers x 8 threads): nothing lost, nothing
duplicated, no 500."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Panellist, Rating, Study, Submission
from delphi.services.panel import add_panellist
from delphi.services.rounds import open_next_round
from tests.live import Browser


def study_with_panel(app, make_study, size: int):
    """A study with round 1 open and ``size`` consented panellists; returns (round id, tokens, statement ids)."""
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = open_next_round(study)
        tokens = []
        for i in range(size):
            panellist, token = add_panellist(study, study.groups[i % 2])
            panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, consent_version=1))
            tokens.append(token)
        db.session.commit()
        return round_.id, tokens, [s.id for s in study.statements]


def test_fifty_concurrent_submits_with_one_token_record_one_submission(app, make_study, live_server):
    round_id, (token,), statement_ids = study_with_panel(app, make_study, 1)
    browsers = [Browser(live_server.url) for _ in range(50)]
    forms = []
    for browser in browsers:
        assert browser.get(f"/p/{token}").status == 303
        forms.append(browser.get("/panel/review").csrf())
    start = threading.Barrier(50)

    def submit(i):
        start.wait()
        return browsers[i].post("/panel/review", {"csrf_token": forms[i], "submit": "1"}).status

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(submit, range(50)))
    assert statuses == [303] * 50, live_server.output()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Submission.id)).where(Submission.round_id == round_id)) == 1


def test_two_hundred_panellists_saving_at_once_lose_nothing(app, make_study, live_server):
    round_id, tokens, (a01, a02, b01) = study_with_panel(app, make_study, 200)

    def journey(i):
        browser = Browser(live_server.url)
        assert browser.get(f"/p/{tokens[i]}").status == 303
        page = browser.get("/panel/rate/1")
        value = 1 + i % 9
        first = browser.post("/panel/rate/1", {"csrf_token": page.csrf(), f"s{a01}": str(value),
                                               f"s{a02}": str(10 - value), f"c{a01}": f"panellist {i}", "next": "1"})
        second = browser.post("/panel/autosave", {"field": f"s{b01}", "value": str(value)},
                              headers={"X-CSRFToken": page.csrf()})
        return first.status, second.status

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(journey, range(200)))
    assert results == [(303, 200)] * 200, live_server.output()
    with app.app_context():
        rows = db.session.execute(
            sa.select(Panellist.token_hash, Rating.statement_id, Rating.value, Rating.comment)
            .join(Rating, Rating.panellist_id == Panellist.id).where(Rating.round_id == round_id)
        ).all()
    assert len(rows) == 600
    assert len({(r[0], r[1]) for r in rows}) == 600  # no duplicates
    comments = sorted(r[3] for r in rows if r[1] == a01)
    assert comments == sorted(f"panellist {i}" for i in range(200))
