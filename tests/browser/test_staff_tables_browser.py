"""Wide staff tables at 320 px (issue 22): each scrolls sideways inside a region that takes keyboard focus, is named
by the table's caption and shows its focus, so keyboard users can scroll it (axe: scrollable-region-focusable), and the
page itself never scrolls sideways. Checked in headless Chromium on the study page (tables with nothing focusable
inside them) and the panel page."""
from __future__ import annotations

from tests.browser.conftest import (
    axe_violations,
    screenshot,
    scrolls_sideways,
    wait_until,
)

PASSWORD = "a long enough password"


def _regions(page) -> list[dict]:
    return page.evaluate("""Array.from(document.querySelectorAll('table')).map(t => {
        const region = t.closest('.table-scroll');
        const caption = t.querySelector('caption');
        return {caption: caption ? caption.id : null,
                region: region ? {role: region.getAttribute('role'), tabindex: region.getAttribute('tabindex'),
                                  labelledby: region.getAttribute('aria-labelledby'),
                                  scrolls: region.scrollWidth > region.clientWidth + 1} : null};
    })""")


def test_wide_staff_tables_scroll_with_the_keyboard_at_320_px(app, live_server, new_page, make_user, make_study,
                                                               make_panellist):
    from delphi.models import StudyRole

    user_id = make_user("owner@example.org", password=PASSWORD)
    study_id = make_study(members={user_id: StudyRole.owner})
    for number in range(3):
        make_panellist(study_id, "staff", email=f"a.rather.long.address.{number}@hospital-trust.example.org")
    page = new_page(width=320, height=700)
    page.goto(live_server.url + "/staff/login")
    page.get_by_label("Email address").fill("owner@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/studies/{study_id}/rounds/open")
    page.get_by_role("button", name="Open round 1").click()

    found = {}
    for name, path in (("study", f"/studies/{study_id}"), ("panel", f"/studies/{study_id}/panel")):
        page.goto(live_server.url + path)
        screenshot(page, f"staff-tables-{name}-320")
        found[name] = [v for v in axe_violations(page) if v["id"] == "scrollable-region-focusable"]
        assert found[name] == [], found
        regions = _regions(page)
        assert regions and [r for r in regions if r["region"] is None or (r["region"]["role"], r["region"]["tabindex"],
                            r["region"]["labelledby"]) != ("region", "0", r["caption"])] == [], regions
        assert any(r["region"]["scrolls"] for r in regions), f"no table is wider than 320 px on the {name} page"
        assert not scrolls_sideways(page)
    assert found == {"study": [], "panel": []}

    # The keyboard reaches the panel table's region (Tab), the focus shows, and the arrow keys scroll it.
    region = page.locator(".table-scroll", has=page.locator("#panel-caption"))
    assert region.get_attribute("aria-labelledby") == "panel-caption"
    page.locator("#panel-q").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('table-scroll')"):
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-labelledby')") == "panel-caption"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_until(page, "document.activeElement.scrollLeft > 0")  # the browser scrolls smoothly, after the key press
