"""Issue 22: every scale point's accessible name says what it means, every rating page (whatever the round) asks the
question, and round-2 feedback is in plain words with the precise figures under "Show the figures"; in English and
Norwegian (bokmål)."""
from html.parser import HTMLParser

import pytest

from delphi.extensions import db
from delphi.models import RoundResult
from delphi.panel.phrases import scale_point_names
from tests.panel.test_feedback import close_with_figures, enter, three_group_protocol


def names(app, scale_min, scale_max, labels, lang="en"):
    """Each point's accessible name as a label gives it: the number, the hidden words, then the shown label."""
    with app.test_request_context(headers={"Accept-Language": lang}):
        from flask_babel import force_locale

        with force_locale(lang):
            return [" ".join(filter(None, [value, words, label]))
                    for value, label, words in scale_point_names(scale_min, scale_max, labels)]


def test_one_to_nine_with_labelled_ends(app):
    assert names(app, 1, 9, {"1": "Not important", "9": "Critically important"}) == [
        "1 of 9, Not important",
        "2 of 9, towards not important",
        "3 of 9, towards not important",
        "4 of 9, towards not important",
        "5 of 9, in the middle",
        "6 of 9, towards critically important",
        "7 of 9, towards critically important",
        "8 of 9, towards critically important",
        "9 of 9, Critically important",
    ]


def test_one_to_nine_in_norwegian(app):
    assert names(app, 1, 9, {"1": "Ikke viktig", "9": "Svært viktig"}, "nb") == [
        "1 av 9, Ikke viktig", "2 av 9, mot ikke viktig", "3 av 9, mot ikke viktig", "4 av 9, mot ikke viktig",
        "5 av 9, i midten", "6 av 9, mot svært viktig", "7 av 9, mot svært viktig", "8 av 9, mot svært viktig",
        "9 av 9, Svært viktig",
    ]


def test_one_to_five_with_a_labelled_middle_and_an_initialism(app):
    assert names(app, 1, 5, {1: "Disagree", 3: "Neither", 5: "NHS priority"}) == [
        "1 of 5, Disagree", "2 of 5, halfway between disagree and neither", "3 of 5, Neither",
        "4 of 5, halfway between neither and NHS priority", "5 of 5, NHS priority",
    ]


def test_zero_to_ten_with_labels_inside_the_scale(app):
    assert names(app, 0, 10, {"2": "Low", "9": "High"}) == [
        "0 on the scale from 0 to 10, towards low",
        "1 on the scale from 0 to 10, towards low",
        "2 on the scale from 0 to 10, Low",
        "3 on the scale from 0 to 10, towards low",
        "4 on the scale from 0 to 10, towards low",
        "5 on the scale from 0 to 10, in the middle",
        "6 on the scale from 0 to 10, towards high",
        "7 on the scale from 0 to 10, towards high",
        "8 on the scale from 0 to 10, towards high",
        "9 on the scale from 0 to 10, High",
        "10 on the scale from 0 to 10, towards high",
    ]


def test_a_scale_without_labels_and_an_even_one(app):
    assert names(app, 1, 4, {}) == ["1 of 4, the low end", "2 of 4, towards the low end",
                                    "3 of 4, towards the high end", "4 of 4, the high end"]
    assert names(app, 1, 3, {}) == ["1 of 3, the low end", "2 of 3, in the middle", "3 of 3, the high end"]


class Radios(HTMLParser):
    """The accessible name of every radio (its <label for>'s text, hidden text included) and the legends of the
    fieldsets each radio is in."""

    def __init__(self):
        super().__init__()
        self.radios, self.labels, self._label, self._legend = {}, {}, None, None
        self.fieldsets: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "radio":
            self.radios[a["id"]] = [legend for legend in (f[0] for f in self.fieldsets if f)]
        elif tag == "label" and a.get("for"):
            self._label = a["for"]
            self.labels[self._label] = ""
        elif tag == "fieldset":
            self.fieldsets.append([])
        elif tag == "legend":
            self._legend = ""

    def handle_endtag(self, tag):
        if tag == "label":
            self._label = None
        elif tag == "legend":
            self.fieldsets[-1].append(" ".join(self._legend.split()))
            self._legend = None
        elif tag == "fieldset":
            self.fieldsets.pop()

    def handle_data(self, data):
        if self._label is not None:
            self.labels[self._label] += data
        if self._legend is not None:
            self._legend += data


def radios_of(html: str) -> dict[str, tuple[str, list[str]]]:
    parser = Radios()
    parser.feed(html)
    return {rid: (" ".join(parser.labels.get(rid, "").split()), legends) for rid, legends in parser.radios.items()}


