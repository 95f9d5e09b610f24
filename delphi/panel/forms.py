"""Panellist forms. The rating form is built at run time, one radio field per statement (indico's surveys do the
same), so a page holds exactly the statements of its domain."""
from __future__ import annotations

import functools
from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from delphi.localised import for_page
from delphi.models import Study
from delphi.services.answers import DECLINED, MAX_COMMENT, UNABLE, PageStatement


def _allowed(values: set[str], message):
    def check(form, field):
        if field.data not in (None, "") and field.data not in values:
            raise ValidationError(message)

    return check


class RatingPageForm(FlaskForm):
    """Navigation buttons shared by every rating page; statement fields are added by :func:`rating_form`."""

    previous = SubmitField(_l("Save and go back"))
    next = SubmitField(_l("Save and continue"))
    leave = SubmitField(_l("Save and come back later"))
    # Whose page this is, opaquely (``panel.kept``): answers posted after the session ended are kept for them alone.
    keeper = HiddenField()

    statement_fields: tuple[tuple[PageStatement, str, str, str | None], ...]
    # What the page writes out for every statement, made once: (value, anchor label or None) per scale point, and the
    # "unable to rate" and "prefer not to answer" choices' labels (None when the study has no such choice).
    scale_points: tuple[tuple[str, str | None], ...]
    unable_label: str | None
    declined_label: str | None


def rating_form(study: Study, statements: Sequence[PageStatement], *, with_reasons: set[int] = frozenset(),
                formdata=None, data: dict | None = None, meta: dict | None = None) -> RatingPageForm:
    """A form with, per statement: ``s<id>`` (the rating), ``c<id>`` (an optional comment) and, where the panellist
    rated it last round, ``r<id>`` (why they changed, optional)."""
    statements = tuple(statements)
    reasons = frozenset(rs.statement_id for rs in statements if rs.statement_id in with_reasons)
    cls, names, choices = _rating_form_class(statements, reasons, study.scale_min, study.scale_max,
                                             study.unable_to_rate, study.prefer_not_to_answer)
    kwargs = {"data": data, "meta": meta or {}}
    form = cls(formdata=formdata, **kwargs) if formdata is not None else cls(**kwargs)
    form.statement_fields = names
    labels = study.scale_labels or {}
    form.scale_points = tuple((choice.value, labels.get(choice.value)) for choice in choices
                              if choice.value not in (UNABLE, DECLINED))
    label_of = {choice.value: str(choice.label) for choice in choices}
    form.unable_label, form.declined_label = label_of.get(UNABLE), label_of.get(DECLINED)
    return form


@functools.lru_cache(maxsize=256)
def _rating_form_class(statements: tuple[PageStatement, ...], reasons: frozenset[int], scale_min: int, scale_max: int,
                       unable_to_rate: bool, prefer_not_to_answer: bool = False):
    """The form class of a page (its statements, which of them ask for a reason, the scale), made once per process:
    building 40 to 60 fields' classes cost as much as binding them. Labels and messages are lazy, so one class serves
    every language. Returns (class, statement_fields, choices)."""
    choices = [SelectChoice(str(v), str(v)) for v in range(scale_min, scale_max + 1)]
    if unable_to_rate:
        choices.append(SelectChoice(UNABLE, _l("I am unable to rate this")))
    if prefer_not_to_answer:
        choices.append(SelectChoice(DECLINED, _l("Prefer not to answer")))
    allowed = {choice.value for choice in choices}
    not_on_scale = _l("Choose one of the answers shown.")
    too_long = _l("Please keep this to %(max)d characters or fewer.", max=MAX_COMMENT)

    class Form(RatingPageForm):
        pass

    names = []
    for rs in statements:
        sid = rs.statement_id
        setattr(Form, f"s{sid}", RadioField(rs.text, choices=choices, validate_choice=False,
                                            validators=[Optional(), _allowed(allowed, not_on_scale)]))
        setattr(Form, f"c{sid}", TextAreaField(_l("Comment (optional)"),
                                               validators=[Optional(), Length(max=MAX_COMMENT, message=too_long)]))
        reason = None
        if sid in reasons:
            reason = f"r{sid}"
            setattr(Form, reason, TextAreaField(_l("If your view has changed since last round, would you like to say why? (optional)"),
                                                validators=[Optional(), Length(max=MAX_COMMENT, message=too_long)]))
        names.append((rs, f"s{sid}", f"c{sid}", reason))
    return Form, tuple(names), tuple(choices)


class ConsentForm(FlaskForm):
    statements = SelectMultipleField(_l("Consent"), choices=[], validate_choice=False)
    agree = SubmitField(_l("I agree to take part"))
    decline = SubmitField(_l("I do not want to take part"))


class GroupForm(FlaskForm):
    group = RadioField(_l("Which of these describes you best?"), choices=[], validate_choice=False,
                       validators=[DataRequired(_l("Choose the group that describes you best."))])
    submit = SubmitField(_l("Continue"))


class ConfirmDeclineForm(FlaskForm):
    """Saying no to taking part is final, so it is asked once more on a page of its own."""

    yes = SubmitField(_l("Yes, continue"))
    back = SubmitField(_l("No, go back"))


class ConfirmGroupForm(FlaskForm):
    """The group can be chosen only once, so the choice is shown back before it is kept."""

    group = HiddenField()
    yes = SubmitField(_l("Yes, continue"))
    back = SubmitField(_l("No, go back"))


class SubmitRoundForm(FlaskForm):
    submit = SubmitField(_l("Send my answers"))


class SuggestionForm(FlaskForm):
    domain = StringField(_l("Topic (optional)"), validators=[Optional(), Length(max=200)])
    text = TextAreaField(_l("Your suggested statement"), validators=[
        DataRequired(_l("Write the statement you would like the panel to rate.")),
        Length(min=5, max=1000, message=_l("Please write between 5 and 1,000 characters.")),
    ])
    submit = SubmitField(_l("Send suggestion"))


class WithdrawForm(FlaskForm):
    confirm = BooleanField(_l("I understand, and I want to leave the study"),
                           validators=[DataRequired(_l("Tick the box to confirm that you want to leave the study."))])
    submit = SubmitField(_l("Leave the study"))


class DeletionRequestForm(FlaskForm):
    """A request to the study team to delete the panellist's data (a task on the contacts side)."""

    scope = RadioField(_l("What do you want deleted?"), choices=[
        SelectChoice("contact", _l("My contact details: my e-mail address, phone number and name. I stay in the "
                                   "study.")),
        SelectChoice("answers", _l("My answers and my contact details. I leave the study.")),
    ], validators=[DataRequired(_l("Choose what you want deleted."))])
    submit = SubmitField(_l("Send my request"))


class ConfirmPendingForm(FlaskForm):
    save = SubmitField(_l("Yes, save these answers"))
    discard = SubmitField(_l("No, throw them away"))


class OpenAnswersForm(FlaskForm):
    save = SubmitField(_l("Save"))
    review = SubmitField(_l("Save and review"))


def open_answers_form(questions, formdata=None, data=None) -> OpenAnswersForm:
    class Form(OpenAnswersForm):
        pass

    for q in questions:
        # The question in the panellist's language, or the study's marked with its lang (issue 21).
        setattr(Form, f"q{q.id}", TextAreaField(for_page(q), validators=[Optional(), Length(max=20000)]))
    return Form(formdata=formdata, data=data) if formdata is not None else Form(data=data)
