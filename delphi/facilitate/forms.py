"""Forms of the staff console. Field names follow the protocol keys where they map onto one."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from delphi.errors import InputErrors
from delphi.models import StudyRole
from delphi.services.invitations import check_email



def options(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def show_problems(form: FlaskForm, error: InputErrors, fallback) -> None:
    """Put each problem's message on the form field it names, or on ``fallback`` (a field of ``form``) when it names
    none the form has."""
    for problem in error.problems:
        field = form[problem.field] if problem.field and problem.field in form else fallback
        field.errors.append(problem.message)


LANGUAGE_CHOICES = [("en", "English"), ("nb", "Norsk bokmål")]
SCOPE_CHOICES = [
    ("overall", "Overall: the rule is applied to all panellists' ratings pooled"),
    ("each_group", "Each group: the rule must hold in every stakeholder group that rated"),
    ("equal_groups", "Equal groups: each group weighs the same, whatever its size"),
]
STOPPING_CHOICES = [
    ("max_rounds", "Only when the maximum number of rounds is reached"),
    ("all_classified", "When every statement is in or out (or at the maximum)"),
    ("stable", "When every statement without consensus is stable between rounds (or at the maximum)"),
    ("all_classified_or_stable", "When every statement is in or out, or the rest are stable (or at the maximum)"),
]
GROUPS_HINT = "One group per line, as key: name. Keys use small letters, digits and _, e.g. staff: Staff."


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"Enter “{self.label.text}” as a whole number, such as 5.") from None


class NumberField(FloatField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"Enter “{self.label.text}” as a number, such as 15.") from None


def _whole(label: str, low: int, high: int) -> list:
    return [InputRequired(f"Enter {label} as a whole number."),
            NumberRange(low, high, f"{label[0].upper()}{label[1:]} must be between {low} and {high}.")]


class NewStudyForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter the study's title."), Length(max=300)])
    language = SelectField("Panel pages' language", choices=options(LANGUAGE_CHOICES), default="en")
    groups = TextAreaField("Stakeholder groups", validators=[DataRequired("List at least one stakeholder group.")],
                           default="service_user: People with lived experience\nfamily: Family members and carers\n"
                                   "staff: Staff\npeer: Peer support workers")


class UploadProtocolForm(FlaskForm):
    protocol = FileField("Protocol file (.toml)")


class TextsForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter the study's title."), Length(max=300)])
    language = SelectField("Panel pages' language", choices=options(LANGUAGE_CHOICES))
    information = TextAreaField("Information for panellists", validators=[Length(max=20000)])
    consent = TextAreaField("Consent statements (one per line)", validators=[Length(max=20000)])
    min_group_feedback = WholeNumberField("Smallest group whose figures panellists see",
                                      validators=_whole("the smallest group size", 1, 1000))
    allow_suggestions = BooleanField("Panellists may suggest new statements")


class ProtocolForm(FlaskForm):
    scale_min = WholeNumberField("Lowest point", validators=_whole("the lowest point", 0, 100))
    scale_max = WholeNumberField("Highest point", validators=_whole("the highest point", 1, 101))
    labels = TextAreaField("Labels", validators=[Length(max=5000)])
    unable_to_rate = BooleanField("Panellists may answer “unable to rate”")
    agree_low = WholeNumberField("Agreement band from", validators=_whole("the start of the agreement band", 0, 101))
    agree_high = WholeNumberField("Agreement band to", validators=_whole("the end of the agreement band", 0, 101))
    disagree_low = WholeNumberField("Disagreement band from",
                                validators=_whole("the start of the disagreement band", 0, 101))
    disagree_high = WholeNumberField("Disagreement band to", validators=_whole("the end of the disagreement band", 0, 101))
    include = StringField("Consensus in when", validators=[DataRequired("Write the rule for consensus in."),
                                                           Length(max=500)])
    exclude = StringField("Consensus out when", validators=[DataRequired("Write the rule for consensus out."),
                                                            Length(max=500)])
    scope = RadioField("Scope", choices=options(SCOPE_CHOICES), validators=[InputRequired("Choose a scope.")])
    stable_change = NumberField("Stable when fewer than this many percentage points change", validators=[
        InputRequired("Enter the stability threshold as a number."),
        NumberRange(0, 100, "The stability threshold must be between 0 and 100.")])
    stopping = RadioField("Stopping rule", choices=options(STOPPING_CHOICES), validators=[InputRequired("Choose a rule.")])
    max_rounds = WholeNumberField("Maximum number of rating rounds", validators=_whole("the maximum number of rounds", 1, 10))
    check = SubmitField("Check the rules")
    save = SubmitField("Save")


class GroupsForm(FlaskForm):
    groups = TextAreaField("Stakeholder groups", validators=[DataRequired("List at least one stakeholder group.")])


class MemberForm(FlaskForm):
    email = EmailField("Email address of their staff account",
                       validators=[DataRequired("Enter the email address of a staff account."), Length(max=320)])
    role = RadioField("Role", choices=options((r.value, r.value.capitalize()) for r in StudyRole),
                      validators=[InputRequired("Choose a role.")], default=StudyRole.facilitator.value)


class StatementForm(FlaskForm):
    code = StringField("Code", validators=[Optional(), Length(max=40, message="Use at most 40 characters.")])
    domain = StringField("Domain", validators=[Length(max=200, message="Use at most 200 characters.")])
    text = TextAreaField("Statement", validators=[DataRequired("Write the statement."),
                                                  Length(max=2000, message="Use at most 2000 characters.")])


class CsvUploadForm(FlaskForm):
    file = FileField("CSV file")


class CsvConfirmForm(FlaskForm):
    content = HiddenField()


class ActionForm(FlaskForm):
    """A button that posts (delete, move, revoke, ...): only the CSRF token."""


class PanellistForm(FlaskForm):
    group = SelectField("Stakeholder group", validators=[InputRequired("Choose a group.")])
    email = EmailField("Email address (optional)", validators=[Length(max=320)])

    def validate_email(self, field):
        if field.data and check_email(field.data) is None:
            raise ValidationError("Enter an email address like name@example.org, or leave it empty.")


class ContactsForm(FlaskForm):
    file = FileField("Contacts file (CSV with columns group and optional email)")


class MailForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired("Write a subject."), Length(max=200)])
    body = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=20000)])


class DecisionForm(FlaskForm):
    carry_forward = RadioField("Decision", choices=options([("yes", "Carry forward to the next round"), ("no", "Retire")]),
                               validators=[InputRequired("Choose carry forward or retire.")])
    reason = TextAreaField("Reason (needed when you go against the default)", validators=[Length(max=2000)])


class RewordForm(FlaskForm):
    text = TextAreaField("New wording", validators=[DataRequired("Write the new wording."), Length(max=2000)])
    reason = TextAreaField("Why (for the item history)", validators=[Length(max=2000)])


class MergeForm(FlaskForm):
    absorbed = SelectField("Merge this statement", coerce=int)
    kept = SelectField("into this statement", coerce=int)
    text = TextAreaField("Wording of the merged statement (leave empty to keep it)", validators=[Length(max=2000)])
    reason = TextAreaField("Why (for the item history)", validators=[Length(max=2000)])


class SuggestionDecisionForm(FlaskForm):
    action = RadioField("Decision", choices=options([
                            ("accept", "Accept as a new statement"), ("merge", "Merge into an existing statement"),
                            ("decline", "Decline")]),
                        validators=[InputRequired("Choose accept, merge or decline.")])
    code = StringField("Code for the new statement (optional)", validators=[Optional(), Length(max=40)])
    domain = StringField("Domain", validators=[Length(max=200)])
    text = TextAreaField("Wording of the new statement", validators=[Length(max=2000)])
    target = SelectField("Statement to merge into", coerce=int, validate_choice=False)
    reason = TextAreaField("Reason", validators=[Length(max=2000)])


class EntryPanellistForm(FlaskForm):
    pseudonym = StringField("Panellist's pseudonym", validators=[DataRequired("Enter the panellist's pseudonym."),
                                                                Length(max=20)])
