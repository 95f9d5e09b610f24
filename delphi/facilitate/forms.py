"""Forms of the staff console. Field names follow the protocol keys where they map onto one."""
from __future__ import annotations

from datetime import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from analysis import parse_rule
from delphi.errors import InputErrors
from delphi.localised import LANGUAGE_NAMES, as_protocol_value, offered
from delphi.models import ConsensusScope, StoppingRule, StudyRole, WithdrawalPolicy
from delphi.protocol import MAX_MINUTES, Protocol
from delphi.rule_errors import rule_message
from delphi.services.invitations import check_email
from delphi.services.round_timing import one_line
from delphi.services.study_setup import parse_lines



def options(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def titles(kind) -> list[SelectChoice]:
    """WTForms choices from a RichEnum: its values, and its titles in the page's language."""
    return options((value, _l(title)) for value, title in kind.choices())


def show_problems(form: FlaskForm, error: InputErrors, fallback, field_name=lambda field: field) -> None:
    """Put each problem's message on the form field it names, or on ``fallback`` (a field of ``form``) when it names
    none the form has. ``field_name`` turns a problem's field into a form field's name (for example a protocol key
    such as ``consensus.include`` into ``include``)."""
    for problem in error.problems:
        name = field_name(problem.field) if problem.field else None
        field = form[name] if name and name in form else fallback
        field.errors.append(problem.shown())


LANGUAGE_CHOICES = [("en", "English"), ("nb", "Norsk bokmål")]  # each language named in itself


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter “%(label)s” as a whole number, such as 5.", label=self.label.text)) from None


class NumberField(FloatField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter “%(label)s” as a number, such as 15.", label=self.label.text)) from None


def _whole(label, low: int, high: int) -> list:
    """``label`` says what the number is, as in "Enter <label> as a whole number" (a lazy string)."""
    return [InputRequired(_l("Enter %(what)s as a whole number.", what=label)),
            NumberRange(low, high, _l("Enter a whole number from %(low)s to %(high)s for %(what)s.", low=low,
                                      high=high, what=label))]


class NewStudyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter the study's title.")), Length(max=300)])
    language = SelectField(_l("Panel pages' language"), choices=options(LANGUAGE_CHOICES), default="en")
    groups = TextAreaField(_l("Stakeholder groups"),
                           validators=[DataRequired(_l("List at least one stakeholder group."))],
                           default="service_user: People with lived experience\nfamily: Family members and carers\n"
                                   "staff: Staff\npeer: Peer support workers")


class UploadProtocolForm(FlaskForm):
    protocol = FileField(_l("Protocol file (.toml)"))


class TextsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter the study's title.")), Length(max=300)])
    language = SelectField(_l("Panel pages' language"), choices=options(LANGUAGE_CHOICES))
    information = TextAreaField(_l("Information for panellists"), validators=[Length(max=20000)])
    consent = TextAreaField(_l("Consent statements (one per line)"), validators=[Length(max=20000)])
    min_group_feedback = WholeNumberField(_l("Smallest group whose figures panellists see"),
                                          validators=_whole(_l("the smallest group size"), 1, 1000))
    allow_suggestions = BooleanField(_l("Panellists may suggest new statements"))
    allow_group_choice = BooleanField(
        _l("Panellists choose their own stakeholder group when they first open their link"))
    withdrawal = RadioField(_l("When a panellist leaves the study"), choices=titles(WithdrawalPolicy),
                            validators=[DataRequired(_l("Choose what happens to a leaving panellist's answers."))])
    # Safeguarding: the help panel on every panellist page, and the start page's time estimate ([support], minutes).
    # Optional: a form posted without it (a script, an older page) keeps the study's value; empty means estimated.
    minutes = WholeNumberField(_l("Minutes a round takes"), validators=[
        Optional(),
        NumberRange(0, MAX_MINUTES, _l("The minutes a round takes must be between 0 and %(most)s.", most=MAX_MINUTES))])
    contact_name = StringField(_l("Contact person's name"), validators=[Length(max=200)])
    contact_email = StringField(_l("Contact person's e-mail address"), validators=[Length(max=254)])
    contact_phone = StringField(_l("Contact person's phone number"), validators=[Length(max=40)])
    services = TextAreaField(_l("Support services"), validators=[Length(max=5000)])
    # Issue 21: the languages panellists can read the study in, and each text in the others (title_en, ...: one
    # field per text and language, added below; the page shows those of the languages the study offers).
    languages = SelectMultipleField(_l("Languages panellists can read the study in"),
                                    choices=options(LANGUAGE_CHOICES), validate_choice=True)

    @classmethod
    def of(cls, protocol: Protocol) -> TextsForm:
        support = protocol.support
        translated = {f"{key}_{lang}": text for key in TRANSLATED_TEXTS
                      for lang, text in protocol.translations.get(key, {}).items()}
        translated.update({f"labels_{lang}": "\n".join(
            f"{point} = {protocol.translations[f'scale.labels.{point}'][lang]}" for point in protocol.scale.labels
            if lang in protocol.translations.get(f"scale.labels.{point}", {})) for lang, _name in LANGUAGE_CHOICES})
        form = cls(data=dict(title=protocol.title, language=protocol.language, information=protocol.information,
                             languages=list(offered(protocol.language, protocol.languages)), **translated,
                             consent=protocol.consent, min_group_feedback=protocol.min_group_feedback,
                             allow_suggestions=protocol.allow_suggestions,
                             allow_group_choice=protocol.allow_group_choice, withdrawal=protocol.withdrawal,
                             minutes=protocol.minutes, contact_name=support.contact_name,
                             contact_email=support.contact_email, contact_phone=support.contact_phone,
                             services="\n".join(service_line(s) for s in support.services)))
        form.other_languages = [lang for lang in offered(protocol.language, protocol.languages)
                                if lang != protocol.language]
        form.scale_labels = {str(point): label for point, label in protocol.scale.labels.items()}
        if form.other_languages:  # each text's field says its language, the study's first
            for key, (label, _kind, _most) in TRANSLATED_TEXTS.items():
                form[key].label.text = label(LANGUAGE_NAMES[protocol.language])
        return form

    def translated(self, key: str) -> list:
        """The fields of text ``key`` in the study's other languages, in the order the study lists them."""
        return [self[f"{key}_{lang}"] for lang in getattr(self, "other_languages", ())]

    def translated_labels(self) -> list:
        return [self[f"labels_{lang}"] for lang in getattr(self, "other_languages", ())]

    def _validate_labels(self, field) -> None:
        """A labels_<language> field: point = label lines for the points that have a label."""
        pairs, problems = parse_lines(field.data, "=", _("point = label, e.g. 1 = Not important"))
        problems += [_("%(point)s has no label in the study's language (set the labels on the consensus page)",
                       point=point) for point, _label in pairs if point not in getattr(self, "scale_labels", {})]
        if problems:
            raise ValidationError(" ".join(problems))
        self.label_texts = {**getattr(self, "label_texts", {}), field.name.rpartition("_")[2]: dict(pairs)}

    def _text(self, key: str, text: str):
        others = {lang: (self[f"{key}_{lang}"].data or "") for lang in getattr(self, "other_languages", ())
                  if lang in (self.languages.data or ())}
        return as_protocol_value(self.language.data, text, others)

    def validate_services(self, field) -> None:
        bad = [number for number, line in enumerate((field.data or "").splitlines(), start=1)
               if line.strip() and line.count(SERVICE_SEPARATOR) > 3]
        if bad:
            raise ValidationError(_("Line %(number)s has more than four parts; write name | phone | web address | "
                                    "opening hours, leaving a part empty when there is none.", number=bad[0]))

    def changes(self) -> dict:
        """The protocol keys this form sets (``update_settings``)."""
        labels = {point: as_protocol_value(self.language.data, label,
                                           {lang: texts.get(point, "") for lang, texts in
                                            getattr(self, "label_texts", {}).items()
                                            if lang in (self.languages.data or ())})
                  for point, label in getattr(self, "scale_labels", {}).items()}
        return {"title": self._text("title", self.title.data), "language": self.language.data,
                **({"scale": {"labels": labels}} if labels else {}),
                "languages": list(self.languages.data or [self.language.data]),
                "information": self._text("information", self.information.data or ""),
                "consent": self._text("consent", self.consent.data or ""),
                "min_group_feedback": self.min_group_feedback.data,
                "allow_suggestions": self.allow_suggestions.data, "allow_group_choice": self.allow_group_choice.data,
                "withdrawal": self.withdrawal.data, "minutes": self.minutes.data or 0,
                "support": {"contact_name": (self.contact_name.data or "").strip(),
                            "contact_email": (self.contact_email.data or "").strip(),
                            "contact_phone": (self.contact_phone.data or "").strip(),
                            "services": parse_services(self.services.data)}}


# Each text of the texts page in another language: its label (named with the language, in that language's own
# name), its field and its longest length.
TRANSLATED_TEXTS = {
    "title": (lambda name: _l("Title (%(language)s)", language=name), StringField, 300),
    "information": (lambda name: _l("Information for panellists (%(language)s)", language=name), TextAreaField,
                    20000),
    "consent": (lambda name: _l("Consent statements, one per line (%(language)s)", language=name), TextAreaField,
                20000),
}
for _key, (_label, _kind, _most) in TRANSLATED_TEXTS.items():
    for _code, _name in LANGUAGE_CHOICES:
        setattr(TextsForm, f"{_key}_{_code}", _kind(_label(_name), validators=[Length(max=_most)]))
for _code, _name in LANGUAGE_CHOICES:
    setattr(TextsForm, f"labels_{_code}", TextAreaField(_l("Scale labels (%(language)s)", language=_name),
                                                        validators=[Length(max=5000)]))
    setattr(TextsForm, f"validate_labels_{_code}", TextsForm._validate_labels)


SERVICE_SEPARATOR = "|"
SERVICE_PARTS = ("name", "phone", "url", "hours")


def service_line(service) -> str:
    """A support service as one line of the texts page: name | phone | web address | opening hours."""
    return f" {SERVICE_SEPARATOR} ".join(getattr(service, part) for part in SERVICE_PARTS).rstrip(" |")


def parse_services(text: str | None) -> list[dict[str, str]]:
    """The texts page's support services, one a line, as protocol tables (the protocol checks each part)."""
    services = []
    for line in (text or "").splitlines():
        if line.strip():
            parts = [part.strip() for part in line.split(SERVICE_SEPARATOR)]
            services.append({key: value for key, value in zip(SERVICE_PARTS, parts) if value or key == "name"})
    return services


class ProtocolForm(FlaskForm):
    scale_min = WholeNumberField(_l("Lowest point"), validators=_whole(_l("the lowest point"), 0, 100))
    scale_max = WholeNumberField(_l("Highest point"), validators=_whole(_l("the highest point"), 1, 101))
    labels = TextAreaField(_l("Labels"), validators=[Length(max=5000)])
    unable_to_rate = BooleanField(_l("Panellists may answer “unable to rate”"))
    prefer_not_to_answer = BooleanField(_l("Panellists may answer “prefer not to answer”"))
    agree_low = WholeNumberField(_l("Agreement band from"),
                                 validators=_whole(_l("the start of the agreement band"), 0, 101))
    agree_high = WholeNumberField(_l("Agreement band to"),
                                  validators=_whole(_l("the end of the agreement band"), 0, 101))
    disagree_low = WholeNumberField(_l("Disagreement band from"),
                                    validators=_whole(_l("the start of the disagreement band"), 0, 101))
    disagree_high = WholeNumberField(_l("Disagreement band to"),
                                     validators=_whole(_l("the end of the disagreement band"), 0, 101))
    include = StringField(_l("Consensus in when"),
                          validators=[DataRequired(_l("Write the rule for consensus in.")), Length(max=500)])
    exclude = StringField(_l("Consensus out when"),
                          validators=[DataRequired(_l("Write the rule for consensus out.")), Length(max=500)])
    scope = RadioField(_l("Scope"), choices=titles(ConsensusScope),
                       validators=[InputRequired(_l("Choose a scope."))])
    stable_change = NumberField(_l("Stable when fewer than this many percentage points change"), validators=[
        InputRequired(_l("Enter the stability threshold as a number.")),
        NumberRange(0, 100, _l("The stability threshold must be between 0 and 100."))])
    stopping = RadioField(_l("Stopping rule"), choices=titles(StoppingRule),
                          validators=[InputRequired(_l("Choose a rule."))])
    max_rounds = WholeNumberField(_l("Maximum number of rating rounds"),
                                  validators=_whole(_l("the maximum number of rounds"), 1, 10))
    check = SubmitField(_l("Check the rules"))
    save = SubmitField(_l("Save"))

    @classmethod
    def of(cls, protocol: Protocol) -> ProtocolForm:
        s, c = protocol.scale, protocol.consensus
        form = cls(data=dict(
            scale_min=s.min, scale_max=s.max, unable_to_rate=s.unable_to_rate,
            prefer_not_to_answer=s.prefer_not_to_answer,
            labels="\n".join(f"{point} = {label}" for point, label in s.labels.items()),
            agree_low=c.agree[0], agree_high=c.agree[1], disagree_low=c.disagree[0], disagree_high=c.disagree[1],
            include=c.include, exclude=c.exclude, scope=c.scope, stable_change=c.stable_change,
            stopping=protocol.stopping, max_rounds=protocol.max_rounds))
        form.language = protocol.language
        form.label_translations = {str(key.rpartition(".")[2]): others for key, others in protocol.translations.items()
                                   if key.startswith("scale.labels.")}
        return form

    def validate_labels(self, field) -> None:
        pairs, problems = parse_lines(field.data, "=", _("point = label, e.g. 1 = Not important"))
        field.errors.extend(problems)
        self.label_pairs = dict(pairs)

    def labels_with_translations(self) -> dict:
        """The labels as written, each keeping its other languages (edited on the texts page)."""
        kept, language = getattr(self, "label_translations", {}), getattr(self, "language", "")
        return {point: as_protocol_value(language, label, kept.get(point, {}))
                for point, label in self.label_pairs.items()}

    def check_rules(self) -> list[str]:
        """Parse both rules; returns a line per rule saying it is fine, adding parse errors to the fields."""
        fine = []
        for field, valid in ((self.include, _l("The rule for consensus in is valid; it uses %(figures)s.")),
                             (self.exclude, _l("The rule for consensus out is valid; it uses %(figures)s."))):
            try:
                rule = parse_rule(field.data or "")
            except ValueError as exc:
                field.errors.append(rule_message(exc))
            else:
                fine.append(str(valid) % {"figures": ", ".join(sorted(rule.metrics))})
        return fine

    def changes(self) -> dict:
        """The protocol keys this form sets (``update_settings``); call after it validated."""
        return {
            "scale": {"min": self.scale_min.data, "max": self.scale_max.data,
                      "unable_to_rate": self.unable_to_rate.data,
                      "prefer_not_to_answer": self.prefer_not_to_answer.data,
                      "labels": self.labels_with_translations()},
            "consensus": {"agree": [self.agree_low.data, self.agree_high.data],
                          "disagree": [self.disagree_low.data, self.disagree_high.data],
                          "include": self.include.data, "exclude": self.exclude.data, "scope": self.scope.data,
                          "stable_change": float(self.stable_change.data)},
            "stopping": self.stopping.data, "max_rounds": self.max_rounds.data,
        }


class GroupsForm(FlaskForm):
    groups = TextAreaField(_l("Stakeholder groups"),
                           validators=[DataRequired(_l("List at least one stakeholder group."))])

    # names_en, names_nb (added below): the groups' names in the study's other languages, as key: name lines.

    @classmethod
    def of(cls, protocol: Protocol) -> GroupsForm:
        names = {f"names_{lang}": "\n".join(f"{g.key}: {protocol.translations[f'groups[{i}].name'][lang]}"
                                            for i, g in enumerate(protocol.groups, start=1)
                                            if lang in protocol.translations.get(f"groups[{i}].name", {}))
                 for lang, _name in LANGUAGE_CHOICES}
        form = cls(data={"groups": "\n".join(f"{g.key}: {g.name}" for g in protocol.groups), **names})
        form.descriptions = {g.key: g.description for g in protocol.groups}
        form.language = protocol.language
        form.other_languages = [lang for lang in offered(protocol.language, protocol.languages)
                                if lang != protocol.language]
        if form.other_languages:
            form.groups.label.text = _("Stakeholder groups (%(language)s)", language=LANGUAGE_NAMES[protocol.language])
        return form

    def translated(self) -> list:
        return [self[f"names_{lang}"] for lang in getattr(self, "other_languages", ())]

    def validate_groups(self, field) -> None:
        pairs, problems = parse_lines(field.data, ":", _("key: name, e.g. staff: Staff"))
        field.errors.extend(problems)
        self.group_pairs = pairs

    def _validate_names(self, field) -> None:
        """A names_<language> field (validated after ``groups``): key: name lines of the groups above."""
        pairs, problems = parse_lines(field.data, ":", _("key: name, e.g. staff: Staff"))
        keys = {key for key, _name in getattr(self, "group_pairs", ())}
        problems += [_("%(key)s is not one of the groups above", key=key) for key, _name in pairs if key not in keys]
        if problems:
            raise ValidationError(" ".join(problems))
        if field.name.rpartition("_")[2] in getattr(self, "other_languages", ()):
            self.group_names = {**getattr(self, "group_names", {}), field.name.rpartition("_")[2]: dict(pairs)}

    def changes(self) -> dict:
        """The groups as the protocol lists them, each keeping the description it had (edited elsewhere)."""
        kept, names = self.descriptions, getattr(self, "group_names", {})
        return {"groups": [{"key": k, "name": as_protocol_value(getattr(self, "language", ""), n,
                                                                  {lang: names[lang].get(k, "") for lang in names}),
                            **({"description": kept[k]} if kept.get(k) else {})}
                           for k, n in self.group_pairs]}


for _code, _name in LANGUAGE_CHOICES:
    setattr(GroupsForm, f"names_{_code}", TextAreaField(_l("Group names (%(language)s)", language=_name)))
    setattr(GroupsForm, f"validate_names_{_code}", GroupsForm._validate_names)


ROLE_CHOICES = [(StudyRole.owner.value, _l("Owner")), (StudyRole.facilitator.value, _l("Facilitator")),
                (StudyRole.researcher.value, _l("Researcher"))]


class MemberForm(FlaskForm):
    email = EmailField(_l("Their email address"),
                       validators=[DataRequired(_l("Enter your colleague's email address.")),
                                   Length(max=320, message=_l("Use at most 320 characters."))])
    role = RadioField(_l("Role"), choices=options(ROLE_CHOICES),
                      validators=[InputRequired(_l("Choose a role."))], default=StudyRole.facilitator.value)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES), validators=[InputRequired(_l("Choose a role."))])


