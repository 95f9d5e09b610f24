"""What Chromium's accessibility tree says of a round-2 rating page: every scale point's radio is named with its meaning,
each radio group asks the question, in English and Norwegian; the feedback reads in plain words; no axe violation."""
import re

import pytest

from delphi.extensions import db
from delphi.models import Panellist
from tests.browser.conftest import axe_violations, scrolls_sideways
from tests.panel.test_feedback import close_with_figures, three_group_protocol


@pytest.mark.parametrize("lang, names, question, plain", [
    ("en", ["1 of 9, Not important", "4 of 9, towards not important", "5 of 9, in the middle",
            "7 of 9, towards very important", "9 of 9, Very important"],
     "How important is this statement to you?", "7 of 11 people chose 7, 8 or 9."),
    ("nb", ["1 av 9, Not important", "4 av 9, mot not important", "5 av 9, i midten", "7 av 9, mot very important",
            "9 av 9, Very important"],
     "Hvor viktig er dette utsagnet for deg?", "7 av 11 personer valgte 7, 8 eller 9."),
])
def test_radios_are_named_with_their_meaning(app, live_server, make_study, new_page, lang, names, question, plain):
    from delphi.services.panel import reissue_token

    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {
        "service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7], "family": [2, 9]})
    with app.app_context():
        token = reissue_token(db.session.get(Panellist, members["service_user"][0]))
        db.session.commit()
    page = new_page(width=320, height=800)
    page.goto(f"{live_server.url}/p/{token}")
    for box in page.get_by_role("checkbox").all():
        box.check()
    with page.expect_navigation():
        page.get_by_role("button", name="I agree to take part").click()
    if lang != "en":
        page.goto(f"{live_server.url}/panel/rate/1")
        with page.expect_navigation():
            page.locator(".language-switch button[value='nb']").click()  # on a rating page, a button of its form
    page.goto(f"{live_server.url}/panel/rate/1")
    assert page.locator("html").get_attribute("lang") == lang

    group = page.get_by_role("group", name=question).first
    for name in names:
        radio = group.get_by_role("radio", name=name, exact=True)
        assert radio.count() == 1, name
    # Every radio on the page has a name that is more than a number.
    form = page.locator("form.rating-form").aria_snapshot()
    radios = re.findall(r'radio "([^"]*)"', form)
    assert len(radios) == 2 * 10 and not [name for name in radios if re.fullmatch(r"[\d\s✓]*", name)], radios
    assert page.get_by_role("radio", name="8", exact=True).count() == 0
    assert "9 of 9, Very important" in radios or "9 av 9, Very important" in radios, radios
    snapshot = page.locator(f"#s{sid}").aria_snapshot()
    assert f'radio "{names[2]}"' in snapshot and f'group "{question}"' in snapshot
    assert plain in " ".join(page.locator(".feedback").first.inner_text().split())
    assert not scrolls_sideways(page)  # at 320 px
    assert axe_violations(page) == []
