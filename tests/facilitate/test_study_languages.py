"""Editing a study's texts in each language it offers (issue 21): the texts, groups and statements pages."""
import html

from delphi.extensions import db
from delphi.models import Study
from delphi.protocol import load_protocol, protocol_to_toml
from delphi.services.studies import study_protocol

TEXTS = {"title": "Recovery study", "language": "en", "languages": ["en", "nb"], "information": "About",
         "consent": "I agree\nI can stop", "min_group_feedback": "3", "allow_suggestions": "y"}


def offer_norwegian(client, study_id):
    assert client.post(f"/studies/{study_id}/settings", data=TEXTS).status_code == 303


def test_texts_page_offers_a_field_per_language_and_saves_them(app, client, owner):
    _, study_id = owner
    page = client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    assert 'name="title_nb"' not in page  # the study offers English only
    offer_norwegian(client, study_id)
    page = client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    assert "Title (English)" in page and "Title (Norsk bokmål)" in page and 'name="consent_nb"' in page
    data = {**TEXTS, "title_nb": "Bedringsstudien", "consent_nb": "Jeg er med\nJeg kan stoppe"}
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.title == "Recovery study" and study.languages == ["en", "nb"]
        assert study.translations == {"title": {"nb": "Bedringsstudien"}, "consent": {"nb": "Jeg er med\nJeg kan stoppe"}}
        exported = protocol_to_toml(study_protocol(study))
    assert '[title]\nen = "Recovery study"\nnb = "Bedringsstudien"' in exported
    assert load_protocol(exported).translations["title"] == {"nb": "Bedringsstudien"}


