"""Staff-written texts are cleaned as panellists' texts are, and a study's size has documented limits that the web
and files obey alike (docs/limits.md; issue 19's attack run uploaded 2,000 groups x 2,000 statements and texts with
right-to-left overrides and DEL)."""
import time

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import MailText, OpenQuestion, Statement, Study
from delphi.protocol import MAX_GROUPS, MAX_STATEMENTS, ProtocolError, load_protocol
from tests.conftest import MINIMAL_PROTOCOL

TRICKS = "\u202egnp.exe\u202c and \x7fDEL\u2066 and \x1b[31m"  # RLO ... PDF, DEL, an isolate, an escape
CLEAN = "gnp.exe and DEL and [31m"
# The same in a TOML file, which takes such characters only as escapes.
TOML_TRICKS = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in TRICKS)


def protocol_of(groups: int, statements: int) -> str:
    parts = ['title = "Big"']
    parts += [f'[[groups]]\nkey = "g{i}"\nname = "Group {i}"' for i in range(groups)]
    parts += [f'[[statements]]\ntext = "Statement number {i}."' for i in range(statements)]
    return "\n".join(parts) + "\n"


def test_staff_texts_in_a_protocol_are_cleaned_as_panellists_texts_are():
    text = f'''
title = "Title {TOML_TRICKS}"
consent = "I agree {TOML_TRICKS}"
information = "About {TOML_TRICKS}"
open_questions = ["Why {TOML_TRICKS}"]

[scale]
labels = {{ "1" = "Low {TOML_TRICKS}" }}

[[groups]]
key = "a"
name = "Group {TOML_TRICKS}"
description = "Who {TOML_TRICKS}"

[[statements]]
domain = "Domain {TOML_TRICKS}"
text = "Statement {TOML_TRICKS}"
'''
    protocol = load_protocol(text)
    assert protocol.title == f"Title {CLEAN}"
    assert protocol.consent == f"I agree {CLEAN}" and protocol.information == f"About {CLEAN}"
    assert protocol.open_questions == (f"Why {CLEAN}",)
    assert protocol.scale.labels[1] == f"Low {CLEAN}"
    assert (protocol.groups[0].name, protocol.groups[0].description) == (f"Group {CLEAN}", f"Who {CLEAN}")
    assert (protocol.statements[0].domain, protocol.statements[0].text) == (f"Domain {CLEAN}", f"Statement {CLEAN}")


def test_a_protocol_of_2000_groups_by_2000_statements_is_refused_quickly_naming_the_limits():
    started = time.monotonic()
    with pytest.raises(ProtocolError) as refused:
        load_protocol(protocol_of(2000, 2000))
    assert time.monotonic() - started < 10
    assert "groups: 2000 groups are listed; the limit is 20" in refused.value.errors
    assert "statements: 2000 statements are listed; the limit is 500" in refused.value.errors


def test_the_limits_themselves_are_allowed_and_the_national_benchmark_is_well_within():
    assert len(load_protocol(protocol_of(MAX_GROUPS, MAX_STATEMENTS)).statements) == MAX_STATEMENTS
    assert (MAX_GROUPS, MAX_STATEMENTS) >= (4, 200)  # benchmarks/: 4 groups, 200 statements, 5,000 panellists
    with pytest.raises(ProtocolError, match="21 groups are listed; the limit is 20"):
        load_protocol(protocol_of(MAX_GROUPS + 1, 1))
    with pytest.raises(ProtocolError, match="501 statements are listed; the limit is 500"):
        load_protocol(protocol_of(1, MAX_STATEMENTS + 1))


@pytest.mark.parametrize("key, value, limit", [
    ("title", "x" * 301, "the limit is 300"),
    ("open_questions", ["q"] * 51, "51 questions are listed; the limit is 50"),
    ("open_questions", ["q" * 1001], "open_questions[1]: is 1001 characters long; the limit is 1000"),
])
def test_other_limits_are_named_in_the_message(key, value, limit):
    from delphi.protocol import parse_protocol
    import tomllib

    raw = tomllib.loads(MINIMAL_PROTOCOL)
    raw[key] = value
    with pytest.raises(ProtocolError) as refused:
        parse_protocol(raw)
    assert any(limit in message for message in refused.value.errors)


def test_staff_texts_from_the_web_are_cleaned(app, client, owner, make_panellist):
    _, study_id = owner
    data = {"title": f"Title {TRICKS}", "language": "en", "information": f"About {TRICKS}",
            "consent": f"I agree {TRICKS}", "min_group_feedback": "4", "allow_suggestions": "y"}
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    assert client.post(f"/studies/{study_id}/groups",
                       data={"groups": f"service_user: Users {TRICKS}\nstaff: Staff"}).status_code == 303
    assert client.post(f"/studies/{study_id}/statements", data={"text": f"New {TRICKS}"}).status_code == 303
    assert client.post(f"/studies/{study_id}/questions", data={"text": f"Why {TRICKS}"}).status_code == 303
    make_panellist(study_id, "staff", email="one@example.org")
    assert client.post(f"/studies/{study_id}/panel/invitation",
                       data={"subject": f"Join {TRICKS}", "body": f"Hi {TRICKS} {{link}}"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert (study.title, study.information_text, study.consent_text) == (
            f"Title {CLEAN}", f"About {CLEAN}", f"I agree {CLEAN}")
        assert study.group_by_key("service_user").name == f"Users {CLEAN}"
        assert db.session.scalar(sa.select(Statement.text).order_by(Statement.id.desc())) == f"New {CLEAN}"
        assert db.session.scalar(sa.select(OpenQuestion.text)) == f"Why {CLEAN}"
        mail = db.session.scalar(sa.select(MailText))
        assert (mail.subject, mail.body) == (f"Join {CLEAN}", f"Hi {CLEAN} {{link}}")


def test_statements_added_on_the_web_stop_at_the_limit(app, client, owner):
    _, study_id = owner
    with app.app_context():
        study = db.session.get(Study, study_id)
        for i in range(MAX_STATEMENTS - len(study.statements)):
            study.statements.append(Statement(code=f"X{i}", domain="", text=f"Filler {i}.", position=10 + i))
        db.session.commit()
    response = client.post(f"/studies/{study_id}/statements", data={"text": "One too many"})
    assert response.status_code == 422
    assert "the study has 500 statements; the limit is 500" in response.get_data(as_text=True)
    assert "One too many" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == MAX_STATEMENTS
