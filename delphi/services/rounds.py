"""Opening and closing rounds: the statements a round shows, and the figures frozen when it closes; and closing the
study after its last round."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from huey import crontab

from delphi.db import writing
from delphi.extensions import db
from delphi.jobs import job, periodic_job, run_soon
from delphi.models import (
    Classification,
    DomainError,
    Panellist,
    RevisionKind,
    Round,
    RoundKind,
    RoundStatement,
    RoundStatus,
    StaffUser,
    StatementRevision,
    StatementStatus,
    Study,
    StudyStatus,
    Submission,
    utcnow,
)
from delphi.protocol import protocol_to_toml
from delphi.services import audit, experiment
from delphi.services.answers import ROUND_LOCK_NAMESPACE
from delphi.services.review import stopping_status
from delphi.services.round_figures import compute_round_figures, load_round_matrix, store_round_figures  # noqa: F401
from delphi.services.studies import study_protocol


@dataclass(frozen=True)
class RoundPlan:
    """What opening the next round would do, for its confirmation page; ``problem`` says why it cannot open."""

    number: int
    kind: RoundKind
    statements: int  # the statements (or open questions) it will show
    retiring: int  # statements of the previous round the facilitator did not carry forward
    locks: bool  # the consensus definition and stopping rule lock now
    panel: int  # panellists still on the panel
    problem: str | None


def next_round_plan(study: Study) -> RoundPlan:
    """The next round as :func:`open_next_round` would open it, without opening it."""
    previous = study.current_round
    number = 1 if previous is None else previous.number + 1
    kind = RoundKind.open if previous is None and study.starts_with_open_round else RoundKind.rating
    dropped = set()
    if previous is not None and previous.kind is RoundKind.rating:
        dropped = {rs.statement_id for rs in previous.statements
                   if rs.statement.status is StatementStatus.active and rs.carry_forward is False}
    active = [s for s in study.statements if s.status is StatementStatus.active and s.id not in dropped]
    shown = len(active) if kind is RoundKind.rating else len(study.open_questions)
    rating_rounds = sum(1 for r in study.rounds if r.kind is RoundKind.rating)
    problem = None
    if study.status is StudyStatus.closed:
        problem = "This study is closed; no more rounds can open."
    elif previous is not None and previous.status is RoundStatus.closing:
        problem = f"Round {previous.number} is still closing: its figures are being computed. Wait until they are."
    elif previous is not None and previous.status is not RoundStatus.closed:
        problem = f"Round {previous.number} is still {previous.status.value}; close it first."
    elif kind is RoundKind.rating and rating_rounds >= study.max_rounds:
        problem = f"The protocol allows at most {study.max_rounds} rating rounds."
    elif not shown:
        problem = ("There are no active statements to rate. Add or carry forward at least one."
                   if kind is RoundKind.rating else "An open round needs at least one open question.")
    panel = db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study.id,
                                                                         Panellist.withdrawn.is_(False)))
    return RoundPlan(number, kind, shown, len(dropped), not study.is_locked, panel, problem)


def round_response_totals(round_: Round) -> tuple[int, int]:
    """(panellists still on the panel, how many of them have sent the round): whole-panel counts, no group's."""
    on_panel = sa.and_(Panellist.study_id == round_.study_id, Panellist.withdrawn.is_(False))
    panel = db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(on_panel))
    submitted = db.session.scalar(sa.select(sa.func.count(Submission.id))
                                  .join(Panellist, Panellist.id == Submission.panellist_id)
                                  .where(Submission.round_id == round_.id, on_panel))
    return panel, submitted


