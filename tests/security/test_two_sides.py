"""Two sides that never meet (issue 19): an owner crawls every staff page and download of a study with answers,
comments and contacts, and no page or file holds both a contact (e-mail, phone or name) and a pseudonym or an
answer's text.

The study is seeded with strings found nowhere else (unique e-mails, phones, names, comments, open answers and
suggestions), so plain string matching is reliable. It is crawled twice: after a rating round has closed (the review
page, with comments and suggestions, is there then) and while the next round is open (non-completers, proxy entry
with last round's feedback)."""
from __future__ import annotations

import html
import io
import re
import zipfile
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Contact, Panellist, Study, StudyMember, StudyRole, Suggestion
from delphi.protocol import load_protocol
from delphi.services.answers import Answer, save_answers, save_open_answers, submit_round
from delphi.services.panel import add_panellist
from delphi.services.review import approve_comments, comments
from delphi.services.rounds import close_round, open_next_round
from delphi.services.studies import create_study
from tests.facilitate.conftest import answer_round  # noqa: F401 (a fixture)

PROTOCOL = """
title = "Crawl study"
min_group_feedback = 3
max_rounds = 3
allow_suggestions = true
open_questions = ["What helps recovery most?"]

[scale]
min = 1
max = 9

[consensus]
scope = "overall"

[[groups]]
key = "service_user"
name = "People with lived experience"

[[groups]]
key = "staff"
name = "Staff"

[[statements]]
code = "A-01"
domain = "Hope"
text = "Staff believe recovery is possible."

[[statements]]
code = "A-02"
domain = "Hope"
text = "A relapse is not a failure."
"""
GROUPS = ["service_user"] * 4 + ["staff"] * 3


class Seeded:
    def __init__(self):
        self.study_id = 0
        self.contacts: set[str] = set()  # e-mails, phones, names
        self.data: set[str] = set()  # pseudonyms, comments, open answers, suggestions


def _markers(i: int) -> tuple[str, str, str]:
    return f"zq{i}crawlmail@contacts-crawl.example", f"+47 4117 30{i}{i}", f"Kontaktnavn{i}Qx"


def seed(owner_id: int) -> Seeded:
    """An open round with answers, a rating round closed with comments (approved), and suggestions."""
    out = Seeded()
    study = create_study(load_protocol(PROTOCOL))
    db.session.add(StudyMember(study=study, user_id=owner_id, role=StudyRole.owner))
    panellists = []
    for i, key in enumerate(GROUPS):
        email, phone, name = _markers(i)
        panellist, _ = add_panellist(study, study.group_by_key(key), email=email, phone=phone)
        panellist.contact.name = name
        panellists.append(panellist)
        out.contacts |= {email, phone, name}
        out.data.add(panellist.pseudonym)
    db.session.flush()
    open_round = open_next_round(study)
    question = study.open_questions[0]
    for i, panellist in enumerate(panellists):
        text = f"openanswer{i}Wv what helped me"
        save_open_answers(panellist, open_round, {question.id: text})
        submit_round(panellist, open_round)
        out.data.add(text)
    close_round(open_round)
    rating_round = open_next_round(study)
    for i, panellist in enumerate(panellists):
        answers = {rs.statement_id: Answer(value=1 + (i + rs.position) % 9, comment=f"crawlcomment{i}s{rs.position}Jk")
                   for rs in rating_round.statements}
        save_answers(panellist, rating_round, answers)
        submit_round(panellist, rating_round)
        out.data |= {a.comment for a in answers.values()}
        text = f"crawlsuggestion{i}Yb"
        db.session.add(Suggestion(study_id=study.id, round_id=rating_round.id, panellist_id=panellist.id, text=text))
        out.data.add(text)
    close_round(rating_round)
    approve_comments(rating_round, {r.id for r in comments(rating_round)}, None)
    db.session.commit()
    out.study_id = study.id
    return out


def next_round_with_answers(study_id: int, out: Seeded) -> None:
    """Open the next rating round; three panellists answer it (two submit)."""
    study = db.session.get(Study, study_id)
    round_ = open_next_round(study)
    panellists = sorted(study.panellists, key=lambda p: p.id)
    for i, panellist in enumerate(panellists[:3]):
        answers = {rs.statement_id: Answer(value=5, comment=f"roundthree{i}s{rs.position}Hm")
                   for rs in round_.statements}
        save_answers(panellist, round_, answers)
        if i < 2:
            submit_round(panellist, round_)
        out.data |= {a.comment for a in answers.values()}
    db.session.commit()


