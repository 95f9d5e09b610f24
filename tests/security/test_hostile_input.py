"""Hostile input: script injection in every text a user can write is rendered escaped; SQL metacharacters and
random tokens reach nothing; requests without a CSRF token change nothing."""
import secrets

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    Classification,
    ConsentDecision,
    ConsentRecord,
    Panellist,
    Rating,
    Round,
    RoundResult,
    RoundStatus,
    StakeholderGroup,
    Study,
    StudyRole,
    Suggestion,
)
from delphi.services.panel import add_panellist
from delphi.services.rounds import open_next_round

SCRIPT = '<script>alert("x")</script>'
HANDLER = '"><img src=x onerror=alert(1)>'


def hostile_study(app, make_study, make_user):
    """A study whose title, group names, statement texts and comments carry script and event-handler injection."""
    owner = make_user("owner@example.org")
    study_id = make_study(members={owner: StudyRole.owner})
    with app.app_context():
        study = db.session.get(Study, study_id)
        study.title = f"Study {SCRIPT}"
        study.information_text = f"Info {HANDLER}"
        study.consent_text = f"I agree {SCRIPT}"
        for group in study.groups:
            group.name = f"{group.name} {HANDLER}"
        for statement in study.statements:
            statement.text = f"{statement.text} {SCRIPT}"
            statement.domain = f"{statement.domain} {HANDLER}"
        round1 = open_next_round(study)
        panellists = []
        for i in range(8):
            panellist, _ = add_panellist(study, study.groups[i % 2])
            panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, consent_version=1))
            panellists.append(panellist)
        for panellist in panellists:
            for rs in round1.statements:
                db.session.add(Rating(panellist_id=panellist.id, round_id=round1.id, statement_id=rs.statement_id,
                                      value=8, comment=f"comment {SCRIPT}", comment_approved=True))
        db.session.add(Suggestion(study_id=study.id, round_id=round1.id, text=f"suggest {SCRIPT}"))
        db.session.execute(sa.update(Round).where(Round.id == round1.id).values(status=RoundStatus.closed))
        for rs in round1.statements:
            for scope in ["overall"] + [g.key for g in study.groups]:
                db.session.add(RoundResult(round_id=round1.id, statement_id=rs.statement_id, scope=scope, n=8 if scope == "overall" else 4,
                                           median=8, pct_agree=100, distribution={"8": 8}, verdict=Classification.none))
            rs.carry_forward = True
        db.session.commit()
        db.session.refresh(round1)
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
        return study_id, panellists[0].id


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x onerror" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    assert "&lt;script&gt;" in html or "&#34;&gt;&lt;img" in html or "&quot;&gt;&lt;img" in html


def test_injected_text_is_escaped_on_panellist_pages(app, client, make_study, make_user):
    from delphi.services.panel import reissue_token

    study_id, panellist_id = hostile_study(app, make_study, make_user)
    with app.app_context():
        token = reissue_token(db.session.get(Panellist, panellist_id))
        db.session.commit()
    client.get(f"/p/{token}")
    for path in ["/panel/", "/panel/rate/1", "/panel/review", "/panel/suggest", "/panel/withdraw", "/panel/thanks"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_escaped(response.get_data(as_text=True))


STAFF_PAGES = ["/studies/", "/studies/{id}", "/studies/{id}/statements", "/studies/{id}/review",
               "/studies/{id}/rounds/current", "/studies/{id}/panel", "/studies/{id}/settings", "/studies/{id}/groups",
               "/studies/{id}/protocol", "/studies/{id}/reports", "/studies/{id}/reports/report"]


def test_injected_text_is_escaped_on_staff_pages_and_in_the_report(app, client, auth, make_study, make_user):
    study_id, _ = hostile_study(app, make_study, make_user)
    auth.login(email="owner@example.org")
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303  # the report is built by a job
    for path in STAFF_PAGES:
        response = client.get(path.format(id=study_id))
        assert response.status_code == 200, path
        assert_escaped(response.get_data(as_text=True))


def test_injected_text_cannot_become_a_formula_in_any_export(app, client, auth, make_study, make_user):
    import csv
    import io

    study_id, _ = hostile_study(app, make_study, make_user)
    with app.app_context():
        study = db.session.get(Study, study_id)
        study.statements[0].text = '=HYPERLINK("http://evil.example","click")'
        db.session.commit()
    auth.login(email="owner@example.org")
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303
    exports = [f"/studies/{study_id}/statements.csv", f"/studies/{study_id}/reports/files/statements.csv",
               f"/studies/{study_id}/reports/files/ratings.csv", f"/studies/{study_id}/reports/files/codebook.csv"]
    for path in exports:
        response = client.get(path)
        assert response.status_code == 200, path
        for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path, cell)


