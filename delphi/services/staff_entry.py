"""Paper and telephone parity: answers a facilitator types in for a panellist, marked as entered by staff, with an
audit entry that says who entered them (never what)."""
from __future__ import annotations

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Round, StaffUser, Study
from delphi.services import audit
from delphi.services.answers import Answer, save_answers, submit_round


def active_panellist(study: Study, pseudonym: str) -> Panellist | None:
    """The study's panellist with ``pseudonym`` (as typed: spaces and case aside), unless withdrawn."""
    panellist = db.session.scalar(sa.select(Panellist).where(
        Panellist.study_id == study.id, Panellist.pseudonym == pseudonym.strip().upper()))
    return None if panellist is None or panellist.withdrawn else panellist


def enter_answers(panellist: Panellist, round_: Round, answers: dict[int, Answer], submit: bool,
                  actor: StaffUser) -> tuple[int, bool]:
    """Save the answers typed in for ``panellist`` (and submit the round for them when ``submit``); returns how many
    answers were saved and whether this call submitted the round. :class:`~delphi.services.answers.RoundClosed` when
    the round has closed meanwhile (nothing is then recorded)."""
    saved = save_answers(panellist, round_, answers, entered_by_id=actor.id)
    submitted = submit and submit_round(panellist, round_, entered_by_id=actor.id)
    audit.record("ratings.entered_for_panellist", study=round_.study, actor=actor,
                 target=f"panellist {panellist.pseudonym}", round=round_.number, answers=saved,
                 submitted=bool(submitted))
    db.session.flush()
    return saved, bool(submitted)
