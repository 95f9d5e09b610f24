"""Paper and telephone parity: a facilitator types in a panellist's answers from a paper form or a call. The answers
are marked as entered by staff, and the audit log says who entered them (never what)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import ActionForm, EntryPanellistForm
from delphi.models import Panellist, RoundKind
from delphi.services.answers import Answer, RoundClosed, answers_for, has_submitted
from delphi.services.staff_entry import active_panellist, enter_answers

UNABLE = "unable"


def _open_rating_round(study):
    current = study.current_round
    if current is None or not current.is_open or current.kind is not RoundKind.rating:
        flash("Answers can be entered while a rating round is open.", "error")
        return None
    return current


@bp.route("/<int:study_id>/entry", methods=["GET", "POST"])
@login_required
def entry(study_id: int):
    study, _ = get_study_or_404(study_id, RUNNING_ROLES)
    form = EntryPanellistForm()
    if form.validate_on_submit():
        panellist = active_panellist(study, form.pseudonym.data)
        if panellist is None:
            form.pseudonym.errors.append("No active panellist of this study has that pseudonym.")
        else:
            return redirect(url_for("facilitate.entry_answers", study_id=study.id, panellist_id=panellist.id),
                            code=303)
    return render_template("facilitate/entry.html", study=study, form=form), 422 if form.errors else 200


def read_answers(round_, study, form) -> tuple[dict[int, Answer], dict[int, str]]:
    """The answers typed in (blank ones left out), and a plain error per statement with a bad value."""
    allowed = {str(v) for v in range(study.scale_min, study.scale_max + 1)}
    answers, errors = {}, {}
    for rs in round_.statements:
        value = (form.get(f"value-{rs.statement_id}") or "").strip()
        comment = form.get(f"comment-{rs.statement_id}") or ""
        if value == UNABLE and study.unable_to_rate:
            answers[rs.statement_id] = Answer(unable=True, comment=comment)
        elif value in allowed:
            answers[rs.statement_id] = Answer(value=int(value), comment=comment)
        elif value:
            errors[rs.statement_id] = f"Choose a point from {study.scale_min} to {study.scale_max}."
        elif comment.strip():
            answers[rs.statement_id] = Answer(comment=comment)
    return answers, errors


@bp.route("/<int:study_id>/entry/<int:panellist_id>", methods=["GET", "POST"])
@login_required
def entry_answers(study_id: int, panellist_id: int):
    study, _ = get_study_or_404(study_id, RUNNING_ROLES)
    panellist = get_in_study_or_404(Panellist, panellist_id, study)
    if panellist.withdrawn:
        abort(404)
    if (round_ := _open_rating_round(study)) is None:
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    form, errors = ActionForm(), {}
    if form.validate_on_submit():
        answers, errors = read_answers(round_, study, request.form)
        if not errors:
            try:
                saved, submitted = enter_answers(panellist, round_, answers, request.form.get("submit_round") == "yes",
                                                 current_user)
            except RoundClosed:
                db.session.rollback()
                flash(f"Round {round_.number} closed before these answers were saved; nothing was saved.", "error")
                return redirect(url_for("facilitate.study", study_id=study.id), code=303)
            db.session.commit()
            flash(f"{saved} answers of {panellist.pseudonym} have been saved"
                  + (" and the round marked as submitted." if submitted else "."), "success")
            return redirect(url_for("facilitate.entry", study_id=study.id), code=303)
    return render_template(
        "facilitate/entry_answers.html", study=study, panellist=panellist, round=round_, form=form, errors=errors,
        saved=answers_for(panellist, round_), typed=request.form if errors else None,
        submitted=has_submitted(panellist, round_), UNABLE=UNABLE,
    ), 422 if errors else 200
