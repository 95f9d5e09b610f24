"""The study's statements: list, add, edit, reorder, delete, the built-in bank (all or chosen statement by statement),
CSV import (preview first) and export. Before round 1 only; afterwards wording changes go through the review between
rounds, except the correction of a typo in an open round (old and new wording on a confirm page, a reason, kept in the
item history)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import (
    ActionForm, ConfirmForm, CorrectionForm, CsvConfirmForm, CsvUploadForm, StatementForm, TranslationForm,
    show_problems,
)
from delphi.facilitate.uploads import download, uploaded_text
from delphi.models import DomainError, Statement
from delphi.services.statements import (
    StatementError, add_from_bank, add_statement, bank_statements, check_correction, correct_statement,
    correctable_round, delete_statement, edit_statement as update_statement, import_statements as add_imported_statements,
    move_statement, parse_statements_csv, statements_csv, translate_statement,
)
from delphi.services.study_setup import require_unlocked


def _editable(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    return study


def _locked_redirect(study, exc: DomainError):
    flash(_("%(reason)s Reword, merge or add statements on the review page between rounds.", reason=exc), "error")
    return redirect(url_for("facilitate.statements", study_id=study.id), code=303)


@bp.route("/<int:study_id>/statements", methods=["GET", "POST"])
@login_required
def statements(study_id: int):
    study, role = get_study_or_404(study_id)
    form = StatementForm().for_study(study)
    if form.is_submitted():
        study = _editable(study_id)
        if form.validate():
            try:
                require_unlocked(study, "statements")
                add_statement(study, form.code.data or "", form.domain.data or "", form.text.data, current_user,
                              translations=form.translations())
            except DomainError as exc:
                return _locked_redirect(study, exc)
            except StatementError as exc:
                form.text.errors.extend(exc.errors)
            else:
                db.session.commit()
                flash(_("The statement has been added."), "success")
                return redirect(url_for("facilitate.statements", study_id=study.id) + "#add", code=303)
    return render_template("facilitate/statements.html", study=study, role=role, form=form, action=ActionForm(),
                           upload=CsvUploadForm()), 422 if form.errors else 200


@bp.route("/<int:study_id>/statements/<int:statement_id>", methods=["GET", "POST"])
@login_required
def edit_statement(study_id: int, statement_id: int):
    study = _editable(study_id)
    statement = get_in_study_or_404(Statement, statement_id, study)
    form = StatementForm(obj=statement, data={f"text_{lang}": text for lang, text in
                                              (statement.translations or {}).get("text", {}).items()}).for_study(study)
    if form.validate_on_submit():
        try:
            require_unlocked(study, "statements")
            update_statement(statement, form.code.data or "", form.domain.data or "", form.text.data, current_user,
                             translations=form.translations())
        except DomainError as exc:
            return _locked_redirect(study, exc)
        except StatementError as exc:
            db.session.rollback()
            form.text.errors.extend(exc.errors)
        else:
            db.session.commit()
            flash(_("Statement %(code)s has been saved.", code=statement.code), "success")
            return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    return render_template("facilitate/statement_edit.html", study=study, statement=statement,
                           form=form), 422 if form.errors else 200


@bp.post("/<int:study_id>/statements/<int:statement_id>/<any(up, down):action>")
@login_required
def statement_action(study_id: int, statement_id: int, action: str):
    study = _editable(study_id)
    statement = get_in_study_or_404(Statement, statement_id, study)
    if ActionForm().validate_on_submit():
        try:
            require_unlocked(study, "statements")
        except DomainError as exc:
            return _locked_redirect(study, exc)
        move_statement(statement, -1 if action == "up" else 1)
        db.session.commit()
    return redirect(url_for("facilitate.statements", study_id=study.id) + f"#s{statement.id}", code=303)


@bp.route("/<int:study_id>/statements/<int:statement_id>/delete", methods=["GET", "POST"],
          endpoint="delete_statement")
@login_required
def delete_statement_page(study_id: int, statement_id: int):
    """Say which statement goes and what that means; delete it when that page's button is pressed."""
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    statement = get_in_study_or_404(Statement, statement_id, study)
    try:
        require_unlocked(study, "statements")
    except DomainError as exc:
        return _locked_redirect(study, exc)
    form = ConfirmForm()
    if form.confirmed():
        code = statement.code
        delete_statement(statement, current_user)
        db.session.commit()
        flash(_("Statement %(code)s has been deleted.", code=code), "success")
        return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    if form.is_submitted():
        return redirect(url_for("facilitate.delete_statement", study_id=study.id, statement_id=statement.id), code=303)
    return render_template("facilitate/confirm_delete_statement.html", study=study, role=role, form=form,
                           statement=statement)