def test_a_bad_translation_is_refused_with_the_input_kept(app, client, owner):
    _, study_id = owner
    offer_norwegian(client, study_id)
    data = {**TEXTS, "title_nb": "Bedringsstudien", "consent_nb": "Jeg er med og kan stoppe"}
    response = client.post(f"/studies/{study_id}/settings", data=data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "consent.nb: has 1 statements" in page and "Jeg er med og kan stoppe" in page
    assert 'value="Bedringsstudien"' in page
    with app.app_context():
        assert db.session.get(Study, study_id).translations == {}


def test_the_study_language_must_stay_offered(client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/settings", data={**TEXTS, "languages": ["nb"]})
    assert response.status_code == 422
    assert "must include the study's language" in html.unescape(response.get_data(as_text=True))


def test_group_names_per_language(app, client, owner):
    _, study_id = owner
    offer_norwegian(client, study_id)
    page = client.get(f"/studies/{study_id}/groups").get_data(as_text=True)
    assert "Group names (Norsk bokmål)" in page
    data = {"groups": "service_user: People with lived experience\nstaff: Staff", "names_nb": "staff: Ansatte"}
    assert client.post(f"/studies/{study_id}/groups", data=data).status_code == 303
    with app.app_context():
        groups = db.session.get(Study, study_id).groups
        assert [g.translations for g in groups] == [{}, {"name": {"nb": "Ansatte"}}]
    response = client.post(f"/studies/{study_id}/groups", data={**data, "names_nb": "family: Familie"})
    assert response.status_code == 422 and "family is not one of the groups above" in response.get_data(as_text=True)
    assert "family: Familie" in response.get_data(as_text=True)


def test_statement_text_per_language(app, client, owner):
    _, study_id = owner
    offer_norwegian(client, study_id)
    page = client.get(f"/studies/{study_id}/statements").get_data(as_text=True)
    assert "Statement (English)" in page and 'name="text_nb"' in page
    response = client.post(f"/studies/{study_id}/statements",
                           data={"text": "Hope matters.", "text_nb": "Håp betyr noe." * 200})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and "Use at most 2000 characters." in page and "Hope matters." in page
    assert client.post(f"/studies/{study_id}/statements",
                       data={"text": "Hope matters.", "text_nb": "Håp betyr noe."}).status_code == 303
    with app.app_context():
        statement = db.session.get(Study, study_id).statements[-1]
        assert statement.translations == {"text": {"nb": "Håp betyr noe."}}
        statement_id = statement.id
    page = client.get(f"/studies/{study_id}/statements/{statement_id}").get_data(as_text=True)
    assert "Håp betyr noe." in page
    assert client.post(f"/studies/{study_id}/statements/{statement_id}",
                       data={"code": "S04", "text": "Hope matters.", "text_nb": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).statements[-1].translations == {}


def test_csv_import_reads_a_text_column_per_language_and_export_writes_them(app, client, owner):
    _, study_id = owner
    offer_norwegian(client, study_id)
    content = "code,domain,text,text_nb\nH-01,Hope,Hope matters.,Håp betyr noe.\nH-02,Hope,Plans help.,\n"
    assert client.post(f"/studies/{study_id}/statements/import", data={"content": content}).status_code == 303
    with app.app_context():
        statements = {s.code: s.translations for s in db.session.get(Study, study_id).statements}
    assert statements["H-01"] == {"text": {"nb": "Håp betyr noe."}} and statements["H-02"] == {}
    exported = client.get(f"/studies/{study_id}/statements.csv").get_data(as_text=True)
    assert exported.splitlines()[0] == "code,domain,text,text_nb"
    assert "H-01,Hope,Hope matters.,Håp betyr noe." in exported


def test_csv_import_refuses_a_language_the_study_does_not_offer(app, client, owner):
    _, study_id = owner
    content = "code,domain,text,text_nb\nH-01,Hope,Hope matters.,Håp betyr noe.\n"
    response = client.post(f"/studies/{study_id}/statements/import", data={"content": content})
    assert response.status_code == 422
    assert "the column 'text_nb' is not a text in one of the study's other languages" in \
        html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert len(db.session.get(Study, study_id).statements) == 3


def test_a_translation_changed_after_round_one_is_kept_in_the_item_history(app, client, owner, make_panellist):
    from delphi.models import RevisionKind
    from delphi.services.rounds import open_next_round

    _, study_id = owner
    offer_norwegian(client, study_id)
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = open_next_round(study)
        db.session.commit()
        statement_id, version = study.statements[0].id, round_.wording_version
    panellist = app.test_client()
    _, token = make_panellist(study_id)
    panellist.get(f"/p/{token}")
    panellist.post("/language", data={"lang": "nb", "next": "/panel/consent"})
    panellist.post("/panel/consent", data={"statements": ["0", "1"], "agree": "1"})
    assert "Staff believe recovery is possible." in panellist.get("/panel/rate/1").get_data(as_text=True)

    url = f"/studies/{study_id}/statements/{statement_id}/translations"
    response = client.post(url, data={"text_nb": "Ansatte tror på bedring."})
    assert response.status_code == 422 and "Say why the translation changes" in response.get_data(as_text=True)
    assert "Ansatte tror på bedring." in response.get_data(as_text=True)  # the input is kept
    assert client.post(url, data={"text_nb": "Ansatte tror på bedring.", "reason": "added"}).status_code == 303
    with app.app_context():
        statement = db.session.get(Study, study_id).statements[0]
        assert statement.text == "Staff believe recovery is possible."
        assert statement.translations == {"text": {"nb": "Ansatte tror på bedring."}}
        last = statement.revisions[-1]
        assert (last.kind, last.text, last.previous_text, last.reason, last.round_number) == (
            RevisionKind.translated, "Ansatte tror på bedring.", "", "[nb] added", 1)
        assert db.session.get(Study, study_id).current_round.wording_version == version + 1
    page = panellist.get("/panel/rate/1").get_data(as_text=True)
    assert "Ansatte tror på bedring." in page and "Staff believe" not in page


def test_scale_label_translations_on_the_texts_page_survive_the_consensus_page_and_round_one(app, client, owner):
    from tests.facilitate.test_full_study import _protocol_form
    from delphi.services.rounds import open_next_round

    _, study_id = owner
    offer_norwegian(client, study_id)
    assert "Scale labels (Norsk bokmål)" in client.get(f"/studies/{study_id}/settings").get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/settings", data={**TEXTS, "labels_nb": "5 = Midt på"})
    assert response.status_code == 422 and "5 has no label in the study&#39;s language" in response.get_data(as_text=True)
    assert client.post(f"/studies/{study_id}/settings", data={**TEXTS, "labels_nb": "1 = Ikke viktig"}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).translations == {"labels.1": {"nb": "Ikke viktig"}}
    assert client.post(f"/studies/{study_id}/protocol", data=_protocol_form()).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.translations == {"labels.1": {"nb": "Ikke viktig"}}  # kept by the consensus page
        open_next_round(study)
        db.session.commit()
    # After round 1: a label's translation may still be added; the study-language label may not change.
    data = {**TEXTS, "labels_nb": "1 = Ikke viktig\n9 = Svært viktig"}
    assert client.post(f"/studies/{study_id}/settings", data=data).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.translations["labels.9"] == {"nb": "Svært viktig"}
        assert study.scale_labels == {"1": "Not important", "9": "Critically important"}


def test_open_question_per_language(app, client, owner):
    _, study_id = owner
    offer_norwegian(client, study_id)
    page = client.get(f"/studies/{study_id}/questions").get_data(as_text=True)
    assert "Question (English)" in page and "Question (Norsk bokmål)" in page
    assert client.post(f"/studies/{study_id}/questions",
                       data={"text": "What helps?", "text_nb": "Hva hjelper?"}).status_code == 303
    with app.app_context():
        question = db.session.get(Study, study_id).open_questions[0]
        assert question.translations == {"text": {"nb": "Hva hjelper?"}}
        exported = protocol_to_toml(study_protocol(db.session.get(Study, study_id)))
    assert load_protocol(exported).translations["open_questions[1]"] == {"nb": "Hva hjelper?"}


def test_the_bank_fills_every_language_the_study_offers(app, client, owner):
    from delphi.protocol import load_protocol, statement_bank
    from delphi.services.statements import add_from_bank

    _, study_id = owner
    offer_norwegian(client, study_id)
    norwegian = {s.code: s.text for s in load_protocol(statement_bank("nb")).statements}
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert add_from_bank(study, None) > 0
        added = [s for s in study.statements if s.code in norwegian]
        assert added and all(s.translations == {"text": {"nb": norwegian[s.code]}} for s in added)
        assert all(s.text != norwegian[s.code] for s in added)  # the study language's text is the English one


def test_group_name_translations_after_round_one_but_not_the_names(app, client, owner):
    from delphi.services.rounds import open_next_round

    _, study_id = owner
    offer_norwegian(client, study_id)
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    page = client.get(f"/studies/{study_id}/groups").get_data(as_text=True)
    assert "can still be added or fixed" in page and " disabled>" not in page
    groups = "service_user: People with lived experience\nstaff: Staff"
    assert client.post(f"/studies/{study_id}/groups", data={"groups": groups, "names_nb": "staff: Ansatte"}
                       ).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).groups[1].translations == {"name": {"nb": "Ansatte"}}
    response = client.post(f"/studies/{study_id}/groups", data={"groups": groups.replace("Staff", "Workers")})
    assert response.status_code == 422 and "locked" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Study, study_id).groups[1].name == "Staff"
