"""Each study setting is defined once, in the protocol; the Study columns, the copy table, the settings forms and the
enums' words must account for every one, so that adding a setting in one place and forgetting another fails here."""
from dataclasses import fields, is_dataclass

import pytest
import sqlalchemy as sa

from analysis.rules import SCOPES as ANALYSIS_SCOPES
from delphi.facilitate.forms import LANGUAGE_CHOICES, GroupsForm, ProtocolForm, TextsForm
from delphi.facilitate.setup import PROTOCOL_FIELDS, form_field
from delphi.models import Classification, Study
from delphi.protocol import (
    LANGUAGES,
    SCOPES,
    ConsensusScope,
    Protocol,
    StoppingRule,
    WithdrawalPolicy,
    load_protocol,
)
from delphi.services.studies import SETTINGS
from tests.conftest import MINIMAL_PROTOCOL

# Protocol keys kept as rows of their own (StakeholderGroup, Statement, OpenQuestion), not in Study columns.
ROWS = {"groups", "statements", "open_questions"}
# Study columns that are the study's state, not a protocol setting.
STATE_COLUMNS = {"id", "status", "consent_version", "starts_with_open_round", "locked_protocol", "locked_at",
                 "created_at", "closed_at",
                 # issue 23: drawn as round 1 opens and when the arms are allocated, never from a file
                 "allocation_seed", "allocation_seed_drawn_at", "arms_allocated_at"}
# Study columns that run the service, not the study's science: set on their own page, not in the protocol file
# (docs/operations.md, "Keeping contact details after the study closes").
SERVICE_COLUMNS = {"contacts_retention_days"}
# Settings a protocol file sets but no settings page changes.
NOT_IN_BROWSER = {"consensus.quantile_method", "consensus.unable_in_denominator",
                  # Issue 21: other languages' texts are sent as tables of the texts they translate.
                  "translations",
                  "experiment"}  # issue 23: from the protocol file; the settings page shows it read-only
FORMS = (TextsForm, ProtocolForm, GroupsForm)


def leaf_keys(spec, prefix: str = "") -> set[str]:
    keys = set()
    for f in fields(spec):
        default = f.default_factory() if callable(f.default_factory) else f.default
        if is_dataclass(default):
            keys |= leaf_keys(type(default), f"{prefix}{f.name}.")
        else:
            keys.add(prefix + f.name)
    return keys


def flat_keys(changes: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in changes.items():
        if isinstance(value, dict) and key != "labels":
            keys |= flat_keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def test_every_protocol_setting_has_its_study_columns():
    assert leaf_keys(Protocol) == {s.key for s in SETTINGS} | ROWS
    kept = {c for s in SETTINGS for c in (s.column if isinstance(s.column, tuple) else (s.column,))}
    assert {c.key for c in sa.inspect(Study).columns} == kept | STATE_COLUMNS | SERVICE_COLUMNS
    assert not kept & (STATE_COLUMNS | SERVICE_COLUMNS)


def test_study_column_defaults_are_the_protocol_defaults(app):
    default = Protocol(title="")
    table = Study.__table__
    for setting in SETTINGS:
        columns = setting.column if isinstance(setting.column, tuple) else (setting.column,)
        if setting.key == "title":
            continue  # required: the protocol has no default title
        stored = setting.to_column(setting_value(default, setting.key))
        stored = stored if isinstance(setting.column, tuple) else (stored,)
        for column, value in zip(columns, stored):
            column_default = table.c[column].default
            if value is None:  # no such table in the protocol (such as [experiment]): the column is null
                assert column_default is None and table.c[column].nullable, column
                continue
            assert column_default is not None, column
            got = column_default.arg({}) if column_default.is_callable else column_default.arg
            assert got == value, (setting.key, column)


def setting_value(protocol, key):
    for part in key.split("."):
        protocol = getattr(protocol, part)
    return protocol


def test_a_study_round_trips_through_the_settings_table(app):
    from delphi.services.studies import create_study, study_protocol

    protocol = load_protocol(MINIMAL_PROTOCOL)
    with app.app_context():
        assert study_protocol(create_study(protocol)) == protocol


def test_every_setting_is_on_a_settings_form_or_said_not_to_be(app):
    protocol, sent, names = load_protocol(MINIMAL_PROTOCOL), set(), set()
    for form_class in FORMS:
        with app.test_request_context():
            posted = _as_posted(form_class.of(protocol))
        with app.test_request_context(method="POST", data=posted):
            form = form_class.of(protocol)  # as the settings views build it
            assert form.validate(), form.errors
            sent |= flat_keys(form.changes())
            names |= set(form.data) - {"csrf_token", "check", "save"}
    editable = {s.key for s in SETTINGS} - NOT_IN_BROWSER
    assert sent == editable | {"groups"}
    for key in sent:
        assert form_field(key) in names, key  # a refused value shows beside the field that set it
    assert set(PROTOCOL_FIELDS.values()) <= names


def _as_posted(form) -> dict:
    posted = {}
    for name, field in form._fields.items():
        if field.type == "SelectMultipleField":
            posted[name] = field.data
        elif field.type == "BooleanField":
            if field.data:
                posted[name] = "y"
        elif field.type not in {"SubmitField", "CSRFTokenField"}:
            posted[name] = "" if field.data is None else str(field.data)
    return posted


@pytest.mark.parametrize("key, field", [
    ("consensus.include", "include"), ("groups[2].key", "groups"), ("scale.labels.12", "labels"),
    ("scale", "scale_max"), ("consensus", "agree_low"), ("colour", None), (None, None),
])
def test_a_protocol_key_finds_its_form_field(key, field):
    assert form_field(key) == field


def test_choices_and_words_come_from_the_enums():
    assert SCOPES == tuple(ANALYSIS_SCOPES) == ConsensusScope.values()
    assert [value for value, _ in LANGUAGE_CHOICES] == list(LANGUAGES)
    assert [c.value for c in ProtocolForm.scope.kwargs["choices"]] == list(ConsensusScope.values())
    assert [c.value for c in ProtocolForm.stopping.kwargs["choices"]] == list(StoppingRule.values())
    for kind in (ConsensusScope, StoppingRule):
        assert set(kind.__titles__) == set(kind.__phrases__) == {m.name for m in kind}
    assert {m.value for m in WithdrawalPolicy} == {"keep", "delete"}
    assert set(Classification.__titles__) == {m.name for m in Classification}
