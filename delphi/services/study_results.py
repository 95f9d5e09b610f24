"""What a panellist sees once the study has closed: each statement's outcome (agreed, not agreed, no consensus) and
the panel's figures from the last round that rated it, with small groups withheld as on the feedback pages."""
from __future__ import annotations

from dataclasses import dataclass

from delphi.models import Classification, RoundKind, RoundStatus, Study
from delphi.services.feedback import Figures, _closed_figures


@dataclass(frozen=True)
class StatementOutcome:
    code: str
    domain: str
    text: str  # the wording the panel last rated
    round_number: int
    verdict: Classification
    panel: Figures | None  # None: no figures for it (nobody answered)
    groups: tuple[Figures, ...]


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
            groups=shown.groups if shown else ()))
    return outcomes
