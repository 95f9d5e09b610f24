"""An open first round: its questions while the study is set up, and the page where the facilitator turns the
answers into statements (each linked to the answers it came from) before the first rating round."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import LANGUAGE_CHOICES, ActionForm, StatementTexts, options
from delphi.models import DomainError, OpenQuestion, Statement, StatementStatus, StudyRole
from delphi.services.open_answers import (
    AnswerChoiceError, MAX_QUESTION, add_question, answer_rows, answer_sources, can_write_statements, edit_question,
    link_answers, move_question, open_round_of, remove_question, statement_from_answers,
)
from delphi.services.statements import StatementError


class QuestionForm(StatementTexts, FlaskForm):
    text = TextAreaField(_l("Question"), validators=[
        DataRequired(_l("Write the question.")),
        Length(max=MAX_QUESTION, message=_l("Use at most %(count)s characters.", count=MAX_QUESTION))])
    # text_en, text_nb (added below): the question in the study's other languages (issue 21).

    @staticmethod
    def text_label(language: str) -> str:
        return _("Question (%(language)s)", language=language)


for _code, _name in LANGUAGE_CHOICES:
    setattr(QuestionForm, f"text_{_code}", TextAreaField(
        _l("Question (%(language)s)", language=_name),
        validators=[Optional(), Length(max=MAX_QUESTION, message=_l("Use at most %(count)s characters.",
                                                                    count=MAX_QUESTION))]))


class AnswersForm(FlaskForm):
    """One form around the answers' checkboxes, with a button for each use of the ticked answers."""

    answers = SelectMultipleField(_l("Answers"), coerce=int, validate_choice=False)
    code = StringField(_l("Code"), validators=[Optional(), Length(max=40, message=_l("Use at most 40 characters."))])
    domain = StringField(_l("Domain"), validators=[Length(max=200, message=_l("Use at most 200 characters."))])
    text = TextAreaField(_l("Statement"), validators=[Length(max=2000, message=_l("Use at most 2000 characters."))])
    statement = SelectField(_l("Statement to link the ticked answers to"), coerce=int, validate_choice=False)
    create = SubmitField(_l("Make a statement from the ticked answers"))
    link = SubmitField(_l("Link the ticked answers to this statement"))

    def check(self) -> bool:
        """Validate for the button pressed: a new statement needs its text; a link needs a statement."""
        self.validate()
        # WTForms' messages for values that are not numbers, in plain words (and only for the button pressed).
        if self.answers.errors:
            self.answers.errors = [_("Tick the answers again; the form sent something that is not an answer.")]
        if self.statement.errors or self.create.data:
            self.statement.errors = [_("Choose the statement to link the answers to.")] if self.link.data else []
        if not self.answers.errors and not self.answers.data:
            self.answers.errors.append(_("Tick at least one answer the statement comes from."))
        if self.create.data and not (self.text.data or "").strip():
            self.text.errors.append(_("Write the statement."))
        if self.link.data and not self.statement.data:
            self.statement.errors.append(_("Choose the statement to link the answers to."))
        return not any(field.errors for field in self)


@bp.context_processor
def _statement_sources():
    """Lets the console's statement lists say which answers a statement came from (one query, when asked)."""
    return {"answer_sources": answer_sources}


def _question_saved(form, save) -> bool:
    """Run ``save()`` and commit; a refusal goes on the question's field instead (and nothing is kept)."""
    try:
        save()
    except DomainError as exc:
        form.text.errors.append(str(exc))
    except StatementError as exc:
        db.session.rollback()
        form.text.errors.extend(e[0].upper() + e[1:] + "." for e in exc.errors)
    else:
        db.session.commit()
        return True
    return False


def _questions_page(study, role, form, status=200):
    return render_template("facilitate/open_answers_questions.html", study=study, role=role, form=form,
                           action=ActionForm()), status


@bp.route("/<int:study_id>/questions", methods=["GET", "POST"])
@login_required
def open_questions(study_id: int):
    study, role = get_study_or_404(study_id)
    form = QuestionForm().for_study(study)
    if form.is_submitted():
        study, role = get_study_or_404(study_id, RUNNING_ROLES)
        if form.validate() and _question_saved(form, lambda: add_question(study, form.text.data, current_user,
                                                                          form.translations())):
            flash(_("The question has been added. The study will begin with an open round."), "success")
            return redirect(url_for("facilitate.open_questions", study_id=study.id), code=303)
    return _questions_page(study, role, form, 422 if form.errors else 200)


