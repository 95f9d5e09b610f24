"""A panellist's answers: saving drafts (page submits and autosave), submitting a round, and reading them back.

Saves are upserts keyed by (panellist, round, statement), so retries and two tabs never duplicate a rating; the round
is checked to be open in the same transaction as the write.
"""
from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from delphi.extensions import db
from delphi.free_text import clean_text
from delphi.models import (
    ConsentDecision,
    ConsentRecord,
    DomainError,
    EntryMode,
    OpenAnswer,
    OpenQuestion,
    Panellist,
    Rating,
    Round,
    RoundStatement,
    RoundStatus,
    Statement,
    Study,
    Submission,
    utcnow,
)

MAX_COMMENT = 5000


class RoundClosed(DomainError):
    """The round closed before this save; nothing was changed."""


@dataclass(frozen=True)
class Answer:
    value: int | None = None
    unable: bool = False
    declined: bool = False  # "prefer not to answer"
    comment: str = ""
    change_reason: str = ""


@dataclass(frozen=True, slots=True)
class PageStatement:
    """A statement as a round's pages show it: its wording in that round, and the statement's other languages
    as (language, text) pairs (hashable: a page's form class is cached by its statements)."""

    statement_id: int
    text: str
    others: tuple[tuple[str, str], ...] = ()

    @property
    def translations(self) -> dict[str, dict[str, str]]:
        """As a row's ``translations`` (delphi/localised.py)."""
        return {"text": dict(self.others)} if self.others else {}


@dataclass(frozen=True)
class Page:
    number: int
    domain: str
    statements: tuple[PageStatement, ...]


# Pages of open rounds, per process: (round id, opened at, wording version) -> pages. A round's statements are fixed
# when it opens (``rounds.open_next_round`` creates them and opens the round in one transaction; only a correction of
# a typo changes a wording afterwards, and it moves the round's ``wording_version`` on), and every panellist page
# needs them: reading 200 of them as ORM objects cost a query and more CPU than the rest of a rating page's data. The
# opening time is part of the key so that a round id that SQLite hands out again (after the row was deleted, or the
# transaction that made it rolled back) cannot find the old round's pages.
_PAGES_KEPT = 64


def round_pages(round_: Round) -> tuple[Page, ...]:
    """One page per domain, in the order the domains first appear in the round."""
    cache = current_app.extensions.setdefault("delphi.round_pages", {})
    key = (round_.id, round_.opened_at, round_.wording_version)
    pages = cache.get(key) if round_.status is RoundStatus.open else None
    if pages is None:
        pages = _read_pages(round_)
        if round_.status is RoundStatus.open and round_.opened_at is not None:
            if len(cache) >= _PAGES_KEPT:
                cache.clear()
            cache[key] = pages
    return pages


def _read_pages(round_: Round) -> tuple[Page, ...]:
    rows = db.session.execute(
        sa.select(RoundStatement.statement_id, RoundStatement.domain, RoundStatement.text, Statement.translations)
        .join(Statement, Statement.id == RoundStatement.statement_id)
        .where(RoundStatement.round_id == round_.id).order_by(RoundStatement.position, RoundStatement.id)
    ).all()
    by_domain: dict[str, list[PageStatement]] = {}
    for statement_id, domain, text, translations in rows:
        others = tuple(sorted(((translations or {}).get("text") or {}).items()))
        by_domain.setdefault(domain, []).append(PageStatement(statement_id, text, others))
    return tuple(Page(number=i, domain=domain, statements=tuple(items))
                 for i, (domain, items) in enumerate(by_domain.items(), 1))


def statement_count(pages: tuple[Page, ...]) -> int:
    return sum(len(page.statements) for page in pages)


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """A panellist's saved answer to one statement, as pages show it (read as plain rows: a page reads up to a few
    hundred of these on every load, and ORM objects cost several times more)."""

    statement_id: int
    value: int | None
    unable_to_rate: bool
    declined: bool
    comment: str
    change_reason: str

    @property
    def is_answered(self) -> bool:
        return self.value is not None or self.unable_to_rate or self.declined


