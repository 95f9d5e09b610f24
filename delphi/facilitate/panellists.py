"""The panel, on the contacts side: add panellists (one by one or from a contacts CSV), their links (shown once, or as
a CSV), invitations and reminders by e-mail, who has sent the open round, revoking or reissuing a link, and
withdrawal at a person's request. Owners and facilitators only: this is where contact details are, and no pseudonym
or answer is ever shown here; a person is named by their contact number."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import CONTACTS_SIDE, get_contact_or_404, get_study_or_404
from delphi.facilitate.forms import (
    options, show_problems, ActionForm, ConfirmForm, ContactsForm, MailForm, PanellistForm, WithdrawRequestForm,
)
from delphi.facilitate.uploads import download, uploaded_text
from delphi.models import MailKind, RoundKind
from delphi.services.deletion_requests import asked_to_delete_answers, open_requests
from delphi.services.invitations import (
    ContactRow, ContactsError, NewLink, add_panel, invitation_recipients, link_for, links_csv, non_completers_csv,
    parse_contacts_csv, reissue_link, reminder_recipients, revoke_link, withdraw_at_request,
)
from delphi.services.outbox import latest_mail, mail_failure, outbox_summary, queue_panel_mail, wake_sender
from delphi.services.panel_search import MAX_SEARCH, panel_page, panel_size, submitted_among, withdrawn_count
from delphi.services.retention import erase_contact_details
from delphi.services.round_timing import mail_text, save_mail_text


def _page_number(text) -> int:
    return int(text) if text and len(text) < 10 and text.isascii() and text.isdigit() and int(text) > 0 else 1


def _search_text(text) -> str:
    return (text or "").strip()[:MAX_SEARCH]


def _panel_page(study, form=None, upload=None, status=200):
    search = _search_text(request.args.get("q"))
    page = panel_page(study, _page_number(request.args.get("page")), search)
    form = form or PanellistForm()
    form.group.choices = options((g.key, g.name) for g in study.groups)
    current = study.current_round
    open_round = current if current is not None and current.is_open else None
    return render_template("facilitate/panel.html", study=study, page=page, search=search,
                           panel_size=panel_size(study) if search else page.total, withdrawn=withdrawn_count(study),
                           form=form, outbox=outbox_summary(study), latest_mail=latest_mail([c.id for c in page.items]),
                           mail_failure=mail_failure,
                           submitted=submitted_among(page.items, open_round), open_round=open_round,
                           can_enter=open_round is not None and open_round.kind is RoundKind.rating,
                           upload=upload or ContactsForm(), action=ActionForm(), current=current,
                           deletion_requests=open_requests(study)), status


def _back_to_panel(study):
    """The panel page the facilitator acted from: the same page of the same search."""
    return redirect(url_for("facilitate.panel", study_id=study.id, page=_page_number(request.args.get("page")),
                            q=_search_text(request.args.get("q")) or None), code=303)


def _links_response(study, links, output: str):
    if output == "csv":
        return download(links_csv(links), f"study-{study.id}-links.csv")
    return render_template("facilitate/links.html", study=study, links=links, link_for=link_for)


@bp.get("/<int:study_id>/panel")
@login_required
def panel(study_id: int):
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    return _panel_page(study)


@bp.post("/<int:study_id>/panel")
@login_required
def add_panellist(study_id: int):
    """Add one panellist; the response shows their link once (not a redirect: the link is never stored)."""
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    form = PanellistForm()
    form.group.choices = options((g.key, g.name) for g in study.groups)
    if form.validate_on_submit():
        email = (form.email.data or "").strip() or None
        try:
            links = add_panel(study, [ContactRow(0, form.group.data, email)], current_user)
        except ContactsError as exc:
            show_problems(form, exc, form.email)
        else:
            db.session.commit()
            return _links_response(study, links, request.form.get("output", "page"))
    return _panel_page(study, form=form, status=422)


@bp.get("/<int:study_id>/panel/non-completers.csv")
@login_required
def non_completers(study_id: int):
    """Who has not sent the open round's answers, with how to reach them (text, letter, phone); audited."""
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    current = study.current_round
    if current is None or not current.is_open:
        flash(_("The list of those who have not answered is there while a round is open."), "error")
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    content = non_completers_csv(study, current, current_user)
    db.session.commit()
    return download(content, f"study-{study.id}-round-{current.number}-not-answered.csv")


