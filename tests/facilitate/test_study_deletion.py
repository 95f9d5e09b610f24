"""Deleting a study: the owner types its title; every row of it goes, in every table; other studies stay whole."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent,
    Base,
    ConsentDecision,
    ConsentRecord,
    MailKind,
    OpenAnswer,
    OpenQuestion,
    Study,
    StudyMember,
    StudyRole,
    Suggestion,
)
from delphi.services.outbox import queue_panel_mail
from delphi.services.panel import add_panellist
from delphi.services.round_timing import save_mail_text
from tests.reports.conftest import build_three_round_study


def _full_study(app, client, owner_id: int) -> int:
    """A three-round study with answers, contacts with addresses, a queued mail, a saved mail text, its owner and
    a kept report build."""
    with app.app_context():
        study_id = build_three_round_study()
        study = db.session.get(Study, study_id)
        study.title = f"Recovery study {study_id}"
        db.session.add(StudyMember(study_id=study_id, user_id=owner_id, role=StudyRole.owner))
        panellist, _ = add_panellist(study, study.groups[0], email=f"person{study_id}@example.org")
        queue_panel_mail(study, MailKind.invitation, [panellist], "Invitation", "{link}", None)
        save_mail_text(study, MailKind.invitation, "en", "Invitation", "Hello {link}")
        db.session.add(ConsentRecord(panellist=panellist, decision=ConsentDecision.given, consent_version=1))
        # The open round's rows and a suggestion, as an open first round and a panellist's idea would leave them.
        question = OpenQuestion(study_id=study_id, round_id=study.rounds[0].id, text="What helps?")
        db.session.add(question)
        answer = OpenAnswer(question=question, panellist=panellist, text="Being listened to.",
                            statements=[study.statements[0]])
        db.session.add(answer)
        db.session.add_all([question, Suggestion(study_id=study_id, round_id=study.rounds[0].id,
                                                 panellist_id=panellist.id, text="Peer support on every ward.")])
        db.session.commit()
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303
    return study_id


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


@pytest.fixture
def two_studies(app, client, owner):
    """(kept, deleted, table counts with only the kept one): both studies full."""
    owner_id, _blank = owner
    kept = _full_study(app, client, owner_id)
    before = _counts(app)
    deleted = _full_study(app, client, owner_id)
    return kept, deleted, before


def test_a_title_that_does_not_match_is_refused_with_the_input_kept(app, client, two_studies):
    _, deleted, _ = two_studies
    page = client.get(f"/studies/{deleted}/delete").get_data(as_text=True)
    assert f"Delete “Recovery study {deleted}”?" in page and "Type the study's title" in page
    assert "its 20 panellists" not in page and "its 21 panellists" in page  # 20 of the build and one with an address
    for typed in ("Recovery study", "", f"Recovery study {deleted}x"):
        response = client.post(f"/studies/{deleted}/delete", data={"title": typed})
        assert response.status_code == 422
        text = response.get_data(as_text=True)
        assert "There is a problem" in text
        if typed:
            assert f'value="{typed}"' in text
    with app.app_context():
        assert db.session.get(Study, deleted) is not None


def test_deletion_removes_every_row_of_the_study_in_every_table(app, client, two_studies):
    kept, deleted, before = two_studies
    with_both = _counts(app)
    populated = {name for name in with_both if with_both[name] > before[name]}
    assert {"study", "stakeholder_group", "statement", "statement_revision", "round", "round_statement",
            "round_result", "panellist", "contact", "consent_record", "rating", "submission", "outbox_mail",
            "mail_text", "study_member", "report_build", "report_file", "report_chunk", "audit_event", "open_question",
            "open_answer", "statement_source", "suggestion"} <= populated

    response = client.post(f"/studies/{deleted}/delete", data={"title": f"  recovery STUDY {deleted} "})
    assert response.status_code == 303 and response.headers["Location"] == "/studies/"
    after = _counts(app)
    # Every table is back to what it held with the other study alone, but for one site-wide audit entry.
    assert after == {**before, "audit_event": before["audit_event"] + 1}
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "study.delete"))
        assert (event.study_id, event.target) == (None, f"study {deleted}")
        assert event.details == {"title": f"Recovery study {deleted}", "panellists": 21}
        assert db.session.get(Study, kept) is not None
    assert client.get(f"/studies/{deleted}").status_code == 404
    assert client.get(f"/studies/{kept}").status_code == 200


def test_only_the_owner_may_delete(app, client, make_user, make_study, auth):
    user = make_user("facilitator2@example.org")
    study_id = make_study(members={user: StudyRole.facilitator})
    auth.login(email="facilitator2@example.org")
    assert client.get(f"/studies/{study_id}/delete").status_code == 403
    assert client.post(f"/studies/{study_id}/delete", data={"title": "Test study"}).status_code == 403
    with app.app_context():
        assert db.session.get(Study, study_id) is not None


def test_the_request_hides_the_study_at_once_and_a_job_removes_its_rows(app, client, two_studies, monkeypatch):
    """Deleting a national study (a million ratings a round) took 2.8 s inside the request; the request now only
    marks it, takes it away from every member and panellist, and queues the job that removes the rows."""
    from delphi.models import Panellist, Rating
    from delphi.services.study_deletion import remove_marked_studies, remove_study_job

    kept, deleted, before = two_studies
    with app.app_context():
        links = db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(
            Panellist.study_id == deleted, Panellist.token_hash.is_not(None)))
    assert links > 0
    app.config["JOBS_IMMEDIATE"] = False
    queued = []
    monkeypatch.setattr("delphi.services.study_deletion.run_soon", lambda task, *args: queued.append((task, args)))
    response = client.post(f"/studies/{deleted}/delete", data={"title": f"Recovery study {deleted}"})
    assert response.status_code == 303
    assert queued == [(remove_study_job, (deleted,))]
    # Gone for everyone now; its answers still there until the job runs.
    assert client.get(f"/studies/{deleted}").status_code == 404
    assert f"/studies/{deleted}\"" not in client.get("/studies/").get_data(as_text=True)
    with app.app_context():
        study = db.session.get(Study, deleted)
        assert study.status.value == "deleting"
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(
            Panellist.study_id == deleted, Panellist.token_hash.is_not(None))) == 0  # every link stopped
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StudyMember).where(
            StudyMember.study_id == deleted)) == 0
        assert db.session.scalar(sa.select(sa.func.count(Rating.id)).join(Panellist).where(
            Panellist.study_id == deleted)) > 0
        # The job lost (a worker down): the scheduled run removes it; a second run finds nothing to do.
        remove_marked_studies.call_local()
        remove_marked_studies.call_local()
        assert db.session.get(Study, kept) is not None
    after = _counts(app)
    assert after == {**before, "audit_event": before["audit_event"] + 1}
