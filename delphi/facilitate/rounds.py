"""Rounds: open the next one, watch responses come in (counts per group, never who answered what), close it."""
from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_study_or_404
from delphi.facilitate.forms import ActionForm, RoundTimingForm
from delphi.models import DomainError, Round, RoundKind
from delphi.services.progress import panellists_started, response_progress
from delphi.services.round_timing import closing_sentence, local_time, set_round_timing, site_zone, utc_from_local
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
def monitor(study_id: int, timing_form: RoundTimingForm | None = None, status: int = 200):
    study, role = get_study_or_404(study_id)
    current = study.current_round
    return render_template("facilitate/monitor.html", study=study, role=role, current=current,
                           started=panellists_started(current),
                           progress=response_progress(study.id, current.id if current else None, study.min_group_feedback),
                           action=ActionForm(), timing=timing_form or timing_form_for(current),
                           closing=closing_sentence(current, "en"), zone=site_zone().key), status


def timing_form_for(round_) -> RoundTimingForm:
    if round_ is None or round_.closes_at is None:
        return RoundTimingForm()
    local = local_time(round_.closes_at)
    return RoundTimingForm(data={"closes_on": local.date(), "closes_time": local.time().replace(second=0),
                                 "reminder_days": ", ".join(str(d) for d in round_.reminder_days),
                                 "auto_close": round_.auto_close})


@bp.post("/<int:study_id>/rounds/<int:number>/timing")
@login_required
def round_timing(study_id: int, number: int):
    """Set the open round's closing date, its reminders and whether it closes by itself."""
    study, _ = get_study_or_404(study_id, RUNNING_ROLES)
    round_ = study.current_round
    if round_ is None or round_.number != number or not round_.is_open:
        abort(404)
    form = RoundTimingForm()
    if form.validate_on_submit():
        closes_at = (utc_from_local(form.closes_on.data, form.closes_time.data or time(23, 59))
                     if form.closes_on.data else None)
        try:
            set_round_timing(round_, closes_at, form.days, form.auto_close.data, current_user)
        except DomainError as exc:
            db.session.rollback()
            form.closes_on.errors.append(str(exc))
        else:
            db.session.commit()
            flash("The round's closing date and reminders are saved." if closes_at
                  else "The round has no closing date now.", "success")
            return redirect(url_for("facilitate.monitor", study_id=study.id), code=303)
    return monitor(study.id, timing_form=form, status=422)


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
