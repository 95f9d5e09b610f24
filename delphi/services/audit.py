"""Recording staff actions, and reading them back. Details name objects and decisions, never answer content or tokens.

Entries about panellists name them as the contacts side does ("contact #N", never a pseudonym), and reading the log
back adds nothing from either side: a target is shown as it was written, except that a staff account is named by its
address."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from delphi.extensions import db
from delphi.models import AuditEvent, StaffUser, Study
from delphi.protocol import N_
from delphi.services.csv_export import csv_text

PER_PAGE = 50
_STAFF_TARGET = re.compile(r"^staff (\d+)$")


def record(action: str, *, study: Study | None = None, actor: StaffUser | None = None, target: str = "",
           **details: Any) -> AuditEvent:
    event = AuditEvent(
        study_id=study.id if study is not None else None,
        actor_id=actor.id if actor is not None else None,
        action=action,
        target=target,
        details=details,
    )
    db.session.add(event)
    return event


# What each action means, as people read it. The action itself is a stable code (what the log stores, what the filter
# and the CSV's ``action`` column give); the description is in the reader's language (docs/security.md, "Audit log").
ACTIONS = {
    "experiment.allocated": N_("Panellists were allocated to the arms of the study within the study"),
    "experiment.seed_drawn": N_("The allocation seed of the study within the study was drawn"),
    "open_question.add": N_("An open question was added"),
    "open_question.edit": N_("An open question was changed"),
    "open_question.move": N_("An open question was moved"),
    "open_question.remove": N_("An open question was removed"),
    "panel.add": N_("Panellists were added"),
    "panel.consent_recorded_for_panellist": N_("Consent was recorded on a panellist's behalf"),
    "panel.deletion_request": N_("A panellist asked for their answers to be deleted"),
    "panel.erase_contact": N_("A panellist's contact details were erased"),
    "panel.export_non_completers": N_("The list of panellists who have not finished was downloaded"),
    "panel.invitation": N_("Invitations were queued for sending"),
    "panel.paper_form_printed": N_("A paper form was printed for a panellist"),
    "panel.proxy_entry_opened": N_("Staff opened a panellist's answers to enter them on their behalf"),
    "panel.proxy_feedback_shown": N_("A panellist's feedback was shown to staff entering answers on their behalf"),
    "panel.reissue_link": N_("A panellist was given a new personal link"),
    "panel.reminder": N_("Reminders were queued for sending"),
    "panel.results": N_("Mails about the results were queued for sending"),
    "panel.revoke_link": N_("A panellist's personal link was stopped"),
    "panel.withdraw_at_request": N_("A panellist was withdrawn at their request"),
    "ratings.entered_for_panellist": N_("Ratings were entered on a panellist's behalf"),
    "review.comments": N_("Comments were approved for the panel to see"),
    "review.decide": N_("It was decided whether a statement goes on to the next round"),
    "review.merge": N_("Statements were merged"),
    "review.reword": N_("A statement was reworded for the next round"),
    "round.close": N_("A round was closed"),
    "round.open": N_("A round was opened"),
    "round.reminder_scheduled": N_("A scheduled reminder was sent"),
    "round.timing": N_("A round's closing time or reminders were changed"),
    "staff.admin_grant": N_("An account was made an administrator"),
    "staff.admin_revoke": N_("An account is no longer an administrator"),
    "staff.deactivate": N_("An account was closed"),
    "staff.invite": N_("A staff member was invited"),
    "staff.join": N_("An invited staff member set up their account"),
    "staff.password_change": N_("A password was changed"),
    "staff.password_reset": N_("A password was reset"),
    "staff.reactivate": N_("An account was reopened"),
    "staff.reinvite": N_("A staff member was invited again"),
    "statement.add": N_("A statement was added"),
    "statement.bank": N_("Statements were added from the statement bank"),
    "statement.correct": N_("A statement was corrected"),
    "statement.delete": N_("A statement was deleted"),
    "statement.edit": N_("A statement was changed"),
    "statement.translate": N_("A statement's translation was changed"),
    "statement.from_open_answers": N_("A statement was written from open answers"),
    "statement.import": N_("Statements were imported from a file"),
    "statement.link_answers": N_("Open answers were linked to a statement"),
    "study.close": N_("The study was closed"),
    "study.contacts_erased": N_("The panellists' contact details were erased"),
    "study.create": N_("The study was created"),
    "study.delete": N_("A study was deleted"),
    "study.member_add": N_("A member was added to the study team"),
    "study.member_reinvite": N_("A study team member was invited again"),
    "study.member_remove": N_("A member was removed from the study team"),
    "study.member_role": N_("A study team member's role was changed"),
    "study.retention": N_("How long contact details are kept was changed"),
    "study.settings": N_("The study's settings were changed"),
    "suggestion.accept": N_("A panellist's suggestion was accepted as a statement"),
    "suggestion.decline": N_("A panellist's suggestion was declined"),
    "suggestion.merge": N_("A panellist's suggestion was merged into a statement"),
}


def describe(action: str) -> str:
    """The action in the reader's language; the code itself for an action this list does not know."""
    return gettext(ACTIONS[action]) if action in ACTIONS else action


