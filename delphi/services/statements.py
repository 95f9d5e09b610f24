"""A study's statements before round 1: add, edit, reorder, start from the built-in bank, import and export CSV."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _

from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.models import (
    RevisionKind,
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
        errors.append(Problem(_("the code %(code)s may use only letters, digits, '-', '_' and '.' (at most 40)",
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
                  kind: RevisionKind = RevisionKind.created, suggestion_id: int | None = None) -> Statement:
    """Add an active statement at the end (it goes into the next round that opens)."""
    code, domain, text = code.strip() or next_code(study), clean_text(domain, 200), clean_text(text, MAX_TEXT + 1)
    errors = check_statement(code, domain, text, taken={s.code for s in study.statements})
    if len(study.statements) >= MAX_STATEMENTS:
        errors.append(Problem(_("the study has %(count)s statements; the limit is %(limit)s",
                                count=len(study.statements), limit=MAX_STATEMENTS), field="text"))
    if errors:
        raise StatementError(errors)
    round_number = (study.current_round.number + 1) if study.current_round else None
    statement = Statement(code=code, domain=domain, text=text, position=len(study.statements))
    statement.revisions.append(StatementRevision(
        kind=kind, text=text, round_number=round_number, suggestion_id=suggestion_id,
        created_by_id=actor.id if actor else None))
    study.statements.append(statement)
    db.session.flush()
    audit.record("statement.add", study=study, actor=actor, target=f"statement {statement.code}")
    return statement


def edit_statement(statement: Statement, code: str, domain: str, text: str, actor: StaffUser | None) -> None:
    """Change a statement before round 1 (afterwards, rewording goes through the review between rounds)."""
    code, domain, text = code.strip() or statement.code, clean_text(domain, 200), clean_text(text, MAX_TEXT + 1)
    taken = {s.code for s in statement.study.statements if s.id != statement.id}
    errors = check_statement(code, domain, text, taken=taken)
    if errors:
        raise StatementError(errors)
    statement.code, statement.domain, statement.text = code, domain, text
    created = [r for r in statement.revisions if r.kind is RevisionKind.created and r.round_number is None]
    if created:
        created[-1].text = text
    audit.record("statement.edit", study=statement.study, actor=actor, target=f"statement {statement.code}")
    db.session.flush()


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


def add_from_bank(study: Study, actor: StaffUser | None) -> int:
    """Add the built-in bank's statements whose codes the study does not use yet, in the study's language; returns
    how many."""
    taken = {s.code for s in study.statements}
    rows = [s for s in load_protocol(statement_bank(study.language)).statements if s.code not in taken]
    for spec in rows:
        add_statement(study, spec.code, spec.domain, spec.text, actor)
    return len(rows)


def parse_statements_csv(content: str, study: Study) -> list[StatementRow]:
    """Read ``code,domain,text`` rows (a header row is optional); raises StatementError naming every bad line."""
    rows = read_rows(content, StatementError)
    start = 1
    if rows and [c.strip().lower() for c in rows[0]] == ["code", "domain", "text"]:
        rows, start = rows[1:], 2
    errors: list[Problem | str] = []
    taken = {s.code for s in study.statements}
    parsed: list[StatementRow] = []
    if len(rows) > MAX_IMPORT_ROWS:
        raise StatementError([_("the file has %(count)s rows; import at most %(limit)s at a time", count=len(rows),
                                limit=MAX_IMPORT_ROWS)])
    for line, cells in enumerate(rows, start=start):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != 3:
            errors.append(Problem(_("line %(line)s: expected 3 columns (code, domain, text), found %(count)s",
                                    line=line, count=len(cells)), line=line))
            continue
        code, domain, text = cells[0].strip(), clean_text(cells[1], 201), clean_text(cells[2], MAX_TEXT + 1)
        code = code or next_code(study, taken)
        problems = check_statement(code, domain, text, taken=taken)
        errors.extend(Problem(_("line %(line)s: %(problem)s", line=line, problem=p.message), field=p.field, line=line)
                      for p in problems)
        taken.add(code)
        parsed.append(StatementRow(line, code, domain, text))
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
        add_statement(study, row.code, row.domain, row.text, actor)
    audit.record("statement.import", study=study, actor=actor, target=f"study {study.id}", count=len(rows))
    return len(rows)


def write_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[neutralise(str(c)) for c in row] for row in rows])
    return out.getvalue()


def statements_csv(study: Study) -> str:
    rows = [[s.code, s.domain, s.text] for s in study.statements if s.status is not StatementStatus.merged]
    return write_csv(["code", "domain", "text"], rows)
