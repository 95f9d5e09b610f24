"""A save that arrives while a round is closing waits for the close and is then refused: it never lands after the
figures were computed, and never half-written (PostgreSQL: advisory locks; SQLite: the write lock)."""
import threading
import time

import pytest
import sqlalchemy as sa

from delphi.db import writing
from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Panellist, Rating, Round, RoundResult, Study
from delphi.services import rounds
from delphi.services.answers import Answer, RoundClosed, autosave_answer, save_answers
from delphi.services.panel import add_panellist
from delphi.services.rounds import open_next_round


@pytest.mark.parametrize("how", ["page save", "autosave"])
def test_a_save_during_a_close_waits_and_is_refused(app, make_study, monkeypatch, how):
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = open_next_round(study)
        early, _ = add_panellist(study, study.groups[0])
        late, _ = add_panellist(study, study.groups[1])
        db.session.add(ConsentRecord(panellist=late, decision=ConsentDecision.given, consent_version=1, statements=[]))
        save_answers(early, round_, {round_.statements[0].statement_id: Answer(value=8)})
        db.session.commit()
        ids = {"round": round_.id, "late": late.id, "link": late.token_hash,
               "statement": round_.statements[1].statement_id}

    original = rounds.compute_round_figures
    closing = threading.Event()

    def slow_compute(round_):
        closing.set()
        time.sleep(1.0)  # the close is mid-transaction, holding its lock
        return original(round_)

    monkeypatch.setattr(rounds, "compute_round_figures", slow_compute)
    outcome = {}

    def close():
        with app.app_context(), writing():
            rounds.close_round(db.session.get(Round, ids["round"]))
            db.session.commit()
            outcome["closed_at"] = time.monotonic()

    def save():
        closing.wait(10)
        with app.app_context(), writing():
            try:
                if how == "autosave":  # the two statements of /panel/autosave
                    autosave_answer(ids["late"], ids["link"], f"s{ids['statement']}", "2")
                else:
                    save_answers(db.session.get(Panellist, ids["late"]), db.session.get(Round, ids["round"]),
                                 {ids["statement"]: Answer(value=2)})
                db.session.commit()
                outcome["save"] = "saved"
            except RoundClosed:
                db.session.rollback()
                outcome["save"] = "refused"
            outcome["save_at"] = time.monotonic()

    threads = [threading.Thread(target=close), threading.Thread(target=save)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome.get("save") == "refused"
    assert outcome["save_at"] >= outcome["closed_at"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 1
        overall = db.session.scalar(sa.select(RoundResult).where(
            RoundResult.round_id == ids["round"], RoundResult.statement_id == ids["statement"],
            RoundResult.scope == "overall"))
        assert overall.n == 0  # the late answer is in no figure
