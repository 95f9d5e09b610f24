"""Study setup in the browser: create, edit texts and the consensus definition (with the rule check), groups, lock,
export; statements: add, edit, reorder, bank, CSV import errors, export without formula injection."""
import io

import pytest

from delphi.extensions import db
from delphi.models import Study
from delphi.protocol import load_protocol
from tests.facilitate.test_full_study import _protocol_form


def test_create_a_blank_study(app, client, auth, make_user):
    make_user("owner@example.org")
    auth.login(email="owner@example.org")
    response = client.post("/studies/new", data={"blank-title": "Hope", "blank-language": "nb",
                                                  "blank-groups": "users: Service users\nstaff: Staff"})
    assert response.status_code == 303
    study_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert [g.key for g in study.groups] == ["users", "staff"] and study.language == "nb"
        assert study.members[0].role.value == "owner"


@pytest.mark.parametrize("groups, message", [
    ("no separator here", "line 1: write key: name"),
    ("Bad Key: Name", "must start with a small letter"),
    ("a: One\na: Two", "is used by an earlier group"),
])
def test_blank_study_errors_rerender(client, auth, make_user, groups, message):
    make_user("owner@example.org")
    auth.login(email="owner@example.org")
    response = client.post("/studies/new", data={"blank-title": "Kept title", "blank-language": "en",
                                                  "blank-groups": groups})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and 'value="Kept title"' in text