class AuditFilterForm(FlaskForm):
    """The audit log's filter, sent by GET (bookmarkable, no CSRF token needed to read)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], validate_choice=True)


class StatementTexts:
    """The text_<language> fields of a statement's form: one per language the study offers besides its own."""

    def for_study(self, study):
        """Show a field for each language the study offers besides its own, the study's labelled first."""
        self.other_languages = [lang for lang in offered(study.language, study.languages) if lang != study.language]
        if self.other_languages and "text" in self:
            self.text.label.text = self.text_label(LANGUAGE_NAMES[study.language])
        return self

    @staticmethod
    def text_label(language: str) -> str:
        return _("Statement (%(language)s)", language=language)

    def translated(self) -> list:
        return [self[f"text_{lang}"] for lang in getattr(self, "other_languages", ())]

    def translations(self) -> dict[str, str]:
        """{language: text} of the other languages' fields, empty ones left out."""
        return {f.name.rpartition("_")[2]: f.data.strip() for f in self.translated() if (f.data or "").strip()}


class StatementForm(StatementTexts, FlaskForm):
    code = StringField(_l("Code"), validators=[Optional(), Length(max=40, message=_l("Use at most 40 characters."))])
    domain = StringField(_l("Domain"), validators=[Length(max=200, message=_l("Use at most 200 characters."))])
    text = TextAreaField(_l("Statement"), validators=[DataRequired(_l("Write the statement.")),
                                                  Length(max=2000, message=_l("Use at most 2000 characters."))])
    # text_en, text_nb (added below): the statement in the study's other languages (issue 21).


