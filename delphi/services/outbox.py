"""Mail through the outbox: requests queue one row per recipient; a background job delivers them.

Each row is claimed before it is sent (an UPDATE that only one worker can win, with a lease), sent, and marked in its
own transaction, so
- a job run twice, or by two workers at once, sends each mail once;
- a worker killed mid-batch leaves the mail it was sending claimed until the lease runs out, and the rest queued:
  the next run sends them (only a kill in the instant between the server's "accepted" and the row's commit can send
  one mail twice; its Message-ID is the same both times, so mail systems can tell);
- a server that is away (or answers 4xx) leaves the mail queued with the next try further off each time
  (``MAIL_RETRY_DELAYS``), then failed with the last reason; a refusal (5xx) marks it failed with the server's reason.
A panel mail's link and address are read when it is sent: the outbox never keeps a link or an address.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from huey import crontab

from delphi.db import writing
from delphi.extensions import db
from delphi.jobs import huey, job, periodic_job, run_soon
from delphi.models import MailKind, MailStatus, OutboxMail, Panellist, StaffUser, Study, utcnow
from delphi.services import audit
from delphi.services.mail import Mail, MailError, MailRefused, MailServer

MAIL_EFFECT = {MailKind.invitation: "invited_at", MailKind.reminder: "last_reminded_at"}


def queue_panel_mail(study: Study, kind: MailKind, recipients: list[Panellist], subject: str, body: str,
                     actor: StaffUser | None) -> int:
    """Queue one mail to each recipient with an address; returns how many were queued. The caller commits, then
    calls :func:`wake_sender`."""
    rows = [{"study_id": study.id, "contact_id": p.contact.id, "kind": kind, "subject": subject, "body": body}
            for p in recipients if p.contact is not None and p.contact.email]
    if rows:  # one bulk insert: 5,000 objects through the unit of work took most of a second on PostgreSQL
        db.session.execute(sa.insert(OutboxMail), rows)
    audit.record(f"panel.{kind.value}", study=study, actor=actor, target=f"study {study.id}", queued=len(rows))
    db.session.flush()
    return len(rows)


# Mail to staff accounts; the first two hold a link that opens the account, kept only until sent or given up.
STAFF_KINDS = frozenset({MailKind.password_reset, MailKind.staff_invitation, MailKind.staff_added})
KEYS_TO_ACCOUNTS = frozenset({MailKind.password_reset, MailKind.staff_invitation})


def queue_password_reset(user: StaffUser, subject: str, body: str) -> None:
    queue_staff_mail(user, MailKind.password_reset, subject, body)


def queue_staff_mail(user: StaffUser, kind: MailKind, subject: str, body: str) -> None:
    """Queue one mail to a staff account; its address is read when it is sent. The caller commits, then calls
    :func:`wake_sender`."""
    db.session.add(OutboxMail(staff_user_id=user.id, kind=kind, subject=subject, body=body))
    db.session.flush()


def wake_sender() -> None:
    """Ask a worker to send what is queued now. If the queue cannot be reached, the worker's minute-by-minute run
    sends it anyway; the request that queued the mail does not fail for that."""
    try:
        run_soon(send_queued_mail)
    except Exception:  # noqa: BLE001 (the mail is safe in the outbox; only the wake-up was lost)
        current_app.logger.exception("could not wake the mail sender; the next scheduled run will send the mail")


@job()
def send_queued_mail() -> None:
    deliver_due()


@periodic_job(crontab(minute="*"))
def send_due_mail() -> None:
    """Retries and anything whose wake-up was lost."""
    deliver_due()


@huey.on_startup()
def send_what_is_due_at_start() -> None:
    """A worker (re)started sends what is due at once: what a killed worker left, or mail queued while none ran."""
    send_queued_mail()


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    postponed: int = 0


def deliver_due(now: datetime | None = None) -> Delivery:
    """Send every mail that is due, one claimed row at a time, each in its own transaction; returns the counts.

    Stops early when the server cannot be reached: the mails left are due again after their back-off.
    """
    delivery = Delivery()
    with writing(), MailServer() as server:
        while (row := _claim_next(now or utcnow())) is not None:
            mail = _compose(row)
            if mail is None:
                _finish(row, MailStatus.failed, failure("no_address"))
                delivery.failed += 1
                continue
            try:
                server.send(mail, message_id=_message_id(row))
            except MailRefused as exc:
                _finish(row, MailStatus.failed, failure(exc.code, **exc.details))
                delivery.failed += 1
            except MailError as exc:
                if _postpone(row, exc):
                    delivery.postponed += 1
                else:
                    delivery.failed += 1
                break
            else:
                _finish(row, MailStatus.sent)
                delivery.sent += 1
    return delivery


def _due(now: datetime):
    return sa.and_(OutboxMail.status.in_([MailStatus.queued, MailStatus.sending]), OutboxMail.next_attempt_at <= now,
                   sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))


def _claim_next(now: datetime) -> OutboxMail | None:
    """The next due mail, claimed for this worker until the lease runs out; None when nothing is due."""
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    for _ in range(20):  # another worker may win the candidate; try the next
        candidate = db.session.scalar(sa.select(OutboxMail.id).where(_due(now))
                                      .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(1))
        if candidate is None:
            db.session.commit()
            return None
        claimed = db.session.execute(
            sa.update(OutboxMail).where(OutboxMail.id == candidate, _due(now))
            .values(status=MailStatus.sending, claimed_until=now + lease, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if claimed:
            return db.session.get(OutboxMail, candidate, populate_existing=True)
    return None


def _compose(row: OutboxMail) -> Mail | None:
    if row.kind in STAFF_KINDS:
        return Mail(row.staff_user.email, row.subject, row.body) if row.staff_user and row.staff_user.active else None
    from delphi.services.invitations import contact_ref, link_for, render
    from delphi.services.panel import current_link_token, reissue_token
    from delphi.services.round_timing import closing_sentence

    contact = row.contact
    if contact is None or not contact.email or contact.panellist.withdrawn:
        return None
    panellist, study = contact.panellist, contact.panellist.study
    link = None
    if "{link}" in row.body:
        if panellist.token_hash is None:
            return None  # revoked since the mail was queued
        token = current_link_token(panellist)
        if token is None:  # a link that cannot be derived again (older random token, another key): replaced once
            token = reissue_token(panellist)
            audit.record("panel.reissue_link", study=study, actor=None, target=contact_ref(contact),
                         reason="resent link could not be rebuilt")
        link = link_for(token)
    language = panellist.language or study.language  # the mail's texts are in it (services/invitations.py)
    body = render(row.body, study, link, language)
    closing = closing_sentence(study.current_round, language)
    return Mail(contact.email, render(row.subject, study, None, language),
                f"{body.rstrip()}\n\n{closing}\n" if closing else body)


def _message_id(row: OutboxMail) -> str:
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "localhost"
    return f"<outbox-{row.id}-{row.created_at:%Y%m%d%H%M%S}@{domain}>"


# A mail's ``error`` holds why it failed (or waits) as a code and the server's own words, in JSON, never a sentence:
# the worker that stores it has no reader, and each reader sees it in their language (mail_failure). Rows stored
# before hold an English sentence, shown as it is.
FAILURES = frozenset({"no_address", "refused", "unreachable", "try_later"})


def failure(code: str, **details) -> str:
    """What ``error`` stores: ``code`` (one of :data:`FAILURES`) with the server's answer (``reason``), the server
    (``server``), and ``tries`` when the outbox gave up."""
    details = {key: value[:200] if isinstance(value, str) else value for key, value in details.items()}
    return json.dumps({"code": code, **details}, ensure_ascii=False)


def mail_failure(error: str) -> str:
    """Why a mail failed or waits (a stored :func:`failure`), in the language of the page being drawn."""
    try:
        stored = json.loads(error)
    except ValueError:
        return error
    if not isinstance(stored, dict) or stored.get("code") not in FAILURES:
        return error
    reason, code = str(stored.get("reason", "")), stored["code"]
    if code == "no_address":
        text = _("there is no e-mail address or working link to send to")
    elif code == "refused":
        text = _("the mail server refused it (%(reason)s)", reason=reason)
    elif code == "unreachable":
        text = _("the mail server %(server)s could not be used (%(reason)s)", server=stored.get("server", ""),
                 reason=reason)
    else:
        text = _("the mail server asked to try again later (%(reason)s)", reason=reason)
    if stored.get("tries"):
        return _("gave up after %(count)s tries: %(reason)s", count=stored["tries"], reason=text)
    return text


def _finish(row: OutboxMail, status: MailStatus, error: str = "") -> None:
    now = utcnow()
    row.status, row.error, row.claimed_until = status, error, None
    if status is MailStatus.sent:
        row.sent_at = now
        if row.kind in MAIL_EFFECT and row.contact is not None:
            setattr(row.contact, MAIL_EFFECT[row.kind], now)
    if row.kind in KEYS_TO_ACCOUNTS:
        row.body = ""  # its link opens an account until it expires: not kept once sent or given up
    db.session.commit()


def _postpone(row: OutboxMail, error: MailError) -> bool:
    """Queue the mail again after its next back-off; False (and failed) once the retries are used up."""
    delays = current_app.config["MAIL_RETRY_DELAYS"]
    if row.attempts > len(delays):
        _finish(row, MailStatus.failed, failure(error.code, tries=row.attempts, **error.details))
        return False
    row.status, row.error, row.claimed_until = MailStatus.queued, failure(error.code, **error.details), None
    row.next_attempt_at = utcnow() + timedelta(seconds=delays[row.attempts - 1])
    db.session.commit()
    return True


@dataclass(frozen=True)
class OutboxSummary:
    """What the panel page says about a study's mail: counts, and when the server is away, why (in the reader's
    language) and until when."""

    queued: int
    sent: int
    failed: int
    waiting_reason: str
    next_attempt_at: datetime | None


def outbox_summary(study: Study) -> OutboxSummary:
    counts = dict(db.session.execute(
        sa.select(OutboxMail.status, sa.func.count(OutboxMail.id)).where(OutboxMail.study_id == study.id)
        .group_by(OutboxMail.status)).all())
    waiting = db.session.execute(
        sa.select(OutboxMail.error, OutboxMail.next_attempt_at)
        .where(OutboxMail.study_id == study.id, OutboxMail.status == MailStatus.queued, OutboxMail.attempts > 0)
        .order_by(OutboxMail.next_attempt_at).limit(1)).first()
    return OutboxSummary(
        queued=counts.get(MailStatus.queued, 0) + counts.get(MailStatus.sending, 0),
        sent=counts.get(MailStatus.sent, 0), failed=counts.get(MailStatus.failed, 0),
        waiting_reason=mail_failure(waiting.error) if waiting else "",
        next_attempt_at=waiting.next_attempt_at if waiting else None)


def latest_mail(contact_ids: list[int]) -> dict[int, OutboxMail]:
    """Each contact's latest panel mail, for the contacts side's delivery column."""
    if not contact_ids:
        return {}
    latest = (sa.select(sa.func.max(OutboxMail.id)).where(OutboxMail.contact_id.in_(contact_ids))
              .group_by(OutboxMail.contact_id))
    rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.id.in_(latest)))
    return {row.contact_id: row for row in rows}


def pending_recipients(study: Study, kind: MailKind) -> sa.Select:
    """Contacts with a mail of this kind still queued or being sent (not to be queued twice)."""
    return (sa.select(OutboxMail.contact_id)
            .where(OutboxMail.study_id == study.id, OutboxMail.kind == kind,
                   OutboxMail.status.in_([MailStatus.queued, MailStatus.sending])))

