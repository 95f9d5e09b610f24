"""The staff console: the studies a staff member works on, creating one, each study's page, its members, and closing
the study when the stopping rule is met."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from delphi.errors import InputErrors
from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import OWNER_ONLY, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import (
    show_problems, ActionForm, ConfirmForm, DeleteStudyForm, MemberForm, NewStudyForm, RetentionForm, RoleForm,
    UploadProtocolForm,
)
from delphi.facilitate.uploads import uploaded_text
from delphi.models import DomainError, StudyMember, StudyRole
from delphi.protocol import ProtocolError
from delphi.services import membership, retention, rounds, study_deletion
from delphi.services.outbox import wake_sender
from delphi.services.progress import response_progress
from delphi.services.review import stopping_status
from delphi.services.study_setup import create_blank, create_from_protocol_text, parse_lines
from delphi.services.studies import study_protocol
from delphi.services.study_results import count_results_recipients, queue_results_mail


@bp.get("/")
@login_required
def dashboard():
    return render_template("facilitate/dashboard.html", memberships=membership.memberships_of(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_study():
    form, upload = NewStudyForm(prefix="blank"), UploadProtocolForm(prefix="upload")
    if form.validate_on_submit():
        groups, errors = parse_lines(form.groups.data, ":", "key: name")
        form.groups.errors.extend(errors)
        if not errors:
            try:
                study = create_blank(form.title.data, form.language.data,
                                     [{"key": k, "name": n} for k, n in groups], current_user)
            except ProtocolError as exc:
                form.groups.errors.extend(exc.shown_errors)
            else:
                db.session.commit()
                flash(_("The study has been created. Add statements and check its settings next."), "success")
                return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/new_study.html", form=form, upload=upload), 422 if form.errors else 200


@bp.post("/new/upload")
@login_required
def upload_study():
    form, upload = NewStudyForm(prefix="blank", formdata=None), UploadProtocolForm(prefix="upload")
    if upload.validate_on_submit() and (text := uploaded_text(upload.protocol)) is not None:
        try:
            study = create_from_protocol_text(text, current_user)
        except ProtocolError as exc:
            upload.protocol.errors.extend(exc.shown_errors)
        else:
            db.session.commit()
            flash(_("The study has been created from the protocol file."), "success")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/new_study.html", form=form, upload=upload), 422


@bp.get("/<int:study_id>")
@login_required
def study(study_id: int):
    study, role = get_study_or_404(study_id)
    current = study.current_round
    return render_template(
        "facilitate/study.html", study=study, role=role, protocol=study_protocol(study),
        progress=response_progress(study.id, current.id if current else None, study.min_group_feedback), current=current,
        stopping=stopping_status(study), action=ActionForm(),
    )


@bp.route("/<int:study_id>/close", methods=["GET", "POST"])
@login_required
def close_study(study_id: int):
    """Say what closing the study does; close it when that page's button is pressed."""
    study, role = get_study_or_404(study_id, OWNER_ONLY)
    form = ConfirmForm()
    if form.confirmed():
        try:
            rounds.close_study(study, current_user)
            mailed = queue_results_mail(study, current_user) if request.form.get("notify") == "yes" else None
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The study is closed. Its results stay available to its members."), "success")
            if mailed is not None:
                wake_sender()
                flash(_("%(count)s panellists will be told by e-mail that the results are ready.", count=mailed),
                      "success")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    if form.is_submitted():
        return redirect(url_for("facilitate.close_study", study_id=study.id), code=303)
    current = study.current_round
    return render_template("facilitate/confirm_close_study.html", study=study, role=role, form=form, current=current,
                           stopping=stopping_status(study), reachable=count_results_recipients(study))


