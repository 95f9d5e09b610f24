import unicodedata

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _typed_characters_only(form, field):
    # An address with a control character (NUL above all, which PostgreSQL refuses in text) was not typed: it comes
    # from a script or a broken paste. Refused before it is looked up, with the form shown again.
    if field.data and any(unicodedata.category(character) == "Cc" for character in field.data):
        raise ValidationError(_l("Type this again: it contains a character that cannot be typed on a keyboard."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=320), _typed_characters_only])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    pass


def _long_enough(form, field):
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    if field.data and len(field.data) < minimum:
        raise ValidationError(_("Use at least %(count)s characters. A few unrelated words make a good password.",
                                count=minimum))


class NewPasswordMixin:
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password.")), Length(max=200, message=_l("Use at most 200 characters.")),
        _long_enough])
    confirm = PasswordField(_l("Type the new password again"), validators=[
        DataRequired(_l("Type the new password again.")),
        EqualTo("new_password", _l("The two passwords are not the same."))])


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=200)])

    def validate_current_password(self, field):
        # Fields validate in the order they are declared, the new password first. While it has problems the current
        # password is not checked: that is a slow hash, and the page asks for the new password to be fixed first.
        if self.new_password.errors or self.confirm.errors:
            return
        if not current_user.check_password(field.data):
            raise ValidationError(_("That is not your current password."))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=320), _typed_characters_only,
        Regexp(EMAIL_PATTERN, message=_l("Enter an email address like name@example.org."))])


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class JoinForm(NewPasswordMixin, FlaskForm):
    """An invited colleague's first password."""


__all__ = ["LoginForm", "LogoutForm", "ChangePasswordForm", "ResetRequestForm", "ResetPasswordForm", "JoinForm"]
