"""After the study closes, panellists are told it has ended, not that a next round is coming (issue 21)."""
import pytest

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Study
from delphi.services.rounds import close_round, close_study


@pytest.mark.parametrize("language, ended, next_round", [
    ("en", "The study has ended. There will be no more rounds.", "when the next round opens"),
    ("nb", "Studien er avsluttet. Det kommer ingen flere runder.", "neste runde"),
])
def test_a_closed_study_tells_its_panellists_it_has_ended(app, client, make_study, consented, open_round, language,
                                                          ended, next_round):
    study_id = make_study(language=language)
    consented(study_id)
    open_round(study_id)
    with app.app_context():
        study = db.session.get(Study, study_id)
        close_round(study.current_round)
        db.session.commit()
    page = client.get("/panel/").get_data(as_text=True)
    assert next_round in page and ended not in page  # between rounds, the next one is coming
    with app.app_context():
        close_study(db.session.get(Study, study_id))
        db.session.commit()
    page = client.get("/panel/").get_data(as_text=True)
    assert ended in page and next_round not in page


VERDICTS = {"en": {"in": "Agreed", "out": "Not agreed", "none": "No agreement"},
            "nb": {"in": "Enige", "out": "Ikke enige", "none": "Ingen enighet"}}


@pytest.mark.parametrize("language", ["en", "nb"])
def test_a_closed_study_shows_each_panellist_what_the_panel_agreed(app, client, consented, language):
    import re

    from markupsafe import escape

    from delphi.models import RoundResult, StudyStatus
    from tests.reports.conftest import build_three_round_study

    with app.app_context():
        study_id = build_three_round_study()
        db.session.get(Study, study_id).language = language
        db.session.commit()
    consented(study_id)
    assert client.get("/panel/results").headers["Location"] == "/panel/"  # not before the study closes
    with app.app_context():
        study = db.session.get(Study, study_id)
        close_study(study)
        db.session.commit()
        # Each statement as its last rating round left it: HOPE-01 retired after round 1, the rest in round 3.
        expected = {}
        for round_ in study.rounds:
            for rs in round_.statements:
                expected[rs.statement.code] = (round_.number, rs.classification.value, rs.text)
        peer_round3 = db.session.scalar(sa.select(RoundResult.n).where(
            RoundResult.round_id == study.rounds[2].id, RoundResult.scope == "peer").limit(1))
        assert study.status is StudyStatus.closed
    home = client.get("/panel/").get_data(as_text=True)
    assert 'href="/panel/results"' in home
    page = client.get("/panel/results").get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    sections = re.findall(r'<section class="card statement-result".*?</section>', page, re.S)
    assert len(sections) == len(expected) == 6
    for code, (number, verdict, text) in expected.items():
        section = next(s for s in sections if f">{escape(text)}</h3>" in s)
        word = "runde" if language == "nb" else "round"
        assert f"<strong>{VERDICTS[language][verdict]}</strong> · {word} {number}" in section
    assert expected["HOPE-01"][0] == 1 and expected["NEW-01"][0] == 3
    assert {v for _, v, _ in expected.values()} == {"in", "none"}  # both verdicts this study reached are shown
    # Suppression as on the feedback pages: the peer group (2 people, under the study's minimum) is withheld.
    assert peer_round3 == 2
    withheld = "færre enn" if language == "nb" else "fewer than"
    assert all(withheld in s for s in sections)
    assert ("Hele panelet:" if language == "nb" else "Whole panel:") in page
