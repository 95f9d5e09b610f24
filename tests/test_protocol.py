"""The protocol file: a good one round-trips; a bad one is refused with messages that name the key."""
import pytest

from delphi.errors import InputErrors
from delphi.protocol import STATEMENT_BANK, ProtocolError, load_protocol, protocol_to_toml
from tests.conftest import MINIMAL_PROTOCOL

BANK = STATEMENT_BANK


def test_bank_protocol_loads_with_its_settings():
    protocol = load_protocol(BANK)
    assert protocol.title == "What does recovery-oriented practice mean?"
    assert [g.key for g in protocol.groups] == ["service_user", "family", "staff", "peer"]
    assert 25 <= len(protocol.statements) <= 40
    assert protocol.consensus.scope == "each_group"
    assert protocol.scale.labels[9] == "Extremely important"


def test_protocol_round_trips_through_toml():
    protocol = load_protocol(BANK)
    assert load_protocol(protocol_to_toml(protocol)) == protocol


def test_unable_in_denominator_defaults_to_false_and_round_trips():
    assert load_protocol(MINIMAL_PROTOCOL).consensus.unable_in_denominator is False
    protocol = load_protocol(with_change('scope = "overall"', 'scope = "overall"\nunable_in_denominator = true'))
    assert protocol.consensus.unable_in_denominator is True
    assert load_protocol(protocol_to_toml(protocol)) == protocol


def test_a_study_keeps_unable_in_denominator(app):
    from delphi.services.studies import create_study, study_protocol

    protocol = load_protocol(with_change('scope = "overall"', 'scope = "overall"\nunable_in_denominator = true'))
    with app.app_context():
        study = create_study(protocol)
        assert study.unable_in_denominator is True
        assert study_protocol(study).consensus.unable_in_denominator is True


def test_missing_codes_are_generated():
    text = MINIMAL_PROTOCOL + '\n[[statements]]\ntext = "No code here."\n'
    protocol = load_protocol(text)
    assert protocol.statements[-1].code == "S04"


def with_change(old: str, new: str) -> str:
    assert old in MINIMAL_PROTOCOL
    return MINIMAL_PROTOCOL.replace(old, new, 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        (with_change('title = "Test study"', ""), "title: missing"),
        (with_change('title = "Test study"', "title = 5"), "title: must be text"),
        (with_change("min_group_feedback = 3", "min_group_feedback = 0"), "min_group_feedback: must be between 1"),
        (with_change("min_group_feedback = 3", 'min_group_feedback = "five"'), "min_group_feedback: must be a whole"),
        (with_change("min = 1", "min = 10"), "scale: min (10) must be smaller than max (9)"),
        (with_change('"9" = "Very important"', '"12" = "Off"'), "scale.labels.12: 12 is not on the scale"),
        (with_change('scope = "overall"', 'scope = "everyone"'), "consensus.scope: must be one of"),
        (with_change('scope = "overall"', 'scope = "overall"\nagree = [3, 9]'), "overlap"),
        (with_change('scope = "overall"', 'scope = "overall"\nagree = [7, 12]'), "consensus.agree: [7, 12] must lie"),
        (with_change('scope = "overall"', 'scope = "overall"\ninclude = "pct_agree >= "'), "consensus.include:"),
        (with_change('scope = "overall"', 'scope = "overall"\ninclude = "__import__(\'os\')"'), "consensus.include:"),
        (with_change('scope = "overall"', 'scope = "overall"\nquantile_method = "type9"'), "consensus.quantile_method"),
        (with_change('scope = "overall"', 'scope = "overall"\nunable_in_denominator = "yes"'),
         "consensus.unable_in_denominator: must be true or false"),
        (with_change('key = "staff"', 'key = "service_user"'), "groups[2].key: 'service_user' is used by an earlier"),
        (with_change('key = "staff"', 'key = "Staff Members"'), "groups[2].key: 'Staff Members' must start"),
        (with_change('code = "A-02"', 'code = "A-01"'), "statements[2].code: 'A-01' is used by an earlier"),
        (with_change('text = "A relapse is not a failure."', 'text = ""'), "statements[2].text: must not be empty"),
        (with_change('title = "Test study"', 'title = "Test study"\ncolour = "blue"'), "colour: unknown key"),
        ("title = 'x'", "groups: missing"),
        ("this is = = not toml", "not valid TOML"),
        (with_change('scope = "overall"', 'scope = "equal_groups"\ninclude = "median >= 7"'), "consensus.include:"),
    ],
)
def test_bad_protocols_are_refused_naming_the_key(text, expected):
    with pytest.raises(ProtocolError) as info:
        load_protocol(text)
    assert any(expected in message for message in info.value.errors), info.value.errors


def test_every_problem_is_reported_at_once():
    text = with_change("min_group_feedback = 3", "min_group_feedback = -1\nmax_rounds = 0")
    with pytest.raises(ProtocolError) as info:
        load_protocol(text)
    assert len(info.value.errors) == 2


@pytest.mark.parametrize(
    "text, field",
    [
        (with_change('key = "staff"', 'key = "service_user"'), "groups[2].key"),
        (with_change('scope = "overall"', 'scope = "overall"\ninclude = "pct_agree >= "'), "consensus.include"),
        (with_change("min = 1", "min = 10"), "scale"),
        (with_change('"9" = "Very important"', '"12" = "Off"'), "scale.labels.12"),
        ("this is = = not toml", None),
    ],
)
def test_each_problem_carries_its_key(text, field):
    with pytest.raises(InputErrors) as info:
        load_protocol(text)
    assert isinstance(info.value, ProtocolError)
    problem = info.value.problems[0]
    assert problem.field == field
    assert problem.message == info.value.errors[0]
    assert all(p.field is None or p.message.startswith(f"{p.field}: ") for p in info.value.problems)
