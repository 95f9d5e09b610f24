"""Staff sign-in, sign-out, password change and password reset by e-mail."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from delphi.auth import bp
from delphi.auth.forms import ChangePasswordForm, LoginForm, LogoutForm, ResetPasswordForm, ResetRequestForm
from delphi.extensions import db, limiter
from delphi.main.safety import is_safe_next
from delphi.models import StaffUser
from delphi.services import staff
from delphi.services.outbox import queue_password_reset, wake_sender
from delphi.services.password_reset import RESET_MAX_AGE, make_reset_token, user_for_reset_token

# Checked against when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$uHhR4pZkqcmMPLTb$" + "0" * 128


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("facilitate.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data)
        elif user.active and user.check_password(form.password.data):
            login_user(user)
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("facilitate.dashboard"), code=303)
        form.password.errors.append("That email address and password do not match an account.")
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
        flash("You have signed out.", "info")
    return redirect(url_for("main.index"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        staff.change_password(current_user, form.new_password.data)
        db.session.commit()
        login_user(current_user)  # this session carries the new session version; every other one has ended
        flash("Your password has been changed. You have been signed out everywhere else.", "success")
        return redirect(url_for("facilitate.dashboard"), code=303)
    return render_template("auth/change_password.html", form=form), 422 if form.errors else 200


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email, StaffUser.active.is_(True)))
        if user is not None:
            path = url_for("auth.reset_password", token=make_reset_token(user))
            base = current_app.config.get("PUBLIC_URL")
            link = base.rstrip("/") + path if base else url_for("auth.reset_password", token=make_reset_token(user),
                                                                _external=True)
            body = render_template("email/password_reset.txt", link=link, minutes=RESET_MAX_AGE // 60)
            queue_password_reset(user, "Reset your password", body)
            db.session.commit()
            wake_sender()
        # The same answer whether or not there is an account, so the form does not reveal who has one.
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
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset_password.html", form=form), 422 if form.errors else 200
