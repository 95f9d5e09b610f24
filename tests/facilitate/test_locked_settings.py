"""min_group_feedback, [scale] and [consensus] lock when round 1 opens (protocol.md, "Locked at round 1"): refused
through the settings pages, through update_settings (what a protocol file or a command goes through) and on the model
itself; allowed before."""
import re

import pytest

from delphi.extensions import db
from delphi.models import DomainError, Study
from delphi.protocol import ProtocolError
from delphi.services.study_setup import update_settings
from tests.facilitate.test_full_study import _protocol_form

TEXTS = {"title": "Test study", "language": "en", "information": "", "consent": "", "min_group_feedback": "4",
         "allow_suggestions": "y"}


def _open_round_one(client, study_id):
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303


def test_the_minimum_changes_before_round_one_and_not_after(app, client, owner):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/settings", data=TEXTS).status_code == 303
    _open_round_one(client, study_id)
    page = client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    (tag,) = re.findall(r'<input[^>]*name="min_group_feedback"[^>]*>', page)
    assert "readonly" in tag and "Locked: round 1 has opened" in page
    response = client.post(f"/studies/{study_id}/settings", data={**TEXTS, "min_group_feedback": "1",
                                                                   "title": "Typed title"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "min_group_feedback: round 1 has opened, so this setting is locked" in text
    assert 'value="Typed title"' in text and 'value="1"' in text  # the form re-renders what was typed
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert (study.min_group_feedback, study.title) == (4, "Test study")
    # The other texts still change once locked.
    assert client.post(f"/studies/{study_id}/settings", data={**TEXTS, "title": "Later"}).status_code == 303


@pytest.mark.parametrize("change, key", [
    ({"scale_max": 7}, "scale.max"), ({"labels": "1 = Low"}, "scale.labels"), ({"unable_to_rate": ""},
                                                                                 "scale.unable_to_rate"),
    ({"agree_low": 6}, "consensus.agree"), ({"include": "pct_agree >= 60"}, "consensus.include"),
    ({"scope": "each_group"}, "consensus.scope"), ({"stable_change": 10}, "consensus.stable_change"),
])
def test_the_definition_page_names_the_locked_setting(app, client, owner, change, key):
    _, study_id = owner
    _open_round_one(client, study_id)
    form = _protocol_form(**change)
    if change.get("unable_to_rate") == "":
        del form["unable_to_rate"]
    response = client.post(f"/studies/{study_id}/protocol", data=form)
    assert response.status_code == 422
    assert f"{key}: round 1 has opened, so this setting is locked" in response.get_data(as_text=True)
    page = client.get(f"/studies/{study_id}/protocol").get_data(as_text=True)
    assert '<fieldset class="locked" disabled>' in page and 'name="save"' not in page


def test_the_definition_changes_before_round_one(app, client, owner):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/protocol", data=_protocol_form(
        scale_max=7, agree_low=5, agree_high=7, labels="1 = Low\n7 = High")).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).scale_max == 7


@pytest.mark.parametrize("changes, key", [
    ({"min_group_feedback": 1}, "min_group_feedback"),
    ({"scale": {"unable_to_rate": False}}, "scale.unable_to_rate"),
    ({"consensus": {"quantile_method": "weibull"}}, "consensus.quantile_method"),
    ({"consensus": {"unable_in_denominator": True}}, "consensus.unable_in_denominator"),
])
def test_a_file_or_command_path_is_refused_too(app, make_study, changes, key):
    from delphi.services.rounds import open_next_round

    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert update_settings(study, changes, None)  # allowed before round 1
        db.session.rollback()
        open_next_round(study)
        db.session.commit()
        with pytest.raises(ProtocolError) as refused:
            update_settings(study, changes, None)
        assert [p.field for p in refused.value.problems] == [key]
        assert refused.value.errors == [f"{key}: round 1 has opened, so this setting is locked and can no longer "
                                        "change"]


@pytest.mark.parametrize("column, value", [("min_group_feedback", 1), ("scale_max", 5), ("include_rule", "n >= 1"),
                                           ("agree_low", 5), ("stable_change", 1.0), ("unable_in_denominator", True)])
def test_the_model_keeps_a_locked_value_whatever_the_path(app, make_study, column, value):
    from delphi.services.rounds import open_next_round

    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        setattr(study, column, value)  # a draft may change
        db.session.rollback()
        open_next_round(study)
        db.session.commit()
        with pytest.raises(DomainError, match=f"Round 1 has opened, so {column} is locked"):
            setattr(study, column, value)
        setattr(study, column, getattr(study, column))  # writing the same value back is no change


def test_withdrawal_policy_and_group_choice_are_set_on_the_web_and_the_policy_locks(app, client, owner):
    """Both lived only in protocol files; panellists consent under the withdrawal policy, so it locks at round 1."""
    _, study_id = owner
    data = {**TEXTS, "withdrawal": "delete", "allow_group_choice": "y"}
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert (study.withdrawal_policy.value, study.allow_group_choice) == ("delete", True)
    _open_round_one(client, study_id)
    page = client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    assert "Delete their answers too. Locked" in page
    response = client.post(f"/studies/{study_id}/settings", data={**data, "withdrawal": "keep"})
    assert response.status_code == 422 and "withdrawal: round 1 has opened" in response.get_data(as_text=True)
    assert client.post(f"/studies/{study_id}/settings", data={**data, "allow_group_choice": ""}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert (study.withdrawal_policy.value, study.allow_group_choice) == ("delete", False)
