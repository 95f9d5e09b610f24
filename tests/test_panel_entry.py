"""Entry by personal link: the token leaves the URL at once, and a bad link reveals nothing."""
from delphi.extensions import db
from delphi.models import Panellist
from delphi.services.panel import hash_token


def test_link_moves_token_into_session_and_redirects(client, make_study, make_panellist):
    study_id = make_study()
    _, token = make_panellist(study_id)
    response = client.get(f"/p/{token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/panel/"
    assert token not in response.headers["Location"]
    assert client.get("/panel/").headers["Location"] == "/panel/consent"
    page = client.get("/panel/consent")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Test study" in text
    assert token not in text
    with client.session_transaction() as session:
        assert token not in str(dict(session))


def test_token_is_stored_only_as_a_hash(app, make_study, make_panellist):
    study_id = make_study()
    panellist_id, token = make_panellist(study_id)
    with app.app_context():
        panellist = db.session.get(Panellist, panellist_id)
        assert panellist.token_hash == hash_token(token)
        assert token not in panellist.token_hash
    assert len(token) >= 22  # at least 128 bits of base64


def test_unknown_and_revoked_links_get_the_same_calm_page(app, client, make_study, make_panellist):
    study_id = make_study()
    panellist_id, token = make_panellist(study_id)
    unknown = client.get("/p/not-a-real-token-at-all-xxxxxxxx")
    with app.app_context():
        db.session.get(Panellist, panellist_id).token_hash = None
        db.session.commit()
    revoked = client.get(f"/p/{token}")
    assert unknown.status_code == revoked.status_code == 404
    assert unknown.get_data() == revoked.get_data()
    assert token.encode() not in revoked.get_data()
    assert "This link does not work" in unknown.get_data(as_text=True)


def test_revoking_the_link_ends_the_session(app, client, make_study, make_panellist):
    study_id = make_study()
    panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    assert client.get("/panel/consent").status_code == 200
    with app.app_context():
        db.session.get(Panellist, panellist_id).token_hash = hash_token("a reissued token")
        db.session.commit()
    assert client.get("/panel/consent").status_code == 404


def test_withdrawn_panellist_link_stops_working(app, client, make_study, make_panellist):
    study_id = make_study()
    panellist_id, token = make_panellist(study_id)
    with app.app_context():
        db.session.get(Panellist, panellist_id).withdrawn = True
        db.session.commit()
    assert client.get(f"/p/{token}").status_code == 404


def test_panel_page_without_session_is_refused(client):
    assert client.get("/panel/").status_code == 404
