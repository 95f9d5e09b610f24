"""Rounds: open the next one, watch responses come in (counts per group, never who answered what), close it."""
from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_study_or_404
from delphi.facilitate.forms import ActionForm, ConfirmForm, RoundTimingForm
from delphi.models import DomainError, Round, RoundKind, RoundStatus
from delphi.services.progress import panellists_started, response_progress
from delphi.services.round_timing import closing_sentence, local_time, set_round_timing, site_zone, utc_from_local
from delphi.services.rounds import (
    CLOSE_GAVE_UP_MESSAGE,
    MAX_CLOSE_ATTEMPTS,
    next_round_plan,
    open_next_round,
    queue_close,
    retry_close,
    round_response_totals,
    start_close,
)


@bp.route("/<int:study_id>/rounds/open", methods=["GET", "POST"])
@login_required
def open_round(study_id: int):
    """Say what opening the next round will do; open it when that page's button is pressed."""
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form = ConfirmForm()
    if form.confirmed():
        try:
            opened = open_next_round(study, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
        db.session.commit()
        flash(_("Round %(number)s is open.", number=opened.number), "success")
        return redirect(url_for("facilitate.monitor", study_id=study.id), code=303)
    if form.is_submitted():
        return redirect(url_for("facilitate.open_round", study_id=study.id), code=303)
    return render_template("facilitate/confirm_open_round.html", study=study, role=role, form=form,
                           plan=next_round_plan(study))


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
    study, _role = get_study_or_404(study_id, RUNNING_ROLES)
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
            flash(_("The round's closing date and reminders are saved.") if closes_at
                  else _("The round has no closing date now."), "success")
            return redirect(url_for("facilitate.monitor", study_id=study.id), code=303)
    return monitor(study.id, timing_form=form, status=422)


def _round_or_404(study, number: int) -> Round:
    round_ = db.session.scalar(sa.select(Round).where(Round.study_id == study.id, Round.number == number))
    if round_ is None:
        abort(404)
    return round_


@bp.route("/<int:study_id>/rounds/<int:number>/close", methods=["GET", "POST"])
@login_required
def close(study_id: int, number: int):
    """Say who has and has not sent the round and what closing it does; when that page's button is pressed, close
    the round to answers and queue the computing of its figures (a worker's job), then show its progress."""
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    round_ = _round_or_404(study, number)
    form = ConfirmForm()
    if form.confirmed():
        try:
            start_close(round_, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            if round_.is_closing:
                return redirect(url_for("facilitate.closing", study_id=study.id, number=number), code=303)
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
        db.session.commit()
        queue_close(round_)
        return redirect(url_for("facilitate.closing", study_id=study.id, number=number), code=303)
    if form.is_submitted():
        return redirect(url_for("facilitate.close", study_id=study.id, number=number), code=303)
    if round_.is_closing:
        return redirect(url_for("facilitate.closing", study_id=study.id, number=number), code=303)
    if not round_.is_open:
        flash(_("Round %(number)s is not open, so there is nothing to close.", number=number), "error")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    panel, submitted = round_response_totals(round_)
    return render_template("facilitate/confirm_close_round.html", study=study, role=role, form=form, round_=round_,
                           panel=panel, submitted=submitted)


@bp.get("/<int:study_id>/rounds/<int:number>/closing")
@login_required
def closing(study_id: int, number: int):
    """How far the round's close has gone (works without JavaScript: "Check again" reloads it). Once the figures
    are stored, go on to where the facilitator works next."""
    study, role = get_study_or_404(study_id)
    round_ = _round_or_404(study, number)
    if round_.status is RoundStatus.closed:
        if round_.kind is RoundKind.open:
            flash(_("Round %(number)s is closed. Turn the panel's answers into statements for the first rating "
                    "round.", number=number), "success")
            return redirect(url_for("facilitate.open_answers", study_id=study.id), code=303)
        flash(_("Round %(number)s is closed and its figures are computed. Review the statements before the next "
                "round.", number=number), "success")
        return redirect(url_for("facilitate.review", study_id=study.id), code=303)
    if not round_.is_closing:
        flash(_("Round %(number)s is not being closed.", number=number), "error")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/closing_round.html", study=study, role=role, round_=round_,
                           failure=_close_failure(round_), can_retry=role in RUNNING_ROLES, form=ActionForm())


@bp.get("/<int:study_id>/rounds/<int:number>/closing.json")
@login_required
def closing_status(study_id: int, number: int):
    """The progress page's status for its optional script: queued, running, failed or closed, and what to say."""
    study, _role = get_study_or_404(study_id)
    round_ = _round_or_404(study, number)
    if round_.status not in (RoundStatus.closing, RoundStatus.closed):
        abort(404)
    failure = _close_failure(round_)
    status = ("closed" if round_.status is RoundStatus.closed else "failed" if failure
              else "running" if round_.close_claimed_until else "queued")
    message = render_template("facilitate/_closing_status.html", round_=round_, failure=failure)
    return jsonify(status=status, message=Markup(message).striptags())


def _close_failure(round_: Round) -> str | None:
    """Why the worker's close failed, in the reader's language (None while it has not)."""
    if round_.status is not RoundStatus.closing or not round_.close_error:
        return None
    if round_.close_error == CLOSE_GAVE_UP_MESSAGE:
        return _("The figures were started %(count)s times and never finished (the worker stopped each time, "
                 "perhaps for lack of memory).", count=MAX_CLOSE_ATTEMPTS)
    return _("The figures could not be computed.")


@bp.post("/<int:study_id>/rounds/<int:number>/closing/retry")
@login_required
def retry_closing(study_id: int, number: int):
    """Try a failed close again ("Try again" on the progress page)."""
    study, _role = get_study_or_404(study_id, RUNNING_ROLES)
    round_ = _round_or_404(study, number)
    form = ActionForm()
    if form.validate_on_submit() and retry_close(round_, actor=current_user):
        db.session.commit()
        queue_close(round_)
    else:
        db.session.rollback()
    return redirect(url_for("facilitate.closing", study_id=study.id, number=number), code=303)