def test_bad_protocol_upload_lists_every_problem(client, owner):
    bad = b'title = ""\nmax_rounds = 0\n[consensus]\ninclude = "pct_agree >="\n'
    response = client.post("/studies/new/upload", data={"upload-protocol": (io.BytesIO(bad), "p.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "title: must not be empty" in text and "max_rounds: must be between 1 and 10" in text
    assert "position 13" in text and "groups: missing" in text


def test_texts_are_saved_and_consent_change_bumps_version(app, client, owner):
    _, study_id = owner
    data = {"title": "New title", "language": "en", "information": "About", "consent": "I agree",
            "min_group_feedback": "4", "allow_suggestions": "y"}
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    data["consent"] = "I agree, again"
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        # Twice changed: consent statements added where there were none, then reworded; each asks panellists again.
        assert (study.title, study.min_group_feedback, study.consent_version) == ("New title", 4, 3)
    data["min_group_feedback"] = "zero"
    response = client.post(f"/studies/{study_id}/settings", data=data)
    assert response.status_code == 422 and "whole number" in response.get_data(as_text=True)


def test_check_rule_button_explains_the_error_with_its_position(client, owner):
    _, study_id = owner
    form = _protocol_form(include="pct_agree >= 70 and", check="Check the rules")
    del form["save"]
    response = client.post(f"/studies/{study_id}/protocol", data=form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "position" in text and 'value="pct_agree &gt;= 70 and"' in text
    form["include"] = "pct_agree >= 70"
    response = client.post(f"/studies/{study_id}/protocol", data=form)
    assert response.status_code == 200 and "The rule for consensus in is valid" in response.get_data(as_text=True)


def test_live_rule_check_endpoint(client, owner):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/protocol/check-rule", data={"rule": "median >= 7"}).json["ok"] is True
    answer = client.post(f"/studies/{study_id}/protocol/check-rule", data={"rule": "median >="}).json
    assert answer["ok"] is False and "position" in answer["message"]


def test_protocol_saved_and_validated_like_a_file(app, client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(agree_low=2))
    assert response.status_code == 422 and "overlap" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(scope="each_group", max_rounds=4))
    assert response.status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.consensus_scope.value == "each_group" and study.max_rounds == 4
        assert study.scale_labels == {"1": "Not important", "9": "Critically important"}


def test_settings_lock_when_round_one_opens(app, client, owner):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    response = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(stopping="stable"))
    assert response.status_code == 422 and "locked" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/groups", data={"groups": "service_user: Users\nstaff: Staff\nx: X"})
    assert response.status_code == 422
    response = client.post(f"/studies/{study_id}/statements", data={"text": "Too late"})
    assert response.status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.stopping_rule.value == "all_classified_or_stable" and len(study.groups) == 2
        assert len(study.statements) == 3
    exported = client.get(f"/studies/{study_id}/protocol.toml")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert load_protocol(exported.get_data(as_text=True)).title == "Test study"


def test_groups_edit_refuses_removing_a_group_with_panellists(app, client, owner, make_panellist):
    _, study_id = owner
    make_panellist(study_id, "staff")
    response = client.post(f"/studies/{study_id}/groups", data={"groups": "service_user: Users"})
    assert response.status_code == 422 and "has panellists" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/groups", data={"groups": "service_user: Users\nstaff: Staff\nfam: Family"})
    assert response.status_code == 303
    with app.app_context():
        assert [g.name for g in db.session.get(Study, study_id).groups] == ["Users", "Staff", "Family"]


def test_statements_add_edit_move_delete(app, client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/statements", data={"code": "A-01", "text": "Dup"})
    assert response.status_code == 422 and "already used" in response.get_data(as_text=True)
    assert client.post(f"/studies/{study_id}/statements", data={"domain": "Meaning", "text": "New"}).status_code == 303
    with app.app_context():
        new = db.session.get(Study, study_id).statements[-1]
        assert (new.code, new.position) == ("S04", 3)
        new_id, first_id = new.id, db.session.get(Study, study_id).statements[0].id
    assert client.post(f"/studies/{study_id}/statements/{new_id}/up").status_code == 303
    assert client.post(f"/studies/{study_id}/statements/{new_id}",
                       data={"code": "M-01", "domain": "Meaning", "text": "Edited"}).status_code == 303
    assert client.post(f"/studies/{study_id}/statements/{first_id}/delete", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert [s.code for s in study.statements] == ["A-02", "M-01", "B-01"]
        assert study.statements[1].revisions[0].text == "Edited"


def test_statement_bank(app, client, owner):
    _, study_id = owner
    assert client.post(f"/studies/{study_id}/statements/bank").status_code == 303
    with app.app_context():
        count = len(db.session.get(Study, study_id).statements)
    assert count >= 25
    client.post(f"/studies/{study_id}/statements/bank")
    with app.app_context():
        assert len(db.session.get(Study, study_id).statements) == count  # nothing added twice


@pytest.mark.parametrize("content, message", [
    ("code,domain,text\nA,B\n", "line 2: expected 3 columns"),
    ("bad code!,D,Text\n", "line 1: the code"),
    (",D," + "x" * 2001 + "\n", "the limit is 2000"),
    ("", "the file has no statements"),
])
def test_statement_import_errors_write_nothing(app, client, owner, content, message):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/statements/import",
                           data={"file": (io.BytesIO(content.encode()), "s.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Study, study_id).statements) == 3


def test_statement_import_reads_norwegian_excel_csv(app, client, owner):
    """Norwegian Excel's "CSV": semicolons and Windows-1252 (once refused as "not UTF-8"); the preview shows the
    text as written, and confirming it stores it."""
    _, study_id = owner
    content = ("code;domain;text\nNO-01;Håp;Å bli hørt av de ansatte, også når jeg er uenig\n"
               'NO-02;Tilhørighet;"Familie; venner og nettverk"\n')
    response = client.post(f"/studies/{study_id}/statements/import",
                           data={"file": (io.BytesIO(content.encode("cp1252")), "s.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Import 2 statements" in page
    assert "Å bli hørt av de ansatte, også når jeg er uenig" in page
    assert client.post(f"/studies/{study_id}/statements/import", data={"content": content}).status_code == 303
    with app.app_context():
        texts = {s.code: (s.domain, s.text) for s in db.session.get(Study, study_id).statements}
    assert texts["NO-01"] == ("Håp", "Å bli hørt av de ansatte, også når jeg er uenig")
    assert texts["NO-02"] == ("Tilhørighet", "Familie; venner og nettverk")


def test_statement_import_refuses_a_file_that_is_not_text(client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/statements/import",
                           data={"file": (io.BytesIO(b"PK\x03\x04\x81\x8d\x8f\x90\x9d"), "s.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "not text" in response.get_data(as_text=True)


def test_contacts_file_with_semicolons_in_windows_1252(app, client, owner):
    _, study_id = owner
    content = "group;email;phone\nservice_user;åse@example.org;+47 900 00 000\nstaff;;+47 911 11 111\n"
    response = client.post(f"/studies/{study_id}/panel/import",
                           data={"file": (io.BytesIO(content.encode("cp1252")), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        contacts = sorted((p.group.key, p.contact.email, p.contact.phone)
                          for p in db.session.get(Study, study_id).panellists)
    assert contacts == [("service_user", "åse@example.org", "+47 900 00 000"), ("staff", None, "+47 911 11 111")]


def test_statement_export_neutralises_formulas(app, client, owner):
    _, study_id = owner
    with app.app_context():
        statement = db.session.get(Study, study_id).statements[0]
        statement.text = "=HYPERLINK(\"http://evil\")"
        statement.domain = "+1"
        db.session.commit()
    csv_text = client.get(f"/studies/{study_id}/statements.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "code,domain,text"
    assert "'+1,\"'=HYPERLINK(\"\"http://evil\"\")\"" in csv_text



def test_statement_bank_chosen_statement_by_statement(app, client, owner):
    """Issue 21: the bank is no longer all or nothing: its statements by domain, each with a box; the ticked ones are
    added, those already added are shown as added, and a code that is not in the bank adds nothing."""
    from delphi.protocol import STATEMENT_BANK, load_protocol

    _, study_id = owner
    bank = load_protocol(STATEMENT_BANK).statements
    first, second, third = bank[0], bank[1], bank[-1]
    page = client.get(f"/studies/{study_id}/statements/bank").get_data(as_text=True)
    assert f"<legend>{first.domain}</legend>" in page and f"<legend>{third.domain}</legend>" in page
    assert f'name="codes" value="{first.code}"' in page and "Add the chosen statements" in page
    with app.app_context():
        before = len(db.session.get(Study, study_id).statements)

    response = client.post(f"/studies/{study_id}/statements/bank",
                           data={"choose": "yes", "codes": [first.code, third.code]})
    assert response.status_code == 303
    with app.app_context():
        added = db.session.get(Study, study_id).statements[before:]
        assert [(s.code, s.domain, s.text) for s in added] == [(first.code, first.domain, first.text),
                                                               (third.code, third.domain, third.text)]
    page = client.get(f"/studies/{study_id}/statements/bank").get_data(as_text=True)
    assert f'name="codes" value="{first.code}"' not in page and f'id="bank-{first.code}" checked disabled' in page
    assert f'name="codes" value="{second.code}"' in page

    # Nothing ticked, or a code from elsewhere: nothing is added, and the page says why.
    for data, message in (({"choose": "yes"}, "Tick the statements to add"),
                          ({"choose": "yes", "codes": [second.code, "NOT-IN-BANK"]},
                           "NOT-IN-BANK is not in the statement bank.")):
        response = client.post(f"/studies/{study_id}/statements/bank", data=data)
        assert response.headers["Location"].endswith(f"/studies/{study_id}/statements/bank")
        assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Study, study_id).statements) == before + 2
