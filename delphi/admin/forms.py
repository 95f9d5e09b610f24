"""Forms of the administration pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField
from wtforms.validators import DataRequired, Length


class InviteAccountForm(FlaskForm):
    email = EmailField(_l("Their email address"), validators=[
        DataRequired(_l("Enter the email address of the new account.")),
        Length(max=320, message=_l("Use at most 320 characters."))])
    is_admin = BooleanField(_l("Make them an administrator too"))


class AccountActionForm(FlaskForm):
    """The buttons on the accounts list (deactivate, reactivate, make or unmake admin): a CSRF token only."""