@bp.post("/<int:study_id>/panel/import")
@login_required
def import_panel(study_id: int):
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    upload = ContactsForm()
    if upload.validate_on_submit() and (content := uploaded_text(upload.file, spreadsheet=True)) is not None:
        try:
            links = add_panel(study, parse_contacts_csv(content, study), current_user)
        except ContactsError as exc:
            upload.file.errors.extend(exc.errors)
        else:
            db.session.commit()
            return _links_response(study, links, request.form.get("output", "page"))
    return _panel_page(study, upload=upload, status=422)


@bp.post("/<int:study_id>/panel/contacts/<int:contact_id>/<any(revoke, reissue):action>")
@login_required
def contact_link(study_id: int, contact_id: int, action: str):
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    if not ActionForm().validate_on_submit():
        return _back_to_panel(study)
    if action == "revoke":
        revoke_link(contact.panellist, current_user)
        db.session.commit()
        flash(_("The link of contact #%(number)s no longer works.", number=contact.id), "success")
        return _back_to_panel(study)
    token = reissue_link(contact.panellist, current_user)
    db.session.commit()
    return _links_response(study, [NewLink(contact.panellist, token)], "page")


@bp.route("/<int:study_id>/panel/contacts/<int:contact_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_contact(study_id: int, contact_id: int):
    """A person asked staff to leave the study (and perhaps to have their answers deleted): confirm, then withdraw
    them as their own link would; their contact details are erased."""
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    form = WithdrawRequestForm()
    if not form.is_submitted():  # they asked for their answers to be deleted from their link (issue 22)
        form.erase_answers.data = asked_to_delete_answers(contact.panellist)
    if form.validate_on_submit():
        number = contact.id
        withdraw_at_request(contact, form.erase_answers.data, current_user)
        db.session.commit()
        flash(_("Contact #%(number)s has left the study; their contact details are erased.", number=number), "success")
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    return render_template("facilitate/withdraw_contact.html", study=study, contact=contact,
                           form=form), 422 if form.errors else 200


@bp.route("/<int:study_id>/panel/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase_contact(study_id: int, contact_id: int):
    """A person asked for their contact details to be erased but to stay in the study: say what goes and what stays;
    erase them when that page's button is pressed."""
    study, role = get_study_or_404(study_id, CONTACTS_SIDE)
    contact = get_contact_or_404(contact_id, study)
    form = ConfirmForm()
    if form.confirmed():
        erase_contact_details(contact, current_user)
        db.session.commit()
        flash(_("The contact details of contact #%(number)s are erased; they stay on the panel with their answers.",
                number=contact.id), "success")
        return _back_to_panel(study)
    if form.is_submitted():
        return redirect(url_for("facilitate.erase_contact", study_id=study.id, contact_id=contact.id), code=303)
    return render_template("facilitate/confirm_erase_contact.html", study=study, role=role, form=form,
                           contact=contact)


@bp.route("/<int:study_id>/panel/<any(invitation, reminder):kind>", methods=["GET", "POST"])
@login_required
def mail_panel(study_id: int, kind: str):
    """Invitations go to panellists with an address who have not been invited; reminders to those who have not
    submitted the open round. The text is the study's own (as last sent, in its language) or the default; sending
    queues one mail per recipient, which the background worker delivers."""
    study, _role = get_study_or_404(study_id, CONTACTS_SIDE)
    current = study.current_round
    if kind == "reminder" and (current is None or not current.is_open):
        flash(_("Reminders can be sent while a round is open."), "error")
        return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    mail_kind = MailKind(kind)
    recipients = (invitation_recipients(study) if kind == "invitation"
                  else reminder_recipients(study, current))
    subject, body = mail_text(study, mail_kind)
    form = MailForm(data={"subject": subject, "body": body})
    if form.validate_on_submit():
        if "{link}" not in form.body.data and kind == "invitation":
            form.body.errors.append(_("Put {link} in the message where each panellist's personal link goes."))
        elif not recipients:
            flash(_("There is nobody to send this to."), "info")
            return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
        else:
            subject, body = save_mail_text(study, mail_kind, study.language, form.subject.data, form.body.data)
            queued = queue_panel_mail(study, mail_kind, recipients, subject, body, current_user)
            db.session.commit()
            wake_sender()
            flash(ngettext("%(num)d invitation queued. It is being sent; the panel page shows its delivery.",
                           "%(num)d invitations queued. They are being sent; the panel page shows each one's delivery.",
                           queued) if kind == "invitation" else
                  ngettext("%(num)d reminder queued. It is being sent; the panel page shows its delivery.",
                           "%(num)d reminders queued. They are being sent; the panel page shows each one's delivery.",
                           queued), "success")
            return redirect(url_for("facilitate.panel", study_id=study.id), code=303)
    return render_template("facilitate/mail.html", study=study, form=form, kind=kind,
                           recipients=len(recipients)), 422 if form.errors else 200
