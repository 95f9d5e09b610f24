"""Oversized and odd input: 10,000 form fields, NUL bytes, lone surrogates and right-to-left overrides; and the
small-group rule for groups of 1, 2 and 4 under a minimum of 5, also when someone drops out between rounds."""
import urllib.parse

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Rating, Study, Suggestion
from delphi.services.answers import clean_text
from delphi.services.suppression import withheld_cells
from delphi.services.rounds import open_next_round


@pytest.fixture
def panellist_client(app, client, make_study, make_panellist):
    study_id = make_study()
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"agree": "1"})
    return client


def test_ten_thousand_fields_are_refused_and_the_server_stays_up(app, panellist_client):
    body = urllib.parse.urlencode({f"s{i}": "5" for i in range(10_000)})
    response = panellist_client.post("/panel/rate/1", data=body,
                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert panellist_client.get("/panel/rate/1").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 0


@pytest.mark.parametrize("raw, kept", [
    ("a\x00b", "ab"),
    ("right\u202eto left\u202c", "rightto left"),
    ("isolate \u2066x\u2069", "isolate x"),
    ("lone \ud800 surrogate", "lone ? surrogate"),
    ("bell\x07 and escape\x1b[31m", "bell and escape[31m"),
    ("e\u0301", "\u00e9"),  # NFC
    ("line\r\nbreak\rhere", "line\nbreak\nhere"),
])
def test_free_text_is_cleaned(raw, kept):
    assert clean_text(raw) == kept


def test_odd_characters_in_a_suggestion_are_stored_clean(app, panellist_client):
    response = panellist_client.post("/panel/suggest", data={"text": "Staff\x00 listen \u202eevil\u202c to people."})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Suggestion.text)) == "Staff listen evil to people."


@pytest.mark.parametrize("sizes", [
    {"service_user": 12, "staff": 9, "family": 1},
    {"service_user": 12, "staff": 9, "family": 2},
    {"service_user": 12, "staff": 9, "family": 4},
    {"service_user": 12, "staff": 9, "family": 2, "peer": 1},
])
def test_small_groups_cannot_be_subtracted_back(sizes):
    """Whatever is withheld adds up to at least the minimum, so the panel minus the shown groups is no small cell."""
    minimum = 5
    withheld = withheld_cells(sizes, minimum).groups
    small = {key for key, n in sizes.items() if 0 < n < minimum}
    assert small <= withheld
    assert sum(sizes[key] for key in withheld) >= minimum or withheld == set(sizes)


def test_drop_out_between_rounds_is_judged_on_the_round_shown():
    """A group of 5 in round 1 that falls to 4 in round 2 is withheld in round 2's feedback (each round's figures are
    judged on that round's raters), and its complement goes with it."""
    round1 = {"service_user": 12, "staff": 9, "family": 5}
    round2 = {"service_user": 12, "staff": 9, "family": 4}
    assert withheld_cells(round1, 5).groups == set()
    assert withheld_cells(round2, 5).groups == {"family", "staff"}