def open_next_round(study: Study, actor: StaffUser | None = None) -> Round:
    """Open the study's next round with its active statements (or its open questions, for an open first round).

    The first round locks the consensus definition and stopping rule. Statements the facilitator did not carry
    forward from the previous round are retired first.

    Two requests to open the next round at once open it once: each first locks the study's row (PostgreSQL; SQLite's
    writers queue already) and reads its rounds again, so the second sees the round the first opened and is refused
    with a ``DomainError`` instead of breaking the unique (study, number) constraint.
    """
    _hold_study(study)
    if study.status is StudyStatus.closed:
        raise DomainError(_("This study is closed; no more rounds can open."))
    previous = study.current_round
    if previous is not None and previous.status is not RoundStatus.closed:
        still = {RoundStatus.draft: _("Round %(number)s is still draft; close it first.", number=previous.number),
                 RoundStatus.open: _("Round %(number)s is still open; close it first.", number=previous.number),
                 RoundStatus.closing: _("Round %(number)s is still closing: its figures are being computed. Wait "
                                        "until they are.", number=previous.number)}
        raise DomainError(still[previous.status])
    number = 1 if previous is None else previous.number + 1
    rating_rounds = sum(1 for r in study.rounds if r.kind is RoundKind.rating)
    kind = RoundKind.open if previous is None and study.starts_with_open_round else RoundKind.rating
    if kind is RoundKind.rating and rating_rounds >= study.max_rounds:
        raise DomainError(_("The protocol allows at most %(count)s rating rounds.", count=study.max_rounds))
    if previous is not None and previous.kind is RoundKind.rating:
        _apply_carry_forward(previous, number, actor)

    new_round = Round(number=number, kind=kind)
    study.rounds.append(new_round)
    if kind is RoundKind.rating:
        active = [s for s in study.statements if s.status is StatementStatus.active]
        if not active:
            raise DomainError(_("There are no active statements to rate. Add or carry forward at least one."))
        new_round.statements = [
            RoundStatement(statement=s, position=i, domain=s.domain, text=s.text) for i, s in enumerate(active)
        ]
    else:
        if not study.open_questions:
            raise DomainError(_("An open round needs at least one open question."))
    db.session.flush()
    for question in study.open_questions:
        if kind is RoundKind.open and question.round_id is None:
            question.round_id = new_round.id
    if not study.is_locked:
        experiment.draw_seed(study, actor)  # before the lock, so that the locked protocol states it
        study.lock(protocol_to_toml(study_protocol(study)))
    new_round.open()
    if number >= 2:  # arms differ from round 2 on: the panel is allocated once, as it opens (services/experiment.py)
        experiment.allocate_arms(study, actor)
    audit.record("round.open", study=study, actor=actor, target=f"round {number}",
                 statements=len(new_round.statements))
    db.session.flush()
    return new_round


def _hold_study(study: Study) -> None:
    """Lock the study's row for this transaction and read the study and its rounds as they are now (after any
    transaction that held it has committed)."""
    db.session.execute(sa.select(Study.id).where(Study.id == study.id).with_for_update())
    db.session.refresh(study)
    db.session.expire(study, ["rounds"])


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
    if rs.classification in (None, Classification.none):
        return ""
    return rs.classification.title




