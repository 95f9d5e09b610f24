"""A study's statements before round 1: add, edit, reorder, start from the built-in bank (all of it or statement by
statement), import and export CSV; and in an open round, the correction of a typo."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher

import sqlalchemy as sa
from flask_babel import gettext as _

from flask_babel import gettext as _

from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.localised import offered
from delphi.models import (
    DomainError,
    Panellist,
    Rating,
    RevisionKind,
    Round,
    RoundStatement,
    StaffUser,
    Statement,
    StatementRevision,
    StatementStatus,
    Study,
)
from delphi.protocol import MAX_STATEMENTS, MAX_TEXT, STATEMENT_CODE, load_protocol, statement_bank
from delphi.services import audit
from delphi.services.answers import clean_text
from delphi.services.csv_export import neutralise
from delphi.services.csv_import import read_rows

MAX_IMPORT_ROWS = 1000


@dataclass(frozen=True)
class StatementRow:
    line: int
    code: str
    domain: str
    text: str
    translations: tuple[tuple[str, str], ...] = ()  # (language, text) from text_<language> columns (issue 21)


class StatementError(InputErrors):
    """Statements that cannot be added as asked; ``errors`` lists each problem, and each of ``problems`` carries the
    statement's field it is about (``code``, ``domain`` or ``text``) and, in a CSV, its line."""


def status_word(status: StatementStatus) -> str:
    """A statement's status as the word in a sentence ("Statement S01 is merged"), in the page's language."""
    return {StatementStatus.active: _("active"), StatementStatus.retired: _("retired"),
            StatementStatus.merged: _("merged"), StatementStatus.dropped: _("dropped")}[status]


def next_code(study: Study, taken: set[str] | None = None) -> str:
    used = {s.code for s in study.statements} | (taken or set())
    number = len(study.statements) + 1
    while f"S{number:02d}" in used:
        number += 1
    return f"S{number:02d}"


def check_statement(code: str, domain: str, text: str, *, taken: set[str]) -> list[Problem]:
    errors = []
    if not STATEMENT_CODE.match(code):
        errors.append(Problem(_("the code %(code)s may use only the letters A-Z, digits, '-', '_' and '.' (at most 40)",
                                code=repr(code)), field="code"))
    elif code in taken:
        errors.append(Problem(_("the code %(code)s is already used by another statement", code=repr(code)),
                              field="code"))
    if len(domain) > 200:
        errors.append(Problem(_("the domain has more than 200 characters"), field="domain"))
    if not text:
        errors.append(Problem(_("the statement text is empty"), field="text"))
    elif len(text) > MAX_TEXT:
        errors.append(Problem(_("the statement text has %(count)s characters; the limit is %(limit)s",
                                count=len(text), limit=MAX_TEXT), field="text"))
    return errors


def add_statement(study: Study, code: str, domain: str, text: str, actor: StaffUser | None,
                  kind: RevisionKind = RevisionKind.created, suggestion_id: int | None = None,
                  translations: dict[str, str] | None = None) -> Statement:
    """Add an active statement at the end (it goes into the next round that opens); ``translations`` are its text in
    the study's other languages ({"en": "..."})."""
    code, domain, text = code.strip() or next_code(study), clean_text(domain, 200), clean_text(text, MAX_TEXT + 1)
    errors = check_statement(code, domain, text, taken={s.code for s in study.statements})
    others, problems = check_translations(study, translations)
    errors.extend(problems)
    if len(study.statements) >= MAX_STATEMENTS:
        errors.append(Problem(_("the study has %(count)s statements; the limit is %(limit)s",
                                count=len(study.statements), limit=MAX_STATEMENTS), field="text"))
    if errors:
        raise StatementError(errors)
    round_number = (study.current_round.number + 1) if study.current_round else None
    statement = Statement(code=code, domain=domain, text=text, position=len(study.statements),
                          translations={"text": others} if others else {})
    statement.revisions.append(StatementRevision(
        kind=kind, text=text, round_number=round_number, suggestion_id=suggestion_id,
        created_by_id=actor.id if actor else None))
    study.statements.append(statement)
    db.session.flush()
    audit.record("statement.add", study=study, actor=actor, target=f"statement {statement.code}")
    return statement


def edit_statement(statement: Statement, code: str, domain: str, text: str, actor: StaffUser | None,
                   translations: dict[str, str] | None = None) -> None:
    """Change a statement before round 1 (afterwards, rewording goes through the review between rounds);
    ``translations`` replace its text in the study's other languages."""
    code, domain, text = code.strip() or statement.code, clean_text(domain, 200), clean_text(text, MAX_TEXT + 1)
    taken = {s.code for s in statement.study.statements if s.id != statement.id}
    errors = check_statement(code, domain, text, taken=taken)
    others, problems = check_translations(statement.study, translations)
    errors.extend(problems)
    if errors:
        raise StatementError(errors)
    statement.code, statement.domain, statement.text = code, domain, text
    statement.translations = {"text": others} if others else {}
    created = [r for r in statement.revisions if r.kind is RevisionKind.created and r.round_number is None]
    if created:
        created[-1].text = text
    audit.record("statement.edit", study=statement.study, actor=actor, target=f"statement {statement.code}")
    db.session.flush()


