"""Erasing contact details, on the contacts side only: one person's at their request, or a whole closed study's when
its retention period has run out (a scheduled job). Answers, pseudonyms and links are untouched: the panellist stays
in the study and nobody can tell afterwards whose answers were whose."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from huey import crontab

from delphi.db import writing
from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.jobs import huey, periodic_job
from delphi.models import Contact, MailStatus, OutboxMail, Panellist, StaffUser, Study, StudyStatus, utcnow
from delphi.services import audit
from delphi.services.deletion_requests import contact_details_erased

MAX_RETENTION_DAYS = 3650

_HAS_DETAILS = sa.or_(Contact.email.is_not(None), Contact.phone.is_not(None), Contact.name.is_not(None),
                      Contact.email_index.is_not(None))


def has_details(contact: Contact) -> bool:
    return any(v is not None for v in (contact.email, contact.phone, contact.name, contact.email_index))


def _erase(contact_ids) -> int:
    """Erase the details of these contacts and every trace of their address in the outbox; returns how many contacts
    had details to erase."""
    erased = db.session.execute(
        sa.update(Contact).where(Contact.id.in_(contact_ids), _HAS_DETAILS)
        .values(email=None, email_index=None, phone=None, name=None)
        .execution_options(synchronize_session=False)).rowcount
    # A mail still waiting could not be sent without an address; a refusal's reason often quotes the address.
    db.session.execute(sa.delete(OutboxMail).where(OutboxMail.contact_id.in_(contact_ids),
                                                   OutboxMail.status.in_([MailStatus.queued, MailStatus.sending]))
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.contact_id.in_(contact_ids))
                       .values(error="").execution_options(synchronize_session=False))
    contact_details_erased(contact_ids)
    db.session.flush()
    return erased


def erase_contact_details(contact: Contact, actor: StaffUser | None) -> None:
    """A person asked staff to erase their contact details but to stay in the study: their e-mail address, phone
    number and name go; their link, answers and place on the panel stay. Audited by the contact's number."""
    from delphi.services.invitations import contact_ref

    audit.record("panel.erase_contact", study=contact.panellist.study, actor=actor, target=contact_ref(contact))
    _erase([contact.id])
    db.session.refresh(contact)


def set_retention(study: Study, days: int | None, actor: StaffUser | None) -> None:
    """Set how many days after the study closes its contact details are erased (None: kept until staff erase them)."""
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise InputErrors([Problem(_("Enter a number of days from 0 to %(limit)s, or leave it empty.",
                                     limit=MAX_RETENTION_DAYS), "contacts_retention_days")])
    if days == study.contacts_retention_days:
        return
    study.contacts_retention_days = days
    audit.record("study.retention", study=study, actor=actor, target=f"study {study.id}",
                 contacts_retention_days=days)
    db.session.flush()


def erase_due_at(study: Study) -> datetime | None:
    """When the study's contact details are due to be erased (None: not closed, or no retention period)."""
    if study.status is not StudyStatus.closed or study.closed_at is None or study.contacts_retention_days is None:
        return None
    return study.closed_at + timedelta(days=study.contacts_retention_days)


def contacts_with_details(study_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Contact.id)).join(Panellist, Panellist.id == Contact.panellist_id)
                             .where(Panellist.study_id == study_id, _HAS_DETAILS))


def erase_due_contacts(now: datetime | None = None) -> list[tuple[Study, int]]:
    """Erase the contact details of every closed study whose retention period has run out and that still holds some;
    each study in its own transaction, with an audit entry. Returns (study, contacts erased) for each."""
    now = now or utcnow()
    closed = db.session.scalars(sa.select(Study).where(Study.status == StudyStatus.closed,
                                                       Study.contacts_retention_days.is_not(None),
                                                       Study.closed_at.is_not(None)).order_by(Study.id)).all()
    done = []
    for study in closed:
        if erase_due_at(study) > now or not contacts_with_details(study.id):
            continue
        contact_ids = sa.select(Contact.id).join(Panellist, Panellist.id == Contact.panellist_id).where(
            Panellist.study_id == study.id)
        erased = _erase(contact_ids)
        audit.record("study.contacts_erased", study=study, actor=None, target=f"study {study.id}",
                     contacts=erased, retention_days=study.contacts_retention_days)
        db.session.commit()
        done.append((study, erased))
    return done


@periodic_job(crontab(minute="17", hour="*"))
@huey.lock_task("delphi.retention")
def run_retention() -> None:
    """Hourly, one worker at a time: erase the contact details that are due."""
    with writing():
        erase_due_contacts()