class TranslationForm(StatementTexts, FlaskForm):
    """A statement's text in the study's other languages, changed after round 1 has opened (kept in the item
    history with the reason)."""

    reason = TextAreaField(_l("Why the translation changes"), validators=[
        Length(max=500, message=_l("Use at most 500 characters."))])


for _code, _name in LANGUAGE_CHOICES:
    for _form in (StatementForm, TranslationForm):
        setattr(_form, f"text_{_code}", TextAreaField(
            _l("Statement (%(language)s)", language=_name),
            validators=[Optional(), Length(max=2000, message=_l("Use at most 2000 characters."))]))


class CsvUploadForm(FlaskForm):
    file = FileField(_l("CSV file"))


class CsvConfirmForm(FlaskForm):
    content = HiddenField()


class ActionForm(FlaskForm):
    """A button that posts (delete, move, revoke, ...): only the CSRF token."""


class ConfirmForm(FlaskForm):
    """The button of a confirmation page that says what an irreversible action will do. The action's POST acts only
    with ``confirm=yes`` from that page; a POST without it (a stale one-click form, a script) is sent to the page."""

    confirm = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.confirm.data = "yes"  # what the page's button sends; a POST without it leaves it empty

    def confirmed(self) -> bool:
        return self.validate_on_submit() and self.confirm.data == "yes"


