"""Between rounds: the facilitator's decisions about each statement, panellists' suggestions and comments, and
whether the protocol's stopping rule is met. Every decision goes into the item history and the audit log (which
names objects and decisions, never answer content)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.extensions import db
from delphi.models import (
    Classification,
    DomainError,
    Panellist,
    Rating,
    RevisionKind,
    Round,
    RoundKind,
    RoundResult,
    RoundStatement,
    RoundStatus,
    StaffUser,
    Statement,
    StatementRevision,
    StatementStatus,
    StoppingRule,
    Study,
    StudyStatus,
    Suggestion,
    SuggestionStatus,
    utcnow,
)
from delphi.protocol import MAX_TEXT
from delphi.services import audit
from delphi.services.answers import clean_text
from delphi.services.statements import StatementError, add_statement, status_word
from delphi.services.suppression import withheld_cells


@dataclass
class ReviewItem:
    round_statement: RoundStatement
    results: dict[str, RoundResult]  # the scopes shown
    withheld: frozenset[str] = frozenset()  # scopes withheld as small cells (delphi.services.suppression)
    # Panellists' reasons for changing their rating of this statement in this round, by pseudonym (never by time
    # and never with the pseudonym: docs/security.md, "Who can know what").
    reasons: tuple[str, ...] = ()

    @property
    def default_carry(self) -> bool:
        return self.round_statement.classification in (None, Classification.none)

    @property
    def carry(self) -> bool:
        rs = self.round_statement
        return rs.carry_forward if rs.carry_forward is not None else self.default_carry

    @property
    def overridden(self) -> bool:
        return self.carry != self.default_carry


def review_round(study: Study) -> Round | None:
    """The closed rating round the facilitator reviews now: the last round, when it is a closed rating round."""
    last = study.current_round
    if last is None or last.kind is not RoundKind.rating or last.status is not RoundStatus.closed:
        return None
    return last


def require_review_round(study: Study) -> Round:
    round_ = review_round(study)
    if round_ is None or study.status is StudyStatus.closed:
        raise DomainError(_("There is nothing to review now: decisions are made after a rating round closes and "
                            "before the next one opens."))
    return round_


def review_items(round_: Round) -> list[ReviewItem]:
    results: dict[int, dict[str, RoundResult]] = {}
    for row in db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == round_.id)):
        results.setdefault(row.statement_id, {})[row.scope] = row
    reasons: dict[int, list[str]] = {}
    for statement_id, reason in db.session.execute(
            sa.select(Rating.statement_id, Rating.change_reason)
            .join(Panellist, Panellist.id == Rating.panellist_id)
            .where(Rating.round_id == round_.id, Rating.change_reason != "")
            .order_by(Panellist.pseudonym)):
        reasons.setdefault(statement_id, []).append(reason)
    keys, minimum = [g.key for g in round_.study.groups], round_.study.min_group_feedback
    items = []
    for rs in round_.statements:
        scopes = results.get(rs.statement_id, {})
        withheld = withheld_cells({key: scopes[key].n if key in scopes else 0 for key in keys}, minimum).scopes
        items.append(ReviewItem(rs, {scope: r for scope, r in scopes.items() if scope not in withheld}, withheld,
                                tuple(reasons.get(rs.statement_id, ()))))
    return items


def round_statement(round_: Round, statement_id: int) -> RoundStatement | None:
    return next((rs for rs in round_.statements if rs.statement_id == statement_id), None)


def _history(statement: Statement, kind: RevisionKind, text: str, reason: str, actor: StaffUser | None,
             round_number: int, **links) -> None:
    statement.revisions.append(StatementRevision(
        kind=kind, text=text, reason=reason, round_number=round_number,
        created_by_id=actor.id if actor else None, **links))


def decide(round_: Round, rs: RoundStatement, carry_forward: bool, reason: str, actor: StaffUser | None) -> None:
    """Carry a statement forward or retire it; going against the default (no consensus goes on) needs a reason."""
    reason = clean_text(reason, 2000)
    default = rs.classification in (None, Classification.none)
    if carry_forward != default and not reason:
        raise DomainError(_("Give a reason when you decide against the default (statements without consensus go "
                            "on, the others are retired)."))
    if rs.statement.status is not StatementStatus.active:
        raise DomainError(_("Statement %(code)s is %(status)s; it cannot go on.", code=rs.statement.code,
                            status=status_word(rs.statement.status)))
    rs.carry_forward = carry_forward
    rs.decision_reason = reason if carry_forward != default else ""
    audit.record("review.decide", study=round_.study, actor=actor, target=f"statement {rs.statement.code}",
                 round=round_.number, carry_forward=carry_forward, override=carry_forward != default)
    db.session.flush()


def reword(round_: Round, statement: Statement, text: str, reason: str, actor: StaffUser | None) -> None:
    """New wording for the next round; the item history keeps the old one. A reworded statement goes on."""
    text = clean_text(text, MAX_TEXT + 1)
    if not text or len(text) > MAX_TEXT:
        raise DomainError(_("Write the new wording (1 to %(limit)s characters).", limit=MAX_TEXT))
    if text == statement.text:
        raise DomainError(_("The new wording is the same as the old one."))
    if statement.status is not StatementStatus.active:
        raise DomainError(_("Statement %(code)s is %(status)s; it cannot be reworded.", code=statement.code,
                            status=status_word(statement.status)))
    statement.text = text
    _history(statement, RevisionKind.reworded, text, clean_text(reason, 2000), actor, round_.number + 1)
    rs = round_statement(round_, statement.id)
    if rs is not None and rs.carry_forward is False:
        rs.carry_forward = True
        rs.decision_reason = rs.decision_reason or "reworded"
    audit.record("review.reword", study=round_.study, actor=actor, target=f"statement {statement.code}",
                 round=round_.number)
    db.session.flush()


def merge(round_: Round, absorbed: Statement, kept: Statement, text: str, reason: str,
          actor: StaffUser | None) -> None:
    """Fold ``absorbed`` into ``kept`` (which may get new wording); both histories link to each other."""
    if absorbed.id == kept.id:
        raise DomainError(_("Choose two different statements to merge."))
    for s in (absorbed, kept):
        if s.status is not StatementStatus.active:
            raise DomainError(_("Statement %(code)s is %(status)s; only active statements can be merged.",
                                code=s.code, status=status_word(s.status)))
    text = clean_text(text, MAX_TEXT + 1) or kept.text
    if len(text) > MAX_TEXT:
        raise DomainError(_("The merged wording has more than %(limit)s characters.", limit=MAX_TEXT))
    reason = clean_text(reason, 2000)
    number = round_.number + 1
    kept.text = text
    _history(kept, RevisionKind.merged, text, reason, actor, number, source_statement_id=absorbed.id)
    absorbed.status = StatementStatus.merged
    _history(absorbed, RevisionKind.merged_into, absorbed.text, reason, actor, number, source_statement_id=kept.id)
    rs = round_statement(round_, kept.id)
    if rs is not None:
        rs.carry_forward = True
    audit.record("review.merge", study=round_.study, actor=actor, target=f"statement {absorbed.code}",
                 into=kept.code, round=round_.number)
    db.session.flush()


def _pending(suggestion: Suggestion) -> None:
    if suggestion.status is not SuggestionStatus.pending:
        raise DomainError({SuggestionStatus.accepted: _("This suggestion has already been accepted."),
                           SuggestionStatus.merged: _("This suggestion has already been merged."),
                           SuggestionStatus.declined: _("This suggestion has already been declined.")}[suggestion.status])


def accept_suggestion(round_: Round, suggestion: Suggestion, code: str, domain: str, text: str,
                      actor: StaffUser | None) -> Statement:
    _pending(suggestion)
    try:
        statement = add_statement(round_.study, code, domain, text, actor, kind=RevisionKind.from_suggestion,
                                  suggestion_id=suggestion.id)
    except StatementError as exc:
        raise DomainError(_("The new statement: %(problems)s.", problems="; ".join(exc.errors))) from None
    suggestion.status, suggestion.statement_id, suggestion.decided_at = SuggestionStatus.accepted, statement.id, utcnow()
    audit.record("suggestion.accept", study=round_.study, actor=actor, target=f"suggestion {suggestion.id}",
                 statement=statement.code)
    db.session.flush()
    return statement


def merge_suggestion(round_: Round, suggestion: Suggestion, target: Statement, reason: str,
                     actor: StaffUser | None) -> None:
    _pending(suggestion)
    if target.status is not StatementStatus.active:
        raise DomainError(_("Statement %(code)s is %(status)s; merge into an active statement.", code=target.code,
                            status=status_word(target.status)))
    suggestion.status, suggestion.statement_id, suggestion.decided_at = SuggestionStatus.merged, target.id, utcnow()
    suggestion.decision_reason = clean_text(reason, 2000)
    _history(target, RevisionKind.merged, target.text, suggestion.decision_reason, actor, round_.number + 1,
             suggestion_id=suggestion.id)
    audit.record("suggestion.merge", study=round_.study, actor=actor, target=f"suggestion {suggestion.id}",
                 statement=target.code)
    db.session.flush()


def decline_suggestion(round_: Round, suggestion: Suggestion, reason: str, actor: StaffUser | None) -> None:
    _pending(suggestion)
    reason = clean_text(reason, 2000)
    if not reason:
        raise DomainError(_("Give a reason for declining the suggestion; it goes into the study's record."))
    suggestion.status, suggestion.decision_reason, suggestion.decided_at = SuggestionStatus.declined, reason, utcnow()
    audit.record("suggestion.decline", study=round_.study, actor=actor, target=f"suggestion {suggestion.id}")
    db.session.flush()


# The data side never shows the order in which answers came in: beside the contacts side's "sent the round" it could
# tell whose they are (the last comment to appear is the last person reminded). Suggestions and comments are listed in
# an order that says nothing about time: by text, and by statement then pseudonym (random).


def suggestions(study: Study) -> list[Suggestion]:
    """The panel's suggestions for the study, decided ones included, by round and text (not in the order they came
    in)."""
    return list(db.session.scalars(
        sa.select(Suggestion).join(Round, Round.id == Suggestion.round_id).where(Suggestion.study_id == study.id)
        .order_by(Round.number, Suggestion.text, Suggestion.id)))


def comments(round_: Round) -> list[Rating]:
    """The round's comments by statement, then by the writer's pseudonym (not in the order they came in)."""
    return list(db.session.scalars(
        sa.select(Rating).join(RoundStatement, sa.and_(RoundStatement.round_id == Rating.round_id,
                                                       RoundStatement.statement_id == Rating.statement_id))
        .join(Panellist, Panellist.id == Rating.panellist_id)
        .where(Rating.round_id == round_.id, Rating.comment != "")
        .order_by(RoundStatement.position, Panellist.pseudonym)
    ))


def approve_comments(round_: Round, approved_ids: set[int], actor: StaffUser | None) -> int:
    """Show exactly the given comments of this round to panellists next round; returns how many are approved."""
    rows = comments(round_)
    for rating in rows:
        rating.comment_approved = rating.id in approved_ids
    count = sum(1 for r in rows if r.comment_approved)
    audit.record("review.comments", study=round_.study, actor=actor, target=f"round {round_.number}",
                 approved=count, of=len(rows))
    db.session.flush()
    return count


@dataclass(frozen=True)
class StoppingStatus:
    met: bool
    explanation: str


def stopping_status(study: Study) -> StoppingStatus:
    """Whether the protocol's stopping rule is met after the last closed rating round, and why (or why not)."""
    closed = [r for r in study.rounds if r.kind is RoundKind.rating and r.status is RoundStatus.closed]
    if not closed or (study.current_round and study.current_round.is_open):
        return StoppingStatus(False, "A rating round has to close before the stopping rule can be met.")
    last = closed[-1]
    if len(closed) >= study.max_rounds:
        return StoppingStatus(True, f"The maximum of {study.max_rounds} rating rounds has been reached.")
    rule = study.stopping_rule
    unclassified = [rs for rs in last.statements if rs.classification in (None, Classification.none)]
    if rule in (StoppingRule.all_classified, StoppingRule.all_classified_or_stable) and not unclassified:
        return StoppingStatus(True, f"Every statement of round {last.number} reached consensus in or out.")
    if rule in (StoppingRule.stable, StoppingRule.all_classified_or_stable) and len(closed) >= 2:
        overall = {r.statement_id: r for r in db.session.scalars(
            sa.select(RoundResult).where(RoundResult.round_id == last.id, RoundResult.scope == "overall"))}
        unstable = [rs for rs in unclassified
                    if not (overall.get(rs.statement_id) and
                            (overall[rs.statement_id].extra or {}).get("stability", {}).get("stable"))]
        if not unstable:
            return StoppingStatus(True, f"Every statement without consensus was stable between round "
                                        f"{closed[-2].number} and round {last.number}.")
    return StoppingStatus(False, f"{len(unclassified)} statement(s) have no consensus yet and "
                                 f"{study.max_rounds - len(closed)} rating round(s) remain.")
