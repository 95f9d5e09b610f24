"""Proxy entry (paper and telephone parity): staff record a panellist's answers for them, opened from the contact on
the contacts side. Staff can record answers but not read them back: nothing here returns what is saved this round.
In a later round staff see what the call needs, the panellist's own previous rating and the feedback the panellist
would see, and every opening, showing, printing and saving is in the audit log, naming the contact's number (never
the pseudonym) and never what was said.

Parity with the panellist's own pages: each answer and the round's submission keep how they were given (``mode``:
phone, paper, in person); a panellist who has not consented yet is asked first, and staff record the consent they
gave (read to them on the phone, or the signed paper form) with that mode; from the second rating round the reason
for a changed answer is asked as the panellist's page asks it (``Rating.change_reason``)."""
from __future__ import annotations

from dataclasses import dataclass

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Contact, DomainError, EntryMode, Round, StaffUser
from delphi.services import audit
from delphi.services.answers import Answer, has_submitted, save_answers, submit_round
from delphi.services.consent import consent_items
from delphi.services.experiment import round_statements_in_panellist_order
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

    @property
    def mode(self) -> EntryMode:
        return EntryMode(self.channel)


class ConsentNeeded(DomainError):
    """The panellist has not consented (to the study's current consent text): their answers cannot be saved until
    staff record that they gave it."""


@dataclass(frozen=True)
class ProxySheet:
    """What the proxy-entry form shows: whether the round is sent, and last round's feedback by statement id (empty in
    a first round). Never this round's saved answers."""

    submitted: bool
    feedback: dict[int, StatementFeedback]
    # They have not consented to the study's current consent text yet: staff confirm they gave it, having read them
    # ``consent_items`` (or seen them signed on the paper form).
    needs_consent: bool = False
    consent_items: tuple[str, ...] = ()
    # The round's statements in the order the panellist's own pages show them (their arm's order, issue 23).
    statements: tuple = ()

    @property
    def reasons_for(self) -> set[int]:
        """The statements that ask why an answer changed: those the panellist answered last round (as on their own
        page)."""
        return {sid for sid, fb in self.feedback.items() if fb.own_value is not None or fb.own_unable}


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
    needs_consent = not panellist.consent_is_current
    return ProxySheet(has_submitted(panellist, round_), feedback, needs_consent,
                      tuple(consent_items(round_.study.consent_text)) if needs_consent else (),
                      tuple(round_statements_in_panellist_order(round_.statements, panellist)))


def paper_form(contact: Contact, round_: Round, actor: StaffUser) -> ProxySheet:
    """What the printable paper form for ``contact``'s panellist holds besides the round's statements: last round's
    feedback (their own answer and the panel's), and the consent statements when they have not consented yet.
    Printing it is audited like opening proxy entry, and so is the feedback it shows."""
    panellist = contact.panellist
    feedback = feedback_for(panellist, round_)
    audit.record("panel.paper_form_printed", study=round_.study, actor=actor, target=contact_ref(contact),
                 round=round_.number)
    if feedback:
        audit.record("panel.proxy_feedback_shown", study=round_.study, actor=actor, target=contact_ref(contact),
                     round=round_.number, previous_round=next(iter(feedback.values())).previous_round,
                     statements=len(feedback), channel="paper")
    db.session.flush()
    needs_consent = not panellist.consent_is_current
    return ProxySheet(False, feedback, needs_consent,
                      tuple(consent_items(round_.study.consent_text)) if needs_consent else (),
                      tuple(round_statements_in_panellist_order(round_.statements, panellist)))


def enter_answers(contact: Contact, round_: Round, answers: dict[int, Answer], submit: bool,
                  context: ProxyContext, actor: StaffUser, *, consent_given: bool = False) -> tuple[int, bool]:
    """Save the answers typed in for ``contact``'s panellist (only the statements filled in: the others keep what
    was saved before) and submit the round for them when ``submit``; returns how many answers were saved and whether
    this call submitted the round. Each answer and the submission keep the channel as their ``mode``.

    A panellist who has not consented to the study's current consent text needs ``consent_given`` (staff confirm
    that the person gave it); it is recorded first, with the mode, as the consent page records it. Raises
    :class:`ConsentNeeded` without it, and :class:`~delphi.services.answers.RoundClosed` when the round has closed
    meanwhile (nothing is then recorded)."""
    panellist = contact.panellist
    if not panellist.consent_is_current:
        if not consent_given:
            raise ConsentNeeded("The person's consent is needed before their answers can be saved.")
        items = consent_items(panellist.study.consent_text)
        panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, statements=items, mode=context.mode,
                                                consent_version=panellist.study.consent_version))
        audit.record("panel.consent_recorded_for_panellist", study=round_.study, actor=actor,
                     target=contact_ref(contact), round=round_.number, consent_version=panellist.study.consent_version,
                     **context.details())
        db.session.flush()
    # Staff never saw what was saved before, so a blank part must not overwrite it: each statement writes only the
    # parts filled in (a rating, a comment, or both).
    by_parts: dict[frozenset[str], dict[int, Answer]] = {}
    for statement_id, answer in answers.items():
        parts = frozenset(part for part, filled in (("value", answer.value is not None or answer.unable
                                                               or answer.declined),
                                                     ("comment", bool(answer.comment.strip())),
                                                     ("change_reason", bool(answer.change_reason.strip())))
                          if filled)
        if parts:
            by_parts.setdefault(parts, {})[statement_id] = answer
    saved = sum(save_answers(panellist, round_, group, entered_by_id=actor.id, fields=parts, mode=context.mode)
                for parts, group in by_parts.items())
    submitted = submit and submit_round(panellist, round_, entered_by_id=actor.id, mode=context.mode)
    audit.record("ratings.entered_for_panellist", study=round_.study, actor=actor, target=contact_ref(contact),
                 round=round_.number, answers=saved, submitted=bool(submitted), **context.details())
    db.session.flush()
    return saved, bool(submitted)