def answers_for(panellist: Panellist, round_: Round) -> dict[int, SavedAnswer]:
    rows = db.session.execute(
        sa.select(Rating.statement_id, Rating.value, Rating.unable_to_rate, Rating.declined, Rating.comment,
                  Rating.change_reason)
        .where(Rating.panellist_id == panellist.id, Rating.round_id == round_.id)
    ).all()
    return {row.statement_id: SavedAnswer(*row) for row in rows}


ROUND_LOCK_NAMESPACE = 4211  # first key of the PostgreSQL advisory locks that order saves and a round's close


def hold_round_for_save(round_: Round) -> None:
    """On PostgreSQL, a shared advisory lock on the round for this transaction: a close (which takes it exclusively,
    see ``rounds.close_round``) waits for saves in flight, and saves that start during a close wait for it and then
    see the round closed. Advisory locks live in the lock manager, so hundreds of concurrent saves do not contend on
    the round's row the way FOR SHARE row locks would. SQLite needs none: its writers are serialised already."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:namespace, :round_id)"),
                           {"namespace": ROUND_LOCK_NAMESPACE, "round_id": round_.id})


def _lock_open_round(round_: Round) -> None:
    """Refuse unless the round is open (holding the round for this save)."""
    hold_round_for_save(round_)
    status = db.session.scalar(sa.select(Round.status).where(Round.id == round_.id))
    if status is not RoundStatus.open:
        raise RoundClosed(f"Round {round_.number} has closed.")


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_UPSERTS: dict[tuple[str, frozenset[str]], sa.Insert] = {}


def _rating_upsert(fields: frozenset[str]) -> sa.Insert:
    """The upsert for ratings, built once per database dialect and set of updated fields (building the ``excluded``
    proxies costs more than the statement itself)."""
    key = (db.session.get_bind().dialect.name, fields)
    if key not in _UPSERTS:
        statement = _insert(Rating.__table__)
        _UPSERTS[key] = statement.on_conflict_do_update(
            index_elements=["panellist_id", "round_id", "statement_id"], set_=_rating_update(statement, fields))
    return _UPSERTS[key]


def _rating_update(statement, fields: frozenset[str]) -> dict:
    """What a rating upsert overwrites when the rating exists: the parts sent (a value with its "unable to rate"
    and "prefer not to answer" flags, a comment, a reason) and who entered it when and how; never the other parts."""
    update = {"updated_at": statement.excluded.updated_at, "entered_by_id": statement.excluded.entered_by_id,
              "mode": statement.excluded.mode}
    if "value" in fields:
        update["value"] = statement.excluded.value
        update["unable_to_rate"] = statement.excluded.unable_to_rate
        update["declined"] = statement.excluded.declined
    if "comment" in fields:
        update["comment"] = statement.excluded.comment
    if "change_reason" in fields:
        update["change_reason"] = statement.excluded.change_reason
    return update


def save_answers(panellist: Panellist, round_: Round, answers: dict[int, Answer], *, entered_by_id: int | None = None,
                 fields: frozenset[str] = frozenset({"value", "comment", "change_reason"}),
                 mode: EntryMode = EntryMode.web) -> int:
    """Upsert the given answers (statement id -> Answer) for a panellist in an open round; returns how many.

    ``fields`` says which parts the caller sent (autosave of one radio button must not blank the comment).
    Statements not in this round are refused with ``ValueError`` before anything is written.
    """
    if round_.study_id != panellist.study_id:
        raise ValueError("that round belongs to another study")
    _check_open_and_in_round(round_, set(answers))
    now = utcnow()
    rows = []
    for statement_id, answer in answers.items():
        row = {"panellist_id": panellist.id, "round_id": round_.id, "statement_id": statement_id,
               "value": None if answer.unable or answer.declined else answer.value,
               "unable_to_rate": answer.unable and not answer.declined, "declined": answer.declined,
               "comment": clean_text(answer.comment), "change_reason": clean_text(answer.change_reason),
               "updated_at": now, "entered_by_id": entered_by_id, "comment_approved": False, "mode": mode}
        rows.append(row)
    if not rows:
        return 0
    db.session.execute(_rating_upsert(frozenset(fields)), rows)
    return len(rows)


UNABLE = "unable"  # the value an "unable to rate" answer is sent with
DECLINED = "declined"  # the value a "prefer not to answer" answer is sent with
# The parts of a rating a single autosave can carry, by the first letter of the field's name (s12, c12, r12).
AUTOSAVE_FIELDS = {"s": "value", "c": "comment", "r": "change_reason"}


def plain_number(text: str, digits: int) -> int | None:
    """``text`` as a whole number when it is 1 to ``digits`` ASCII digits, else None.

    ``str.isdigit`` alone is true for "²" (which ``int`` refuses) and for Arabic-Indic and other digits (which ``int``
    reads): a page only ever sends 0-9, so anything else is not an answer."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


