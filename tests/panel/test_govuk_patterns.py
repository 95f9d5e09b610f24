"""Issue 22 (part A): GOV.UK Design System patterns on the panellist's pages, on the server side.

Errors lead to their field (the summary's links go to the field's first control; each message is tied to its
control or group by aria-describedby; titles start "Error:"); declining consent and choosing a group are confirmed on
a page of their own; "Change" on the check-answers page comes back to it; leaving a page with answers on it (the header
links, the language switch, the page list) saves them first without JavaScript; statements are headings and no two
headings on a page read the same; pages that are not open say what is true.
"""
from html.parser import HTMLParser
from itertools import pairwise

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    ConsentRecord,
    Panellist,
    Round,
    Study,
    StudyStatus,
    Suggestion,
)
from delphi.services.answers import MAX_COMMENT
from delphi.services.rounds import close_round, open_next_round
from tests.panel.test_feedback import close_with_figures, enter, three_group_protocol
from tests.panel.test_withdraw_and_open_round import OPEN_PROTOCOL


class Page(HTMLParser):
    """What the checks need from a page: its title, every element by id, the aria-describedby and aria-invalid
    attributes, the error summary (its attributes and links), the headings, and the buttons that belong to a form."""

    CONTROLS = frozenset({"input", "textarea", "select"})

    def __init__(self, html: str):
        super().__init__()
        self.title, self.ids, self.described, self.invalid = "", {}, [], []
        self.summary, self.summary_links, self.headings, self.buttons = None, [], [], []
        self._in_title = self._in_summary = False
        self._heading = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self._in_title = True
        if "id" in a:
            assert a["id"] not in self.ids, f"id {a['id']!r} twice on the page"
            self.ids[a["id"]] = (tag, a)
        if "aria-describedby" in a:
            self.described.append((tag, a))
        if a.get("aria-invalid") == "true":
            self.invalid.append((tag, a))
        if a.get("id") == "error-summary":
            self.summary, self._in_summary = a, True
        if self._in_summary and tag == "a":
            self.summary_links.append(a["href"])
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = [tag, ""]
        if tag == "button" or (tag == "input" and a.get("type") == "submit"):
            self.buttons.append(a)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag == "ul" and self._in_summary:
            self._in_summary = False
        if self._heading and tag == self._heading[0]:
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._heading:
            self._heading[1] += data


def assert_errors_lead_to_fields(html: str, error_word: str = "Error:") -> Page:
    """The GOV.UK error pattern, checked on a page that has errors."""
    page = Page(html)
    assert page.title.strip().startswith(error_word + " "), page.title
    assert page.summary is not None, "no error summary"
    assert page.summary.get("tabindex") == "-1" and "autofocus" in page.summary
    assert page.summary_links, "the summary links to nothing"
    for href in page.summary_links:
        assert href.startswith("#")
        tag, attrs = page.ids.get(href[1:], (None, {}))
        # The link lands on a control a panellist can act on (a group's first radio or checkbox), not on a wrapper.
        assert tag in Page.CONTROLS and attrs.get("type") != "hidden", (href, tag)
        assert attrs.get("aria-invalid") == "true", href
    for tag, attrs in page.described:
        for ref in attrs["aria-describedby"].split():
            assert ref in page.ids, f"aria-describedby names {ref!r}, which is not on the page"
    # Every error message is what some control or group is described by.
    described = {ref for _, attrs in page.described for ref in attrs["aria-describedby"].split()}
    messages = [i for i, (tag, attrs) in page.ids.items() if "error-message" in attrs.get("class", "")]
    assert messages and set(messages) <= described, (messages, described)
    return page


def open_question_round(app, make_study, open_round):
    """A study whose first round asks open questions, opened; returns (study id, first question's id)."""
    study_id = make_study(OPEN_PROTOCOL)
    open_round(study_id)
    with app.app_context():
        return study_id, db.session.get(Study, study_id).open_questions[0].id


@pytest.fixture
def ready(make_study, open_round, consented, statement_ids):
    study_id = make_study()
    round_id = open_round(study_id)
    panellist_id, _token = consented(study_id)
    return {"study": study_id, "round": round_id, "panellist": panellist_id, "ids": statement_ids(study_id)}


CONSENT = "I have read the information.\nI know I can leave at any time.\nMy answers are kept without my name."


def test_consent_error_leads_to_the_first_box(client, make_study, make_panellist, open_round):
    study_id = make_study(consent_text=CONSENT)
    open_round(study_id)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    response = client.post("/panel/consent", data={"statements": ["0"], "agree": "1"})
    assert response.status_code == 422
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert page.summary_links == ["#consent-0"]
    assert page.ids["statements"][1]["aria-describedby"] == "statements-hint statements-error"