def check_translations(study: Study, translations: dict[str, str] | None) -> tuple[dict[str, str], list[Problem]]:
    """A statement's text in other languages, cleaned, and a problem for each not offered by the study or too long."""
    allowed = offered(study.language, study.languages)
    others, problems = {}, []
    for lang, text in (translations or {}).items():
        text = clean_text(text, MAX_TEXT + 1)
        if lang == study.language or lang not in allowed:
            problems.append(Problem(_("the study does not offer %(language)s besides its own language",
                                      language=lang), field=f"text_{lang}"))
        elif len(text) > MAX_TEXT:
            problems.append(Problem(_("the statement text has %(count)s characters; the limit is %(limit)s",
                                      count=len(text), limit=MAX_TEXT), field=f"text_{lang}"))
        elif text:
            others[lang] = text
    return others, problems


def translate_statement(statement: Statement, translations: dict[str, str], reason: str,
                        actor: StaffUser | None) -> list[str]:
    """Set ``statement``'s text in the study's other languages, at any time (a translation is not the wording the
    panel rates: the study language's text is). Once panellists have been shown the statement (round 1 has opened),
    each changed language is kept in the item history as a ``translated`` revision with the old and new text and
    ``reason``, which is then required, as a correction's is; an open round's pages show the new text at once.
    Returns the languages changed; ``StatementError`` naming the field when it cannot be done."""
    study = statement.study
    others, errors = check_translations(study, translations)
    reason = clean_text(reason, MAX_REASON + 1)
    before = dict((statement.translations or {}).get("text", {}))
    changed = sorted(lang for lang in set(before) | set(others) if before.get(lang, "") != others.get(lang, ""))
    if changed and study.is_locked:
        if not reason:
            errors.append(Problem(_("Say why the translation changes (for example: “clearer wording in English”)."),
                                  field="reason"))
        elif len(reason) > MAX_REASON:
            errors.append(Problem(_("The reason has more than %(limit)s characters.", limit=MAX_REASON),
                                  field="reason"))
    if errors:
        raise StatementError(errors)
    if not changed:
        return []
    statement.translations = {"text": others} if others else {}
    current = study.current_round
    if study.is_locked:
        number = current.number if current is not None else None
        for lang in changed:
            statement.revisions.append(StatementRevision(
                kind=RevisionKind.translated, round_number=number, text=others.get(lang, ""),
                previous_text=before.get(lang, ""), reason=f"[{lang}] {reason}",
                created_by_id=actor.id if actor else None))
    if current is not None and current.is_open:
        current.wording_version += 1  # the round's cached pages (answers.round_pages) are read again
    audit.record("statement.translate", study=study, actor=actor, target=f"statement {statement.code}",
                 languages=changed)
    db.session.flush()
    return changed


def delete_statement(statement: Statement, actor: StaffUser | None) -> None:
    study = statement.study
    study.statements.remove(statement)
    renumber(study)
    audit.record("statement.delete", study=study, actor=actor, target=f"statement {statement.code}")
    db.session.flush()


def move_statement(statement: Statement, offset: int) -> None:
    """Move a statement up (-1) or down (+1) in the study's order."""
    ordered = list(statement.study.statements)
    i = ordered.index(statement)
    j = min(max(i + offset, 0), len(ordered) - 1)
    ordered.insert(j, ordered.pop(i))
    for position, item in enumerate(ordered):
        item.position = position
    db.session.flush()


def renumber(study: Study) -> None:
    for position, item in enumerate(sorted(study.statements, key=lambda s: s.position)):
        item.position = position


@dataclass(frozen=True)
class BankStatement:
    code: str
    domain: str
    text: str
    added: bool  # the study already has a statement with this code


def bank_statements(study: Study) -> dict[str, list[BankStatement]]:
    """The built-in bank's statements by domain (in the bank's order), each marked when the study has its code."""
    taken = {s.code for s in study.statements}
    by_domain: dict[str, list[BankStatement]] = {}
    for spec in load_protocol(statement_bank(study.language)).statements:
        by_domain.setdefault(spec.domain, []).append(BankStatement(spec.code, spec.domain, spec.text,
                                                                   spec.code in taken))
    return by_domain