# Ids and page numbers a request may name: at most 9 digits, so every one fits the database's 32-bit integers.
ID_DIGITS = 9


def rating_answer(raw: str, scale_min: int, scale_max: int, unable_allowed: bool,
                  declined_allowed: bool = False) -> Answer | None:
    """A rating as sent by a page (a number on the scale, or "unable to rate" or "prefer not to answer" where
    allowed); None if it is not one."""
    if raw == UNABLE and unable_allowed:
        return Answer(unable=True)
    if raw == DECLINED and declined_allowed:
        return Answer(declined=True)
    value = plain_number(raw, 3)
    if value is not None and scale_min <= value <= scale_max:
        return Answer(value=value)
    return None

class Refusal(enum.Enum):
    """Why a panellist may not save an answer now (``refusal`` gives the first that holds, in this order)."""

    signed_out = "signed out"  # no such panellist, withdrawn, or their link revoked or reissued since they came in
    no_consent = "no consent"  # their latest consent decision is not "given", or was on an earlier consent text
    no_group = "no group"
    round_closed = "round closed"  # the study's latest round is not open (or there is none yet)


class SaveRefused(DomainError):
    """The panellist may not save now, for ``refusal`` (a round that is not open raises ``RoundClosed`` instead)."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Standing:
    """The facts that decide whether a panellist may save an answer: read from a loaded panellist by ``of`` (the
    panel's pages), or by one query with no ORM objects (autosave, ``_build_standing_query``)."""

    withdrawn: bool
    token_hash: str | None
    consent: ConsentDecision | None  # their latest decision
    consent_outdated: bool  # that decision was on an earlier version of the study's consent text
    group_id: int | None
    round_status: RoundStatus | None  # of the study's latest round

    @classmethod
    def of(cls, panellist: Panellist) -> Standing:
        latest, current = panellist.consent, panellist.study.current_round
        return cls(panellist.withdrawn, panellist.token_hash, latest.decision if latest else None,
                   latest is not None and latest.consent_version < panellist.study.consent_version,
                   panellist.group_id, current.status if current else None)

    @classmethod
    def from_row(cls, row) -> Standing:
        """From a row of ``_build_standing_query``."""
        outdated = row.consent_version is not None and row.consent_version < row.study_consent_version
        return cls(row.withdrawn, row.token_hash, row.consent, outdated, row.group_id, row.round_status)


def refusal(standing: Standing | None, link_hash: str) -> Refusal | None:
    """Who may save an answer, stated once: a panellist who still has the link they came in with (``link_hash``,
    compared in constant time), is not withdrawn, has consented (latest decision) to the study's current consent text
    and has a group, while their study's
    latest round is open. Returns the first reason that holds, or None when they may save. (Saves then check, after
    holding the round, that it is still open and that each statement is in it.)"""
    if (standing is None or standing.withdrawn or standing.token_hash is None
            or not hmac.compare_digest(standing.token_hash, link_hash)):
        return Refusal.signed_out
    if standing.consent is not ConsentDecision.given or standing.consent_outdated:
        return Refusal.no_consent
    if standing.group_id is None:
        return Refusal.no_group
    if standing.round_status is not RoundStatus.open:
        return Refusal.round_closed
    return None


class NotAnAnswer(ValueError):
    """A rating that is not on the study's scale (or "unable to rate" or "prefer not to answer" where it is not
    allowed)."""


_AUTOSAVE: dict[tuple[str, str], sa.Executable] = {}


def autosave_answer(panellist_id: int | None, link_hash: str, name: str, raw: str) -> bool:
    """Save one part of one answer as a page's script sends it (``name``: s, c, r or q and the statement or open
    question's id; ``raw``: the value); True when it was a rating's part.

    The busiest request of an invitation day, so a rating's part is saved in two statements and no ORM objects: one
    ``SELECT`` reads the panellist's ``Standing`` and their study's current round (and on PostgreSQL holds the round,
    see ``hold_round_for_save``), ``refusal`` decides, and one ``INSERT … SELECT … ON CONFLICT`` re-checks, in a
    snapshot taken after the round is held, that the round is still open and the statement is in it.

    Raises ``SaveRefused``, ``RoundClosed``, ``NotAnAnswer``, or ``ValueError`` for a field or statement that is not
    one of this round's; nothing is written then."""
    dialect = db.session.get_bind().dialect.name
    connection = db.session.connection()
    found = None
    if isinstance(panellist_id, int):
        found = connection.execute(_autosave_statement(dialect, "standing"),
                                   {"panellist_id": panellist_id}).one_or_none()
    refused = refusal(Standing.from_row(found) if found else None, link_hash)
    if refused is Refusal.round_closed:
        raise RoundClosed("The round has closed.")
    if refused is not None:
        raise SaveRefused(refused)
    kind, number = name[:1], plain_number(name[1:], ID_DIGITS)
    if kind not in {*AUTOSAVE_FIELDS, "q"} or number is None or len(raw) > 20000:
        raise ValueError("not an answer's field")
    if kind == "q":
        save_open_answers(db.session.get(Panellist, panellist_id), db.session.get(Round, found.round_id),
                          {number: raw})
        return False
    field = AUTOSAVE_FIELDS[kind]
    row = {"panellist_id": panellist_id, "round_id": found.round_id, "statement_id": number,
           "value": None, "unable_to_rate": False, "declined": False, "comment": "", "change_reason": "",
           "updated_at": utcnow()}
    if field == "value":
        answer = rating_answer(raw, found.scale_min, found.scale_max, found.unable_to_rate, found.prefer_not_to_answer)
        if answer is None:
            raise NotAnAnswer(raw)
        row["value"], row["unable_to_rate"], row["declined"] = answer.value, answer.unable, answer.declined
    else:
        row[field] = clean_text(raw)
    if connection.execute(_autosave_statement(dialect, field), row).rowcount != 1:
        # The round closed since, or the statement is not in it: say which, as a page save would.
        _check_open_and_in_round(db.session.get(Round, found.round_id), {row["statement_id"]})
        raise ValueError("not saved")
    return True


def _autosave_statement(dialect: str, name: str) -> sa.Executable:
    """The two statements of ``autosave_answer``, built once per dialect (their SQL is then cached by SQLAlchemy)."""
    key = (dialect, name)
    if key not in _AUTOSAVE:
        _AUTOSAVE[key] = _build_standing_query(dialect) if name == "standing" else _build_checked_upsert(dialect, name)
    return _AUTOSAVE[key]


def _build_standing_query(dialect: str) -> sa.Select:
    """The facts of a panellist's ``Standing``, their study's current round and scale.

    Plain Core on the tables (no ORM entities to compile). On PostgreSQL the same statement holds the current round
    for this save (see ``hold_round_for_save``); the upsert reads the round's status again, in a later snapshot, after
    the lock is held."""
    panellist, study, round_ = Panellist.__table__, Study.__table__, Round.__table__
    consent, later = ConsentRecord.__table__.alias("consent"), Round.__table__.alias("later")
    latest_consent, latest_version = (
        sa.select(column).where(consent.c.panellist_id == panellist.c.id)
        .order_by(consent.c.id.desc()).limit(1).correlate(panellist).scalar_subquery()
        for column in (consent.c.decision, consent.c.consent_version))
    current_number = (sa.select(sa.func.max(later.c.number)).where(later.c.study_id == panellist.c.study_id)
                      .correlate(panellist).scalar_subquery())
    columns = [panellist.c.withdrawn, panellist.c.token_hash, latest_consent.label("consent"),
               latest_version.label("consent_version"), study.c.consent_version.label("study_consent_version"),
               panellist.c.group_id, round_.c.status.label("round_status"), round_.c.id.label("round_id"),
               study.c.scale_min, study.c.scale_max, study.c.unable_to_rate, study.c.prefer_not_to_answer]
    if dialect == "postgresql":
        columns.append(sa.func.pg_advisory_xact_lock_shared(ROUND_LOCK_NAMESPACE, round_.c.id).label("held"))
    return (
        sa.select(*columns)
        .select_from(panellist.join(study, study.c.id == panellist.c.study_id).outerjoin(
            round_, sa.and_(round_.c.study_id == panellist.c.study_id, round_.c.number == current_number)))
        .where(panellist.c.id == sa.bindparam("panellist_id"))
    )


def _build_checked_upsert(dialect: str, field: str) -> sa.Insert:
    names = ["panellist_id", "round_id", "statement_id", "value", "unable_to_rate", "declined", "comment",
             "change_reason", "updated_at"]
    table, round_, in_round = Rating.__table__, Round.__table__, RoundStatement.__table__
    values = sa.select(*(sa.bindparam(name, type_=table.c[name].type) for name in names)).where(
        sa.select(round_.c.id).where(round_.c.id == sa.bindparam("round_id"), round_.c.status == RoundStatus.open)
        .correlate(None).exists(),
        sa.select(in_round.c.id).where(in_round.c.round_id == sa.bindparam("round_id"),
                                       in_round.c.statement_id == sa.bindparam("statement_id"))
        .correlate(None).exists(),
    )
    statement = _insert(table).from_select(names, values)
    # An INSERT's row count is read only when asked for (it tells whether the checks let the row in).
    return statement.on_conflict_do_update(
        index_elements=["panellist_id", "round_id", "statement_id"], set_=_rating_update(statement, frozenset({field}))
    ).execution_options(preserve_rowcount=True)


def _check_open_and_in_round(round_: Round, statement_ids: set[int]) -> None:
    """Refuse unless the round is open and every statement is in it (one query, after holding the round)."""
    hold_round_for_save(round_)
    in_round = (
        sa.select(sa.func.count(RoundStatement.id))
        .where(RoundStatement.round_id == Round.id, RoundStatement.statement_id.in_(statement_ids or {-1}))
        .scalar_subquery()
    )
    found = db.session.execute(
        sa.select(Round.status, in_round).where(Round.id == round_.id)
    ).one()
    if found[0] is not RoundStatus.open:
        raise RoundClosed(f"Round {round_.number} has closed.")
    if found[1] != len(statement_ids):
        raise ValueError("some answers are for statements that are not in this round")


def submit_round(panellist: Panellist, round_: Round, *, entered_by_id: int | None = None,
                 mode: EntryMode = EntryMode.web) -> bool:
    """Record the panellist's submission once, whatever the retries; True when this call recorded it (a round sent
    again keeps how it was first sent)."""
    _lock_open_round(round_)
    statement = _insert(Submission.__table__).values(
        panellist_id=panellist.id, round_id=round_.id, submitted_at=utcnow(), entered_by_id=entered_by_id, mode=mode
    ).on_conflict_do_nothing(index_elements=["panellist_id", "round_id"]).returning(Submission.id)
    # RETURNING, not rowcount: on PostgreSQL (psycopg) this statement's rowcount is -1 whether or not it inserted.
    return db.session.execute(statement).first() is not None


def has_submitted(panellist: Panellist, round_: Round) -> bool:
    return db.session.scalar(
        sa.select(Submission.id).where(Submission.panellist_id == panellist.id, Submission.round_id == round_.id)
    ) is not None


def open_answers_for(panellist: Panellist, round_: Round) -> dict[int, OpenAnswer]:
    rows = db.session.scalars(
        sa.select(OpenAnswer).join(OpenQuestion).where(
            OpenAnswer.panellist_id == panellist.id, OpenQuestion.round_id == round_.id)
    ).all()
    return {a.question_id: a for a in rows}


def save_open_answers(panellist: Panellist, round_: Round, texts: dict[int, str]) -> int:
    _lock_open_round(round_)
    known = set(db.session.scalars(sa.select(OpenQuestion.id).where(OpenQuestion.round_id == round_.id)))
    if set(texts) - known:
        raise ValueError("some answers are for questions that are not in this round")
    rows = [{"question_id": qid, "panellist_id": panellist.id, "text": clean_text(text, 20000), "updated_at": utcnow()}
            for qid, text in texts.items()]
    if not rows:
        return 0
    statement = _insert(OpenAnswer.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["question_id", "panellist_id"],
        set_={"text": statement.excluded.text, "updated_at": statement.excluded.updated_at},
    )
    db.session.execute(statement, rows)
    return len(rows)
