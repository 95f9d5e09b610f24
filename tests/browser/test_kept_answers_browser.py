"""Answers kept in a shared browser after a session ended, in real Chromium: the next person on the device never sees
or saves them; the panellist who wrote them sees each statement and value and confirms (issue 19). The session ends
while the page is open, before the answers are given, so that autosave (with JavaScript on) cannot save them either."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Study
from tests.browser.conftest import axe_violations, scrolls_sideways
from tests.browser.test_panellist_browser import consent_with_mouse, study  # noqa: F401 (the fixture)


def ratings_of_group(app, study_id: int, group_key: str) -> dict:
    with app.app_context():
        group = db.session.get(Study, study_id).group_by_key(group_key)
        panellist = db.session.scalar(sa.select(Panellist).where(Panellist.group_id == group.id))
        rows = db.session.scalars(sa.select(Rating).where(Rating.panellist_id == panellist.id)).all()
        return {r.statement.code: (r.value, r.comment) for r in rows}


def answer_then_lose_the_session(page, context, url: str, token: str) -> str:
    """Open the link, consent, open page 1, lose the session (the cookie expires), answer the first statement with a
    comment and press "Save and continue"; returns the first statement's text."""
    page.goto(f"{url}/p/{token}")
    consent_with_mouse(page)
    page.goto(f"{url}/panel/rate/1")
    context.clear_cookies()
    first = page.locator("fieldset.statement").nth(0)
    text = first.locator(".statement-text").inner_text()
    first.locator("label", has_text="3").first.click()
    first.get_by_text("Add a comment (optional)").click()
    first.locator("textarea").first.fill("Only with the family's agreement.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    assert "kept in this browser" in page.content()
    return text


def test_the_next_person_on_a_shared_device_never_sees_or_saves_them(app, live_server, new_page, study):
    page = new_page(width=390, height=844, javascript=False)  # the page's buttons are the only way anything is sent
    answer_then_lose_the_session(page, page.context, live_server.url, study["tokens"]["service_user"])

    # Someone else opens their own link on the same device and takes part.
    page.goto(f"{live_server.url}/p/{study['tokens']['family']}")
    consent_with_mouse(page)
    assert page.url.endswith("/panel/")
    assert "Save your earlier answers?" not in page.content()
    page.goto(f"{live_server.url}/panel/pending")
    assert page.url.endswith("/panel/")
    page.goto(f"{live_server.url}/panel/rate/1")
    assert "Only with the family's agreement." not in page.content()
    assert ratings_of_group(app, study["id"], "family") == {}
    assert ratings_of_group(app, study["id"], "service_user") == {}


def test_the_panellist_who_wrote_them_sees_them_and_saves_them(app, live_server, new_page, study):
    page = new_page(width=320, height=700)  # JavaScript on (axe-core needs it), autosave running
    statement = answer_then_lose_the_session(page, page.context, live_server.url, study["tokens"]["staff"])

    page.goto(f"{live_server.url}/p/{study['tokens']['staff']}")
    assert page.url.endswith("/panel/pending")
    shown = page.locator(".review-list").inner_text()
    assert statement in shown
    assert "Your answer: 3" in shown and "Only with the family's agreement." in shown
    assert ratings_of_group(app, study["id"], "staff") == {}  # nothing saved before the panellist says yes
    assert not scrolls_sideways(page)
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, save these answers").click()
    assert page.url.endswith("/panel/rate/1")
    assert page.locator("fieldset.statement").nth(0).locator("input[value='3']").is_checked()
    saved = ratings_of_group(app, study["id"], "staff")
    assert list(saved.values()) == [(3, "Only with the family's agreement.")]
