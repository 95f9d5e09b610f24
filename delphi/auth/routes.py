"""Staff sign-in, sign-out, password change, password reset by e-mail, and joining through an invitation."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from delphi.auth import bp
from delphi.auth.forms import (
    ChangePasswordForm,
    JoinForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from delphi.extensions import db, limiter
from delphi.main.safety import is_safe_next
from delphi.services import staff
from delphi.services.password_reset import request_password_reset, user_for_reset_token
from delphi.services.staff_invitations import INVITATION_DAYS, accept_invitation, invitation_for_token


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("facilitate.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = staff.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("facilitate.dashboard"), code=303)
        form.password.errors.append(_("That email address and password do not match an account."))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit():
        if current_user.is_authenticated:
            staff.end_sessions(current_user)  # a copy of this session's cookie must not outlive the sign-out
            db.session.commit()
        logout_user()
        flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        staff.change_password(current_user, form.new_password.data)
        db.session.commit()
        login_user(current_user)  # this session carries the new session version; every other one has ended
        flash(_("Your password has been changed. You have been signed out everywhere else."), "success")
        return redirect(url_for("facilitate.dashboard"), code=303)
    return render_template("auth/change_password.html", form=form), 422 if form.errors else 200


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        # The same work and the same answer whether or not there is an account, so the form does not reveal who has
        # one: the worker looks the address up.
        request_password_reset(form.email.data)
        return redirect(url_for("auth.reset_sent"), code=303)
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


@bp.get("/reset/sent")
def reset_sent():
    return render_template("auth/reset_sent.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def reset_password(token: str):
    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        staff.reset_password(user, form.new_password.data)
        db.session.commit()
        logout_user()
        flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset_password.html", form=form), 422 if form.errors else 200


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def join(token: str):
    invitation = invitation_for_token(token)
    if invitation is None:
        return render_template("auth/join_invalid.html", days=INVITATION_DAYS), 404
    form = JoinForm()
    if form.validate_on_submit():
        user = accept_invitation(invitation, form.new_password.data)
        db.session.commit()
        login_user(user)
        flash(_("Welcome. Your password is saved and you are signed in."), "success")
        return redirect(url_for("facilitate.dashboard"), code=303)
    return render_template("auth/join.html", form=form, user=invitation.user), 422 if form.errors else 200
