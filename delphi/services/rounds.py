"""Opening and closing rounds: the statements a round shows, and the figures frozen when it closes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    DomainError,
    Panellist,
    Rating,
    RevisionKind,
    Round,
    RoundKind,
    RoundStatement,
    RoundStatus,
    StaffUser,
    StakeholderGroup,
    Statement,
    StatementRevision,
    StatementStatus,
    Study,
    StudyStatus,
)
from delphi.protocol import protocol_to_toml
from delphi.services import audit
from delphi.services.studies import study_protocol


def open_next_round(study: Study, actor: StaffUser | None = None) -> Round:
    """Open the study's next round with its active statements (or its open questions, for an open first round).

    The first round locks the consensus definition and stopping rule. Statements the facilitator did not carry
    forward from the previous round are retired first.
    """
    if study.status is StudyStatus.closed:
        raise DomainError("This study is closed; no more rounds can open.")
    previous = study.current_round
    if previous is not None and previous.status is not RoundStatus.closed:
        raise DomainError(f"Round {previous.number} is still {previous.status.value}; close it first.")
    number = 1 if previous is None else previous.number + 1
    rating_rounds = sum(1 for r in study.rounds if r.kind is RoundKind.rating)
    kind = RoundKind.open if previous is None and study.starts_with_open_round else RoundKind.rating
    if kind is RoundKind.rating and rating_rounds >= study.max_rounds:
        raise DomainError(f"The protocol allows at most {study.max_rounds} rating rounds.")
    if previous is not None and previous.kind is RoundKind.rating:
        _apply_carry_forward(previous, number, actor)

    new_round = Round(study=study, number=number, kind=kind)
    if kind is RoundKind.rating:
        active = [s for s in study.statements if s.status is StatementStatus.active]
        if not active:
            raise DomainError("There are no active statements to rate. Add or carry forward at least one.")
        new_round.statements = [
            RoundStatement(statement=s, position=i, domain=s.domain, text=s.text) for i, s in enumerate(active)
        ]
    else:
        if not study.open_questions:
            raise DomainError("An open round needs at least one open question.")
    db.session.add(new_round)
    db.session.flush()
    for question in study.open_questions:
        if kind is RoundKind.open and question.round_id is None:
            question.round_id = new_round.id
    if not study.is_locked:
        study.lock(protocol_to_toml(study_protocol(study)))
    new_round.open()
    audit.record("round.open", study=study, actor=actor, target=f"round {number}",
                 statements=len(new_round.statements))
    db.session.flush()
    return new_round


def _apply_carry_forward(previous: Round, next_number: int, actor: StaffUser | None) -> None:
    for rs in previous.statements:
        statement = rs.statement
        if statement.status is not StatementStatus.active:
            continue
        carried = rs.carry_forward if rs.carry_forward is not None else True
        if carried:
            statement.revisions.append(StatementRevision(
                kind=RevisionKind.carried_forward, text=statement.text, round_number=next_number,
                reason=rs.decision_reason, created_by_id=actor.id if actor else None))
        else:
            statement.status = StatementStatus.retired
            statement.revisions.append(StatementRevision(
                kind=RevisionKind.retired, text=statement.text, round_number=next_number,
                reason=rs.decision_reason or _default_reason(rs), created_by_id=actor.id if actor else None))


def _default_reason(rs: RoundStatement) -> str:
    if rs.classification is None:
        return ""
    return {"in": "consensus in", "out": "consensus out"}.get(rs.classification.value, "")


def lock_round_for_close(round_: Round) -> Round:
    """Re-read the round with a row lock (PostgreSQL) so that two closes at once close it once."""
    return db.session.scalars(
        sa.select(Round).where(Round.id == round_.id).with_for_update().execution_options(populate_existing=True)
    ).one()


def active_statements(study: Study) -> list[Statement]:
    return [s for s in study.statements if s.status is StatementStatus.active]


@dataclass(frozen=True)
class RoundMatrix:
    """A round's ratings as arrays: rows are panellists (by id), columns the round's statements (in round order)."""

    ratings: np.ndarray  # float, NaN where no rating or "unable to rate"
    unable: np.ndarray  # bool, "unable to rate"
    groups: np.ndarray  # group key per row
    panellist_ids: np.ndarray
    statement_ids: np.ndarray


def load_round_matrix(round_: Round, panellist_ids: np.ndarray | None = None) -> RoundMatrix:
    """Load a round's ratings with one set-based query (no ORM object per rating).

    Rows are the panellists with at least one answer in the round (or ``panellist_ids`` when given, to align two
    rounds); withdrawn panellists whose ratings the protocol deletes are already gone from the table.
    """
    statement_ids = np.array([rs.statement_id for rs in round_.statements], dtype=np.int64)
    rows = db.session.execute(
        sa.select(Rating.panellist_id, Rating.statement_id, Rating.value, Rating.unable_to_rate, StakeholderGroup.key)
        .join(Panellist, Panellist.id == Rating.panellist_id)
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Rating.round_id == round_.id)
    ).all()
    if panellist_ids is None:
        panellist_ids = np.unique(np.array([r[0] for r in rows], dtype=np.int64))
    shape = (len(panellist_ids), len(statement_ids))
    ratings = np.full(shape, np.nan)
    unable = np.zeros(shape, dtype=bool)
    groups = np.empty(len(panellist_ids), dtype=object)
    if rows:
        pid = np.array([r[0] for r in rows], dtype=np.int64)
        sid = np.array([r[1] for r in rows], dtype=np.int64)
        value = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
        cant = np.array([bool(r[3]) for r in rows])
        row = np.searchsorted(panellist_ids, pid)
        row_ok = (row < len(panellist_ids)) & (panellist_ids[np.minimum(row, len(panellist_ids) - 1)] == pid)
        col_order = np.argsort(statement_ids)
        col = col_order[np.searchsorted(statement_ids[col_order], sid)]
        ratings[row[row_ok], col[row_ok]] = value[row_ok]
        unable[row[row_ok], col[row_ok]] = cant[row_ok]
        keys = np.array([r[4] for r in rows], dtype=object)
        groups[row[row_ok]] = keys[row_ok]
    return RoundMatrix(ratings=ratings, unable=unable, groups=groups, panellist_ids=panellist_ids,
                       statement_ids=statement_ids)