def _where(study_id: int | None, action: str) -> list:
    """A study's entries, or (``study_id`` None) the site-wide ones that belong to no study."""
    clauses = [AuditEvent.study_id == study_id if study_id is not None else AuditEvent.study_id.is_(None)]
    if action:
        clauses.append(AuditEvent.action == action)
    return clauses


def events_query(study_id: int | None, action: str = "") -> sa.Select:
    """The entries of a study (or the site-wide ones), newest first, optionally of one action."""
    return sa.select(AuditEvent).where(*_where(study_id, action)).order_by(AuditEvent.id.desc())


def actions_in(study_id: int | None) -> list[str]:
    """The actions that occur in a study's log (or the site-wide one), for the filter."""
    return list(db.session.scalars(sa.select(AuditEvent.action).where(*_where(study_id, ""))
                                   .distinct().order_by(AuditEvent.action)))


@dataclass(frozen=True)
class AuditLine:
    """An entry as people read it: when, who, what (``action``, the stable code, and ``description``, in the reader's
    language), to what, and the details as ``key=value`` text."""

    id: int
    created_at: datetime
    actor: str
    action: str
    target: str
    details: str

    @property
    def description(self) -> str:
        return describe(self.action)


def _details_text(details: dict | None) -> str:
    return "; ".join(f"{key}={json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}"
                     for key, value in sorted((details or {}).items()))


def audit_lines(events: list[AuditEvent]) -> list[AuditLine]:
    """``events`` for reading: the actor and any staff target named by their address (one query for all)."""
    staff_ids = {e.actor_id for e in events if e.actor_id is not None}
    staff_ids |= {int(m.group(1)) for e in events if (m := _STAFF_TARGET.match(e.target or ""))}
    emails = dict(db.session.execute(sa.select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(staff_ids)))
                  .all()) if staff_ids else {}

    def target(text: str) -> str:
        match = _STAFF_TARGET.match(text or "")
        return f"{text} ({emails[int(match.group(1))]})" if match and int(match.group(1)) in emails else text

    return [AuditLine(e.id, e.created_at, emails.get(e.actor_id, "") if e.actor_id is not None else "",
                      e.action, target(e.target), _details_text(e.details)) for e in events]


# ``action`` is the stable code (the same in every language and every year, for scripts and ethics boards);
# ``description``, last so that the earlier columns keep their places, says what it means in the language of whoever
# downloads the file.
AUDIT_CSV_HEADER = ["id", "time_utc", "actor", "action", "target", "details", "description"]


def audit_csv(study_id: int | None, action: str = "") -> str:
    """The whole log of a study (or the site-wide one), newest first, as CSV; cells safe for spreadsheets."""
    events = list(db.session.scalars(events_query(study_id, action)))
    return csv_text(AUDIT_CSV_HEADER, ([line.id, line.created_at.strftime("%Y-%m-%d %H:%M:%S"), line.actor,
                                        line.action, line.target, line.details, line.description]
                                       for line in audit_lines(events)))