@bp.route("/<int:study_id>/delete", methods=["GET", "POST"])
@login_required
def delete_study(study_id: int):
    """Delete the study and everything of it, once the owner has typed its title."""
    study, role = get_study_or_404(study_id, OWNER_ONLY)
    form = DeleteStudyForm()
    if form.validate_on_submit():
        title = study.title
        try:
            study_deletion.delete_study(study, form.title.data, current_user)
        except InputErrors as exc:
            db.session.rollback()
            show_problems(form, exc, form.title)
        else:
            db.session.commit()
            study_deletion.start_removal(study_id)
            flash(_("The study “%(title)s” and everything in it have been deleted.", title=title), "success")
            return redirect(url_for("facilitate.dashboard"), code=303)
    return render_template("facilitate/delete_study.html", study=study, role=role, form=form,
                           counts=study_deletion.study_counts(study)), 422 if form.errors else 200


@bp.route("/<int:study_id>/retention", methods=["GET", "POST"])
@login_required
def retention_setting(study_id: int):
    """How many days after the study closes its contact details are erased by the scheduled job."""
    study, role = get_study_or_404(study_id, OWNER_ONLY)
    form = RetentionForm(data={"contacts_retention_days": study.contacts_retention_days})
    if form.validate_on_submit():
        try:
            retention.set_retention(study, form.contacts_retention_days.data, current_user)
        except InputErrors as exc:
            show_problems(form, exc, form.contacts_retention_days)
        else:
            db.session.commit()
            flash(_("The retention period for contact details is saved."), "success")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/retention.html", study=study, role=role, form=form,
                           due=retention.erase_due_at(study)), 422 if form.errors else 200


@bp.route("/<int:study_id>/members", methods=["GET", "POST"])
@login_required
def members(study_id: int):
    study, role = get_study_or_404(study_id)
    form = MemberForm()
    if form.is_submitted():
        get_study_or_404(study_id, OWNER_ONLY)
    if form.validate_on_submit():
        try:
            added = membership.add_member(study, form.email.data, StudyRole(form.role.data), current_user)
        except InputErrors as exc:
            show_problems(form, exc, form.email)
        else:
            db.session.commit()
            wake_sender()
            email, role_name = added.member.user.email, form.role.data
            flash(_("%(email)s has been invited as %(role)s. The e-mail has a link to choose a password.",
                    email=email, role=role_name) if added.invited else
                  _("%(email)s has been added as %(role)s and told by e-mail.", email=email, role=role_name), "success")
            return redirect(url_for("facilitate.members", study_id=study.id), code=303)
    return render_template("facilitate/members.html", study=study, role=role, form=form, action=ActionForm(),
                           role_form=RoleForm(formdata=None)), 422 if form.errors else 200


@bp.post("/<int:study_id>/members/<int:member_id>/role")
@login_required
def change_member_role(study_id: int, member_id: int):
    study, _role = get_study_or_404(study_id, OWNER_ONLY)
    member = get_in_study_or_404(StudyMember, member_id, study)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            membership.change_role(study, member, StudyRole(form.role.data), current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(email)s is now %(role)s.", email=member.user.email, role=member.role.value), "success")
    else:
        flash(_("Choose one of the roles."), "error")
    return redirect(url_for("facilitate.members", study_id=study.id), code=303)


@bp.post("/<int:study_id>/members/<int:member_id>/reinvite")
@login_required
def reinvite_member(study_id: int, member_id: int):
    study, _role = get_study_or_404(study_id, OWNER_ONLY)
    member = get_in_study_or_404(StudyMember, member_id, study)
    if ActionForm().validate_on_submit():
        try:
            membership.resend_invitation(study, member, current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            wake_sender()
            flash(_("A new invitation has been sent to %(email)s; the earlier link no longer works.",
                    email=member.user.email), "success")
    return redirect(url_for("facilitate.members", study_id=study.id), code=303)


@bp.post("/<int:study_id>/members/<int:member_id>/remove")
@login_required
def remove_member(study_id: int, member_id: int):
    study, _role = get_study_or_404(study_id, OWNER_ONLY)
    member = get_in_study_or_404(StudyMember, member_id, study)
    if ActionForm().validate_on_submit():
        try:
            membership.remove_member(study, member, current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The colleague has been removed from this study."), "success")
    return redirect(url_for("facilitate.members", study_id=study.id), code=303)
