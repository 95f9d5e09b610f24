"""Two "open next round" at once (two facilitators, or a double click on two tabs) open one round: the second request
gets a plain message, not a 500 from the unique (study, number) constraint. Runs on PostgreSQL when
DELPHI_TEST_DATABASE_URL names one (row lock), and on SQLite (its write lock)."""
import re
import threading

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Round, StudyRole
from delphi.services import rounds
from tests.conftest import AuthActions


def test_two_opens_at_once_open_one_round(app, make_user, make_study, monkeypatch):
    user_id = make_user("owner@example.org")
    study_id = make_study(members={user_id: StudyRole.owner})
    clients = [app.test_client(), app.test_client()]
    for client in clients:
        assert AuthActions(client).login(email="owner@example.org").status_code == 303

    # Both requests are held just before they add the round, until both have got there or one second has passed
    # (when the first holds the study, the second cannot get there: it waits for the first to commit).
    both_inside = threading.Barrier(2, timeout=1.0)
    original = rounds.RoundStatement

    def held(*args, **kwargs):
        if not getattr(threading.current_thread(), "held", False):
            threading.current_thread().held = True
            try:
                both_inside.wait()
            except threading.BrokenBarrierError:
                pass
        return original(*args, **kwargs)

    monkeypatch.setattr(rounds, "RoundStatement", held)
    responses = {}

    def open_round(i):
        responses[i] = clients[i].post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})

    threads = [threading.Thread(target=open_round, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in responses.values()) == [303, 303]
    pages = [clients[i].get(responses[i].headers["Location"]).get_data(as_text=True) for i in range(2)]
    flashes = sorted(re.search(r'<p class="flash flash-(\w+)">([^<]*)</p>', page).groups() for page in pages)
    assert flashes == [("error", "Round 1 is still open; close it first."), ("success", "Round 1 is open.")]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Round.id)).where(Round.study_id == study_id)) == 1