@bp.route("/<int:study_id>/questions/<int:question_id>", methods=["GET", "POST"])
@login_required
def edit_open_question(study_id: int, question_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    question = get_in_study_or_404(OpenQuestion, question_id, study)
    form = QuestionForm(obj=question, data={f"text_{lang}": text for lang, text in
                                            (question.translations or {}).get("text", {}).items()}).for_study(study)
    if form.validate_on_submit() and _question_saved(form, lambda: edit_question(question, form.text.data,
                                                                                 current_user, form.translations())):
        flash(_("The question has been saved."), "success")
        return redirect(url_for("facilitate.open_questions", study_id=study.id), code=303)
    return render_template("facilitate/open_answers_question_edit.html", study=study, role=role, form=form,
                           question=question), 422 if form.errors else 200


@bp.post("/<int:study_id>/questions/<int:question_id>/<any(up, down, delete):action>")
@login_required
def open_question_action(study_id: int, question_id: int, action: str):
    study, _role = get_study_or_404(study_id, RUNNING_ROLES)
    question = get_in_study_or_404(OpenQuestion, question_id, study)
    if ActionForm().validate_on_submit():
        try:
            if action == "delete":
                remove_question(question, current_user)
            else:
                move_question(question, -1 if action == "up" else 1, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            if action == "delete":
                flash(_("The question has been removed.") if study.open_questions else
                      _("The question has been removed. Without questions, the study begins with a rating round."),
                      "success")
    return redirect(url_for("facilitate.open_questions", study_id=study.id), code=303)


def _filters(source) -> tuple[int | None, str]:
    raw = (source.get("question") or "").strip()
    question_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    return question_id, (source.get("search") or "")[:200]


def _answers_page(study, role, form, status=200):
    question_id, search = _filters(request.values)
    form.statement.choices = options([(0, _("Choose a statement"))] + [
        (s.id, f"{s.code}: {s.text[:80]}") for s in study.statements if s.status is StatementStatus.active])
    rows = answer_rows(study, question_id, search)
    by_question = {q.id: [r for r in rows if r.question_id == q.id] for q in study.open_questions}
    return render_template(
        "facilitate/open_answers.html", study=study, role=role, form=form, round=open_round_of(study),
        can_edit=role is not StudyRole.researcher and can_write_statements(study), by_question=by_question,
        total=len(rows), question_id=question_id, search=search, ticked=set(form.answers.data or ()),
        sources=answer_sources(study),
    ), status


@bp.route("/<int:study_id>/open-answers", methods=["GET", "POST"])
@login_required
def open_answers(study_id: int):
    study, role = get_study_or_404(study_id)
    form = AnswersForm()
    if not form.is_submitted():
        return _answers_page(study, role, form)
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    if form.check():
        try:
            if form.create.data:
                made = statement_from_answers(study, form.code.data or "", form.domain.data or "",
                                              form.text.data, form.answers.data, current_user)
                message = ngettext("Statement %(code)s has been made from %(num)d answer.",
                                   "Statement %(code)s has been made from %(num)d answers.",
                                   len(form.answers.data), code=made.code)
            else:
                statement = get_in_study_or_404(Statement, form.statement.data, study)
                added = link_answers(statement, form.answers.data, current_user)
                message = ngettext("Statement %(code)s is now linked to %(num)d more answer.",
                                   "Statement %(code)s is now linked to %(num)d more answers.", added,
                                   code=statement.code)
        except DomainError as exc:
            db.session.rollback()
            form.answers.errors.append(str(exc))
        except AnswerChoiceError as exc:
            db.session.rollback()
            form.answers.errors.extend(e[0].upper() + e[1:] + "." for e in exc.errors)
        except StatementError as exc:
            db.session.rollback()
            form.text.errors.extend(e[0].upper() + e[1:] + "." for e in exc.errors)
        else:
            db.session.commit()
            flash(message, "success")
            question_id, search = _filters(request.form)
            return redirect(url_for("facilitate.open_answers", study_id=study.id, question=question_id,
                                    search=search or None) + "#made", code=303)
    return _answers_page(study, role, form, 422)
