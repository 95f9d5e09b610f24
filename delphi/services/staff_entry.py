"""Proxy entry (paper and telephone parity): staff record a panellist's answers for them, opened from the contact on
the contacts side. Staff can record answers but not read them back: nothing here returns what is saved this round.
In a later round staff see what the call needs, the panellist's own previous rating and the feedback the panellist
would see, and every opening, showing and saving is in the audit log, naming the contact's number (never the
pseudonym) and never what was said."""
from __future__ import annotations

from dataclasses import dataclass

from delphi.extensions import db
from delphi.models import Contact, Round, StaffUser
from delphi.services import audit
from delphi.services.answers import Answer, has_submitted, save_answers, submit_round
from delphi.services.feedback import StatementFeedback, feedback_for
from delphi.services.invitations import contact_ref


@dataclass(frozen=True)
class ProxyContext:
    """Who enters the answers, how the panellist gives them (``phone``, ``paper``, ``in_person``) and why."""

    channel: str
    entered_by: str
    reason: str

    def details(self) -> dict:
        return {"channel": self.channel, "entered_by": self.entered_by, "reason": self.reason}


@dataclass(frozen=True)
class ProxySheet:
    """What the proxy-entry form shows: whether the round is sent, and last round's feedback by statement id (empty in
    a first round). Never this round's saved answers."""

    submitted: bool
    feedback: dict[int, StatementFeedback]


def open_proxy_entry(contact: Contact, round_: Round, context: ProxyContext, actor: StaffUser) -> ProxySheet:
    """Start (or, after a mistake in the form, show again) entering answers for ``contact``'s panellist; audited, and
    so is showing last round's own ratings and feedback when there are any."""
    panellist = contact.panellist
    feedback = feedback_for(panellist, round_)
    audit.record("panel.proxy_entry_opened", study=round_.study, actor=actor, target=contact_ref(contact),
                 round=round_.number, **context.details())
    if feedback:
        audit.record("panel.proxy_feedback_shown", study=round_.study, actor=actor, target=contact_ref(contact),
                     round=round_.number, previous_round=next(iter(feedback.values())).previous_round,
                     statements=len(feedback))
    db.session.flush()
    return ProxySheet(has_submitted(panellist, round_), feedback)


def enter_answers(contact: Contact, round_: Round, answers: dict[int, Answer], submit: bool,
                  context: ProxyContext, actor: StaffUser) -> tuple[int, bool]:
    """Save the answers typed in for ``contact``'s panellist (only the statements filled in: the others keep what
    was saved before) and submit the round for them when ``submit``; returns how many answers were saved and whether
    this call submitted the round. :class:`~delphi.services.answers.RoundClosed` when the round has closed meanwhile
    (nothing is then recorded)."""
    panellist = contact.panellist
    # Staff never saw what was saved before, so a blank part must not overwrite it: each statement writes only the
    # parts filled in (a rating, a comment, or both).
    by_parts: dict[frozenset[str], dict[int, Answer]] = {}
    for statement_id, answer in answers.items():
        parts = frozenset(part for part, filled in (("value", answer.value is not None or answer.unable),
                                                     ("comment", bool(answer.comment.strip()))) if filled)
        if parts:
            by_parts.setdefault(parts, {})[statement_id] = answer
    saved = sum(save_answers(panellist, round_, group, entered_by_id=actor.id, fields=parts)
                for parts, group in by_parts.items())
    submitted = submit and submit_round(panellist, round_, entered_by_id=actor.id)
    audit.record("ratings.entered_for_panellist", study=round_.study, actor=actor, target=contact_ref(contact),
                 round=round_.number, answers=saved, submitted=bool(submitted), **context.details())
    db.session.flush()
    return saved, bool(submitted)