def add_from_bank(study: Study, actor: StaffUser | None, codes: set[str] | None = None) -> int:
    """Add the built-in bank's statements (only those in ``codes`` when given) whose codes the study does not use
    yet, in the study's language; returns how many. A code that is not in the bank is refused with ``StatementError`` before anything is
    added."""
    bank = load_protocol(statement_bank(study.language)).statements
    if codes is not None and (unknown := codes - {spec.code for spec in bank}):
        raise StatementError([Problem(_("%(codes)s is not in the statement bank.", codes=", ".join(sorted(unknown))),
                                      field="codes")])
    taken = {s.code for s in study.statements}
    rows = [s for s in bank if s.code not in taken and (codes is None or s.code in codes)]
    # The bank is written in each app language with the same codes: a study offering others gets their texts too.
    others = {lang: {spec.code: spec.text for spec in load_protocol(statement_bank(lang)).statements}
              for lang in offered(study.language, study.languages)[1:] if statement_bank(lang) != statement_bank(
                  study.language)}
    for spec in rows:
        add_statement(study, spec.code, spec.domain, spec.text, actor,
                      translations={lang: texts[spec.code] for lang, texts in others.items() if spec.code in texts})
    if codes is not None:
        audit.record("statement.bank", study=study, actor=actor, target=f"study {study.id}", count=len(rows))
    return len(rows)


# A correction fixes a typo: a wording that keeps less than this share of the old one (difflib's ratio, 2 x matching
# characters / both lengths) is a new statement, which goes through the review between rounds.
CORRECTION_SIMILARITY = 0.8
MAX_REASON = 500


def correctable_round(statement: Statement) -> Round:
    """The open rating round that shows ``statement``, whose wording a correction changes; ``DomainError`` if none."""
    current = statement.study.current_round
    if current is None or not current.is_open or not any(rs.statement_id == statement.id for rs in current.statements):
        raise DomainError(_("A statement can be corrected only while a round that shows it is open."))
    return current


def check_correction(statement: Statement, text: str, reason: str) -> tuple[str, str]:
    """The new wording and the reason, cleaned; ``StatementError`` naming the field when one will not do."""
    round_ = correctable_round(statement)
    old = _round_statement(round_, statement).text
    text, reason = clean_text(text, MAX_TEXT + 1), clean_text(reason, MAX_REASON + 1)
    errors = []
    if not text:
        errors.append(Problem(_("Write the corrected statement."), field="text"))
    elif len(text) > MAX_TEXT:
        errors.append(Problem(_("The statement has %(count)s characters; the limit is %(limit)s.", count=len(text),
                                limit=MAX_TEXT), field="text"))
    elif text == old:
        errors.append(Problem(_("The wording is the same as before: change the text, or go back."), field="text"))
    elif SequenceMatcher(None, old, text).ratio() < CORRECTION_SIMILARITY:
        errors.append(Problem(_("That changes more than a typo. A new wording changes what panellists rate: reword "
                                "the statement on the review page between rounds instead."), field="text"))
    if not reason:
        errors.append(Problem(_("Say what the correction fixes (for example: “spelling of ‘recieve’”)."),
                              field="reason"))
    elif len(reason) > MAX_REASON:
        errors.append(Problem(_("The reason has more than %(limit)s characters.", limit=MAX_REASON), field="reason"))
    if errors:
        raise StatementError(errors)
    return text, reason


def _round_statement(round_: Round, statement: Statement) -> RoundStatement:
    return next(rs for rs in round_.statements if rs.statement_id == statement.id)


def correct_statement(statement: Statement, text: str, reason: str, actor: StaffUser | None) -> StatementRevision:
    """Correct a typo in ``statement``'s wording in the open round that shows it: the round's wording and the
    statement's change, the item history keeps a ``correction`` revision with the old text, the reason, who and
    when, and the audit log records it. Answers already given stay; those panellists are shown the correction
    (:func:`corrections_for`). ``StatementError`` or ``DomainError`` when it cannot be done."""
    text, reason = check_correction(statement, text, reason)
    round_ = correctable_round(statement)
    shown = _round_statement(round_, statement)
    revision = StatementRevision(kind=RevisionKind.correction, round_number=round_.number, text=text,
                                 previous_text=shown.text, reason=reason, created_by_id=actor.id if actor else None)
    statement.revisions.append(revision)
    shown.text = statement.text = text
    round_.wording_version += 1
    db.session.flush()
    audit.record("statement.correct", study=statement.study, actor=actor, target=f"statement {statement.code}",
                 round=round_.number, revision=revision.id)
    db.session.flush()
    return revision


@dataclass(frozen=True)
class Correction:
    """What a panellist who answered before a correction reads beside the statement."""

    corrected_at: datetime
    old: str
    new: str


