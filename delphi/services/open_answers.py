"""An open first round: its questions while the study is set up, and turning the answers into statements.

Answers are shown and counted by stakeholder group only, never by panellist; audit details name questions,
statements and counts, never what anyone wrote.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.db import contains_pattern
from delphi.errors import Problem
from delphi.extensions import db
from delphi.localised import offered
from delphi.models import (
    DomainError,
    OpenAnswer,
    OpenQuestion,
    Panellist,
    RevisionKind,
    Round,
    RoundKind,
    RoundStatus,
    StaffUser,
    StakeholderGroup,
    Statement,
    StatementStatus,
    Study,
    StudyStatus,
    statement_source,
)
from delphi.protocol import MAX_OPEN_QUESTIONS, MAX_QUESTION
from delphi.services import audit
from delphi.services.answers import clean_text
from delphi.services.statements import StatementError, add_statement, status_word
from delphi.services.study_setup import require_unlocked

NO_GROUP = "No group"


class AnswerChoiceError(StatementError):
    """The ticked answers cannot be used: none ticked, or some are not this study's open-round answers."""


# --- Questions, before the first round opens ---------------------------------------------------------------------

def check_question(text: str) -> tuple[str, list[Problem]]:
    text = clean_text(text, MAX_QUESTION + 1)
    if not text:
        return text, [Problem(_("the question is empty"), field="text")]
    if len(text) > MAX_QUESTION:
        return text, [Problem(_("the question has more than %(limit)s characters", limit=MAX_QUESTION), field="text")]
    return text, []


def _check_translations(study: Study, translations: dict[str, str] | None, errors: list[Problem]) -> dict[str, str]:
    """A question's text in the study's other languages, checked as the question is (problems go on ``errors``)."""
    allowed = offered(study.language, study.languages)
    others = {}
    for lang, text in (translations or {}).items():
        text, problems = check_question(text)
        if lang == study.language or lang not in allowed:
            errors.append(Problem(_("the study does not offer %(language)s besides its own language", language=lang),
                                  field=f"text_{lang}"))
        elif text:
            errors.extend(problems)
            others[lang] = text
    return others


def _renumber(study: Study) -> None:
    for position, question in enumerate(sorted(study.open_questions, key=lambda q: q.position)):
        question.position = position
    # As when a study is created from a protocol: it begins with an open round exactly when it has questions.
    study.starts_with_open_round = bool(study.open_questions)


def add_question(study: Study, text: str, actor: StaffUser | None,
                 translations: dict[str, str] | None = None) -> OpenQuestion:
    """Add an open question at the end; the study then begins with an open round. Raises DomainError once round 1
    has opened and StatementError for an empty or over-long question. ``translations``: its text in the study's
    other languages."""
    require_unlocked(study, _("the open questions"))
    text, errors = check_question(text)
    others = _check_translations(study, translations, errors)
    if len(study.open_questions) >= MAX_OPEN_QUESTIONS:
        errors.append(Problem(_("the study has %(count)s open questions; the limit is %(limit)s",
                                count=len(study.open_questions), limit=MAX_OPEN_QUESTIONS), field="text"))
    if errors:
        raise StatementError(errors)
    question = OpenQuestion(text=text, position=len(study.open_questions),
                            translations={"text": others} if others else {})
    study.open_questions.append(question)
    _renumber(study)
    db.session.flush()
    audit.record("open_question.add", study=study, actor=actor, target=f"open question {question.id}")
    return question


def edit_question(question: OpenQuestion, text: str, actor: StaffUser | None,
                  translations: dict[str, str] | None = None) -> None:
    study = question.study
    require_unlocked(study, _("the open questions"))
    text, errors = check_question(text)
    others = _check_translations(study, translations, errors)
    if errors:
        raise StatementError(errors)
    question.text = text
    question.translations = {"text": others} if others else {}
    audit.record("open_question.edit", study=study, actor=actor, target=f"open question {question.id}")
    db.session.flush()


