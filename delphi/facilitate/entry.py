"""Proxy entry (paper and telephone parity), on the contacts side: opened from a contact on the panel page, it asks
who is entering the answers, how the panellist gives them and why, then shows an empty form (staff record answers,
they do not read them back) with, from the second rating round, the panellist's own previous rating and the feedback
they would see and the reason for a changed answer; a panellist who has not consented yet is asked first. The paper
form prints the same for posting. Everything is audited by the services, naming the contact's number."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _, ngettext
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import CONTACTS_SIDE, get_contact_or_404, get_study_or_404
from delphi.facilitate.forms import PROXY_CHANNELS, ProxyEntryForm
from delphi.models import RoundKind
from delphi.panel.phrases import feedback_phrases
from delphi.services.answers import Answer, RoundClosed
from delphi.services.staff_entry import ConsentNeeded, ProxyContext, enter_answers, open_proxy_entry, paper_form

UNABLE, DECLINED = "unable", "declined"


def _open_rating_round(study):
    current = study.current_round
    if current is None or not current.is_open or current.kind is not RoundKind.rating:
        flash(_("Answers can be entered while a rating round is open."), "error")
        return None
    return current


def read_answers(round_, study, form) -> tuple[dict[int, Answer], dict[int, str]]:
    """The answers typed in (blank ones left out), and a plain error per statement with a bad value."""
    allowed = {str(v) for v in range(study.scale_min, study.scale_max + 1)}
    answers, errors = {}, {}
    for rs in round_.statements:
        value = (form.get(f"value-{rs.statement_id}") or "").strip()
        comment = form.get(f"comment-{rs.statement_id}") or ""
        reason = form.get(f"reason-{rs.statement_id}") or ""
        if value == UNABLE and study.unable_to_rate:
            answers[rs.statement_id] = Answer(unable=True, comment=comment, change_reason=reason)
        elif value == DECLINED and study.prefer_not_to_answer:
            answers[rs.statement_id] = Answer(declined=True, comment=comment, change_reason=reason)
        elif value in allowed:
            answers[rs.statement_id] = Answer(value=int(value), comment=comment, change_reason=reason)
        elif value:
            errors[rs.statement_id] = _("Choose a point from %(min)s to %(max)s.", min=study.scale_min,
                                        max=study.scale_max)
        elif comment.strip() or reason.strip():
            answers[rs.statement_id] = Answer(comment=comment, change_reason=reason)
    return answers, errors


def _answer_sheet(study, contact, round_, form, errors=None, status=200, consent_error=""):
    """The empty answers form (typed values again after a mistake), with last round's feedback in the panellist's
    language; showing it is audited."""
    context = ProxyContext(form.channel.data, form.entered_by.data.strip(), form.reason.data.strip())
    sheet = open_proxy_entry(contact, round_, context, current_user)
    db.session.commit()
    with force_locale(contact.panellist.language or study.language):
        phrases = feedback_phrases() if sheet.feedback else {}
    return render_template("facilitate/entry_answers.html", study=study, contact=contact, round=round_, form=form,
                           sheet=sheet, phrases=phrases, errors=errors or {},
                           typed=request.form if status != 200 else None,
                           channel=PROXY_CHANNELS[form.channel.data], UNABLE=UNABLE, DECLINED=DECLINED,
                           consent_error=consent_error), status


@bp.route("/<int:study_id>/panel/contacts/<int:contact_id>/entry", methods=["GET", "POST"])
@login_required
def entry(study_id: int, contact_id: int):
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    if (round_ := _open_rating_round(study)) is None:
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    form = ProxyEntryForm()
    if form.validate_on_submit():
        return _answer_sheet(study, contact, round_, form)
    return render_template("facilitate/entry.html", study=study, contact=contact, round=round_,
                           form=form), 422 if form.errors else 200


@bp.post("/<int:study_id>/panel/contacts/<int:contact_id>/entry/answers")
@login_required
def entry_answers(study_id: int, contact_id: int):
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    if (round_ := _open_rating_round(study)) is None:
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    form = ProxyEntryForm()
    if not form.validate_on_submit():
        return render_template("facilitate/entry.html", study=study, contact=contact, round=round_, form=form), 422
    answers, errors = read_answers(round_, study, request.form)
    if errors:
        return _answer_sheet(study, contact, round_, form, errors, 422)
    context = ProxyContext(form.channel.data, form.entered_by.data.strip(), form.reason.data.strip())
    try:
        saved, submitted = enter_answers(contact, round_, answers, request.form.get("submit_round") == "yes",
                                         context, current_user, consent_given=request.form.get("consent") == "yes")
    except ConsentNeeded:
        db.session.rollback()
        return _answer_sheet(study, contact, round_, form, status=422, consent_error=_(
            "Tick the box to confirm that the person gave their consent. Without it, nothing can be saved."))
    except RoundClosed:
        db.session.rollback()
        flash(_("Round %(number)s closed before these answers were saved; nothing was saved.", number=round_.number),
              "error")
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    db.session.commit()
    message = ngettext("%(num)d answer for contact #%(contact)s saved", "%(num)d answers for contact #%(contact)s saved",
                       saved, contact=contact.id)
    flash(message + (_(" and the round marked as sent.") if submitted else "."), "success")
    return redirect(url_for("facilitate.panel", study_id=study.id), code=303)


@bp.get("/<int:study_id>/panel/contacts/<int:contact_id>/paper-form")
@login_required
def paper_form_page(study_id: int, contact_id: int):
    """The open round's printable form for this person, in their language: to post, and to type in when it comes
    back. It names them only as "contact #N" (the return reference); printing it is audited."""
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    if (round_ := _open_rating_round(study)) is None:
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    sheet = paper_form(contact, round_, current_user)
    db.session.commit()
    with force_locale(contact.panellist.language or study.language):
        phrases = feedback_phrases() if sheet.feedback else {}
        return render_template("facilitate/paper_form.html", study=study, contact=contact, round=round_,
                               sheet=sheet, phrases=phrases)
