"""Recording staff actions. Details name objects and decisions, never answer content or tokens."""
from __future__ import annotations

from typing import Any

from delphi.extensions import db
from delphi.models import AuditEvent, StaffUser, Study


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
