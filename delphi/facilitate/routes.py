"""The staff console: the studies a staff member works on, creating one, each study's page, its members, and closing
the study when the stopping rule is met."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import OWNER_ONLY, get_in_study_or_404, get_study_or_404
from delphi.facilitate.forms import ActionForm, MemberForm, NewStudyForm, UploadProtocolForm
from delphi.facilitate.uploads import uploaded_text
from delphi.models import DomainError, StaffUser, StudyMember, StudyRole
from delphi.protocol import ProtocolError
from delphi.services import audit
from delphi.services.progress import response_progress
from delphi.services.review import stopping_status
from delphi.services.study_setup import create_blank, create_from_protocol_text, parse_lines
from delphi.services.studies import study_protocol


@bp.get("/")
@login_required
def dashboard():
    memberships = db.session.scalars(
        sa.select(StudyMember).where(StudyMember.user_id == current_user.id).order_by(StudyMember.study_id)
    ).all()
    return render_template("facilitate/dashboard.html", memberships=memberships)


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
                form.groups.errors.extend(exc.errors)
            else:
                db.session.commit()
                flash("The study has been created. Add statements and check its settings next.", "success")
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
            upload.protocol.errors.extend(exc.errors)
        else:
            db.session.commit()
            flash("The study has been created from the protocol file.", "success")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/new_study.html", form=form, upload=upload), 422


@bp.get("/<int:study_id>")
@login_required
def study(study_id: int):
    study, role = get_study_or_404(study_id)
    current = study.current_round
    return render_template(
        "facilitate/study.html", study=study, role=role, protocol=study_protocol(study),
        progress=response_progress(study.id, current.id if current else None), current=current,
        stopping=stopping_status(study), action=ActionForm(),
    )


@bp.post("/<int:study_id>/close")
@login_required
def close_study(study_id: int):
    study, _ = get_study_or_404(study_id, OWNER_ONLY)
    if ActionForm().validate_on_submit():
        try:
            study.close()
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            audit.record("study.close", study=study, actor=current_user, target=f"study {study.id}",
                         stopping_met=stopping_status(study).met)
            db.session.commit()
            flash("The study is closed. Its results stay available to its members.", "success")
    return redirect(url_for("facilitate.study", study_id=study.id), code=303)


@bp.route("/<int:study_id>/members", methods=["GET", "POST"])
@login_required
def members(study_id: int):
    study, role = get_study_or_404(study_id)
    form = MemberForm()
    if form.is_submitted():
        get_study_or_404(study_id, OWNER_ONLY)
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email, StaffUser.active.is_(True)))
        if user is None:
            form.email.errors.append("There is no staff account with that email address. An administrator can make "
                                     "one with `delphi user create`.")
        elif user.role_in(study) is not None:
            form.email.errors.append(f"{email} is already a {user.role_in(study).value} of this study.")
        else:
            study.members.append(StudyMember(user=user, role=StudyRole(form.role.data)))
            audit.record("study.member_add", study=study, actor=current_user, target=f"staff {user.id}",
                         role=form.role.data)
            db.session.commit()
            flash(f"{email} has been added as {form.role.data}.", "success")
            return redirect(url_for("facilitate.members", study_id=study.id), code=303)
    return render_template("facilitate/members.html", study=study, role=role, form=form,
                           action=ActionForm()), 422 if form.errors else 200


@bp.post("/<int:study_id>/members/<int:member_id>/remove")
@login_required
def remove_member(study_id: int, member_id: int):
    study, _ = get_study_or_404(study_id, OWNER_ONLY)
    member = get_in_study_or_404(StudyMember, member_id, study)
    owners = [m for m in study.members if m.role is StudyRole.owner]
    if ActionForm().validate_on_submit():
        if member.role is StudyRole.owner and len(owners) == 1:
            flash("A study needs at least one owner; add another owner first.", "error")
        else:
            study.members.remove(member)
            audit.record("study.member_remove", study=study, actor=current_user, target=f"staff {member.user_id}")
            db.session.commit()
            flash("The colleague has been removed from this study.", "success")
    return redirect(url_for("facilitate.members", study_id=study.id), code=303)