def remove_question(question: OpenQuestion, actor: StaffUser | None) -> None:
    """Remove a question; without questions left, the study begins with a rating round."""
    study = question.study
    require_unlocked(study, _("the open questions"))
    audit.record("open_question.remove", study=study, actor=actor, target=f"open question {question.id}")
    study.open_questions.remove(question)
    _renumber(study)
    db.session.flush()


def move_question(question: OpenQuestion, offset: int, actor: StaffUser | None) -> None:
    """Move a question up (-1) or down (+1) in the order panellists see them."""
    study = question.study
    require_unlocked(study, _("the open questions"))
    ordered = list(study.open_questions)
    i = ordered.index(question)
    ordered.insert(min(max(i + offset, 0), len(ordered) - 1), ordered.pop(i))
    for position, item in enumerate(ordered):
        item.position = position
    audit.record("open_question.move", study=study, actor=actor, target=f"open question {question.id}",
                 position=question.position + 1)
    db.session.flush()


# --- Answers into statements, after the open round closes ----------------------------------------------------------

def open_round_of(study: Study) -> Round | None:
    return next((r for r in study.rounds if r.kind is RoundKind.open), None)


def can_write_statements(study: Study) -> bool:
    """Statements come from the answers between the open round's close and the opening of the next round."""
    current = study.current_round
    return (current is not None and current.kind is RoundKind.open and current.status is RoundStatus.closed
            and study.status is not StudyStatus.closed)


def require_can_write(study: Study) -> Round:
    if not can_write_statements(study):
        raise DomainError(_("Statements can be made from the answers only after the open round has closed and "
                            "before the first rating round opens."))
    return study.current_round


@dataclass(frozen=True)
class AnswerRow:
    """An answer as staff see it: the question, the text and the stakeholder group, never who wrote it."""

    id: int
    question_id: int
    text: str
    group: str
    statement_codes: tuple[str, ...]


