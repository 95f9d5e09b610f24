""""Prefer not to answer" (issue 22) on the staff side: a [scale] setting set on the definition page and locked at
round 1 like the rest of [scale]; offered on the proxy entry form and the paper form, and saved as its own flag."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import DomainError, Panellist, Rating, Study
from delphi.protocol import ProtocolError, load_protocol, protocol_to_toml
from delphi.services.study_setup import update_settings
from delphi.services.studies import study_protocol
from tests.facilitate.test_full_study import _protocol_form
from tests.facilitate.test_proxy_entry import HOW


def test_the_definition_page_sets_it_and_the_protocol_file_keeps_it(app, client, owner):
    _, study_id = owner
    page = client.get(f"/studies/{study_id}/protocol").get_data(as_text=True)
    assert "Panellists may answer “prefer not to answer”" in page
    with app.app_context():
        assert db.session.get(Study, study_id).prefer_not_to_answer is False  # optional: off unless chosen
    assert client.post(f"/studies/{study_id}/protocol",
                       data=_protocol_form(prefer_not_to_answer="y")).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.prefer_not_to_answer is True
        text = protocol_to_toml(study_protocol(study))
    assert "prefer_not_to_answer = true" in text
    assert load_protocol(text).scale.prefer_not_to_answer is True


def test_it_locks_at_round_one_on_every_path(app, client, owner, make_study):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    response = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(prefer_not_to_answer="y"))
    assert response.status_code == 422
    assert "scale.prefer_not_to_answer: round 1 has opened, so this setting is locked" in response.get_data(
        as_text=True)
    with app.app_context():
        study = db.session.get(Study, study_id)
        with pytest.raises(ProtocolError) as refused:
            update_settings(study, {"scale": {"prefer_not_to_answer": True}}, None)
        assert [p.field for p in refused.value.problems] == ["scale.prefer_not_to_answer"]
        with pytest.raises(DomainError):
            study.prefer_not_to_answer = True  # the model itself refuses, whatever the path
        db.session.rollback()
        assert db.session.get(Study, study_id).prefer_not_to_answer is False


def test_proxy_entry_and_the_paper_form_offer_it(app, client, owner, make_panellist):
    _, study_id = owner
    with app.app_context():
        db.session.get(Study, study_id).prefer_not_to_answer = True
        db.session.commit()
    pid, _ = make_panellist(study_id, "staff", email="caller@example.org")
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    with app.app_context():
        contact = db.session.get(Panellist, pid).contact.id
        ids = {rs.statement.code: rs.statement_id for rs in db.session.get(Study, study_id).current_round.statements}
    entry = f"/studies/{study_id}/panel/contacts/{contact}/entry"
    page = client.post(entry, data=HOW).get_data(as_text=True)
    assert '<option value="declined">Prefer not to answer</option>' in page
    response = client.post(f"{entry}/answers", data={**HOW, f"value-{ids['A-01']}": "declined",
                                                     f"value-{ids['A-02']}": "unable", "consent": "yes"})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        saved = {r.statement_id: (r.value, r.unable_to_rate, r.declined)
                 for r in db.session.scalars(sa.select(Rating).where(Rating.panellist_id == pid))}
    assert saved == {ids["A-01"]: (None, False, True), ids["A-02"]: (None, True, False)}
    paper = client.get(f"/studies/{study_id}/panel/contacts/{contact}/paper-form").get_data(as_text=True)
    assert "I prefer not to answer" in paper and "I cannot rate this" in paper
