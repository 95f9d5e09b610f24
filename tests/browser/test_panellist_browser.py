"""Panellists in a real browser: a phone-sized screen, the keyboard alone, JavaScript off, leaving halfway; axe-core
finds no WCAG 2.2 A/AA violation on any panellist page, in English and Norwegian."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Study, Submission
from delphi.protocol import STATEMENT_BANK
from delphi.services.panel import add_panellist
from delphi.services.rounds import open_next_round
from tests.browser.conftest import axe_violations, screenshot, scrolls_sideways, wait_until

PAGES_EN = {"consent": "About the study", "home": "Round 1 is open.", "rate": "Page 1 of", "review": "Check your answers"}


@pytest.fixture
def study(app):
    """The bank study (34 statements in 8 domains) with round 1 open; returns {"id", "round", "tokens": {group: token}}."""
    from delphi.protocol import load_protocol
    from delphi.services.studies import create_study

    with app.app_context():
        created = create_study(load_protocol(STATEMENT_BANK))
        round_ = open_next_round(created)
        tokens = {}
        for group in created.groups:
            _, token = add_panellist(created, group)
            tokens[group.key] = token
        db.session.commit()
        return {"id": created.id, "round": round_.id, "tokens": tokens}


def ratings_in_db(app, token_group_key, study_id, round_id):
    with app.app_context():
        study = db.session.get(Study, study_id)
        group = study.group_by_key(token_group_key)
        panellist = db.session.scalar(sa.select(Panellist).where(Panellist.group_id == group.id))
        rows = db.session.scalars(sa.select(Rating).where(Rating.panellist_id == panellist.id,
                                                          Rating.round_id == round_id)).all()
        submitted = db.session.scalar(sa.select(Submission.id).where(Submission.panellist_id == panellist.id))
        return {r.statement.code: r.value for r in rows if r.value is not None}, submitted is not None


def consent_with_mouse(page):
    for box in page.get_by_role("checkbox").all():
        box.check()
    with page.expect_navigation():
        page.get_by_role("button", name="I agree to take part").click()


def test_keyboard_only_panellist_on_a_phone(app, live_server, phone, study):
    page = phone
    page.goto(f"{live_server.url}/p/{study['tokens']['service_user']}")
    assert page.url.endswith("/panel/consent")
    assert "/p/" not in page.url
    # Consent with the keyboard: Tab to each box, Space to tick, then Enter on "I agree".
    boxes = page.get_by_role("checkbox")
    for i in range(boxes.count()):
        boxes.nth(i).focus()
        page.keyboard.press("Space")
    page.get_by_role("button", name="I agree to take part").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/panel/")
    page.get_by_role("link", name="Start", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/panel/rate/1")
    # First statement: Tab into its scale and move with the arrow keys to 8; focus must be visible.
    first_radio = page.locator("fieldset.statement").first.locator("input[type=radio]").first
    first_radio.focus()
    page.keyboard.press("Space")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    outline = page.evaluate("""() => { const l = document.activeElement.nextElementSibling;
        const s = getComputedStyle(l); return s.outlineStyle + ' ' + s.boxShadow; }""")
    assert "solid" in outline and outline.split(" ", 1)[1] != "none"
    page.get_by_text("Saved").first.wait_for()
    page.get_by_role("button", name="Save and continue").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/panel/rate/2")
    values, _ = ratings_in_db(app, "service_user", study["id"], study["round"])
    assert values == {"CON-01": 8}
    assert not scrolls_sideways(page)
    screenshot(page, "panellist-rate-390")


def test_panellist_with_javascript_off_completes_the_round(app, live_server, new_page, study):
    page = new_page(width=390, height=844, javascript=False)
    page.goto(f"{live_server.url}/p/{study['tokens']['family']}")
    consent_with_mouse(page)
    with page.expect_navigation():  # the fieldsets are listed once the page has loaded, not while it is parsed
        page.get_by_role("link", name="Start", exact=True).click()
    pages = int(page.locator("#progress").inner_text().split(" of ")[1].split(" ")[0])
    for number in range(1, pages + 1):
        for fieldset in page.locator("fieldset.statement").all():
            fieldset.locator("label", has_text="7").first.click()
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue").click()
    assert page.url.endswith("/panel/review")
    assert "Not answered" not in page.content()
    page.get_by_role("button", name="Send my answers").click()
    assert page.url.endswith("/panel/thanks")
    values, submitted = ratings_in_db(app, "family", study["id"], study["round"])
    assert submitted and len(values) == 34 and set(values.values()) == {7}


def test_leaving_halfway_and_coming_back_finds_every_answer(app, live_server, chromium, study):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/p/{study['tokens']['staff']}")
    consent_with_mouse(page)
    page.goto(f"{live_server.url}/panel/rate/1")
    statements = page.locator("fieldset.statement")
    statements.nth(0).locator("input[value='9'] + label").click()  # every label says "of 9"
    statements.nth(1).locator("input[value=unable]").check()
    statements.nth(2).get_by_text("Add a comment (optional)").click()
    statements.nth(2).locator("textarea").fill("Depends on the person.")
    statements.nth(2).locator("label", has_text="4").first.click()
    wait_until(page, "[...document.querySelectorAll('.save-status')].filter(e => e.textContent === 'Saved').length >= 3")
    context.close()  # the panellist closes the page without pressing anything

    later = chromium.new_context(viewport={"width": 390, "height": 844})
    page = later.new_page()
    page.goto(f"{live_server.url}/p/{study['tokens']['staff']}")
    assert "You have answered 3 of 34." in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="Continue", exact=True).click()
    statements = page.locator("fieldset.statement")
    assert statements.nth(0).locator("input[value='9']").is_checked()
    assert statements.nth(1).locator("input[value=unable]").is_checked()
    assert statements.nth(2).locator("input[value='4']").is_checked()
    assert statements.nth(2).locator("textarea").input_value() == "Depends on the person."
    later.close()



def test_answers_given_before_the_autosave_script_runs_are_saved_when_it_does(app, live_server, chromium, study):
    """On a slow phone the page can be answered before its deferred script arrives: those answers are saved as soon as
    it runs, without a button press."""
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/p/{study['tokens']['family']}")
    consent_with_mouse(page)
    held = []
    page.route("**/js/autosave.js", lambda route: held.append(route))  # held back until the answers are in
    page.goto(f"{live_server.url}/panel/rate/1", wait_until="commit")
    statements = page.locator("fieldset.statement")
    statements.nth(0).locator("label", has_text="2").first.click()
    statements.nth(1).get_by_text("Add a comment (optional)").click()
    statements.nth(1).locator("textarea").fill("Only if the person asks for it.")
    assert len(held) == 1 and page.locator(".save-status", has_text="Saved").count() == 0
    held[0].continue_()
    wait_until(page, "[...document.querySelectorAll('.save-status')].filter(e => e.textContent === 'Saved').length >= 2")
    context.close()
    values, submitted = ratings_in_db(app, "family", study["id"], study["round"])
    assert not submitted and list(values.values()) == [2]
    with app.app_context():
        comments = db.session.scalars(sa.select(Rating.comment).where(Rating.round_id == study["round"],
                                                                      Rating.comment != "")).all()
    assert comments == ["Only if the person asks for it."]


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_panellist_pages_have_no_accessibility_violations(app, live_server, new_page, study, lang):
    page = new_page(width=1280, height=900)
    page.goto(f"{live_server.url}/p/{study['tokens']['peer']}")
    if lang == "nb":
        with page.expect_navigation():
            page.get_by_role("button", name="Norsk (bokmål)").click()
    checked = {}
    checked["consent"] = axe_violations(page)
    # A failed form: focus moves to the error summary.
    page.locator("[name=agree]").click()
    wait_until(page, "document.activeElement && document.activeElement.id === 'error-summary'")
    checked["consent-error"] = axe_violations(page)
    consent_with_mouse_any_language(page)
    checked["home"] = axe_violations(page)
    page.goto(f"{live_server.url}/panel/rate/1")
    checked["rate"] = axe_violations(page)
    screenshot(page, f"panellist-rate-1280-{lang}")
    page.goto(f"{live_server.url}/panel/review")
    checked["review"] = axe_violations(page)
    page.goto(f"{live_server.url}/panel/suggest")
    checked["suggest"] = axe_violations(page)
    page.goto(f"{live_server.url}/panel/withdraw")
    checked["withdraw"] = axe_violations(page)
    page.goto(f"{live_server.url}/p/not-a-valid-link-at-all")
    checked["link-invalid"] = axe_violations(page)
    assert {name: v for name, v in checked.items() if v} == {}


def consent_with_mouse_any_language(page):
    for box in page.get_by_role("checkbox").all():
        box.check()
    with page.expect_navigation():
        page.locator("[name=agree]").click()


def test_nothing_scrolls_sideways_at_320_px_and_text_survives_200_percent_zoom(app, live_server, new_page, study):
    page = new_page(width=320, height=700)
    page.goto(f"{live_server.url}/p/{study['tokens']['service_user']}")
    for path in ["/panel/consent"]:
        assert not scrolls_sideways(page), path
    consent_with_mouse(page)
    for path in ["/panel/", "/panel/rate/1", "/panel/rate/8", "/panel/review", "/panel/suggest", "/panel/withdraw"]:
        page.goto(live_server.url + path)
        assert not scrolls_sideways(page), path
    screenshot(page, "panellist-withdraw-320")
    # 200% zoom of a 640 px window is a 320 px layout with twice the text: check the text is twice as large and
    # still nothing is cut off or scrolls sideways.
    zoomed = new_page(width=640, height=900)
    zoomed.goto(f"{live_server.url}/p/{study['tokens']['service_user']}")
    zoomed.goto(f"{live_server.url}/panel/rate/1")
    zoomed.evaluate("document.documentElement.style.zoom = '200%'")
    assert not scrolls_sideways(zoomed)
    screenshot(zoomed, "panellist-rate-zoom-200")
