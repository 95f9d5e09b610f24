"""Between rounds: the review of every statement with its figures, the facilitator's decisions, suggestions and
comments. Each POST does one decision and comes back here (post-redirect-get); a refused one re-renders the page
with the form as typed and the reason."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import options, ActionForm, DecisionForm, MergeForm, RewordForm, SuggestionDecisionForm
from delphi.models import DomainError, Statement, StatementStatus, Suggestion, SuggestionStatus
from delphi.services.review import (
    accept_suggestion, approve_comments, comments, decide, decline_suggestion, merge, merge_suggestion,
    require_review_round, review_items, review_round, reword, round_statement, stopping_status, suggestions,
)


def _active_choices(study) -> list[tuple[int, str]]:
    return options((s.id, f"{s.code}: {s.text[:80]}") for s in study.statements
                   if s.status is StatementStatus.active)


def _merge_form(study, formdata=None) -> MergeForm:
    form = MergeForm(formdata=formdata)
    form.absorbed.choices = form.kept.choices = _active_choices(study)
    return form


def _suggestion_form(study, suggestion, **kwargs) -> SuggestionDecisionForm:
    form = SuggestionDecisionForm(prefix=f"g{suggestion.id}", data={"text": suggestion.text,
                                                                     "domain": suggestion.domain}, **kwargs)
    form.target.choices = _active_choices(study)
    return form


@dataclass(frozen=True)
class RefusedAction:
    """A decision the review page refused, shown again with its form as typed and the reason."""

    action: str  # "decide", "reword", "merge" or "suggestion"
    target_id: int  # the statement decided on or reworded, the suggestion, or 0 for a merge
    form: FlaskForm


def _page(study, role, failed: RefusedAction | None = None):
    round_ = review_round(study)
    items = review_items(round_) if round_ else []
    merge_form = failed.form if failed and failed.action == "merge" else _merge_form(study, formdata=None)
    return render_template(
        "facilitate/review.html", study=study, role=role, round=round_, items=items, suggestions=suggestions(study),
        comments=comments(round_) if round_ else [], failed=failed, merge_form=merge_form,
        action=ActionForm(), DecisionForm=DecisionForm, RewordForm=RewordForm,
        suggestion_form=lambda g: _suggestion_form(study, g, formdata=None),
        pending=SuggestionStatus.pending, stopping=stopping_status(study),
    ), 422 if failed else 200


def _back(study, anchor: str = ""):
    return redirect(url_for("facilitate.review", study_id=study.id) + anchor, code=303)


def _round_or_back(study):
    try:
        return require_review_round(study)
    except DomainError as exc:
        flash(str(exc), "error")
        return None


@bp.get("/<int:study_id>/review")
@login_required
def review(study_id: int):
    study, role = get_study_or_404(study_id)
    return _page(study, role)


@bp.post("/<int:study_id>/review/<int:statement_id>/<any(decide, reword):action>")
@login_required
def review_statement(study_id: int, statement_id: int, action: str):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    statement = get_in_study_or_404(Statement, statement_id, study)
    if (round_ := _round_or_back(study)) is None:
        return _back(study)
    form = DecisionForm(prefix=f"d{statement.id}") if action == "decide" else RewordForm(prefix=f"r{statement.id}")
    if form.validate_on_submit():
        try:
            if action == "decide":
                rs = round_statement(round_, statement.id)
                if rs is None:
                    raise DomainError(_("Statement %(code)s was not in round %(number)s.", code=statement.code,
                                         number=round_.number))
                decide(round_, rs, form.carry_forward.data == "yes", form.reason.data or "", current_user)
            else:
                reword(round_, statement, form.text.data, form.reason.data or "", current_user)
        except DomainError as exc:
            db.session.rollback()
            (form.reason if action == "decide" else form.text).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Statement %(code)s: your decision has been saved.", code=statement.code), "success")
            return _back(study, f"#s{statement.id}")
    return _page(study, role, failed=RefusedAction(action, statement.id, form))


@bp.post("/<int:study_id>/review/merge")
@login_required
def review_merge(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    if (round_ := _round_or_back(study)) is None:
        return _back(study)
    form = _merge_form(study, formdata=request.form)
    if form.validate_on_submit():
        absorbed = get_in_study_or_404(Statement, form.absorbed.data, study)
        kept = get_in_study_or_404(Statement, form.kept.data, study)
        try:
            merge(round_, absorbed, kept, form.text.data or "", form.reason.data or "", current_user)
        except DomainError as exc:
            db.session.rollback()
            form.kept.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Statement %(absorbed)s has been merged into %(kept)s.", absorbed=absorbed.code, kept=kept.code),
                  "success")
            return _back(study, "#merge")
    return _page(study, role, failed=RefusedAction("merge", 0, form))


@bp.post("/<int:study_id>/review/suggestions/<int:suggestion_id>")
@login_required
def review_suggestion(study_id: int, suggestion_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    suggestion = get_in_study_or_404(Suggestion, suggestion_id, study)
    if (round_ := _round_or_back(study)) is None:
        return _back(study)
    form = _suggestion_form(study, suggestion)
    if form.validate_on_submit():
        try:
            if form.action.data == "accept":
                accept_suggestion(round_, suggestion, form.code.data or "", form.domain.data or "",
                                  form.text.data or suggestion.text, current_user)
            elif form.action.data == "merge":
                target = get_in_study_or_404(Statement, form.target.data or 0, study)
                merge_suggestion(round_, suggestion, target, form.reason.data or "", current_user)
            else:
                decline_suggestion(round_, suggestion, form.reason.data or "", current_user)
        except DomainError as exc:
            db.session.rollback()
            form.action.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your decision on the suggestion has been saved."), "success")
            return _back(study, "#suggestions")
    return _page(study, role, failed=RefusedAction("suggestion", suggestion.id, form))


@bp.post("/<int:study_id>/review/comments")
@login_required
def review_comments(study_id: int):
    study, _role = get_study_or_404(study_id, RUNNING_ROLES)
    if (round_ := _round_or_back(study)) is not None and ActionForm().validate_on_submit():
        approved = {int(v) for v in request.form.getlist("approved") if v.isascii() and v.isdigit() and len(v) < 10}
        count = approve_comments(round_, approved, current_user)
        db.session.commit()
        flash(ngettext("%(num)d comment will be shown to panellists in the next round.",
                       "%(num)d comments will be shown to panellists in the next round.", count), "success")
    return _back(study, "#comments")
