"""Contact details are erased a set number of days after a study closes, by a scheduled job; answers stay."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.jobs import huey
from delphi.models import AuditEvent, Contact, Panellist, Rating, Study, StudyStatus, utcnow
from delphi.protocol import load_protocol
from delphi.services.panel import add_panellist
from delphi.services.retention import erase_due_contacts, run_retention
from delphi.services.studies import create_study
from tests.conftest import MINIMAL_PROTOCOL
from tests.reports.conftest import build_three_round_study

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)


def _study(app, closed_days_ago: float | None, retention_days: int | None, with_answers: bool = False,
           now: datetime = NOW) -> int:
    """A study with two people with contact details, closed that many days before ``now`` (None: still running)."""
    with app.app_context():
        study = (db.session.get(Study, build_three_round_study()) if with_answers
                 else create_study(load_protocol(MINIMAL_PROTOCOL)))
        for i in range(2):
            panellist, _ = add_panellist(study, study.groups[0], email=f"p{i}-{study.id}@example.org")
            panellist.contact.phone, panellist.contact.name = "+47 900 00 000", f"Person {i}"
        if closed_days_ago is not None:
            study.status, study.closed_at = StudyStatus.closed, now - timedelta(days=closed_days_ago)
        study.contacts_retention_days = retention_days
        db.session.commit()
        return study.id


def _details(app, study_id) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(Contact.email, Contact.phone, Contact.name, Contact.email_index)
                                  .join(Panellist).where(Panellist.study_id == study_id,
                                                         Contact.email.is_not(None))).all()


def test_the_job_erases_only_the_studies_that_are_due(app):
    due = _study(app, closed_days_ago=31, retention_days=30, with_answers=True)
    due_today = _study(app, closed_days_ago=0, retention_days=0)
    not_yet = _study(app, closed_days_ago=29, retention_days=30)
    no_period = _study(app, closed_days_ago=400, retention_days=None)
    running = _study(app, closed_days_ago=None, retention_days=0)
    with app.app_context():
        ratings = db.session.scalar(sa.select(sa.func.count(Rating.id)))
        assert {study.id: erased for study, erased in erase_due_contacts(NOW)} == {due: 2, due_today: 2}
    for study_id in (due, due_today):
        assert _details(app, study_id) == []
    for study_id in (not_yet, no_period, running):
        assert len(_details(app, study_id)) == 2
    with app.app_context():
        # Contacts side only: the panellists stay, not withdrawn, with every answer.
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == ratings > 0
        panellists = db.session.scalars(sa.select(Panellist).where(Panellist.study_id == due)).all()
        assert len(panellists) == 22 and not any(p.withdrawn for p in panellists)
        assert all((c.email, c.phone, c.name) == (None, None, None)
                   for c in db.session.scalars(sa.select(Contact).join(Panellist).where(Panellist.study_id == due)))
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "study.contacts_erased")
                                    .order_by(AuditEvent.study_id)).all()
        assert [(e.study_id, e.actor_id, e.details) for e in events] == [
            (due, None, {"contacts": 2, "retention_days": 30}), (due_today, None, {"contacts": 2, "retention_days": 0})]
        # Run again (a retried job, the next hour): nothing left to do, no second entry.
        assert erase_due_contacts(NOW) == []
        # A day later the study that was not yet due is.
        assert [s.id for s, _ in erase_due_contacts(NOW + timedelta(days=1, seconds=1))] == [not_yet]


def test_the_scheduled_job_runs_the_erasure(app):
    due = _study(app, closed_days_ago=2, retention_days=1, now=utcnow())
    assert "run_retention" in [task.__name__ for task in huey._registry._periodic_tasks]
    with app.app_context():
        run_retention.call_local()
    assert _details(app, due) == []


def test_the_owner_sets_the_retention_period(app, client, owner):
    _, study_id = owner
    page = client.get(f"/studies/{study_id}").get_data(as_text=True)
    assert "Contact details are kept until staff erase them" in page
    response = client.post(f"/studies/{study_id}/retention", data={"contacts_retention_days": "90"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).contacts_retention_days == 90
        assert db.session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "study.retention")) \
            == {"contacts_retention_days": 90}
    assert "erased 90 days after the study closes" in client.get(f"/studies/{study_id}").get_data(as_text=True)
    assert "contact details are erased 90 days from today" in client.get(
        f"/studies/{study_id}/close").get_data(as_text=True)
    assert client.post(f"/studies/{study_id}/retention", data={"contacts_retention_days": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).contacts_retention_days is None


@pytest.mark.parametrize("typed, message", [("-1", "from 0 to 3650"), ("4000", "from 0 to 3650"),
                                            ("soon", "as a whole number")])
def test_a_bad_retention_period_is_refused(app, client, owner, typed, message):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/retention", data={"contacts_retention_days": typed})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and f'value="{typed}"' in text
    with app.app_context():
        assert db.session.get(Study, study_id).contacts_retention_days is None
