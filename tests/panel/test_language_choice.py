"""A panellist's choice of language is theirs: it holds the next time they open their link, and their mails use it.

Found by the Norwegian whole-study browser test: a panellist who switched to English was put back into the study's
language (Norwegian) every time they opened their link, and the results mail came in Norwegian too, because the
switch changed only the browser session, never the panellist's own language."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist


def language_of(app, panellist_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(Panellist.language).where(Panellist.id == panellist_id))


def test_the_switch_on_a_page_is_kept_for_the_next_visit(app, client, make_study, consented):
    study_id = make_study(language="nb")
    panellist_id, token = consented(study_id)
    assert '<html lang="nb">' in client.get("/panel/").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/panel/"})
    assert language_of(app, panellist_id) == "en"
    client.get(f"/p/{token}")  # a later visit, by the same link
    assert '<html lang="en">' in client.get("/panel/").get_data(as_text=True)


def test_the_switch_on_an_answers_page_is_kept_too(app, client, make_study, consented, open_round):
    study_id = make_study(language="nb")
    open_round(study_id)
    panellist_id, _token = consented(study_id)
    response = client.post("/panel/rate/1", data={"lang": "en"})
    assert response.status_code == 303
    assert language_of(app, panellist_id) == "en"
    client.post("/language", data={"lang": "nb", "next": "/panel/"})
    assert language_of(app, panellist_id) == "nb"


def test_staff_switching_language_changes_no_panellist(app, client, make_study, make_panellist):
    study_id = make_study(language="nb")
    panellist_id, _token = make_panellist(study_id)
    client.post("/language", data={"lang": "en", "next": "/"})
    assert language_of(app, panellist_id) is None
