"""Answers kept in a browser after a session ended belong to the panellist who wrote them (issue 19's attack run).

Found: on a shared device, answers kept after panellist A's session ended were saved into the record of B, the next
person to open their own link there and accept "save your earlier answers" without seeing them; and the rating page
kept answers posted with no token at all, so another site could plant answers for the next panellist to accept."""
import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating
from delphi.services.invitations import reissue_link
from tests.panel.conftest import csrf_from, keeper_from


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def panel(app, make_study, open_round, make_panellist, statement_ids):
    """Round 1 open, two panellists who have consented; returns their tokens and the statement ids."""
    study_id = make_study()
    open_round(study_id)
    people = {}
    for name in ("ann", "ben"):
        client = app.test_client()
        panellist_id, token = make_panellist(study_id)
        client.get(f"/p/{token}")
        page = client.get("/panel/consent").get_data(as_text=True)
        assert client.post("/panel/consent", data={"agree": "1", "csrf_token": csrf_from(page)}).status_code == 303
        people[name] = {"id": panellist_id, "token": token}
    return {"people": people, "ids": statement_ids(study_id)}


def ratings(app) -> dict:
    with app.app_context():
        return {(r.panellist_id, r.statement_id): (r.value, r.comment) for r in db.session.scalars(sa.select(Rating))}


def session_ends_with_answers(client, token: str, ids: dict, **extra) -> tuple:
    """Open the link, load page 1, lose the session, post the page; returns (response, the page's keeper)."""
    client.get(f"/p/{token}")
    page = client.get("/panel/rate/1").get_data(as_text=True)
    data = {f"s{ids['A-01']}": "2", f"c{ids['A-01']}": "said on a shared computer", "next": "1",
            "csrf_token": csrf_from(page), "keeper": keeper_from(page), **extra}
    client.delete_cookie("session")  # the session ended: the cookie expired, or the browser was closed
    return client.post("/panel/rate/1", data=data), keeper_from(page)


def test_the_next_panellist_on_the_device_never_sees_or_saves_them(app, panel):
    device = app.test_client()
    ann, ben, ids = panel["people"]["ann"], panel["people"]["ben"], panel["ids"]
    response, _ = session_ends_with_answers(device, ann["token"], ids)
    assert response.status_code == 401 and "kept in this browser" in response.get_data(as_text=True)

    device.get(f"/p/{ben['token']}")
    home = device.get("/panel/")
    assert home.status_code == 200  # not sent to "save your earlier answers"
    assert device.get("/panel/pending").headers["Location"] == "/panel/"
    assert "said on a shared computer" not in device.get("/panel/rate/1").get_data(as_text=True)
    assert ratings(app) == {}
    # Dropped, not kept aside: Ann coming back afterwards finds nothing to save either (she answers again).
    device.get(f"/p/{ann['token']}")
    assert device.get("/panel/").status_code == 200
    assert ratings(app) == {}


def test_the_panellist_who_wrote_them_sees_them_and_confirms(app, panel):
    device = app.test_client()
    ann, ids = panel["people"]["ann"], panel["ids"]
    session_ends_with_answers(device, ann["token"], ids)
    device.get(f"/p/{ann['token']}")
    assert device.get("/panel/").headers["Location"] == "/panel/pending"
    page = device.get("/panel/pending").get_data(as_text=True)
    assert "Staff believe recovery is possible." in page
    assert "Your answer: 2" in page and "said on a shared computer" in page
    assert ratings(app) == {}
    # A confirmation without the CSRF token saves nothing.
    assert device.post("/panel/pending", data={"save": "1"}).status_code == 400
    assert ratings(app) == {}
    response = device.post("/panel/pending", data={"save": "1", "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/panel/rate/1"
    assert ratings(app) == {(ann["id"], ids["A-01"]): (2, "said on a shared computer")}


def test_throwing_them_away_saves_nothing(app, panel):
    device = app.test_client()
    ann, ids = panel["people"]["ann"], panel["ids"]
    session_ends_with_answers(device, ann["token"], ids)
    device.get(f"/p/{ann['token']}")
    page = device.get("/panel/pending").get_data(as_text=True)
    assert device.post("/panel/pending", data={"discard": "1", "csrf_token": csrf_from(page)}).status_code == 303
    assert device.get("/panel/").status_code == 200
    assert ratings(app) == {}


@pytest.mark.parametrize("planted", [
    {},  # no keeper at all: a form on another site
    {"keeper": "0" * 32},  # a made-up keeper
    {"keeper": "nonsense"},
])
def test_another_site_cannot_plant_answers(app, panel, planted):
    ann, ids = panel["people"]["ann"], panel["ids"]
    device = app.test_client()
    response = device.post("/panel/rate/1", data={f"s{ids['A-01']}": "9", f"c{ids['A-01']}": "planted", "next": "1",
                                                  **planted})
    if "keeper" not in planted or not re.fullmatch("[0-9a-f]{32}", planted["keeper"]):
        # Nothing kept, and the browser's session left alone (no new cookie in place of the panellist's own).
        assert response.status_code == 303 and "Set-Cookie" not in response.headers
        assert "kept in this browser" not in device.get(response.headers["Location"]).get_data(as_text=True)
    else:
        assert response.status_code == 401  # kept under a keeper that is no one's: never shown to anyone
    device.get(f"/p/{ann['token']}")
    assert device.get("/panel/").status_code == 200
    assert ratings(app) == {}


def test_a_cross_site_post_is_never_kept_even_with_the_right_keeper(app, panel):
    device = app.test_client()
    ann, ids = panel["people"]["ann"], panel["ids"]
    response, _ = session_ends_with_answers(device, ann["token"], ids)
    assert "kept in this browser" in response.get_data(as_text=True)
    device.get(f"/p/{ann['token']}")
    page = device.get("/panel/pending").get_data(as_text=True)
    device.post("/panel/pending", data={"discard": "1", "csrf_token": csrf_from(page)})
    page = device.get("/panel/rate/1").get_data(as_text=True)
    device.delete_cookie("session")
    response = device.post("/panel/rate/1", data={f"s{ids['A-01']}": "9", "next": "1", "keeper": keeper_from(page)},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    device.get(f"/p/{ann['token']}")
    assert device.get("/panel/").status_code == 200


def test_answers_kept_under_a_link_since_reissued_are_dropped(app, panel):
    device = app.test_client()
    ann, ids = panel["people"]["ann"], panel["ids"]
    session_ends_with_answers(device, ann["token"], ids)
    with app.app_context():
        token = reissue_link(db.session.get(Panellist, ann["id"]), None)
        db.session.commit()
    device.get(f"/p/{token}")
    assert device.get("/panel/").status_code == 200
    assert ratings(app) == {}


def test_the_keeper_names_no_one(app, panel):
    device = app.test_client()
    ann = panel["people"]["ann"]
    device.get(f"/p/{ann['token']}")
    keeper = keeper_from(device.get("/panel/rate/1").get_data(as_text=True))
    assert re.fullmatch("[0-9a-f]{32}", keeper)
    assert ann["token"] not in keeper and str(ann["id"]) != keeper
    with app.app_context():
        assert keeper not in db.session.get(Panellist, ann["id"]).token_hash
