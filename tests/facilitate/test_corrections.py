"""Issue 21: a typo found after a round opens is corrected in that round: the new wording with a reason, confirmed on
a page that shows the old and the new wording; kept in the item history (kind ``correction``, the old text, the
reason, who and when) and the audit log; panellists who had answered the statement see the correction beside it on
their next visit, until they save that statement again."""
import re
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent, ConsentDecision, ConsentRecord, Panellist, RevisionKind, RoundStatement, Statement, StatementRevision,
    Study,
)
from delphi.services.answers import Answer, save_answers
from delphi.services.reports.source import item_history

TYPO = "Staff listen to what matters to the persom."
FIXED = "Staff listen to what matters to the person."


def _open_with_typo(app, client, study_id, make_panellist):
    """Round 1 open with A-01 worded with a typo; one consented panellist who answered A-01 and one who did not."""
    with app.app_context():
        study = db.session.get(Study, study_id)
        statement = next(s for s in study.statements if s.code == "A-01")
        statement.text = statement.revisions[0].text = TYPO
        db.session.commit()
        statement_id = statement.id
    panellists = [make_panellist(study_id, "staff") for _ in range(2)]
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        for pid, _ in panellists:
            db.session.add(ConsentRecord(panellist_id=pid, decision=ConsentDecision.given,
                                         consent_version=study.consent_version))
        save_answers(db.session.get(Panellist, panellists[0][0]), study.current_round,
                     {statement_id: Answer(value=6)})
        db.session.commit()
    return statement_id, panellists


def test_a_correction_shows_old_and_new_asks_a_reason_and_is_kept(app, client, owner, make_panellist):
    user_id, study_id = owner
    statement_id, _ = _open_with_typo(app, client, study_id, make_panellist)
    url = f"/studies/{study_id}/statements/{statement_id}/correct"
    listing = client.get(f"/studies/{study_id}/statements").get_data(as_text=True)
    assert f'href="{url}"' in listing
    page = client.get(url).get_data(as_text=True)
    assert TYPO in page and "Correct a typo in statement A-01" in page

    # A reason is required; the same wording, or a new statement in disguise, is refused.
    for data, message in (({"text": FIXED, "reason": ""}, "Say what the correction fixes."),
                          ({"text": TYPO, "reason": "typo"}, "The wording is the same as before"),
                          ({"text": "Services should close at weekends.", "reason": "typo"},
                           "That changes more than a typo")):
        response = client.post(url, data=data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message

    # The confirm page shows both wordings and changes nothing yet.
    confirm = client.post(url, data={"text": FIXED, "reason": "Spelling of 'person'"})
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and f"<del>{TYPO}</del>" in text and f"<ins>{FIXED}</ins>" in text
    assert 'name="confirm" value="yes"' in text
    with app.app_context():
        assert db.session.get(Statement, statement_id).text == TYPO

    response = client.post(url, data={"text": FIXED, "reason": "Spelling of 'person'", "confirm": "yes"})
    assert response.status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        shown = db.session.scalar(sa.select(RoundStatement).where(RoundStatement.statement_id == statement_id))
        assert shown.text == FIXED and db.session.get(Statement, statement_id).text == FIXED
        assert study.current_round.wording_version == 1
        revision = db.session.scalar(sa.select(StatementRevision).where(
            StatementRevision.kind == RevisionKind.correction))
        assert (revision.round_number, revision.text, revision.previous_text, revision.reason,
                revision.created_by_id) == (1, FIXED, TYPO, "Spelling of 'person'", user_id)
        events = [(e.action, e.target, e.details) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "statement.correct"))]
        assert events == [("statement.correct", "statement A-01", {"round": 1, "revision": revision.id})]
        # The report's item history shows it, with the old wording and the reason.
        corrected = [e for e in item_history(study)["A-01"] if e.event.startswith("typo corrected")]
        assert [(e.round, e.event, e.text, e.reason) for e in corrected] == [
            (1, f"typo corrected in the open round (was: {TYPO})", FIXED, "Spelling of 'person'")]


def test_panellists_who_answered_see_the_correction_until_they_save_it_again(app, client, owner, make_panellist):
    _, study_id = owner
    statement_id, panellists = _open_with_typo(app, client, study_id, make_panellist)
    # Round 1's pages are read (and kept) before the correction.
    (answered, answered_token), (_, other_token) = panellists
    panel = app.test_client()
    panel.get(f"/p/{answered_token}")
    assert TYPO in panel.get("/panel/rate/1").get_data(as_text=True)

    assert client.post(f"/studies/{study_id}/statements/{statement_id}/correct",
                       data={"text": FIXED, "reason": "Spelling", "confirm": "yes"}).status_code == 303

    page = panel.get("/panel/rate/1").get_data(as_text=True)
    assert "This statement was corrected on" in page and f"<del>{TYPO}</del> → <ins>{FIXED}</ins>" in page
    # The cached page has the new wording as the statement's heading.
    assert re.search(rf'<h2 class="statement-heading" id="[^"]+">{re.escape(FIXED)}</h2>', page)

    newcomer = app.test_client()
    newcomer.get(f"/p/{other_token}")
    page = newcomer.get("/panel/rate/1").get_data(as_text=True)
    assert FIXED in page and "This statement was corrected" not in page  # had not answered it

    # Saving that statement again answers the corrected wording: the notice goes.
    assert panel.post("/panel/autosave", data={"field": f"s{statement_id}", "value": "7"}).get_json()["saved"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StatementRevision).where(
            StatementRevision.kind == RevisionKind.correction)) == 1
    assert "This statement was corrected" not in panel.get("/panel/rate/1").get_data(as_text=True)


def test_a_correction_needs_an_open_round_that_shows_the_statement(app, client, owner):
    _, study_id = owner
    with app.app_context():
        statement_id = db.session.get(Study, study_id).statements[0].id
    response = client.get(f"/studies/{study_id}/statements/{statement_id}/correct")
    assert response.status_code == 303
    assert "only while a round that shows it is open" in client.get(response.headers["Location"]).get_data(
        as_text=True)