class DeleteStudyForm(FlaskForm):
    title = StringField(_l("Type the study's title to confirm"),
                        validators=[DataRequired(_l("Type the study's title to confirm.")), Length(max=300)])


class RetentionForm(FlaskForm):
    contacts_retention_days = WholeNumberField(
        _l("Erase contact details this many days after the study closes"),
        validators=[Optional(), NumberRange(0, 3650, _l("Enter a number of days from 0 to 3650, or leave it empty."))])


class PanellistForm(FlaskForm):
    group = SelectField(_l("Stakeholder group"), validators=[InputRequired(_l("Choose a group."))])
    email = EmailField(_l("Email address (optional)"), validators=[Length(max=320)])

    def validate_email(self, field):
        if field.data and check_email(field.data) is None:
            raise ValidationError(_("Enter an email address like name@example.org, or leave it empty."))


class ContactsForm(FlaskForm):
    file = FileField(_l("Contacts file (CSV with columns group and optional email and phone)"))


class MailForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Write a subject.")), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write the message.")), Length(max=20000)])

    def validate_subject(self, field):
        if not one_line(field.data or ""):
            raise ValidationError(_("Write the subject on one line: it must not contain a line break."))


class DecisionForm(FlaskForm):
    carry_forward = RadioField(_l("Decision"),
                               choices=options([("yes", _l("Carry forward to the next round")), ("no", _l("Retire"))]),
                               validators=[InputRequired(_l("Choose carry forward or retire."))])
    reason = TextAreaField(_l("Reason (needed when you go against the default)"), validators=[Length(max=2000)])


