"""Who may do what: every console route tried anonymously, with a panellist's session, as staff of another study, and
as each role (researchers read only; only owners manage the team and close the study); ids of another study's
objects reach nothing (404)."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Study, StudyMember, StudyRole, Suggestion
from delphi.services.rounds import close_round, open_next_round

READ = [
    ("GET", "/studies/{s}"), ("GET", "/studies/{s}/statements"), ("GET", "/studies/{s}/statements.csv"),
    ("GET", "/studies/{s}/protocol.toml"), ("GET", "/studies/{s}/rounds/current"), ("GET", "/studies/{s}/review"),
    ("GET", "/studies/{s}/members"),
]
RUN = [
    ("GET", "/studies/{s}/settings"), ("GET", "/studies/{s}/protocol"), ("GET", "/studies/{s}/groups"),
    ("GET", "/studies/{s}/panel"), ("GET", "/studies/{s}/panel/invitation"), ("GET", "/studies/{s}/panel/reminder"),
    ("GET", "/studies/{s}/panel/contacts/{c}/entry"), ("GET", "/studies/{s}/panel/contacts/{c}/withdraw"),
    ("GET", "/studies/{s}/panel/non-completers.csv"), ("GET", "/studies/{s}/statements/{st}"),
    ("GET", "/studies/{s}/panel/contacts/{c}/paper-form"), ("GET", "/studies/{s}/statements/bank"),
    ("GET", "/studies/{s}/statements/{st}/correct"), ("POST", "/studies/{s}/statements/{st}/correct"),
    ("POST", "/studies/{s}/settings"), ("POST", "/studies/{s}/protocol"), ("POST", "/studies/{s}/protocol/check-rule"),
    ("POST", "/studies/{s}/groups"), ("POST", "/studies/{s}/statements"), ("POST", "/studies/{s}/statements/{st}"),
    ("POST", "/studies/{s}/statements/{st}/up"), ("POST", "/studies/{s}/statements/bank"),
    ("POST", "/studies/{s}/statements/import"), ("POST", "/studies/{s}/panel"), ("POST", "/studies/{s}/panel/import"),
    ("POST", "/studies/{s}/panel/contacts/{c}/revoke"), ("POST", "/studies/{s}/panel/contacts/{c}/reissue"),
    ("POST", "/studies/{s}/panel/contacts/{c}/withdraw"),
    ("POST", "/studies/{s}/panel/invitation"), ("POST", "/studies/{s}/panel/reminder"),
    ("POST", "/studies/{s}/review/{st}/decide"), ("POST", "/studies/{s}/review/{st}/reword"),
    ("POST", "/studies/{s}/review/merge"), ("POST", "/studies/{s}/review/suggestions/{g}"),
    ("POST", "/studies/{s}/review/comments"), ("POST", "/studies/{s}/panel/contacts/{c}/entry"),
    ("POST", "/studies/{s}/panel/contacts/{c}/entry/answers"),
    ("POST", "/studies/{s}/rounds/1/close"), ("POST", "/studies/{s}/rounds/open"),
]
OWNER = [("POST", "/studies/{s}/members"), ("POST", "/studies/{s}/members/{m}/role"),
         ("POST", "/studies/{s}/members/{m}/reinvite"), ("GET", "/studies/{s}/audit"), ("GET", "/studies/{s}/audit.csv"),
         ("POST", "/studies/{s}/members/{m}/remove"), ("POST", "/studies/{s}/close")]
ALL = READ + RUN + OWNER


@pytest.fixture
def setup(app, make_user, make_study, make_panellist):
    """Study A (one member per role, a panellist, a suggestion, round 1 closed) and study B of someone else."""
    users = {role: make_user(f"{role.value}@example.org") for role in StudyRole}
    study_id = make_study(members={uid: role for role, uid in users.items()})
    other_user = make_user("other@example.org")
    other_study = make_study(members={other_user: StudyRole.owner})
    pid, token = make_panellist(study_id, "staff")
    other_pid, _ = make_panellist(other_study, "staff")
    with app.app_context():
        for sid in (study_id, other_study):
            study = db.session.get(Study, sid)
            round_ = open_next_round(study)
            db.session.add(Suggestion(study_id=sid, round_id=round_.id, text="An idea"))
            db.session.flush()
            close_round(round_)
        db.session.commit()
        ids = {}
        for key, sid in (("", study_id), ("other_", other_study)):
            study = db.session.get(Study, sid)
            ids[key + "st"] = study.statements[0].id
            ids[key + "g"] = db.session.scalar(sa.select(Suggestion.id).where(Suggestion.study_id == sid))
            ids[key + "m"] = db.session.scalar(sa.select(StudyMember.id).where(
                StudyMember.study_id == sid, StudyMember.role == StudyRole.researcher if not key
                else StudyMember.role == StudyRole.owner))
        ids["c"], ids["other_c"] = (db.session.get(Panellist, p).contact.id for p in (pid, other_pid))
    return {"s": study_id, "p": pid, "token": token, "other_p": other_pid, "other_study": other_study, **ids}


def _url(template, ids):
    return template.format(**{k: ids[k] for k in ("s", "p", "c", "st", "g", "m")})


def _call(client, method, url):
    return client.get(url) if method == "GET" else client.post(url, data={})


@pytest.mark.parametrize("who", ["anonymous", "panellist"])
def test_no_staff_session_is_sent_to_sign_in(client, setup, who):
    if who == "panellist":
        assert client.get(f"/p/{setup['token']}").status_code == 303
    for method, template in ALL + [("GET", "/studies/"), ("GET", "/studies/new"), ("POST", "/studies/new"),
                                   ("GET", "/staff/password")]:
        response = _call(client, method, _url(template, setup))
        assert response.status_code == 302, (method, template)
        assert response.headers["Location"].startswith("/staff/login"), template


def test_staff_of_another_study_get_404_everywhere(client, auth, setup):
    auth.login(email="other@example.org")
    for method, template in ALL:
        assert _call(client, method, _url(template, setup)).status_code == 404, (method, template)


@pytest.mark.parametrize("role", list(StudyRole))
def test_each_role(client, auth, setup, role):
    auth.login(email=f"{role.value}@example.org")
    for method, template in ALL:
        status = _call(client, method, _url(template, setup)).status_code
        allowed = (template, method) in {(t, m) for m, t in READ} or (
            role is not StudyRole.researcher and (method, template) in RUN) or role is StudyRole.owner
        if allowed:
            assert status not in (403, 404, 500), (role, method, template, status)
        else:
            assert status == 403, (role, method, template, status)


def test_ids_of_another_study_reach_nothing(client, auth, setup):
    auth.login(email="owner@example.org")
    s, other = setup["s"], setup
    for method, url in [
        ("GET", f"/studies/{s}/statements/{other['other_st']}"),
        ("POST", f"/studies/{s}/statements/{other['other_st']}/delete"),
        ("GET", f"/studies/{s}/panel/contacts/{other['other_c']}/entry"),
        ("POST", f"/studies/{s}/panel/contacts/{other['other_c']}/entry/answers"),
        ("POST", f"/studies/{s}/panel/contacts/{other['other_c']}/revoke"),
        ("POST", f"/studies/{s}/panel/contacts/{other['other_c']}/withdraw"),
        ("POST", f"/studies/{s}/review/{other['other_st']}/reword"),
        ("POST", f"/studies/{s}/review/suggestions/{other['other_g']}"),
        ("POST", f"/studies/{s}/members/{other['other_m']}/remove"),
        ("POST", f"/studies/{s}/members/{other['other_m']}/role"),
        ("POST", f"/studies/{s}/members/{other['other_m']}/reinvite"),
        ("POST", f"/studies/{s}/rounds/7/close"),
        ("GET", f"/studies/{s}/statements/99999999999"),
    ]:
        assert _call(client, method, url).status_code == 404, url


def test_merge_with_another_studys_statement_is_404(client, auth, setup, app):
    auth.login(email="owner@example.org")
    response = client.post(f"/studies/{setup['s']}/review/merge",
                           data={"absorbed": setup["other_st"], "kept": setup["st"]})
    assert response.status_code in (404, 422)
    with app.app_context():
        assert db.session.get(Panellist, setup["other_p"]).token_hash is not None


def test_researchers_never_see_contact_details(client, auth, setup, app):
    with app.app_context():
        db.session.get(Panellist, setup["p"]).contact.email = "secret@example.org"
        db.session.commit()
    auth.login(email="researcher@example.org")
    for _, template in READ:
        assert "secret@example.org" not in client.get(_url(template, setup)).get_data(as_text=True)
    # The contacts side is closed to researchers: the panel, its files and proxy entry.
    for url in ("/panel", "/panel/non-completers.csv", f"/panel/contacts/{setup['c']}/entry",
                f"/panel/contacts/{setup['c']}/withdraw"):
        assert client.get(f"/studies/{setup['s']}{url}").status_code == 403, url


def test_posts_need_a_csrf_token(app, setup):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/staff/login").get_data(as_text=True)
    from tests.facilitate.conftest import csrf_from

    client.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery",
                                      "csrf_token": csrf_from(login_page)})
    response = client.post(f"/studies/{setup['s']}/rounds/open", data={})
    assert response.status_code == 400
    page = client.get(f"/studies/{setup['s']}/rounds/open").get_data(as_text=True)
    response = client.post(f"/studies/{setup['s']}/rounds/open", data={"csrf_token": csrf_from(page), "confirm": "yes"})
    assert response.status_code == 303
    with app.app_context():
        assert len(db.session.get(Study, setup["s"]).rounds) == 2