def corrections_for(panellist: Panellist, round_: Round, statement_ids: list[int] | None = None
                    ) -> dict[int, Correction]:
    """The statements of ``round_`` corrected since ``panellist`` last saved their answer to them, by statement id:
    the wording they answered and the wording now. Shown until they save that statement again (their answer then
    stands for the corrected wording); statements they had not answered need no notice."""
    rows = db.session.execute(
        sa.select(StatementRevision.statement_id, StatementRevision.created_at, StatementRevision.previous_text,
                  StatementRevision.text)
        .join(Rating, sa.and_(Rating.statement_id == StatementRevision.statement_id,
                              Rating.panellist_id == panellist.id, Rating.round_id == round_.id))
        .join(Statement, Statement.id == StatementRevision.statement_id)
        .where(Statement.study_id == round_.study_id, StatementRevision.kind == RevisionKind.correction,
               StatementRevision.round_number == round_.number, StatementRevision.created_at > Rating.updated_at,
               *([StatementRevision.statement_id.in_(statement_ids)] if statement_ids is not None else []))
        .order_by(StatementRevision.id)).all()
    found: dict[int, Correction] = {}
    for statement_id, at, old, new in rows:
        earlier = found.get(statement_id)
        found[statement_id] = Correction(at, earlier.old if earlier else old or "", new)
    return found


def parse_statements_csv(content: str, study: Study) -> list[StatementRow]:
    """Read ``code,domain,text`` rows (a header row is optional; with one, ``text_en``, ``text_nb`` columns may
    follow with the text in the study's other languages); raises StatementError naming every bad line."""
    rows = read_rows(content, StatementError)
    start, languages = 1, []
    errors: list[Problem | str] = []
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header[:3] == ["code", "domain", "text"]:
        rows, start, languages = rows[1:], 2, [column.removeprefix("text_") for column in header[3:]]
        allowed = offered(study.language, study.languages)
        for column, lang in zip(header[3:], languages):
            if not column.startswith("text_") or lang == study.language or lang not in allowed:
                errors.append(_("the column %(column)s is not a text in one of the study's other languages (%(known)s)",
                                column=repr(column), known=", ".join(f"text_{code}" for code in allowed[1:]) or "-"))
    columns = 3 + len(languages)
    taken = {s.code for s in study.statements}
    parsed: list[StatementRow] = []
    if len(rows) > MAX_IMPORT_ROWS:
        raise StatementError([_("the file has %(count)s rows; import at most %(limit)s at a time", count=len(rows),
                                limit=MAX_IMPORT_ROWS)])
    for line, cells in enumerate(rows, start=start):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != columns:
            errors.append(Problem(_("line %(line)s: expected 3 columns (code, domain, text), found %(count)s",
                                    line=line, count=len(cells)), line=line) if columns == 3 else
                          Problem(_("line %(line)s: expected %(expected)s columns, as in the header, found %(count)s",
                                    line=line, expected=columns, count=len(cells)), line=line))
            continue
        code, domain, text = cells[0].strip(), clean_text(cells[1], 201), clean_text(cells[2], MAX_TEXT + 1)
        code = code or next_code(study, taken)
        problems = check_statement(code, domain, text, taken=taken)
        others, more = check_translations(study, {lang: cell for lang, cell in zip(languages, cells[3:])
                                                  if lang in offered(study.language, study.languages)
                                                  and lang != study.language})
        problems.extend(more)
        errors.extend(Problem(_("line %(line)s: %(problem)s", line=line, problem=p.message), field=p.field, line=line)
                      for p in problems)
        taken.add(code)
        parsed.append(StatementRow(line, code, domain, text, tuple(sorted(others.items()))))
    if not parsed and not errors:
        errors.append(_("the file has no statements"))
    if len(study.statements) + len(parsed) > MAX_STATEMENTS:
        errors.append(_("the study has %(count)s statements and the file %(more)s more; the limit is %(limit)s "
                        "statements in a study", count=len(study.statements), more=len(parsed), limit=MAX_STATEMENTS))
    if errors:
        raise StatementError(errors)
    return parsed


def import_statements(study: Study, rows: list[StatementRow], actor: StaffUser | None) -> int:
    for row in rows:
        add_statement(study, row.code, row.domain, row.text, actor, translations=dict(row.translations))
    audit.record("statement.import", study=study, actor=actor, target=f"study {study.id}", count=len(rows))
    return len(rows)


def write_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[neutralise(str(c)) for c in row] for row in rows])
    return out.getvalue()


def statements_csv(study: Study) -> str:
    """``code,domain,text`` and, when the study offers other languages, a ``text_<language>`` column for each."""
    others = [lang for lang in offered(study.language, study.languages) if lang != study.language]
    rows = [[s.code, s.domain, s.text, *((s.translations or {}).get("text", {}).get(lang, "") for lang in others)]
            for s in study.statements if s.status is not StatementStatus.merged]
    return write_csv(["code", "domain", "text", *(f"text_{lang}" for lang in others)], rows)
