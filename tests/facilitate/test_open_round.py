"""A study that begins with an open round: questions set up in the console, panellists' answers turned into
statements linked to the answers they came from (counted per stakeholder group), and the first rating round opened
with them; who may do this, and input that is refused with nothing written."""
import json
import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent,
    OpenAnswer,
    OpenQuestion,
    Panellist,
    Rating,
    RevisionKind,
    RoundKind,
    Statement,
    Study,
    StudyRole,
)
from delphi.services.answers import save_open_answers, submit_round
from delphi.services.rounds import close_round, open_next_round
from tests.conftest import MINIMAL_PROTOCOL

# The minimal protocol without its statements: this study's statements come from the panel's answers.
NO_STATEMENTS = MINIMAL_PROTOCOL.split("[[statements]]")[0]
WITH_QUESTIONS = NO_STATEMENTS.replace(
    'title = "Test study"',
    'title = "Test study"\nopen_questions = ["What does recovery-oriented practice mean to you?", '
    '"What gets in the way?"]')

ANSWERS = {  # (group, answer to question 1, answer to question 2)
    "service_user": [("Being treated as a person, not a diagnosis.", "Waiting lists."),
                     ("Someone who believes I can get better.", "Staff who do not listen.")],
    "staff": [("Time to listen to people.", "Paperwork.")],
}


def _answer_ids(app, study_id: int) -> dict[str, int]:
    """{answer text: id} of a study's open answers."""
    with app.app_context():
        return dict(db.session.execute(
            sa.select(OpenAnswer.text, OpenAnswer.id).join(OpenQuestion).where(OpenQuestion.study_id == study_id)
        ).all())


@pytest.fixture
def answered(app, make_study, make_panellist):
    """A study whose open round 1 has been answered by two people with lived experience and one staff member, and
    closed; make(members) returns the study id."""

    def make(members: dict[int, StudyRole]) -> int:
        study_id = make_study(WITH_QUESTIONS, members=members)
        pids = [(make_panellist(study_id, group)[0], texts) for group, rows in ANSWERS.items() for texts in rows]
        with app.app_context():
            study = db.session.get(Study, study_id)
            round_ = open_next_round(study)
            first, second = (q.id for q in study.open_questions)
            for pid, (one, two) in pids:
                panellist = db.session.get(Panellist, pid)
                save_open_answers(panellist, round_, {first: one, second: two})
                submit_round(panellist, round_)
            close_round(round_)
            db.session.commit()
        return study_id

    return make


def _panellist_client(app, token: str):
    panel = app.test_client()
    panel.get(f"/p/{token}")
    assert panel.post("/panel/consent", data={"agree": "1"}).status_code == 303
    return panel