def test_consent_error_in_norwegian_has_a_norwegian_title(client, make_study, make_panellist, open_round):
    study_id = make_study(language="nb", consent_text=CONSENT)
    open_round(study_id)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    response = client.post("/panel/consent", data={"agree": "1"})
    assert_errors_lead_to_fields(response.get_data(as_text=True), "Feil:")


def test_group_error_leads_to_the_first_radio(app, client, make_study, make_panellist, open_round):
    study_id = make_study(allow_group_choice=True)
    open_round(study_id)
    _, token = make_panellist(study_id, None)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    response = client.post("/panel/group", data={})
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert page.summary_links == ["#group-0"]
    assert page.ids["group"][1]["aria-describedby"] == "group-error"


def test_withdraw_error_leads_to_the_box(client, ready):
    response = client.post("/panel/withdraw", data={"submit": "1"})
    assert response.status_code == 422
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert page.summary_links == ["#confirm"]
    assert page.ids["confirm"][1]["aria-describedby"] == "confirm-error"


def test_rating_and_comment_errors_lead_to_their_controls(client, ready):
    ids = ready["ids"]
    a01, a02 = ids["A-01"], ids["A-02"]
    response = client.post("/panel/rate/1", data={f"s{a01}": "12", f"c{a02}": "x" * (MAX_COMMENT + 1), "next": "1"})
    assert response.status_code == 422
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert sorted(page.summary_links) == sorted([f"#s{a01}-0", f"#c{a02}"])
    assert page.ids[f"s{a01}"][1]["aria-describedby"] == f"s{a01}-error"
    assert page.ids[f"c{a02}"][1]["aria-describedby"] == f"c{a02}-hint c{a02}-error"
    # Every radio of the statement in error is marked, and no other statement's.
    invalid_radios = {a["id"] for tag, a in page.invalid if a.get("type") == "radio"}
    assert invalid_radios and all(i.startswith(f"s{a01}-") for i in invalid_radios)
    assert len(invalid_radios) == 10  # 1 to 9 and "unable to rate"


def test_suggestion_error_leads_to_the_text(client, ready):
    response = client.post("/panel/suggest", data={"text": ""})
    assert response.status_code == 422
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert page.summary_links == ["#text"]


def test_open_answer_error_leads_to_the_question(app, client, make_study, consented, open_round):
    study_id, question = open_question_round(app, make_study, open_round)
    consented(study_id)
    response = client.post("/panel/questions", data={f"q{question}": "x" * 20001, "save": "1"})
    assert response.status_code == 422
    page = assert_errors_lead_to_fields(response.get_data(as_text=True))
    assert page.summary_links == [f"#q{question}"]


def test_a_page_without_errors_has_no_error_title(client, ready):
    page = Page(client.get("/panel/rate/1").get_data(as_text=True))
    assert not page.title.startswith("Error") and page.summary is None and not page.invalid


# Declining consent and choosing a group: a page of their own, with a way back.

