"""Deleting a study and everything of it, at its owner's typed request.

What goes: every row that belongs to the study (its settings, statements and their history, rounds and their
figures, panellists, contact details, consent records, answers, comments, open answers, suggestions, mails in the
outbox and their texts, kept report builds, its members' roles, and its audit log). What stays: one site-wide audit
entry that says who deleted study #id, its title and when, and nothing else of it; staff accounts stay.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from huey import crontab

from delphi.db import writing
from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.jobs import huey, job, periodic_job, run_soon
from delphi.models import AuditEvent, OutboxMail, Panellist, StaffUser, Study, StudyMember, StudyStatus
from delphi.services import audit


def title_matches(study: Study, typed: str) -> bool:
    """Whether the owner typed the study's title (spaces at either end and letter case aside)."""
    return " ".join((typed or "").split()).casefold() == " ".join(study.title.split()).casefold()


def delete_study(study: Study, typed_title: str, actor: StaffUser | None) -> None:
    """Ask for the study and every row of it to be deleted (:class:`InputErrors` on ``typed_title`` when it is not
    the title); the caller commits, then calls :func:`start_removal`.

    At once, in a few statements whatever the study's size: the study is marked as being deleted, every member's role
    goes (so nobody on the staff side can open it any more), every panellist's link stops working and no queued mail
    is sent. The site-wide audit entry that stays says who deleted study #id, its title and when. The rows themselves
    go in :func:`remove_study`, a job: a national study (5,000 panellists, a million ratings a round) took 2.8 s to
    delete on SQLite, too long for a request (docs/performance.md)."""
    if not title_matches(study, typed_title):
        raise InputErrors([Problem(_("Type the study's title exactly as it is shown, to confirm."), "title")])
    study_id = study.id
    panellists = db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study_id))
    study.status = StudyStatus.deleting
    for statement in (
        sa.update(Panellist).where(Panellist.study_id == study_id).values(token_hash=None),
        sa.delete(OutboxMail).where(OutboxMail.study_id == study_id),
        sa.delete(StudyMember).where(StudyMember.study_id == study_id),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    audit.record("study.delete", actor=actor, target=f"study {study_id}", title=study.title, panellists=panellists)
    db.session.flush()


def start_removal(study_id: int) -> None:
    """Ask a worker to remove the study's rows now; if the queue cannot be reached, the scheduled run does it."""
    try:
        run_soon(remove_study_job, study_id)
    except Exception:  # noqa: BLE001 (the study is already hidden and marked; only the wake-up was lost)
        current_app.logger.exception("could not queue the removal of study %s; the scheduled run will do it",
                                     study_id)


def remove_study(study_id: int) -> bool:
    """Delete every row of a study marked as being deleted; False when there is none (already removed, or never
    marked: a study is only ever removed after :func:`delete_study`).

    Rows go with SQL deletes and the database's ON DELETE CASCADE, not through the session, so that a study of
    thousands of panellists is not loaded into memory first. Panellists go before the study, since their stakeholder
    group may not be deleted under them."""
    from delphi.services.reports.builds import purge_builds

    marked = db.session.scalar(sa.select(Study.id).where(Study.id == study_id,
                                                          Study.status == StudyStatus.deleting))
    if marked is None:
        return False
    purge_builds(study_id)
    for statement in (
        sa.delete(Panellist).where(Panellist.study_id == study_id),  # their contacts, consents, answers, mails
        sa.delete(OutboxMail).where(OutboxMail.study_id == study_id),
        sa.delete(AuditEvent).where(AuditEvent.study_id == study_id),
        sa.delete(Study).where(Study.id == study_id),  # and the rest, by ON DELETE CASCADE
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.flush()
    return True


@job()
def remove_study_job(study_id: int) -> None:
    with writing():
        remove_study(study_id)
        db.session.commit()


@periodic_job(crontab(minute="*/5"))
@huey.lock_task("delphi.study_removal")
def remove_marked_studies() -> None:
    """Every five minutes, one worker at a time: remove any study still marked as being deleted (its job was lost)."""
    for study_id in db.session.scalars(sa.select(Study.id).where(Study.status == StudyStatus.deleting)).all():
        with writing():
            remove_study(study_id)
            db.session.commit()


def study_counts(study: Study) -> dict[str, int]:
    """What deleting the study would remove, counted for its confirmation page."""
    from delphi.models import Rating, ReportBuild, Round, Statement
    from delphi.services.retention import contacts_with_details

    def count(model, *where) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    return {
        "panellists": count(Panellist, Panellist.study_id == study.id),
        "contacts": contacts_with_details(study.id),
        "statements": count(Statement, Statement.study_id == study.id),
        "rounds": count(Round, Round.study_id == study.id),
        "ratings": count(Rating, Rating.round_id.in_(sa.select(Round.id).where(Round.study_id == study.id))),
        "builds": count(ReportBuild, ReportBuild.study_id == study.id),
    }