@pytest.mark.parametrize("path", [
    "/studies/1' OR '1'='1", "/studies/1;DROP TABLE study", "/p/' OR 1=1 --", "/p/%27%20OR%201%3D1",
    "/panel/rate/1 OR 1=1", "/studies/-1", "/studies/99999999999999999999",
])
def test_sql_metacharacters_in_urls_reach_nothing(app, client, auth, make_user, make_study, path):
    owner = make_user()
    make_study(members={owner: StudyRole.owner})
    auth.login()
    response = client.get(path)
    assert response.status_code in (404, 405)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 1


@pytest.mark.parametrize("email", ["' OR '1'='1", "admin'--", "x@example.org'; DROP TABLE staff_user; --"])
def test_sql_metacharacters_in_login_reach_nothing(client, make_user, email):
    make_user()
    response = client.post("/staff/login", data={"email": email, "password": "' OR '1'='1"})
    assert response.status_code == 422
    assert client.post("/staff/login", data={"email": "facilitator@example.org",
                                             "password": "correct horse battery"}).status_code == 303


def test_a_thousand_random_tokens_find_nothing_and_hit_the_rate_limit(app, make_study, make_panellist):
    app.config["LINK_RATE_LIMIT"] = "200 per minute"
    study_id = make_study()
    make_panellist(study_id)
    client = app.test_client()
    statuses, bodies = [], set()
    for _ in range(1000):
        response = client.get(f"/p/{secrets.token_urlsafe(24)}")
        statuses.append(response.status_code)
        if response.status_code == 404:
            bodies.add(response.get_data())
    assert statuses[:200] == [404] * 200  # no hit, and every miss looks the same
    assert len(bodies) == 1
    assert set(statuses[200:]) == {429}
    assert "Set-Cookie" not in client.get(f"/p/{secrets.token_urlsafe(24)}").headers
    with client.session_transaction() as session:
        assert "panellist" not in session


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_posts_without_csrf_token_change_nothing(csrf_on, make_study, make_panellist):
    app = csrf_on
    study_id = make_study()
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    panellist_id, token = make_panellist(study_id)
    with app.app_context():
        db.session.add(ConsentRecord(panellist_id=panellist_id, decision=ConsentDecision.given, consent_version=1))
        db.session.commit()
    client = app.test_client()
    client.get(f"/p/{token}")
    with app.app_context():
        sid = db.session.get(Study, study_id).statements[0].id
    posts = {
        "/panel/consent": {"agree": "1"},
        "/panel/group": {"group": "1"},
        "/panel/consent/decline": {"yes": "1"},
        "/panel/group/confirm": {"group": "1", "yes": "1"},
        "/panel/rate/1": {f"s{sid}": "9", "next": "1"},
        "/panel/autosave": {"field": f"s{sid}", "value": "9"},
        "/panel/review": {"submit": "1"},
        "/panel/suggest": {"text": "A forged suggestion"},
        "/panel/withdraw": {"confirm": "y"},
        "/panel/pending": {"save": "1"},
        "/language": {"lang": "nb"},
        "/staff/login": {"email": "x@example.org", "password": "whatever"},
        "/staff/logout": {},
    }
    for path, data in posts.items():
        response = client.post(path, data=data)
        assert response.status_code in (400, 422), (path, response.status_code)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == 0
        assert not db.session.scalar(sa.select(Panellist.withdrawn))


def test_every_post_route_is_covered_by_csrf(app):
    """No POST view is exempt from CSRF except the two that check the token inside their own form."""
    from delphi.extensions import csrf

    exempt = {name for name in csrf._exempt_views}
    assert exempt == {"delphi.panel.routes.rate", "delphi.panel.routes.questions"}


__all__ = ["StakeholderGroup"]
