"""A round's closing date: reminders to those who have not submitted, a set number of days before it, and an
optional close by itself at the date. A background job runs both every minute; every send and close is audited.

Attrition is the first pain of a Delphi: a closing date that panellists are told, and reminders to non-completers
only, are what keeps a panel to the end.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import force_locale, format_datetime, get_timezone, gettext
from flask_babel import gettext as _
from huey import crontab

from delphi.db import writing
from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.jobs import huey, periodic_job
from delphi.models import DomainError, MailKind, MailText, Round, RoundStatus, StaffUser, Study, utcnow
from delphi.services import audit
from delphi.services.answers import clean_text

MAX_REMINDER_DAYS = 60


# Day-month-year and a 24-hour clock in both languages (English as in the UK, not Babel's US default for "en").
DATE_PATTERNS = {"en": "d MMMM y", "nb": "d. MMMM y"}


def site_zone() -> ZoneInfo:
    """The time zone dates are entered and shown in: Flask-Babel's (BABEL_DEFAULT_TIMEZONE, e.g. Europe/Oslo)."""
    return ZoneInfo(str(get_timezone()))


def utc_from_local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=site_zone()).astimezone(timezone.utc)


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(site_zone())


def closing_sentence(round_: Round | None, language: str) -> str:
    """"This round closes on 12 December 2026 at 23:59." in the language, or "" without a closing date."""
    if round_ is None or not round_.is_open or round_.closes_at is None:
        return ""
    with force_locale(language):
        return gettext("This round closes on %(date)s at %(time)s.",
                       date=format_datetime(round_.closes_at, DATE_PATTERNS.get(language, DATE_PATTERNS["en"])),
                       time=format_datetime(round_.closes_at, "HH:mm"))


def set_round_timing(round_: Round, closes_at: datetime | None, reminder_days: list[int], auto_close: bool,
                     actor: StaffUser | None) -> None:
    """Set or clear the closing date, the reminder days and the automatic close of a draft or open round."""
    if round_.status in (RoundStatus.closed, RoundStatus.closing):
        raise DomainError(_("Round %(number)s is closed; its closing date cannot change.", number=round_.number))
    if closes_at is not None and closes_at <= utcnow():
        raise DomainError(_("The closing date must be in the future."))
    days = sorted({int(d) for d in reminder_days}, reverse=True)
    if any(not 1 <= d <= MAX_REMINDER_DAYS for d in days):
        raise DomainError(_("Reminder days must be whole numbers from 1 to %(limit)s.", limit=MAX_REMINDER_DAYS))
    if (days or auto_close) and closes_at is None:
        raise DomainError(_("Set a closing date for reminders before it, or for closing by itself."))
    if closes_at != round_.closes_at:
        round_.reminders_sent = []  # a new date: each reminder is due again, counted from it
    round_.closes_at, round_.reminder_days, round_.auto_close = closes_at, days, bool(auto_close)
    audit.record("round.timing", study=round_.study, actor=actor, target=f"round {round_.number}",
                 closes_at=closes_at.isoformat() if closes_at else None, reminder_days=days, auto_close=auto_close)
    db.session.flush()


def due_reminder(round_: Round, now: datetime) -> int | None:
    """The reminder (days before closing) due now and not yet sent; the nearest to the date when several are."""
    if not round_.is_open or round_.closes_at is None or now >= round_.closes_at:
        return None
    due = [d for d in round_.reminder_days if d not in round_.reminders_sent
           and now >= round_.closes_at - timedelta(days=d)]
    return min(due) if due else None


def mail_text(study: Study, kind: MailKind, language: str | None = None) -> tuple[str, str]:
    """The study's own wording of this mail in the language (as last saved), else the default text."""
    from delphi.services.invitations import default_template

    language = language or study.language
    saved = db.session.scalar(sa.select(MailText).where(MailText.study_id == study.id, MailText.kind == kind,
                                                        MailText.language == language))
    return (saved.subject, saved.body) if saved else default_template(kind.value, language)


def one_line(text: str) -> bool:
    """Whether ``text`` has no line break of any kind (a mail header cannot hold one: it would start a new header)."""
    return len(text.splitlines()) <= 1 and not text.endswith(("\r", "\n"))


def save_mail_text(study: Study, kind: MailKind, language: str, subject: str, body: str) -> tuple[str, str]:
    """Keep the study's wording of a mail; a subject with a line break is refused (``InputErrors`` on ``subject``),
    and both texts are cleaned as panellists' texts are; returns them as kept."""
    if not one_line(subject):
        raise InputErrors([Problem(_("Write the subject on one line: it must not contain a line break."),
                                   field="subject")])
    subject, body = clean_text(subject, 200), clean_text(body, 20000)
    saved = db.session.scalar(sa.select(MailText).where(MailText.study_id == study.id, MailText.kind == kind,
                                                        MailText.language == language))
    if saved is None:
        db.session.add(MailText(study_id=study.id, kind=kind, language=language, subject=subject, body=body))
    else:
        saved.subject, saved.body = subject, body
    db.session.flush()
    return subject, body


def send_due_reminders(now: datetime | None = None, dry_run: bool = False,
                       study: Study | None = None) -> list[tuple[Round, int, int]]:
    """Queue each due reminder to the round's non-completers with an address; returns (round, days, queued) for
    each. With ``dry_run``, nothing is queued or marked."""
    from delphi.services.invitations import reminder_recipients
    from delphi.services.outbox import queue_panel_mail

    now = now or utcnow()
    query = sa.select(Round).where(Round.status == RoundStatus.open, Round.closes_at.is_not(None))
    if study is not None:
        query = query.where(Round.study_id == study.id)
    done = []
    for round_ in db.session.scalars(query.order_by(Round.id)).all():
        days = due_reminder(round_, now)
        if days is None:
            continue
        recipients = reminder_recipients(round_.study, round_)
        if dry_run:
            done.append((round_, days, len(recipients)))
            continue
        subject, body = mail_text(round_.study, MailKind.reminder)
        queued = queue_panel_mail(round_.study, MailKind.reminder, recipients, subject, body, None)
        round_.reminders_sent = sorted({*round_.reminders_sent, *[d for d in round_.reminder_days if d >= days]},
                                       reverse=True)
        audit.record("round.reminder_scheduled", study=round_.study, actor=None, target=f"round {round_.number}",
                     days_before_closing=days, queued=queued)
        db.session.commit()
        done.append((round_, days, queued))
    return done


def close_due_rounds(now: datetime | None = None) -> list[Round]:
    """Close every open round that is set to close by itself and whose date has come; each in its own transaction."""
    from delphi.services.rounds import close_round

    now = now or utcnow()
    closed = []
    due = db.session.scalars(sa.select(Round.id).where(Round.status == RoundStatus.open, Round.auto_close.is_(True),
                                                       Round.closes_at <= now).order_by(Round.id)).all()
    for round_id in due:
        round_ = db.session.get(Round, round_id)
        try:
            close_round(round_, actor=None)
        except DomainError:  # closed meanwhile by the facilitator
            db.session.rollback()
            continue
        db.session.commit()
        closed.append(round_)
    return closed


@periodic_job(crontab(minute="*"))
@huey.lock_task("delphi.round_timing")
def run_round_timing() -> None:
    """One worker at a time: reminders due, then rounds due to close (their figures are computed in the close)."""
    with writing():
        send_due_reminders()
        close_due_rounds()
    from delphi.services.outbox import wake_sender

    wake_sender()
