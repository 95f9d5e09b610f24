"""Issue 22 (part A) in real Chromium: the error summary takes focus and its links move focus to the field; autosave
waits for an answer to settle (arrow-keying 1 to 7 is one save) and says so beside the statement; with JavaScript off,
the header links and the language switch save the page before leaving it; 200% text on a 390 px phone wraps the review
and withdraw buttons; axe finds nothing on the pages this changed."""
import time

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Study
from tests.browser.conftest import (
    axe_violations,
    screenshot,
    scrolls_sideways,
    wait_until,
)
from tests.browser.test_panellist_browser import consent_with_mouse, study  # noqa: F401 (the fixture)


def ratings_of_group(app, study_id: int, group_key: str) -> dict:
    """{statement code: (value, comment)} of the one panellist of a group."""
    with app.app_context():
        group = db.session.get(Study, study_id).group_by_key(group_key)
        panellist = db.session.scalar(sa.select(Panellist).where(Panellist.group_id == group.id))
        rows = db.session.scalars(sa.select(Rating).where(Rating.panellist_id == panellist.id)).all()
        return {r.statement.code: (r.value, r.comment) for r in rows}


def choose(statement, value: int):
    """Click the label of a scale point of a 1-to-9 scale (its id is "<field>-<index>")."""
    statement.locator(f"label[for$='-{value - 1}']").first.click()


def start(page, live_server, token: str) -> None:
    page.goto(f"{live_server.url}/p/{token}")
    consent_with_mouse(page)
    page.goto(f"{live_server.url}/panel/rate/1")


