"""Staff sign-in and sign-out."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash

from delphi.auth import bp
from delphi.auth.forms import LoginForm, LogoutForm
from delphi.extensions import db, limiter
from delphi.main.safety import is_safe_next
from delphi.models import StaffUser

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