def texts_of(name: str, content: bytes) -> list[tuple[str, str]]:
    """The readable text of a response or file: zips (the download set, .xlsx) opened member by member."""
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [t for member in archive.namelist() for t in texts_of(f"{name}!{member}", archive.read(member))]
    text = content.decode("utf-8", errors="ignore")
    return [(name, text + "\n" + html.unescape(text))]


HREF = re.compile(r'href="([^"]+)"')
GET_FORM = re.compile(r'<form\b[^>]*method="get"[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S | re.I)


def crawl(client, start: str, searches: list[str]) -> dict[str, bytes]:
    """Every page and file reachable from ``start`` by same-site links and GET forms under /studies/ (search forms
    filled with each of ``searches``), as {url: body}."""
    seen: dict[str, bytes] = {}
    queue = deque([start])
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        body = response.get_data()
        seen[url] = body
        assert response.status_code < 500, url
        if response.status_code in (301, 302, 303, 307, 308):
            queue.append(urlsplit(urljoin(url, response.headers["Location"]))._replace(scheme="", netloc="").geturl())
            continue
        if not response.mimetype.startswith("text/html"):
            continue
        page = body.decode()
        found = [html.unescape(h) for h in HREF.findall(page)]
        for action, inner in GET_FORM.findall(page):
            name = re.search(r'<input[^>]*type="search"[^>]*name="([^"]+)"', inner) or re.search(
                r'<input[^>]*name="([^"]+)"[^>]*type="search"', inner)
            if name:
                found += [f"{html.unescape(action)}?{name.group(1)}={s}" for s in searches]
        for link in found:
            target = urlsplit(urljoin(url, link))
            if target.netloc not in ("", "localhost") or not target.path.startswith("/studies/"):
                continue
            queue.append(target._replace(scheme="", netloc="", fragment="").geturl())
    return seen


def posted_outputs(client, study_id: int, pages: dict[str, bytes]) -> dict[str, bytes]:
    """The pages and files a POST gives on the contacts side: links shown once (page and CSV, one added panellist and
    a reissued link), and proxy entry's answer form (last round's feedback)."""
    out = {}
    for output in ("page", "csv"):
        response = client.post(f"/studies/{study_id}/panel", data={
            "group": "staff", "email": f"addedby{output}@contacts-crawl.example", "output": output})
        out[f"POST add panellist ({output})"] = response.get_data()
    panel = pages[f"/studies/{study_id}/panel"].decode()
    reissue = re.search(r'action="([^"]+/reissue[^"]*)"', panel)
    if reissue:
        out["POST reissue"] = client.post(html.unescape(reissue.group(1))).get_data()
    for url in [u for u in pages if re.search(r"/panel/contacts/\d+/entry$", u)][:2]:
        response = client.post(url, data={"channel": "phone", "entered_by": "Crawler", "reason": "Asked for a call"})
        out[f"POST {url}"] = response.get_data()
    return out


def mixed(responses: dict[str, bytes], contacts: set[str], data: set[str]) -> dict[str, tuple[str, str]]:
    """Each page or file holding both a contact and a pseudonym or answer text: {where: (contact, data)}."""
    flagged = {}
    for url, body in responses.items():
        for where, text in texts_of(url, body):
            contact = next((c for c in contacts if c in text), None)
            datum = next((d for d in data if d in text), None)
            if contact and datum:
                flagged[where] = (contact, datum)
    return flagged


@pytest.fixture
def owned(app, make_user, auth):
    owner_id = make_user("owner@example.org")
    with app.app_context():
        seeded = seed(owner_id)
    auth.login(email="owner@example.org")
    return seeded


def test_no_staff_page_or_file_holds_a_contact_beside_a_pseudonym_or_an_answer(app, client, owned):
    study_id = owned.study_id
    searches = ["crawlmail", "zq3crawlmail", "P-", "4117"]
    with app.app_context():
        searches.append(db.session.scalars(sa.select(Panellist.pseudonym)).first()[2:6])

    # The downloads are built by a job (run inline in tests) when asked for, then served from the kept build.
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303
    closed = crawl(client, "/studies/", searches)
    assert f"/studies/{study_id}/review" in closed and f"/studies/{study_id}/panel" in closed
    assert any("/reports/files/ratings.sav" in u for u in closed) and any(u.endswith(".zip") for u in closed)
    # The seeding is reliable: the data side shows the answers, the contacts side the contacts.
    everything = b"".join(closed.values()).decode("utf-8", errors="ignore")
    assert all(c in everything for c in owned.contacts if "@" in c)
    assert "crawlcomment0s0Jk" in everything and "crawlsuggestion0Yb" in everything

    with app.app_context():
        next_round_with_answers(study_id, owned)
    client.get("/studies/")
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303
    running = crawl(client, "/studies/", searches)
    assert any("non-completers" in u or "not-answered" in u for u in running)
    responses = {**{f"closed {u}": b for u, b in closed.items()}, **{f"running {u}": b for u, b in running.items()},
                 **posted_outputs(client, study_id, running)}

    with app.app_context():
        contacts = {c for row in db.session.execute(sa.select(Contact.email, Contact.phone, Contact.name))
                    for c in row if c}
        pseudonyms = set(db.session.scalars(sa.select(Panellist.pseudonym)))
    flagged = mixed(responses, owned.contacts | contacts, owned.data | pseudonyms)
    assert not flagged, "\n".join(f"{where}: {pair}" for where, pair in sorted(flagged.items()))
    # Proxy entry was reached from the panel page, and its form (with last round's feedback) was checked too.
    proxy = [body.decode() for where, body in responses.items() if where.startswith("POST") and "/entry" in where]
    assert proxy and all("crawlcomment" in page and "Last time (round 2)" in page for page in proxy)


def test_the_data_side_does_not_list_answers_in_the_order_they_came_in(app, client, make_user, make_study, auth,
                                                                       make_panellist, answer_round):
    """The contacts side says who has sent the round; were comments, suggestions or open answers listed as they came
    in, the newest would belong to the person who just sent. They are listed by pseudonym (random) or text."""
    owner_id = make_user("owner@example.org")
    study_id = make_study(members={owner_id: StudyRole.owner})
    early, late = (make_panellist(study_id, "staff")[0] for _ in range(2))
    with app.app_context():
        db.session.get(Panellist, early).pseudonym = "P-ZZZZZZZZ"  # came in first, sorts last
        db.session.get(Panellist, late).pseudonym = "P-AAAAAAAA"
        study = db.session.get(Study, study_id)
        round_ = open_next_round(study)
        for pid, text in ((early, "Zeta idea, sent first"), (late, "Alpha idea, sent last")):
            db.session.add(Suggestion(study_id=study_id, round_id=round_.id, panellist_id=pid, text=text))
        db.session.commit()
    answer_round(study_id, {early: {"A-01": 5}}, comments={(early, "A-01"): "Comment sent first"})
    answer_round(study_id, {late: {"A-01": 6}}, comments={(late, "A-01"): "Comment sent last"})
    with app.app_context():
        close_round(db.session.get(Study, study_id).current_round)
        db.session.commit()
    auth.login(email="owner@example.org")
    page = client.get(f"/studies/{study_id}/review").get_data(as_text=True)
    assert page.index("Comment sent last") < page.index("Comment sent first")
    assert page.index("Alpha idea, sent last") < page.index("Zeta idea, sent first")


@pytest.mark.parametrize("language, said, never", [
    ("en", ["The study team knows that you were invited and whether you have sent your answers",
            "Nobody in the study team can see which answers are yours.",
            "If you give your answers by phone or on a paper form to someone in the study team, that person hears or "
            "sees those answers."],
     ["anonymous", "who said what"]),
    ("nb", ["Studieteamet vet at du er invitert og om du har sendt svarene dine",
            "Ingen i studieteamet kan se hvilke svar som er dine.",
            "Hvis du gir svarene dine på telefon eller på et papirskjema til noen i studieteamet, hører eller ser den "
            "personen disse svarene."],
     ["anonyme", "hvem som har svart hva"]),
])
def test_panellists_are_told_exactly_who_can_know_what(client, make_study, make_panellist, language, said, never):
    """The pages promised "Nobody else in the study can see who said what" while the study team saw who was invited
    and who had answered. They now say what docs/security.md says, before consent and on every page."""
    study_id = make_study(language=language)
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    page = html.unescape(client.get("/panel/consent").get_data(as_text=True))
    assert all(sentence in page for sentence in said), page
    assert not any(word in page for word in never)