@pytest.mark.parametrize("lang, question, meaning", [
    ("en", "How important is this statement to you?",
     ["1 of 9, Not important", "2 of 9, towards not important", "5 of 9, in the middle",
      "8 of 9, towards very important", "9 of 9, Very important", "I am unable to rate this"]),
    ("nb", "Hvor viktig er dette utsagnet for deg?",
     ["1 av 9, Not important", "2 av 9, mot not important", "5 av 9, i midten", "8 av 9, mot very important",
      "9 av 9, Very important"]),
])
def test_every_radio_on_a_round_two_page_says_what_it_means(app, client, make_study, lang, question, meaning):
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    enter(app, client, members["service_user"][0])
    client.post("/language", data={"lang": lang, "next": "/panel/rate/1"})
    radios = radios_of(client.get("/panel/rate/1").get_data(as_text=True))
    statement_radios = {rid: v for rid, v in radios.items() if rid.startswith(f"s{sid}-")}
    assert len(statement_radios) == 10  # nine points and "unable to rate"
    named = [name for name, _ in statement_radios.values()]
    for words in meaning:
        assert words in named, (words, named)
    for name, legends in radios.values():
        # A bare number is never a radio's whole name; every radio is in a group that asks the question.
        assert not name.isdigit() and " " in name, name
        assert legends[-1] == question and len(legends) == 2, legends  # the statement, then the question


def test_round_one_pages_ask_the_question_too(app, client, make_study, consented, open_round):
    study_id = make_study()
    open_round(study_id)
    consented(study_id)
    for page in (1, 2):
        radios = radios_of(client.get(f"/panel/rate/{page}").get_data(as_text=True))
        assert radios and all(legends[-1] == "How important is this statement to you?" for _, legends in radios.values())


def test_feedback_for_a_small_study_in_plain_words(app, client, make_study):
    """Eleven people rated A-01 (lived experience 8 8 9 7 6 9; staff 5 6 7 and family 2 9, both withheld)."""
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {
        "service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7], "family": [2, 9]})
    with app.app_context():
        for row in db.session.query(RoundResult).filter(RoundResult.statement_id == sid):
            row.q1, row.q3 = {"overall": (6.5, 8.5), "service_user": (7.25, 8.75)}.get(row.scope, (None, None))
        db.session.commit()
    enter(app, client, members["service_user"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Your answer last time: 8 </p>" in page
    assert ("<strong>Whole panel:</strong> 7 of 11 people chose 7, 8 or 9. Most people chose between 6 and 9.</p>"
            in page)
    assert ("<strong>People with lived experience:</strong> 5 of 6 people chose 7, 8 or 9. Most people chose between 7"
            " and 9.</p>" in page)
    assert "<strong>Staff:</strong> fewer than 5 people, not shown." in page
    # The precise figures are one click away.
    assert ('<summary>Show the figures</summary> <p> 11 people answered. The middle answer was 7. The middle half of '
            'the answers lay between 6.5 and 8.5. 64% answered 7 to 9. </p>') in page

    client.post("/language", data={"lang": "nb", "next": "/panel/rate/1"})
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Svaret ditt forrige gang: 8 </p>" in page
    assert "7 av 11 personer valgte 7, 8 eller 9. De fleste valgte mellom 6 og 9.</p>" in page
    assert ("<summary>Vis tallene</summary> <p> 11 personer svarte. Svaret i midten var 7. Den midterste halvdelen av svarene"
            " lå mellom 6,5 og 8,5. 64 % svarte 7 til 9. </p>") in page


def test_one_person_and_a_single_most_chosen_answer(app, client, make_study):
    study_id = make_study(three_group_protocol().replace("min_group_feedback = 5", "min_group_feedback = 1"))
    members, sid = close_with_figures(app, study_id, {"service_user": [8], "staff": [8, 8, 8, 5]})
    with app.app_context():
        for row in db.session.query(RoundResult).filter(RoundResult.statement_id == sid):
            row.q1, row.q3 = (8.0, 8.0) if row.scope != "staff" else (7.25, 8.0)
        db.session.commit()
    enter(app, client, members["service_user"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "<strong>Whole panel:</strong> 4 of 5 people chose 7, 8 or 9. Most people chose 8.</p>" in page
    # One person: no "most people".
    assert "<strong>People with lived experience:</strong> 1 of 1 person chose 7, 8 or 9.</p>" in page
    assert "<strong>Staff:</strong> 3 of 4 people chose 7, 8 or 9. Most people chose between 7 and 8.</p>" in page
    client.post("/language", data={"lang": "nb", "next": "/panel/rate/1"})
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "4 av 5 personer valgte 7, 8 eller 9. De fleste valgte 8.</p>" in page
    assert "1 av 1 person valgte 7, 8 eller 9.</p>" in page


def test_a_wide_agreement_band_in_words(app):
    from flask_babel import force_locale

    from delphi.panel.phrases import band_words, feedback_phrases

    with app.test_request_context(), force_locale("en"):
        t = feedback_phrases()
        assert [band_words(9, 9, t), band_words(8, 9, t), band_words(6, 10, t), band_words(4, 10, t)] == [
            "9", "8 or 9", "6, 7, 8, 9 or 10", "a number from 4 to 10"]
