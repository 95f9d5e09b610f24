"""What a panellist sees once the study has closed: each statement's outcome (agreed, not agreed, no consensus) and
the panel's figures from the last round that rated it, with small groups withheld as on the feedback pages; and the
mail that tells them the results are ready."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from delphi.extensions import db
from delphi.models import (
    Classification, ConsentDecision, ConsentRecord, Contact, MailKind, Panellist, RoundKind, RoundStatus, StaffUser,
    Study, StudyStatus,
)
from delphi.services.feedback import Figures, _closed_figures
from delphi.services.invitations import default_template
from delphi.services.outbox import queue_panel_mail


@dataclass(frozen=True)
class StatementOutcome:
    code: str
    domain: str
    text: str  # the wording the panel last rated
    round_number: int
    verdict: Classification
    panel: Figures | None  # None: no figures for it (nobody answered)
    groups: tuple[Figures, ...]
    translations: dict = field(default_factory=dict, hash=False)  # the statement's other languages (issue 21)


def study_outcomes(study: Study) -> list[StatementOutcome]:
    """Every statement the panel rated, as its last closed rating round left it, in the study's order. A statement
    retired after an earlier round (agreed early, say) is shown as that round decided."""
    last: dict[int, tuple] = {}
    for round_ in study.rounds:
        if round_.kind is RoundKind.rating and round_.status is RoundStatus.closed:
            for rs in round_.statements:
                last[rs.statement_id] = (round_, rs)
    by_round: dict[int, list[int]] = {}
    for statement_id, (round_, _) in last.items():
        by_round.setdefault(round_.id, []).append(statement_id)
    figures = {}
    for round_id, statement_ids in by_round.items():
        round_ = next(r for r in study.rounds if r.id == round_id)
        figures.update(_closed_figures(round_, study, statement_ids))
    order = {s.id: i for i, s in enumerate(study.statements)}
    outcomes = []
    for statement_id in sorted(last, key=lambda sid: (order.get(sid, len(order)), sid)):
        round_, rs = last[statement_id]
        shown = figures.get(statement_id)
        outcomes.append(StatementOutcome(
            code=rs.statement.code, domain=rs.domain, text=rs.text, round_number=round_.number,
            verdict=rs.classification or Classification.none, panel=shown.panel if shown else None,
            groups=shown.groups if shown else (), translations=rs.statement.translations or {}))
    return outcomes


def results_recipients(study: Study) -> list[Panellist]:
    """Who the results mail goes to: panellists still in the study, with an e-mail address, whose latest consent
    decision is "given" (the results page is theirs; those who declined or never consented are not written to)."""
    return list(db.session.scalars(_recipients(study, sa.select(Panellist)).options(contains_eager(Panellist.contact))
                                   .order_by(Panellist.id)))


def count_results_recipients(study: Study) -> int:
    """How many :func:`results_recipients` there are, counted by the database (the confirmation page's figure)."""
    return db.session.scalar(_recipients(study, sa.select(sa.func.count(Panellist.id))))


def _recipients(study: Study, select: sa.Select) -> sa.Select:
    latest = (sa.select(sa.func.max(ConsentRecord.id)).where(ConsentRecord.panellist_id == Panellist.id)
              .correlate(Panellist).scalar_subquery())
    return (select.join(Contact, Contact.panellist_id == Panellist.id)
            .join(ConsentRecord, ConsentRecord.id == latest)
            .where(Panellist.study_id == study.id, Panellist.withdrawn.is_(False), Contact.email.is_not(None),
                   ConsentRecord.decision == ConsentDecision.given))


def queue_results_mail(study: Study, actor: StaffUser | None) -> int:
    """Queue one mail per recipient (:func:`results_recipients`) through the outbox, in their language (else the
    study's), with their own link leading to the results page; returns how many. The study must be closed. The caller
    commits, then calls ``outbox.wake_sender``."""
    if study.status is not StudyStatus.closed:
        raise ValueError("the results mail is sent once the study has closed")
    by_language: dict[str, list[Panellist]] = {}
    for panellist in results_recipients(study):
        by_language.setdefault(panellist.language or study.language, []).append(panellist)
    queued = 0
    for language, recipients in by_language.items():
        subject, body = default_template("results", language)
        queued += queue_panel_mail(study, MailKind.results, recipients, subject, body, actor)
    return queued
