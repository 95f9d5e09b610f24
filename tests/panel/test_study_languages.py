"""A study offered in two languages, as a panellist reads it (issue 21): their language's texts where the study has
them, else the study language's marked with lang="nb"; the page's own lang stays the interface language."""
import re

from tests.test_protocol_languages import BILINGUAL

CONSENTED = {"statements": ["0", "1"], "agree": "1"}
RATING = BILINGUAL.replace('open_questions = [{ nb = "Hva hjelper?", en = "What helps?" }, "Hva mer?"]', "")


def english_reader(client, make_study, make_panellist, protocol=RATING):
    study_id = make_study(protocol)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    client.post("/language", data={"lang": "en", "next": "/panel/consent"})
    return study_id


def test_consent_page_in_english(client, make_study, make_panellist):
    english_reader(client, make_study, make_panellist)
    page = client.get("/panel/consent").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "About the study." in page and "Om studien." not in page
    assert "I take part." in page and "I can withdraw." in page and "Jeg er med." not in page
    assert 'class="brand link-button">The recovery study<' in page or ">The recovery study</a>" in page


def test_rating_page_shows_english_texts_and_marks_the_missing_one(client, make_study, make_panellist, open_round):
    study_id = english_reader(client, make_study, make_panellist)
    assert client.post("/panel/consent", data=CONSENTED).status_code == 303
    open_round(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert re.search(r'<h2 class="statement-heading" id="s\d+-heading">Staff believe recovery is possible\.</h2>', page)
    # No English for the second statement: the Norwegian text, marked as Norwegian.
    assert re.search(r'<h2 class="statement-heading" id="s\d+-heading" lang="nb">Et tilbakefall er ikke et '
                     r'nederlag\.</h2>', page)
    assert "Ansatte har tro" not in page
    assert "1 = Not important" in page and '9 = <span lang="nb">Svært viktig</span>' in page
    assert '<span class="scale-anchor">Not important</span>' in page
    assert '<span class="scale-anchor"><span lang="nb">Svært viktig</span></span>' in page


def test_norwegian_reader_reads_the_study_language_unmarked(client, make_study, make_panellist, open_round):
    study_id = make_study(RATING)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    assert client.post("/panel/consent", data=CONSENTED).status_code == 303
    open_round(study_id)
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert "Ansatte har tro på at bedring er mulig." in page and "Staff believe" not in page
    assert 'lang="nb">Et tilbakefall' not in page


def test_a_study_that_does_not_offer_english_is_read_in_its_language(client, make_study, make_panellist):
    study_id = make_study(BILINGUAL, languages=[])
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    client.post("/language", data={"lang": "en", "next": "/panel/consent"})
    page = client.get("/panel/consent").get_data(as_text=True)
    assert '<div lang="nb"><p>Om studien.</p></div>' in page and "About the study." not in page


def test_open_questions_in_english_and_the_missing_one_marked(client, make_study, make_panellist, open_round):
    study_id = english_reader(client, make_study, make_panellist, BILINGUAL)
    assert client.post("/panel/consent", data=CONSENTED).status_code == 303
    open_round(study_id)
    page = client.get("/panel/questions").get_data(as_text=True)
    assert re.search(r'<label class="label" for="q\d+">What helps\?</label>', page)
    assert re.search(r'<label class="label" for="q\d+"><span lang="nb">Hva mer\?</span></label>', page)
    assert "Hva hjelper" not in page


FEEDBACK = """
title = "Bedringsstudien"
language = "nb"
languages = ["nb", "en"]
min_group_feedback = 5

[[groups]]
key = "service_user"
name = { nb = "Brukere", en = "Service users" }

[[groups]]
key = "staff"
name = { nb = "Ansatte", en = "Staff" }

[[groups]]
key = "family"
name = "Familie"

[[statements]]
code = "A-01"
text = "Ansatte har tro på at bedring er mulig."
"""


def test_feedback_names_groups_in_the_readers_language_and_withholds_by_the_same_names(app, client, make_study):
    from tests.panel.test_feedback import close_with_figures, enter

    study_id = make_study(FEEDBACK)
    members, _sid = close_with_figures(app, study_id, {
        "service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7], "family": [2, 9, 9, 9, 9, 9]},
        comments={8: "Hope first.", 5: "Too vague.", 2: "Not for me."})
    enter(app, client, members["service_user"][0])
    client.post("/language", data={"lang": "en", "next": "/panel/rate/1"})
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Service users:</strong> 5 of 6 people chose 7, 8 or 9." in page
    # Staff are too few, so the family goes too (complementary suppression); its name is the Norwegian one, marked.
    assert "Staff:</strong> fewer than 5 people, not shown." in page
    assert '<span lang="nb">Familie</span>:</strong> fewer than 5 people, not shown.' in page
    assert "– Service users" in page  # a shown group's comment carries its name, in English
    # A withheld group's comment carries no name, in either language.
    assert "Too vague." in page and "Not for me." in page
    assert "– Staff" not in page and "– Ansatte" not in page and "Familie</span></p>" not in page
    assert "Brukere" not in page