def answer_rows(study: Study, question_id: int | None = None, search: str = "") -> list[AnswerRow]:
    """Every non-empty answer to the open round's questions, by question and stakeholder group (optionally one
    question's only, and only those containing ``search``, case-insensitively)."""
    round_ = open_round_of(study)
    if round_ is None:
        return []
    query = (
        sa.select(OpenAnswer.id, OpenAnswer.question_id, OpenAnswer.text, StakeholderGroup.name)
        .join(OpenQuestion, OpenQuestion.id == OpenAnswer.question_id)
        .join(Panellist, Panellist.id == OpenAnswer.panellist_id)
        .outerjoin(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(OpenQuestion.round_id == round_.id, OpenQuestion.study_id == study.id, OpenAnswer.text != "")
        # By pseudonym (random), never in the order the answers came in (see services/review.py).
        .order_by(OpenQuestion.position, StakeholderGroup.position, Panellist.pseudonym)
    )
    if question_id is not None:
        query = query.where(OpenQuestion.id == question_id)
    search = search.strip()
    if search:
        query = query.where(OpenAnswer.text.ilike(contains_pattern(search), escape="\\"))
    rows = db.session.execute(query).all()
    codes: dict[int, list[str]] = {}
    if rows:
        for answer_id, code in db.session.execute(
            sa.select(statement_source.c.open_answer_id, Statement.code)
            .join(Statement, Statement.id == statement_source.c.statement_id)
            .where(statement_source.c.open_answer_id.in_([r[0] for r in rows]))
            .order_by(Statement.position)
        ):
            codes.setdefault(answer_id, []).append(code)
    return [AnswerRow(id=a, question_id=q, text=t, group=g or NO_GROUP, statement_codes=tuple(codes.get(a, ())))
            for a, q, t, g in rows]


def _answers_of_study(study: Study, answer_ids: list[int]) -> list[OpenAnswer]:
    """The answers with those ids from the study's open round; refuses the lot if any is not one."""
    ids = set(answer_ids)
    if not ids:
        raise AnswerChoiceError([Problem(_("tick at least one answer the statement comes from"), field="answers")])
    round_ = open_round_of(study)
    answers = db.session.scalars(
        sa.select(OpenAnswer).join(OpenQuestion, OpenQuestion.id == OpenAnswer.question_id)
        .where(OpenAnswer.id.in_(ids), OpenQuestion.study_id == study.id,
               OpenQuestion.round_id == (round_.id if round_ else -1))
    ).all()
    if len(answers) != len(ids):
        raise AnswerChoiceError([Problem(_("some of the ticked answers are not answers to this study's open "
                                           "questions; reload the page and tick them again"), field="answers")])
    return sorted(answers, key=lambda a: a.id)


def statement_from_answers(study: Study, code: str, domain: str, text: str, answer_ids: list[int],
                           actor: StaffUser | None) -> Statement:
    """A new active statement written from the ticked answers, linked to them (it goes into the first rating
    round). Raises DomainError outside the time between the open round and the first rating round, and
    StatementError (nothing written) for bad wording or answers that are not this study's."""
    require_can_write(study)
    answers = _answers_of_study(study, answer_ids)
    statement = add_statement(study, code, domain, text, actor, kind=RevisionKind.from_open_answers)
    statement.source_answers.extend(answers)
    db.session.flush()
    audit.record("statement.from_open_answers", study=study, actor=actor, target=f"statement {statement.code}",
                 answers=len(answers), by_group=_group_counts(answers))
    return statement


def link_answers(statement: Statement, answer_ids: list[int], actor: StaffUser | None) -> int:
    """Link an existing active statement to further answers; returns how many links are new."""
    study = statement.study
    require_can_write(study)
    if statement.status is not StatementStatus.active:
        raise DomainError(_("Statement %(code)s is %(status)s; link answers to an active one.", code=statement.code,
                            status=status_word(statement.status)))
    answers = _answers_of_study(study, answer_ids)
    linked = {a.id for a in statement.source_answers}
    new = [a for a in answers if a.id not in linked]
    statement.source_answers.extend(new)
    db.session.flush()
    audit.record("statement.link_answers", study=study, actor=actor, target=f"statement {statement.code}",
                 answers=len(new), by_group=_group_counts(new))
    return len(new)


def _group_counts(answers: list[OpenAnswer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        key = answer.panellist.group.key if answer.panellist.group else ""
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass(frozen=True)
class AnswerSources:
    """How many answers a statement came from, in all and per stakeholder group (in the study's group order)."""

    total: int
    by_group: tuple[tuple[str, int], ...]

    def __str__(self) -> str:
        groups = ", ".join(f"{name} {count}" for name, count in self.by_group)
        return f"from {self.total} answer{'s' if self.total != 1 else ''}: {groups}"


def answer_sources(study: Study) -> dict[int, AnswerSources]:
    """For each of the study's statements linked to open answers, the counts per stakeholder group (one query)."""
    rows = db.session.execute(
        sa.select(statement_source.c.statement_id, StakeholderGroup.name, sa.func.count())
        .join(Statement, Statement.id == statement_source.c.statement_id)
        .join(OpenAnswer, OpenAnswer.id == statement_source.c.open_answer_id)
        .join(Panellist, Panellist.id == OpenAnswer.panellist_id)
        .outerjoin(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Statement.study_id == study.id)
        .group_by(statement_source.c.statement_id, StakeholderGroup.id, StakeholderGroup.name,
                  StakeholderGroup.position)
        .order_by(statement_source.c.statement_id, StakeholderGroup.position)
    ).all()
    grouped: dict[int, list[tuple[str, int]]] = {}
    for statement_id, name, count in rows:
        grouped.setdefault(statement_id, []).append((name or NO_GROUP, count))
    return {sid: AnswerSources(sum(c for _, c in pairs), tuple(pairs)) for sid, pairs in grouped.items()}