def test_open_round_to_first_rating_round(app, client, auth, make_user, make_study, make_panellist):
    owner = make_user("owner@example.org")
    study_id = make_study(NO_STATEMENTS, members={owner: StudyRole.owner})
    auth.login(email="owner@example.org")
    base = f"/studies/{study_id}"

    # Setup: questions added, one edited, one added and removed; the study now begins with an open round.
    assert "Open questions" in client.get(base).get_data(as_text=True)
    assert "No open questions" in client.get(f"{base}/questions").get_data(as_text=True)
    for text in ("What does recovery mean to you?", "What gets in the way?", "A question to remove"):
        assert client.post(f"{base}/questions", data={"text": text}).headers["Location"] == f"{base}/questions"
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.starts_with_open_round
        ids = [q.id for q in study.open_questions]
    response = client.post(f"{base}/questions/{ids[0]}",
                           data={"text": "What does recovery-oriented practice mean to you?"})
    assert response.status_code == 303
    assert client.post(f"{base}/questions/{ids[2]}/delete").status_code == 303
    page = client.get(f"{base}/questions").get_data(as_text=True)
    assert "What does recovery-oriented practice mean to you?" in page and "A question to remove" not in page
    assert "will begin with an open round of 2 questions" in page

    # The panel: two people with lived experience and one staff member; round 1 opens as the open round.
    tokens = {group: [make_panellist(study_id, group)[1] for _ in rows] for group, rows in ANSWERS.items()}
    assert client.post(f"{base}/rounds/open", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.current_round.kind is RoundKind.open and study.is_locked
        first, second = (q.id for q in study.open_questions)
    # Questions are fixed once round 1 has opened.
    locked = client.post(f"{base}/questions", data={"text": "Too late"})
    assert locked.status_code == 422 and "can no longer change" in locked.get_data(as_text=True)

    # Panellists answer on the panel pages, and submit.
    panels = {}
    for group, rows in ANSWERS.items():
        for token, (one, two) in zip(tokens[group], rows):
            panel = panels[token] = _panellist_client(app, token)
            assert panel.post("/panel/questions", data={f"q{first}": one, f"q{second}": two,
                                                        "save": "1"}).status_code == 303
            assert panel.post("/panel/review", data={"submit": "1"}).headers["Location"] == "/panel/thanks"

    # While the round is open the answers can be read, not used.
    reading = client.get(f"{base}/open-answers").get_data(as_text=True)
    assert "still open" in reading and 'type="checkbox"' not in reading
    assert client.post(f"{base}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    assert "Turn the answers into statements" in client.get(base).get_data(as_text=True)

    # Every answer, by question, with the stakeholder group and never the pseudonym.
    page = client.get(f"{base}/open-answers").get_data(as_text=True)
    with app.app_context():
        pseudonyms = [p.pseudonym for p in db.session.get(Study, study_id).panellists]
    for rows in ANSWERS.values():
        for one, two in rows:
            assert one in page and two in page
    assert "— People with lived experience" in page and "— Staff" in page
    assert not any(p in page for p in pseudonyms)
    filtered = client.get(f"{base}/open-answers?question={second}").get_data(as_text=True)
    assert "Waiting lists." in filtered and "Time to listen" not in filtered
    searched = client.get(f"{base}/open-answers?search=listen").get_data(as_text=True)
    assert "Time to listen to people." in searched and "Staff who do not listen." in searched
    assert "Waiting lists." not in searched

    # Two statements from answers of different groups; the second is then linked to one more answer.
    answer = _answer_ids(app, study_id)
    response = client.post(f"{base}/open-answers", data={
        "code": "", "domain": "Being heard", "text": "Staff take time to listen to the person.",
        "answers": [answer["Time to listen to people."], answer["Staff who do not listen."],
                    answer["Being treated as a person, not a diagnosis."]], "create": "1", "search": "listen"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{base}/open-answers?search=listen#made"
    response = client.post(f"{base}/open-answers", data={
        "code": "HOPE-01", "domain": "Hope", "text": "Staff believe the person can recover.",
        "answers": [answer["Someone who believes I can get better."]], "create": "1"})
    assert response.status_code == 303
    with app.app_context():
        hope = db.session.scalar(sa.select(Statement).where(Statement.code == "HOPE-01"))
        hope_id = hope.id
    response = client.post(f"{base}/open-answers", data={"statement": hope_id, "link": "1",
                                                         "answers": [answer["Paperwork."]]})
    assert response.status_code == 303

    with app.app_context():
        study = db.session.get(Study, study_id)
        heard, hope = study.statements
        assert (heard.code, hope.code) == ("S01", "HOPE-01")
        for statement, count in ((heard, 3), (hope, 2)):
            assert len(statement.source_answers) == count
            assert [r.kind for r in statement.revisions] == [RevisionKind.from_open_answers]
            assert statement.revisions[0].round_number == 2
        actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
        assert actions.count("statement.from_open_answers") == 2 and "statement.link_answers" in actions
        assert {"open_question.add", "open_question.edit", "open_question.remove"} <= set(actions)
        details = json.dumps([[e.target, e.details] for e in db.session.scalars(sa.select(AuditEvent))])
        assert not any(text in details for rows in ANSWERS.values() for pair in rows for text in pair)

    # Counts per stakeholder group, on the statements list and the answers page.
    for url in (f"{base}/statements", f"{base}/open-answers"):
        text = client.get(url).get_data(as_text=True)
        assert "from 3 answers: People with lived experience 2, Staff 1" in text
        assert "from 2 answers: People with lived experience 1, Staff 1" in text

    # Round 2 is the first rating round, with exactly these statements; a panellist rates them.
    assert client.post(f"{base}/rounds/open", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = study.current_round
        assert (round_.number, round_.kind) == (2, RoundKind.rating)
        assert [rs.statement.code for rs in round_.statements] == ["S01", "HOPE-01"]
        codes = {rs.statement.code: rs.statement_id for rs in round_.statements}
    panel = panels[tokens["staff"][0]]
    # One page per domain: "Being heard", then "Hope".
    for page_number, code, text, value in ((1, "S01", "Staff take time to listen to the person.", "8"),
                                           (2, "HOPE-01", "Staff believe the person can recover.", "9")):
        assert text in panel.get(f"/panel/rate/{page_number}").get_data(as_text=True)
        assert panel.post(f"/panel/rate/{page_number}", data={f"s{codes[code]}": value,
                                                             "next": "1"}).status_code == 303
    with app.app_context():
        ratings = {r.statement_id: r.value for r in db.session.scalars(sa.select(Rating).where(
            Rating.round_id == round_.id))}
        assert ratings == {codes["S01"]: 8, codes["HOPE-01"]: 9}
    # The statements made from answers are now fixed; the page shows where they came from, without checkboxes.
    after = client.get(f"{base}/open-answers").get_data(as_text=True)
    assert "first rating round has opened" in after and 'type="checkbox"' not in after
    refused = client.post(f"{base}/open-answers", data={"text": "Late", "create": "1",
                                                        "answers": [answer["Paperwork."]]})
    assert refused.status_code == 422


def test_removing_every_question_begins_with_a_rating_round(app, client, owner):
    _, study_id = owner
    base = f"/studies/{study_id}"
    for text in ("What matters to you?", "What helps?"):
        client.post(f"{base}/questions", data={"text": text})
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.starts_with_open_round
        first, second = (q.id for q in study.open_questions)
    assert client.post(f"{base}/questions/{second}/up").status_code == 303
    with app.app_context():
        order = [q.text for q in db.session.get(Study, study_id).open_questions]
        assert order == ["What helps?", "What matters to you?"]
    for question in (first, second):
        assert client.post(f"{base}/questions/{question}/delete").status_code == 303
    with app.app_context():
        assert not db.session.get(Study, study_id).starts_with_open_round
    empty = client.post(f"{base}/questions", data={"text": "   "})
    assert empty.status_code == 422 and "Write the question." in empty.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OpenQuestion.id))) == 0


@pytest.mark.parametrize("data, message", [
    ({"text": "", "create": "1"}, "Write the statement."),
    ({"text": "A statement without answers.", "create": "1", "answers": []},
     "Tick at least one answer the statement comes from."),
    ({"text": "A statement.", "create": "1", "answers": ["other"]}, "not answers to this study"),
    ({"text": "A statement.", "create": "1", "answers": ["own", "other"]}, "not answers to this study"),
    ({"text": "A statement.", "create": "1", "answers": ["own"], "code": "bad code!"}, "may use only the letters A-Z"),
    ({"link": "1", "answers": ["own"], "statement": "0"}, "Choose the statement"),
    ({"link": "1", "answers": ["own"], "statement": "x"}, "Choose the statement"),
    ({"text": "A statement.", "create": "1", "answers": ["own"], "statement": "x", "code": "bad code!"},
     "may use only the letters A-Z"),
])
def test_bad_input_is_refused_and_nothing_written(app, client, auth, make_user, answered, data, message):
    owner = make_user("owner@example.org")
    study_id = answered({owner: StudyRole.owner})
    other_id = answered({})
    own = next(iter(_answer_ids(app, study_id).values()))
    other = next(iter(_answer_ids(app, other_id).values()))
    data = dict(data)
    data["answers"] = [{"own": own, "other": other}[a] for a in data.get("answers", ["own"])]
    auth.login(email="owner@example.org")
    with app.app_context():
        events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = client.post(f"/studies/{study_id}/open-answers", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    if data.get("text"):
        assert data["text"] in page  # the input is kept
    if own in data["answers"]:
        assert f'value="{own}" id="a{own}" checked' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


def test_a_statement_of_another_study_cannot_be_linked(app, client, auth, make_user, make_study, answered):
    owner = make_user("owner@example.org")
    study_id = answered({owner: StudyRole.owner})
    foreign = make_study()  # the minimal protocol's statements
    with app.app_context():
        foreign_statement = db.session.get(Study, foreign).statements[0].id
    own = next(iter(_answer_ids(app, study_id).values()))
    auth.login(email="owner@example.org")
    response = client.post(f"/studies/{study_id}/open-answers",
                           data={"link": "1", "statement": foreign_statement, "answers": [own]})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Statement, foreign_statement).source_answers == []


def test_who_may_see_and_use_the_answers(app, client, auth, make_user, answered, make_study):
    users = {role: make_user(f"{role.value}@example.org") for role in StudyRole}
    study_id = answered({uid: role for role, uid in users.items()})
    make_user("other@example.org")
    other_study = make_study(WITH_QUESTIONS, members={make_user("stranger@example.org"): StudyRole.owner})
    own = next(iter(_answer_ids(app, study_id).values()))
    with app.app_context():
        question = db.session.get(Study, other_study).open_questions[0].id
    post = {"text": "A statement.", "create": "1", "answers": [own]}
    urls = [f"/studies/{study_id}/open-answers", f"/studies/{study_id}/questions"]

    # Anonymous: sent to sign in.
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
        assert client.post(url, data=post).status_code == 302

    # Staff of another study: nothing of this study exists for them.
    auth.login(email="other@example.org")
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, data=post).status_code == 404
    auth.logout()

    # A researcher reads the answers but cannot use them, nor change questions.
    auth.login(email="researcher@example.org")
    page = client.get(urls[0])
    assert page.status_code == 200 and "Being treated as a person" in page.get_data(as_text=True)
    assert 'type="checkbox"' not in page.get_data(as_text=True)
    assert client.post(urls[0], data=post).status_code == 403
    assert client.post(urls[1], data={"text": "Another question"}).status_code == 403
    auth.logout()

    # A facilitator uses them; a question of another study is out of reach.
    auth.login(email="facilitator@example.org")
    assert 'type="checkbox"' in client.get(urls[0]).get_data(as_text=True)
    assert client.post(urls[0], data=post).status_code == 303
    assert client.post(f"/studies/{study_id}/questions/{question}", data={"text": "Changed"}).status_code == 404
    assert client.post(f"/studies/{study_id}/questions/{question}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(OpenQuestion, question).text == "What does recovery-oriented practice mean to you?"
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == 1


def test_a_study_without_an_open_round_says_so(client, owner):
    _, study_id = owner
    page = client.get(f"/studies/{study_id}/open-answers").get_data(as_text=True)
    assert "did not begin with an open round" in page
    assert re.search(r'href="/studies/\d+/questions"', page)