def test_declining_consent_is_confirmed_and_can_be_taken_back(app, client, make_study, make_panellist, open_round):
    study_id = make_study()
    open_round(study_id)
    _panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    shown = client.post("/panel/consent", data={"decline": "1"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "<h1>You chose not to take part. Is that right?</h1>" in html
    assert 'action="/panel/consent/decline"' in html and "Yes, continue" in html and "No, go back" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == 0
    # "No, go back": back to the consent page, nothing kept.
    back = client.post("/panel/consent/decline", data={"back": "1"})
    assert back.status_code == 303 and back.headers["Location"] == "/panel/consent"
    assert client.get("/panel/consent").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == 0
    # "Yes, continue": the no is kept.
    client.post("/panel/consent", data={"decline": "1"})
    assert client.post("/panel/consent/decline", data={"yes": "1"}).headers["Location"] == "/panel/"
    assert "You have chosen not to take part" in client.get("/panel/").get_data(as_text=True)


def test_choosing_a_group_is_confirmed_and_can_be_changed(app, client, make_study, make_panellist, open_round):
    study_id = make_study(allow_group_choice=True)
    open_round(study_id)
    panellist_id, token = make_panellist(study_id, None)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    with app.app_context():
        study = db.session.get(Study, study_id)
        staff, lived = study.group_by_key("staff").id, study.group_by_key("service_user").id
    shown = client.post("/panel/group", data={"group": str(staff)})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "<h1>You chose: Staff. Is that right?</h1>" in html
    assert 'action="/panel/group/confirm"' in html and f'name="group" type="hidden" value="{staff}"' in html
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group is None
    # "No, go back": the groups again, the one chosen still ticked, nothing kept.
    back = client.post("/panel/group/confirm", data={"group": str(staff), "back": "1"})
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and f'checked id="group-1" name="group" required type="radio" value="{staff}"' in html
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group is None
    # Its language switch comes back to the groups page, not to a page that only takes answers.
    assert 'name="next" value="/panel/group/confirm"' in html
    assert client.get("/panel/group/confirm").headers["Location"] == "/panel/group"
    # Another choice, then "Yes, continue".
    client.post("/panel/group", data={"group": str(lived)})
    confirmed = client.post("/panel/group/confirm", data={"group": str(lived), "yes": "1"})
    assert confirmed.headers["Location"] == "/panel/"
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group.key == "service_user"
    # Chosen once: a late confirmation of the other group changes nothing.
    client.post("/panel/group/confirm", data={"group": str(staff), "yes": "1"})
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group.key == "service_user"


def test_a_group_of_another_study_cannot_be_confirmed(app, client, make_study, make_panellist, open_round):
    study_id, other = make_study(allow_group_choice=True), make_study()
    open_round(study_id)
    panellist_id, token = make_panellist(study_id, None)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
    with app.app_context():
        foreign = db.session.get(Study, other).group_by_key("staff").id
    response = client.post("/panel/group/confirm", data={"group": str(foreign), "yes": "1"})
    assert response.headers["Location"] == "/panel/group"
    with app.app_context():
        assert db.session.get(Panellist, panellist_id).group is None


# "Change" on the check-answers page comes back to it.

def test_change_on_the_review_comes_back_to_the_review(client, ready, ratings_of):
    ids = ready["ids"]
    client.post("/panel/rate/1", data={f"s{ids['A-01']}": "3", "next": "1"})
    review = client.get("/panel/review").get_data(as_text=True)
    assert f'href="/panel/rate/2?return=review#s{ids["B-01"]}"' in review
    page = client.get("/panel/rate/2?return=review").get_data(as_text=True)
    assert 'action="/panel/rate/2?return=review"' in page
    assert 'value="Save and go back to your answers"' in page and "Save and go back</" not in page
    saved = client.post("/panel/rate/2?return=review", data={f"s{ids['B-01']}": "8", "next": "1"})
    assert saved.headers["Location"] == "/panel/review"
    assert ratings_of(ready["panellist"], ready["round"])["B-01"] == (8, False, "")
    # Without the marker the page goes on as before; "come back later" still means later.
    assert client.post("/panel/rate/1", data={"next": "1"}).headers["Location"] == "/panel/rate/2"
    assert client.post("/panel/rate/1?return=review", data={"leave": "1"}).headers["Location"] == "/panel/saved"
    assert client.post("/panel/rate/1?return=elsewhere", data={"next": "1"}).headers["Location"] == "/panel/rate/2"


def test_change_on_the_open_review_comes_back_to_it(app, client, make_study, consented, open_round):
    study_id, question = open_question_round(app, make_study, open_round)
    consented(study_id)
    review = client.get("/panel/review").get_data(as_text=True)
    assert f'href="/panel/questions?return=review#q{question}"' in review
    saved = client.post("/panel/questions?return=review", data={f"q{question}": "Hope.", "save": "1"})
    assert saved.headers["Location"] == "/panel/review"


# Leaving a page with answers on it saves them first, without JavaScript.

@pytest.mark.parametrize("go, where", [
    ("home", "/panel/"), ("suggest", "/panel/suggest"), ("withdraw", "/panel/withdraw"),
    ("review", "/panel/review"), ("page-2", "/panel/rate/2"), ("accessibility", "/accessibility"),
])
def test_leaving_a_rating_page_saves_it_first(client, ready, ratings_of, go, where):
    ids = ready["ids"]
    page = client.get("/panel/rate/1").get_data(as_text=True)
    # Every way out is a button of the answers form, not a link that would drop what is on the page.
    assert f'form="answers" name="go" value="{go}"' in page
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "4", f"c{ids['A-01']}": "typed", "go": go})
    assert response.status_code == 303 and response.headers["Location"] == where
    assert ratings_of(ready["panellist"], ready["round"])["A-01"] == (4, False, "typed")


def test_no_link_on_a_rating_page_leaves_it_unsaved(client, ready):
    """The only links left on a rating page stay on it (the skip link)."""
    html = client.get("/panel/rate/1").get_data(as_text=True)
    import re

    links = re.findall(r'<a [^>]*href="([^"]*)"', html)
    assert links and all(href.startswith("#") for href in links), links


def test_the_language_switch_on_a_rating_page_saves_first(client, ready, ratings_of):
    ids = ready["ids"]
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert 'form="answers" name="lang" value="nb"' in page
    response = client.post("/panel/rate/1", data={f"s{ids['A-02']}": "6", "lang": "nb"})
    assert response.headers["Location"] == "/panel/rate/1"
    assert ratings_of(ready["panellist"], ready["round"])["A-02"] == (6, False, "")
    assert "Lagre og fortsett" in client.get("/panel/rate/1").get_data(as_text=True)
    # The review marker survives the switch; a language the study does not offer changes nothing.
    assert client.post("/panel/rate/1?return=review", data={"lang": "en"}).headers["Location"] == \
        "/panel/rate/1?return=review"
    assert client.post("/panel/rate/1", data={"lang": "xx", "next": "1"}).headers["Location"] == "/panel/rate/2"


