"""Deleting a study and everything of it, at its owner's typed request.

What goes: every row that belongs to the study (its settings, statements and their history, rounds and their
figures, panellists, contact details, consent records, answers, comments, open answers, suggestions, mails in the
outbox and their texts, kept report builds, its members' roles, and its audit log). What stays: one site-wide audit
entry that says who deleted study #id, its title and when, and nothing else of it; staff accounts stay.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.models import AuditEvent, OutboxMail, Panellist, StaffUser, Study
from delphi.services import audit


def title_matches(study: Study, typed: str) -> bool:
    """Whether the owner typed the study's title (spaces at either end and letter case aside)."""
    return " ".join((typed or "").split()).casefold() == " ".join(study.title.split()).casefold()


def delete_study(study: Study, typed_title: str, actor: StaffUser | None) -> None:
    """Delete the study and every row of it (:class:`InputErrors` on ``typed_title`` when it is not the title).

    Rows go with SQL deletes and the database's ON DELETE CASCADE, not through the session, so that a study of
    thousands of panellists is not loaded into memory first. Panellists go before the study, since their stakeholder
    group may not be deleted under them.
    """
    from delphi.services.reports.builds import purge_builds

    if not title_matches(study, typed_title):
        raise InputErrors([Problem(_("Type the study's title exactly as it is shown, to confirm."), "title")])
    study_id, title = study.id, study.title
    panellists = db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study_id))
    db.session.expunge(study)
    purge_builds(study_id)
    for statement in (
        sa.delete(Panellist).where(Panellist.study_id == study_id),  # their contacts, consents, answers, mails
        sa.delete(OutboxMail).where(OutboxMail.study_id == study_id),
        sa.delete(AuditEvent).where(AuditEvent.study_id == study_id),
        sa.delete(Study).where(Study.id == study_id),  # and the rest, by ON DELETE CASCADE
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    audit.record("study.delete", actor=actor, target=f"study {study_id}", title=title, panellists=panellists)
    db.session.flush()


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