class RewordForm(FlaskForm):
    text = TextAreaField(_l("New wording"), validators=[DataRequired(_l("Write the new wording.")), Length(max=2000)])
    reason = TextAreaField(_l("Why (for the item history)"), validators=[Length(max=2000)])


class MergeForm(FlaskForm):
    absorbed = SelectField(_l("Merge this statement"), coerce=int)
    kept = SelectField(_l("into this statement"), coerce=int)
    text = TextAreaField(_l("Wording of the merged statement (leave empty to keep it)"), validators=[Length(max=2000)])
    reason = TextAreaField(_l("Why (for the item history)"), validators=[Length(max=2000)])


class SuggestionDecisionForm(FlaskForm):
    action = RadioField(_l("Decision"), choices=options([
                            ("accept", _l("Accept as a new statement")),
                            ("merge", _l("Merge into an existing statement")),
                            ("decline", _l("Decline"))]),
                        validators=[InputRequired(_l("Choose accept, merge or decline."))])
    code = StringField(_l("Code for the new statement (optional)"), validators=[Optional(), Length(max=40)])
    domain = StringField(_l("Domain"), validators=[Length(max=200)])
    text = TextAreaField(_l("Wording of the new statement"), validators=[Length(max=2000)])
    target = SelectField(_l("Statement to merge into"), coerce=int, validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


PROXY_CHANNELS = {"phone": _l("by phone with the panellist"), "paper": _l("from their paper form"),
                  "in_person": _l("in person with the panellist")}


class ProxyEntryForm(FlaskForm):
    """Who is entering a panellist's answers for them, how and why: it goes into the audit log."""

    channel = RadioField(_l("How the panellist gives their answers"), choices=options(PROXY_CHANNELS.items()),
                         validators=[InputRequired(_l("Choose how the panellist gives their answers."))])
    entered_by = StringField(_l("Who is entering them"), validators=[
        DataRequired(_l("Say who is entering the answers.")), Length(max=200)])
    reason = TextAreaField(_l("Why they are entered for the panellist"), validators=[
        DataRequired(_l("Say why the answers are entered for the panellist, for the audit log.")), Length(max=500)])


class WithdrawRequestForm(FlaskForm):
    confirm = BooleanField(_l("The person asked to leave the study"), validators=[
        DataRequired(_l("Tick the box to confirm that the person asked to leave."))])
    erase_answers = BooleanField(_l("They also asked for their answers to be deleted"))


class RoundTimingForm(FlaskForm):
    """A round's closing date (in the site's time zone, BABEL_DEFAULT_TIMEZONE), reminders before it, and whether it
    closes by itself."""

    closes_on = DateField(_l("Closing date"), validators=[Optional()])
    closes_time = TimeField(_l("Closing time"), default=time(23, 59), validators=[Optional()])
    reminder_days = StringField(_l("Send reminders this many days before the closing date"), default="7, 2",
                                validators=[Length(max=100)])
    auto_close = BooleanField(_l("Close the round by itself at that time (its figures are computed then)"))

    def validate_reminder_days(self, field) -> None:
        parts = [part.strip() for part in (field.data or "").replace(";", ",").split(",") if part.strip()]
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise ValidationError(_("Write whole numbers of days separated by commas, such as 7, 2, or leave it "
                                    "empty."))
        self.days = [int(part) for part in parts]


class CorrectionForm(FlaskForm):
    """A typo fixed in an open round: the new wording and why (kept in the item history). ``confirm`` is "yes" only
    from the page that shows the old and the new wording side by side."""

    text = TextAreaField(_l("Corrected statement"), validators=[
        DataRequired(_l("Write the corrected statement.")), Length(max=2000, message=_l("Use at most 2000 characters."))])
    reason = TextAreaField(_l("What the correction fixes"), validators=[
        DataRequired(_l("Say what the correction fixes.")), Length(max=500, message=_l("Use at most 500 characters."))])
    confirm = HiddenField()