def test_leaving_an_open_question_page_saves_it_first(app, client, make_study, consented, open_round):
    study_id, question = open_question_round(app, make_study, open_round)
    consented(study_id)
    page = client.get("/panel/questions").get_data(as_text=True)
    assert 'form="answers" name="go" value="home"' in page and 'form="answers" name="lang" value="nb"' in page
    response = client.post("/panel/questions", data={f"q{question}": "Being listened to.", "go": "home"})
    assert response.headers["Location"] == "/panel/"
    with app.app_context():
        from delphi.models import OpenAnswer

        assert db.session.scalar(sa.select(OpenAnswer.text)) == "Being listened to."


def test_a_page_that_cannot_be_saved_is_not_left(client, ready, ratings_of):
    ids = ready["ids"]
    response = client.post("/panel/rate/1", data={f"s{ids['A-01']}": "12", f"s{ids['A-02']}": "5", "go": "home"})
    assert response.status_code == 422 and "Choose one of the answers shown." in response.get_data(as_text=True)
    assert ratings_of(ready["panellist"], ready["round"]) == {}


# Statements are headings; no two headings on a page read the same.

def test_rating_page_headings_are_unique_and_in_order(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, _sid = close_with_figures(app, study_id, {"service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7, 7, 8],
                                                      "family": [9, 9, 8, 7, 9]})
    enter(app, client, members["service_user"][0])
    page = Page(client.get("/panel/rate/1").get_data(as_text=True))
    texts = [text for _, text in page.headings]
    assert len(texts) == len(set(texts)), texts
    assert ("h2", "Staff believe recovery is possible.") in page.headings
    assert ("h2", "A relapse is not a failure.") in page.headings
    assert ("h3", "Last time (round 1) – statement 1") in page.headings
    levels = [int(tag[1]) for tag, _ in page.headings]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels)), page.headings


# Pages that are not open say what is true.

def test_questions_page_during_a_rating_round_does_not_say_closed(client, ready):
    response = client.get("/panel/questions")
    assert response.status_code == 303 and response.headers["Location"] == "/panel/"


def test_questions_page_before_the_first_round_does_not_say_closed(client, make_study, consented):
    study_id = make_study()
    consented(study_id)
    response = client.get("/panel/questions")
    assert response.headers["Location"] == "/panel/"
    assert "has not started yet" in client.get("/panel/").get_data(as_text=True)


def test_questions_page_after_its_round_closed_says_so(app, client, make_study, consented, open_round):
    study_id, _ = open_question_round(app, make_study, open_round)
    consented(study_id)
    with app.app_context():
        close_round(db.session.scalar(sa.select(Round)))
        db.session.commit()
    response = client.get("/panel/questions")
    assert response.status_code == 200 and "This round is not open" in response.get_data(as_text=True)
    # Answers typed before it closed are told plainly that they could not be saved.
    assert client.post("/panel/questions", data={"save": "1"}).status_code == 409


def test_pages_of_a_study_that_has_ended_go_to_the_start_page(app, client, ready):
    with app.app_context():
        study = db.session.get(Study, ready["study"])
        close_round(study.current_round)
        study.status = StudyStatus.closed
        db.session.commit()
    for path in ("/panel/questions", "/panel/rate/1", "/panel/review"):
        assert client.get(path).headers["Location"] == "/panel/", path


@pytest.mark.parametrize("state, says", [
    ("no suggestions", "This study does not ask panellists to suggest statements."),
    ("not started", "The study has not started yet. You can suggest statements once the first round opens."),
    ("between rounds", "You can suggest statements while a round is open."),
    ("ended", "The study has ended, so it no longer takes suggestions."),
])
def test_suggestion_page_says_why_it_is_shut(app, client, make_study, consented, state, says):
    study_id = make_study(allow_suggestions=state != "no suggestions")
    if state != "not started":
        with app.app_context():
            study = db.session.get(Study, study_id)
            round_ = open_next_round(study)
            if state in ("between rounds", "ended"):
                close_round(round_)
            if state == "ended":
                study.status = StudyStatus.closed
            db.session.commit()
    consented(study_id)
    response = client.get("/panel/suggest")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and says in html
    assert "has closed" not in html and "This round is not open" not in html
    posted = client.post("/panel/suggest", data={"text": "Staff ask what helped before."})
    assert posted.status_code == 409 and says in posted.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == 0
