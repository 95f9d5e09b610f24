"""Rounds: open the next one, watch responses come in (counts per group, never who answered what), close it."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_study_or_404
from delphi.facilitate.forms import ActionForm
from delphi.models import DomainError, Round, RoundKind
from delphi.services.progress import panellists_started, response_progress
from delphi.services.rounds import close_round, open_next_round


@bp.post("/<int:study_id>/rounds/open")
@login_required
def open_round(study_id: int):
    study, _ = get_study_or_404(study_id, RUNNING_ROLES)
    if ActionForm().validate_on_submit():
        try:
            opened = open_next_round(study, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Round {opened.number} is open.", "success")
            return redirect(url_for("facilitate.monitor", study_id=study.id), code=303)
    return redirect(url_for("facilitate.study", study_id=study.id), code=303)


@bp.get("/<int:study_id>/rounds/current")
@login_required
def monitor(study_id: int):
    study, role = get_study_or_404(study_id)
    current = study.current_round
    return render_template("facilitate/monitor.html", study=study, role=role, current=current,
                           started=panellists_started(current),
                           progress=response_progress(study.id, current.id if current else None),
                           action=ActionForm())


@bp.post("/<int:study_id>/rounds/<int:number>/close")
@login_required
def close(study_id: int, number: int):
    study, _ = get_study_or_404(study_id, RUNNING_ROLES)
    round_ = db.session.scalar(sa.select(Round).where(Round.study_id == study.id, Round.number == number))
    if round_ is None:
        abort(404)
    if ActionForm().validate_on_submit():
        try:
            close_round(round_, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
        db.session.commit()
        if round_.kind is RoundKind.open:
            flash(f"Round {number} is closed. Turn the panel's answers into statements for the first rating round.",
                  "success")
            return redirect(url_for("facilitate.open_answers", study_id=study.id), code=303)
        flash(f"Round {number} is closed and its figures are computed. Review the statements before the next "
              "round.", "success")
        return redirect(url_for("facilitate.review", study_id=study.id), code=303)
    return redirect(url_for("facilitate.monitor", study_id=study.id), code=303)
