"""A consent text changed after panellists consented asks them again, saying what changed, before anything more of
theirs is saved: pages and autosave alike (``answers.refusal`` is the one check)."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Rating, Study, Submission
from delphi.services.study_setup import update_settings
from tests.panel.test_journey import study_text

NEW_CONSENT = """I have read the information.
My answers are anonymous, and quotes may appear in the published report.
I can leave at any time.
My answers may be kept for ten years."""


def change_consent(app, study_id: int, text: str) -> None:
    with app.app_context():
        update_settings(db.session.get(Study, study_id), {"consent": text}, None)
        db.session.commit()


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Rating.id))),
                db.session.scalar(sa.select(sa.func.count(Submission.id))))


def test_a_changed_consent_is_asked_again_before_anything_is_saved(app, client, make_study, make_panellist,
                                                                  open_round, statement_ids):
    study_id = make_study(study_text())
    open_round(study_id)
    ids = statement_ids(study_id)
    panellist_id, token = make_panellist(study_id, "staff")
    client.get(f"/p/{token}")
    assert client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"}).status_code == 303
    assert client.post("/panel/autosave", data={"field": f"s{ids['A-01']}", "value": "7"}).status_code == 200
    assert counts(app) == (1, 0)

    change_consent(app, study_id, NEW_CONSENT)

    # Every page that saves, and autosave, now leads to the consent page; nothing is saved on the way.
    assert client.get("/panel/").headers["Location"] == "/panel/consent"
    assert client.get("/panel/rate/1").headers["Location"] == "/panel/consent"
    refused = client.post("/panel/autosave", data={"field": f"s{ids['A-02']}", "value": "3"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/panel/consent"
    assert client.post("/panel/rate/1", data={f"s{ids['A-02']}": "3", "next": "1"}).headers["Location"] \
        == "/panel/consent"
    assert client.post("/panel/review", data={"submit": "1"}).headers["Location"] == "/panel/consent"
    assert client.post("/panel/suggest", data={"text": "A statement while not consented"}).headers["Location"] \
        == "/panel/consent"
    assert counts(app) == (1, 0)

    # The page shows the new text and says plainly what changed.
    page = client.get("/panel/consent").get_data(as_text=True)
    assert "What you agreed to has changed" in page
    assert "nothing more is saved until you have agreed to the new statements" in page
    changed = page.split('id="consent-changed"')[1].split("</div>")[0]
    assert "My answers are anonymous, and quotes may appear in the published report." in changed
    assert "My answers may be kept for ten years." in changed
    assert "No longer asked:" in changed and "<li>My answers are anonymous.</li>" in changed
    assert "<li>I can leave at any time.</li>" not in changed  # unchanged statements are not listed as changes
    assert page.count('type="checkbox"') == 4

    # Agreeing again records the new version and the statements as shown; saving works again.
    assert client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"}).status_code == 422
    assert client.post("/panel/consent", data={"statements": ["0", "1", "2", "3"], "agree": "1"}).status_code == 303
    with app.app_context():
        latest = db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.panellist_id == panellist_id)
                                    .order_by(ConsentRecord.id.desc())).first()
        assert (latest.decision, latest.consent_version) == (ConsentDecision.given, 2)
        assert latest.statements == NEW_CONSENT.splitlines()
    assert client.post("/panel/autosave", data={"field": f"s{ids['A-02']}", "value": "3"}).status_code == 200
    assert client.get("/panel/").status_code == 200
    assert counts(app) == (2, 0)


def test_new_panellists_and_blank_line_edits_are_not_asked_twice(app, client, make_study, make_panellist,
                                                                 open_round):
    study_id = make_study(study_text())
    open_round(study_id)
    _, token = make_panellist(study_id, "staff")
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    with app.app_context():
        text = db.session.get(Study, study_id).consent_text
    change_consent(app, study_id, "\n\n" + text.replace("\n", "\n\n") + "\n")  # only blank lines added
    assert client.get("/panel/").status_code == 200
    change_consent(app, study_id, NEW_CONSENT)
    other = app.test_client()
    _, other_token = make_panellist(study_id, "staff")
    other.get(f"/p/{other_token}")
    page = other.get("/panel/consent").get_data(as_text=True)
    assert "What you agreed to has changed" not in page  # someone consenting for the first time
    assert other.post("/panel/consent", data={"statements": ["0", "1", "2", "3"], "agree": "1"}).status_code == 303
    assert other.get("/panel/").status_code == 200