def _hold_round_for_close(round_id: int) -> None:
    """On PostgreSQL, wait for saves in flight (they hold this lock shared, ``answers.hold_round_for_save``) and make
    new ones wait until this transaction commits; SQLite's writers queue already."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:namespace, :round_id)"),
                           {"namespace": ROUND_LOCK_NAMESPACE, "round_id": round_id})


def _refusal(round_: Round) -> DomainError:
    """Why the round cannot be closed now, read again from the database (another close may just have won)."""
    db.session.refresh(round_)
    already = {RoundStatus.closed: _("Round %(number)s is already closed; it can only be closed once.",
                                     number=round_.number),
               RoundStatus.closing: _("Round %(number)s is already being closed: its figures are being computed.",
                                      number=round_.number),
               RoundStatus.draft: _("Round %(number)s is already draft; it can only be closed once.",
                                    number=round_.number)}
    return DomainError(already.get(round_.status, already[RoundStatus.closed]))


def start_close(round_: Round, actor: StaffUser | None = None) -> None:
    """Close an open round to answers and leave it "closing" for a worker, which computes its figures and finishes
    the close (:func:`run_close`). The caller commits, then calls :func:`queue_close`.

    The round is claimed with a conditional UPDATE, so that two closes at once start it once: the second waits for
    the first (PostgreSQL's row lock, SQLite's write lock) and is refused with a ``DomainError``. From the commit on,
    every save and submission is refused as after a close; ``closed_at`` is this moment, when answers stopped.
    """
    _hold_round_for_close(round_.id)
    claimed = db.session.execute(
        sa.update(Round)
        .where(Round.id == round_.id, Round.status == RoundStatus.open)
        .values(status=RoundStatus.closing, closed_at=utcnow(), close_requested_by_id=actor.id if actor else None,
                close_attempts=0, close_claimed_until=None, close_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _refusal(round_)
    db.session.refresh(round_)
    db.session.flush()


def close_round(round_: Round, actor: StaffUser | None = None) -> Round:
    """Close an open round, or finish a closing one, here and now: compute and store every figure of it in the same
    transaction (the command line, the automatic close in the worker, tests).

    The round is claimed with a conditional UPDATE first, so that two closes at once close it once: the second waits
    for the first (PostgreSQL's row lock, SQLite's write lock) and then finds it closed. If anything fails later the
    caller's rollback leaves the round as it was (open, or closing) and nothing stored.
    """
    _hold_round_for_close(round_.id)
    claimed = db.session.execute(
        sa.update(Round)
        .where(Round.id == round_.id, Round.status.in_((RoundStatus.open, RoundStatus.closing)))
        .values(status=RoundStatus.closed, closed_at=sa.func.coalesce(Round.closed_at, utcnow()),
                close_claimed_until=None, close_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _refusal(round_)
    db.session.refresh(round_)
    _finish_close(round_, actor)
    return round_


def _finish_close(round_: Round, actor: StaffUser | None) -> None:
    """The close's work, once the round is claimed closed in this transaction: the figures, then the audit entry."""
    if round_.kind is RoundKind.rating:
        figures = compute_round_figures(round_)
        store_round_figures(round_, figures)
    audit.record("round.close", study=round_.study, actor=actor, target=f"round {round_.number}")
    db.session.flush()


# The close as a background job. Like a report build (services/reports/builds.py), the close is claimed with a lease
# before it runs: a job run twice, or by two workers, closes once; a killed worker's close is taken over when its
# lease runs out; after MAX_CLOSE_ATTEMPTS the round stays "closing" with a message and a "Try again" button. A
# failed close never goes back to open: the panel was told the round had closed, and every answer is kept either way.
MAX_CLOSE_ATTEMPTS = 3
CLOSE_FAILED_MESSAGE = ("The figures could not be computed. Try again; if it fails again, tell the people who run "
                        "the platform (the details are in the worker's log).")
CLOSE_GAVE_UP_MESSAGE = (f"The figures were started {MAX_CLOSE_ATTEMPTS} times and never finished (the worker "
                         "stopped each time, perhaps for lack of memory). Try again, or tell the people who run the "
                         "platform.")


@job()
def close_round_job(round_id: int) -> None:
    run_close(round_id)


def queue_close(round_: Round) -> None:
    """Ask a worker to finish the close now. If the queue cannot be reached, the worker's minute-by-minute sweep
    finishes it anyway; the request that asked does not fail for that."""
    try:
        run_soon(close_round_job, round_.id)
    except Exception:  # noqa: BLE001 (the close is safe in the round's row; only the wake-up was lost)
        current_app.logger.exception("could not queue round %s's close; the next scheduled sweep will run it",
                                     round_.id)


