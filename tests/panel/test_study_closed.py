"""After the study closes, panellists are told it has ended, not that a next round is coming (issue 21)."""
import pytest

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