@bp.route("/<int:study_id>/statements/bank", methods=["GET", "POST"])
@login_required
def statements_from_bank(study_id: int):
    """The bank's statements by domain with a box to tick each (those already added shown as added); a POST adds the
    ticked ones, or the whole bank when it names none (the statements page's "add all" button)."""
    study = _editable(study_id)
    try:
        require_unlocked(study, "statements")
    except DomainError as exc:
        return _locked_redirect(study, exc)
    form = ActionForm()
    if form.validate_on_submit():
        chosen = set(request.form.getlist("codes"))
        if request.form.get("choose") == "yes" and not chosen:
            flash(_("Tick the statements to add, then press “Add the chosen statements”."), "error")
            return redirect(url_for("facilitate.statements_from_bank", study_id=study.id), code=303)
        try:
            added = add_from_bank(study, current_user, chosen or None)
        except StatementError as exc:
            db.session.rollback()
            flash(" ".join(exc.errors), "error")
            return redirect(url_for("facilitate.statements_from_bank", study_id=study.id), code=303)
        db.session.commit()
        flash(_("%(count)s statements from the statement bank have been added.", count=added), "success")
        return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    if request.method == "POST":
        return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    return render_template("facilitate/statements_bank.html", study=study, form=form, bank=bank_statements(study))


@bp.route("/<int:study_id>/statements/<int:statement_id>/correct", methods=["GET", "POST"])
@login_required
def correct_statement_page(study_id: int, statement_id: int):
    """Correct a typo in an open round: the new wording and a reason, then a page with the old and new wording side
    by side whose button makes the correction."""
    study = _editable(study_id)
    statement = get_in_study_or_404(Statement, statement_id, study)
    try:
        round_ = correctable_round(statement)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    shown = next(rs for rs in round_.statements if rs.statement_id == statement.id)
    form = CorrectionForm(data=None if request.method == "POST" else {"text": shown.text})
    if form.validate_on_submit():
        try:
            text, reason = check_correction(statement, form.text.data, form.reason.data)
            if form.confirm.data == "yes":
                correct_statement(statement, text, reason, current_user)
        except StatementError as exc:
            db.session.rollback()
            show_problems(form, exc, form.text)
        else:
            if form.confirm.data != "yes":
                return render_template("facilitate/statement_correct_confirm.html", study=study, round=round_,
                                       statement=statement, old=shown.text, new=text, reason=reason, form=form)
            db.session.commit()
            flash(_("Statement %(code)s has been corrected. Panellists who had answered it are shown the "
                    "correction.", code=statement.code), "success")
            return redirect(url_for("facilitate.statements", study_id=study.id) + f"#s{statement.id}", code=303)
    return render_template("facilitate/statement_correct.html", study=study, round=round_, statement=statement,
                           old=shown.text, form=form), 422 if form.errors else 200


@bp.route("/<int:study_id>/statements/<int:statement_id>/translations", methods=["GET", "POST"])
@login_required
def translate_statement_page(study_id: int, statement_id: int):
    """A statement's text in the study's other languages, at any time; after round 1 each change needs a reason and
    is kept in the item history (issue 21)."""
    study = _editable(study_id)
    statement = get_in_study_or_404(Statement, statement_id, study)
    form = TranslationForm(data={f"text_{lang}": text for lang, text in
                                 (statement.translations or {}).get("text", {}).items()}).for_study(study)
    if not form.other_languages:
        flash(_("The study offers only its own language. Add a language on the texts page first."), "error")
        return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
    if form.validate_on_submit():
        try:
            translate_statement(statement, form.translations(), form.reason.data or "", current_user)
        except StatementError as exc:
            db.session.rollback()
            show_problems(form, exc, form.reason)
        else:
            db.session.commit()
            flash(_("The translations of statement %(code)s have been saved.", code=statement.code), "success")
            return redirect(url_for("facilitate.statements", study_id=study.id) + f"#s{statement.id}", code=303)
    return render_template("facilitate/statement_translate.html", study=study, statement=statement,
                           form=form), 422 if form.errors else 200


@bp.post("/<int:study_id>/statements/import")
@login_required
def import_statements(study_id: int):
    """Check an uploaded CSV and show a preview (nothing written); the preview's button posts it back to confirm."""
    study = _editable(study_id)
    upload, confirm = CsvUploadForm(), CsvConfirmForm()
    rows, errors = [], []
    if confirm.validate_on_submit() and confirm.content.data:
        content = confirm.content.data
    elif upload.validate_on_submit():
        content = uploaded_text(upload.file, spreadsheet=True)
        errors = list(upload.file.errors)
    else:
        content = None
    if content is not None:
        try:
            require_unlocked(study, "statements")
            rows = parse_statements_csv(content, study)
        except DomainError as exc:
            return _locked_redirect(study, exc)
        except StatementError as exc:
            errors = exc.errors
        if rows and confirm.content.data:
            count = add_imported_statements(study, rows, current_user)
            db.session.commit()
            flash(ngettext("%(num)d statement has been imported.", "%(num)d statements have been imported.", count), "success")
            return redirect(url_for("facilitate.statements", study_id=study.id), code=303)
        confirm.content.data = content
    return render_template("facilitate/statements_import.html", study=study, rows=rows, errors=errors,
                           confirm=confirm), 422 if errors or not rows else 200


@bp.get("/<int:study_id>/statements.csv")
@login_required
def export_statements(study_id: int):
    study, _role = get_study_or_404(study_id)
    return download(statements_csv(study), f"study-{study.id}-statements.csv")