def retry_close(round_: Round, actor: StaffUser | None = None) -> bool:
    """Ask again for a close that failed or was given up (a closing round with an error); False when there is
    nothing to try again (the close is still running, or done). The caller commits, then calls :func:`queue_close`."""
    retried = db.session.execute(
        sa.update(Round)
        .where(Round.id == round_.id, Round.status == RoundStatus.closing, Round.close_error != "")
        .values(close_error="", close_attempts=0, close_claimed_until=None,
                close_requested_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(round_)
    return retried == 1


def _close_due(now: datetime):
    return sa.and_(Round.status == RoundStatus.closing, Round.close_error == "",
                   Round.close_attempts < MAX_CLOSE_ATTEMPTS,
                   sa.or_(Round.close_claimed_until.is_(None), Round.close_claimed_until < now))


@periodic_job(crontab(minute="*"))
def finish_due_closes() -> None:
    """Closes whose wake-up was lost, or whose worker was killed (lease run out); gives up after MAX_CLOSE_ATTEMPTS."""
    now = utcnow()
    with writing():
        db.session.execute(
            sa.update(Round).where(Round.status == RoundStatus.closing, Round.close_error == "",
                                   Round.close_claimed_until < now, Round.close_attempts >= MAX_CLOSE_ATTEMPTS)
            .values(close_error=CLOSE_GAVE_UP_MESSAGE, close_claimed_until=None)
            .execution_options(synchronize_session=False))
        db.session.commit()
    for round_id in db.session.scalars(sa.select(Round.id).where(_close_due(now)).order_by(Round.id)).all():
        db.session.commit()
        run_close(round_id, now)


def claim_close(round_id: int, now: datetime | None = None) -> int | None:
    """Claim the round's close for this worker (not yet tried, or its lease run out); returns the attempt's number,
    which the finishing write checks, or None when another worker has it or there is nothing to do."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["ROUND_CLOSE_CLAIM_SECONDS"])
    with writing():
        claimed = db.session.execute(
            sa.update(Round).where(Round.id == round_id, _close_due(now))
            .values(close_claimed_until=lease, close_attempts=Round.close_attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    if not claimed:
        return None
    attempt = db.session.scalar(sa.select(Round.close_attempts).where(Round.id == round_id))
    db.session.commit()
    return attempt


def run_close(round_id: int, now: datetime | None = None) -> bool:
    """Claim the round's close and finish it in one transaction (figures, state, audit entry, as
    :func:`close_round`); True when this call closed it. A failure leaves the round closing, with nothing stored
    and a message for staff."""
    attempt = claim_close(round_id, now)
    if attempt is None:
        return False
    mine = sa.and_(Round.id == round_id, Round.status == RoundStatus.closing, Round.close_attempts == attempt)
    try:
        with writing():
            # No advisory lock: saves in flight were waited for when the round was marked closing, and every save
            # since has read "closing" and been refused (taking it here would hold those refusals for the seconds
            # the figures take). The UPDATE first, so that another worker's claim waits for this transaction
            # (PostgreSQL's row lock) or has won.
            if not db.session.execute(
                    sa.update(Round).where(mine).values(status=RoundStatus.closed, close_claimed_until=None)
                    .execution_options(synchronize_session=False)).rowcount:
                db.session.rollback()  # taken over by another worker, or closed from the command line
                return False
            round_ = db.session.get(Round, round_id, populate_existing=True)
            actor = (db.session.get(StaffUser, round_.close_requested_by_id)
                     if round_.close_requested_by_id is not None else None)
            _finish_close(round_, actor)
            db.session.commit()
    except Exception:  # noqa: BLE001 (any failure is the close's, told on its progress page; the trace is logged)
        db.session.rollback()
        current_app.logger.exception("closing round %s failed", round_id)
        with writing():
            db.session.execute(sa.update(Round).where(mine)
                               .values(close_error=CLOSE_FAILED_MESSAGE, close_claimed_until=None)
                               .execution_options(synchronize_session=False))
            db.session.commit()
        return False
    return True


def close_study(study: Study, actor: StaffUser | None = None) -> None:
    """Close the study (no round may be open; :class:`DomainError` otherwise), recording whether its stopping rule
    was met."""
    study.close()
    audit.record("study.close", study=study, actor=actor, target=f"study {study.id}",
                 stopping_met=stopping_status(study).met)
    db.session.flush()
