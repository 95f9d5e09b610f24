"""Accounts (list, invite, close and reopen, administrator or not) and the site-wide audit log."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from delphi.admin import bp
from delphi.admin.forms import AccountActionForm, InviteAccountForm
from delphi.extensions import db
from delphi.facilitate.audit import audit_filter
from delphi.facilitate.uploads import download
from delphi.models import StaffUser
from delphi.services import audit, staff
from delphi.services.outbox import wake_sender
from delphi.services.staff import StaffError
from delphi.services.staff_invitations import create_invited_account, send_invitation


def get_account_or_404(user_id: int) -> StaffUser:
    return db.session.get(StaffUser, user_id) or abort(404)


@bp.route("/accounts", methods=["GET", "POST"])
def accounts():
    form = InviteAccountForm()
    if form.validate_on_submit():
        try:
            user = create_invited_account(form.email.data, current_user, is_admin=form.is_admin.data)
        except StaffError as exc:
            form.email.errors.append(str(exc))
        else:
            send_invitation(user, current_user)
            db.session.commit()
            wake_sender()
            flash(_("%(email)s has been sent an invitation to choose a password.", email=user.email), "success")
            return redirect(url_for("admin.accounts"), code=303)
    return render_template("admin/accounts.html", form=form, action=AccountActionForm(),
                           accounts=staff.accounts()), 422 if form.errors else 200


def _account_action(user_id: int, change, done: str):
    """Apply ``change(user)`` after the CSRF check, commit, and say ``done`` (or the refusal's reason)."""
    user = get_account_or_404(user_id)
    if AccountActionForm().validate_on_submit():
        try:
            change(user)
        except StaffError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(done % {"email": user.email}, "success")
    return redirect(url_for("admin.accounts"), code=303)


@bp.post("/accounts/<int:user_id>/deactivate")
def deactivate(user_id: int):
    return _account_action(user_id, lambda u: staff.close_account(u, current_user),
                           _("%(email)s is closed: it cannot sign in, and every session of it has ended."))


@bp.post("/accounts/<int:user_id>/reactivate")
def reactivate(user_id: int):
    return _account_action(user_id, lambda u: staff.reactivate(u, current_user), _("%(email)s is open again."))


@bp.post("/accounts/<int:user_id>/admin")
def make_admin(user_id: int):
    return _account_action(user_id, lambda u: staff.set_admin(u, True, current_user),
                           _("%(email)s is now an administrator."))


@bp.post("/accounts/<int:user_id>/not-admin")
def unmake_admin(user_id: int):
    return _account_action(user_id, lambda u: staff.set_admin(u, False, current_user),
                           _("%(email)s is no longer an administrator."))


@bp.post("/accounts/<int:user_id>/reinvite")
def reinvite(user_id: int):
    def resend(user: StaffUser) -> None:
        if user.has_password or not user.active:
            raise StaffError(_("%(email)s can already sign in, or is closed; there is no invitation to send.",
                               email=user.email))
        send_invitation(user, current_user)
        audit.record("staff.reinvite", actor=current_user, target=f"staff {user.id}")

    response = _account_action(user_id, resend, _("A new invitation has been sent to %(email)s."))
    wake_sender()
    return response


@bp.get("/audit")
def audit_log():
    form = audit_filter(None)
    page = db.paginate(audit.events_query(None, form.action.data), per_page=audit.PER_PAGE, error_out=False)
    return render_template("admin/audit.html", form=form, page=page, lines=audit.audit_lines(page.items))


@bp.get("/audit.csv")
def audit_csv():
    return download(audit.audit_csv(None, audit_filter(None).action.data), "audit-site.csv")
