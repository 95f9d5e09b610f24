"""Texts in more than one language in the protocol file (protocol.md, "Texts in more than one language"; issue 21)."""
import pytest

from delphi.extensions import db
from delphi.localised import pick
from delphi.models import Study
from delphi.protocol import ProtocolError, load_protocol, protocol_to_toml
from delphi.services.studies import create_study, study_protocol
from tests.conftest import MINIMAL_PROTOCOL

BILINGUAL = """
title = { nb = "Bedringsstudien", en = "The recovery study" }
language = "nb"
languages = ["nb", "en"]
information = { nb = "Om studien.", en = "About the study." }
consent = { nb = "Jeg er med.\\nJeg kan trekke meg.", en = "I take part.\\nI can withdraw." }
open_questions = [{ nb = "Hva hjelper?", en = "What helps?" }, "Hva mer?"]

[scale]
labels = { "1" = { nb = "Ikke viktig", en = "Not important" }, "9" = "Svært viktig" }

[[groups]]
key = "service_user"
name = { nb = "Brukere", en = "Service users" }

[[groups]]
key = "staff"
name = "Ansatte"

[[statements]]
code = "A-01"
text = { nb = "Ansatte har tro på at bedring er mulig.", en = "Staff believe recovery is possible." }

[[statements]]
code = "A-02"
text = "Et tilbakefall er ikke et nederlag."
"""


def test_tables_of_languages_are_read_beside_the_study_language_text():
    protocol = load_protocol(BILINGUAL)
    assert protocol.title == "Bedringsstudien"  # the plain attribute is the study language's text
    assert protocol.languages == ("nb", "en")
    assert protocol.statements[0].text == "Ansatte har tro på at bedring er mulig."
    assert protocol.groups[0].name == "Brukere" and protocol.scale.labels[1] == "Ikke viktig"
    assert protocol.open_questions == ("Hva hjelper?", "Hva mer?")
    assert protocol.translations == {
        "title": {"en": "The recovery study"}, "information": {"en": "About the study."},
        "consent": {"en": "I take part.\nI can withdraw."}, "open_questions[1]": {"en": "What helps?"},
        "scale.labels.1": {"en": "Not important"}, "groups[1].name": {"en": "Service users"},
        "statements[1].text": {"en": "Staff believe recovery is possible."},
    }


def test_a_missing_translation_falls_back_to_the_study_language():
    assert pick("Ansatte", {}, "nb", ["nb", "en"], "en") == ("Ansatte", "nb")
    assert pick("Ansatte", {"en": "Staff"}, "nb", ["nb", "en"], "en") == ("Staff", "en")
    assert pick("Ansatte", {"en": "Staff"}, "nb", [], "en") == ("Ansatte", "nb")  # English not offered
    assert pick("Ansatte", {"en": "Staff"}, "nb", ["nb", "en"], "nb") == ("Ansatte", "nb")


@pytest.mark.parametrize("change, message", [
    (('text = { nb = "Ansatte har', 'text = { de = "X", nb = "Ansatte har'),
     "statements[1].text.de: 'de' is not a language this app offers"),
    (('name = { nb = "Brukere", en = "Service users" }', 'name = { nb = "Brukere", en = "  " }'),
     "groups[1].name.en: must not be empty"),
    (('title = { nb = "Bedringsstudien", en', 'title = { en'), "title: a table of languages needs the text in the "
                                                             "study's language (nb"),
    (('languages = ["nb", "en"]', 'languages = ["en"]'), "languages: must include the study's language ('nb')"),
    (('languages = ["nb", "en"]', 'languages = ["nb"]'), "statements[1].text.en: 'en' is not among the study's "
                                                         "languages"),
    (('en = "I take part.\\nI can withdraw."', 'en = "I take part and can withdraw."'),
     "consent.en: has 1 statements"),
])
def test_bad_tables_of_languages_are_refused_naming_the_key(change, message):
    with pytest.raises(ProtocolError) as caught:
        load_protocol(BILINGUAL.replace(*change))
    assert any(error.startswith(message) for error in caught.value.errors), caught.value.errors


def test_a_protocol_without_translations_exports_as_before():
    protocol = load_protocol(MINIMAL_PROTOCOL)
    text = protocol_to_toml(protocol)
    assert "languages" not in text and "{ en" not in text and "[scale.labels]" in text
    assert protocol.languages == () and protocol.translations == {}
    assert load_protocol(text) == protocol


def test_every_translation_survives_export_and_import(app):
    with app.app_context():
        study = create_study(load_protocol(BILINGUAL))
        db.session.commit()
        assert study.languages == ["nb", "en"]
        assert study.statements[0].translations == {"text": {"en": "Staff believe recovery is possible."}}
        assert study.translations["labels.1"] == {"en": "Not important"}
        exported = protocol_to_toml(study_protocol(db.session.get(Study, study.id)))
    assert 'en = "Staff believe recovery is possible."' in exported
    assert load_protocol(exported) == load_protocol(BILINGUAL)
    with app.app_context():
        again = create_study(load_protocol(exported))
        assert protocol_to_toml(study_protocol(again)) == exported