def active_id(page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def test_error_summary_takes_focus_and_its_link_moves_focus_to_the_field(live_server, new_page, study):
    page = new_page(width=390, height=844)
    page.goto(f"{live_server.url}/p/{study['tokens']['service_user']}")
    with page.expect_navigation():
        page.get_by_role("button", name="I agree to take part").click()
    assert page.title().startswith("Error: ")
    wait_until(page, "document.activeElement && document.activeElement.id === 'error-summary'")
    page.get_by_role("link", name="To take part, please tick every box").click()
    assert active_id(page) == "consent-0"
    # The question (the legend) is in view above the box, not scrolled off the top of the screen.
    top = page.evaluate("document.querySelector('#statements legend').getBoundingClientRect().top")
    assert 0 <= top < 844


def test_rating_error_link_focuses_the_statements_first_radio(live_server, new_page, study):
    page = new_page(width=390, height=844)
    start(page, live_server, study["tokens"]["staff"])
    # An answer off the scale (as a tampered or stale page would send) comes back with the summary.
    first = page.locator("fieldset.statement").nth(2)
    name = first.get_attribute("id")
    page.evaluate(f"document.getElementById('{name}-0').value = '12'")
    first.locator("label").first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    wait_until(page, "document.activeElement && document.activeElement.id === 'error-summary'")
    page.locator("#error-summary a").first.click()
    assert active_id(page) == f"{name}-0"
    top = page.evaluate(f"document.getElementById('{name}-heading').getBoundingClientRect().top")
    assert 0 <= top < 844
    assert page.evaluate(f"document.getElementById('{name}-0').getAttribute('aria-invalid')") == "true"


def test_error_summary_without_javascript_has_focus_and_its_links_land_on_the_field(live_server, new_page, study):
    page = new_page(width=390, height=844, javascript=False)
    page.goto(f"{live_server.url}/p/{study['tokens']['peer']}")
    with page.expect_navigation():
        page.get_by_role("button", name="I agree to take part").click()
    # autofocus, no script (the browser applies it a frame after the page loads)
    wait_until(page, "document.activeElement && document.activeElement.id === 'error-summary'")
    page.get_by_role("link", name="To take part, please tick every box").click()
    assert page.url.endswith("#consent-0")
    assert page.evaluate("(() => { const r = document.getElementById('consent-0').getBoundingClientRect();"
                         " return r.top >= 0 && r.bottom <= innerHeight; })()")


def test_arrow_keys_from_one_to_seven_make_one_save_shown_beside_the_statement(app, live_server, new_page, study):
    page = new_page(width=390, height=844)
    start(page, live_server, study["tokens"]["service_user"])
    saves = []
    page.on("request", lambda request: saves.append(request) if request.url.endswith("/panel/autosave") else None)
    statement = page.locator("fieldset.statement").first
    code_id = statement.get_attribute("id")
    statement.locator("input[type=radio]").first.focus()
    page.keyboard.press("Space")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert page.evaluate(f"document.querySelector('input[name={code_id}]:checked').value") == "7"
    status = statement.locator(f"[data-status-for={code_id}]")
    wait_until(page, f"document.querySelector('[data-status-for={code_id}]').textContent === 'Saved'")
    time.sleep(1.5)  # longer than the wait before a save: nothing more is coming
    assert len(saves) == 1, [r.post_data for r in saves]
    assert "value=7" in saves[0].post_data
    # The status is beside the scale that changed, on screen with it.
    box, scale = status.bounding_box(), statement.locator(".scale").bounding_box()
    assert 0 <= box["y"] - (scale["y"] + scale["height"]) < 200
    assert status.get_attribute("aria-live") == "polite"
    values = {code: v for code, (v, _) in ratings_of_group(app, study["id"], "service_user").items()}
    assert list(values.values()) == [7]


def test_leaving_a_question_saves_it_at_once(live_server, new_page, study):
    page = new_page(width=1280, height=900)
    start(page, live_server, study["tokens"]["family"])
    saves = []
    page.on("request", lambda request: saves.append(time.monotonic()) if request.url.endswith("/autosave") else None)
    statement = page.locator("fieldset.statement").first
    statement.locator("input[type=radio]").nth(4).focus()
    page.keyboard.press("Space")
    changed = time.monotonic()
    page.keyboard.press("Tab")  # out of the scale: no waiting
    wait_until(page, "document.querySelector('.save-status').textContent === 'Saved'")
    assert len(saves) == 1 and saves[0] - changed < 0.6


def test_without_javascript_the_header_link_saves_the_page_first(app, live_server, new_page, study):
    page = new_page(width=390, height=844, javascript=False)
    start(page, live_server, study["tokens"]["staff"])
    statement = page.locator("fieldset.statement").first
    choose(statement, 3)
    statement.locator("summary").click()
    statement.locator("textarea").first.fill("Written, then left by the header")
    with page.expect_navigation():
        page.get_by_role("button", name="Start page").click()
    assert page.url.endswith("/panel/")
    assert list(ratings_of_group(app, study["id"], "staff").values()) == [(3, "Written, then left by the header")]


def test_without_javascript_the_language_switch_saves_the_page_first(app, live_server, new_page, study):
    page = new_page(width=390, height=844, javascript=False)
    start(page, live_server, study["tokens"]["peer"])
    choose(page.locator("fieldset.statement").nth(1), 6)
    with page.expect_navigation():
        page.get_by_role("button", name="Norsk (bokmål)").click()
    assert page.url.endswith("/panel/rate/1")
    assert page.locator("html").get_attribute("lang") == "nb"
    assert [v for v, _ in ratings_of_group(app, study["id"], "peer").values()] == [6]
    # The answer is on the page in the new language too.
    assert page.locator("fieldset.statement").nth(1).locator("input:checked").get_attribute("value") == "6"


def test_without_javascript_the_page_list_saves_the_page_first(app, live_server, new_page, study):
    page = new_page(width=1280, height=900, javascript=False)
    start(page, live_server, study["tokens"]["family"])
    choose(page.locator("fieldset.statement").first, 9)
    with page.expect_navigation():
        page.get_by_role("button", name="Review and send").click()
    assert page.url.endswith("/panel/review")
    assert [v for v, _ in ratings_of_group(app, study["id"], "family").values()] == [9]


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_review_and_withdraw_buttons_wrap_with_200_percent_text_on_a_phone(live_server, new_page, study, lang):
    page = new_page(width=390, height=844)
    page.goto(f"{live_server.url}/p/{study['tokens']['service_user']}")
    if lang == "nb":
        with page.expect_navigation():
            page.get_by_role("button", name="Norsk (bokmål)").click()
    for box in page.get_by_role("checkbox").all():
        box.check()
    with page.expect_navigation():
        page.locator("[name=agree]").click()
    for path in ("/panel/review", "/panel/withdraw"):
        page.goto(f"{live_server.url}{path}")
        # The browser's text size at 200%: every rem doubles (the stylesheet sizes text in rem).
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 34
        wide = page.evaluate("""[...document.querySelectorAll('main .button, main button, main input[type=submit]')]
            .filter(b => b.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(b => b.value || b.textContent.trim())""")
        screenshot(page, f"panellist{path.replace('/', '-')}-390-text-200-{lang}")
        assert wide == [], (path, wide)
        assert not scrolls_sideways(page), (path, page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent||'').trim().slice(0,40))"""))


def test_changed_pages_have_no_accessibility_violations(app, live_server, new_page, study):
    page = new_page(width=1280, height=900)
    page.goto(f"{live_server.url}/p/{study['tokens']['peer']}")
    checked = {}
    page.get_by_role("button", name="I do not want to take part").click()
    checked["decline-confirm"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="No, go back").click()
    consent_with_mouse(page)
    page.goto(f"{live_server.url}/panel/rate/1")
    checked["rate"] = axe_violations(page)
    first = page.locator("fieldset.statement").first
    page.evaluate(f"document.getElementById('{first.get_attribute('id')}-0').value = '12'")
    first.locator("label").first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    checked["rate-error"] = axe_violations(page)
    page.goto(f"{live_server.url}/panel/review")
    checked["review"] = axe_violations(page)
    page.locator("a", has_text="Change").first.click()
    checked["rate-return"] = axe_violations(page)
    page.goto(f"{live_server.url}/panel/withdraw")
    page.get_by_role("button", name="Leave the study").last.click()
    checked["withdraw-error"] = axe_violations(page)
    assert {name: v for name, v in checked.items() if v} == {}
