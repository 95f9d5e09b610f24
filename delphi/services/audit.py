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

from delphi.extensions import db
from delphi.models import AuditEvent, StaffUser, Study
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
    """An entry as people read it: when, who, what, to what, and the details as ``key=value`` text."""

    id: int
    created_at: datetime
    actor: str
    action: str
    target: str
    details: str


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


AUDIT_CSV_HEADER = ["id", "time_utc", "actor", "action", "target", "details"]


def audit_csv(study_id: int | None, action: str = "") -> str:
    """The whole log of a study (or the site-wide one), newest first, as CSV; cells safe for spreadsheets."""
    events = list(db.session.scalars(events_query(study_id, action)))
    return csv_text(AUDIT_CSV_HEADER, ([line.id, line.created_at.strftime("%Y-%m-%d %H:%M:%S"), line.actor,
                                        line.action, line.target, line.details] for line in audit_lines(events)))
