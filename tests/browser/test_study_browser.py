"""A whole study in a real browser: the facilitator sets it up, imports statements, adds the panel and opens round 1;
panellists in different groups answer on phones; the facilitator closes the round, rewords a statement and opens
round 2; a panellist sees their own rating, the panel's and each group's answers (a small group withheld) and
changes a rating. axe-core checks every staff page on the way; screenshots at 390 and 1280 px."""
import re
from pathlib import Path

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Contact, Panellist, Rating, Round, Statement, Study
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.rounds import run_close
from tests.browser.conftest import axe_violations, screenshot, scrolls_sideways

STATEMENTS_CSV = """code,domain,text
HOPE-01,Hope,Staff tell the person that they believe recovery is possible for them.
HOPE-02,Hope,A relapse is treated as part of the recovery journey.
HOPE-03,Hope,Staff talk about the person's future as well as their problems.
EMP-01,Empowerment,The person decides what goes into their own support plan.
EMP-02,Empowerment,The person can read what staff write about them.
HR-01,Abstinence or harm reduction,Total abstinence is the goal of recovery from substance use.
"""
# 6 + 6 + 3 + 2: in round 2 the peer group (2) is withheld, and the family group (3) with it, so that the panel's
# figures minus the shown groups never reveal the two peer workers.
PANEL = ["service_user"] * 6 + ["staff"] * 6 + ["family"] * 3 + ["peer"] * 2


def staff_page(chromium, width=1280):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    return context, context.new_page()


def checked(page, violations: dict, name: str) -> None:
    found = axe_violations(page)
    if found:
        violations[name] = found


def synthetic_answers(app, study_id: int, round_number: int, skip_pseudonyms: set[str], leaning: dict) -> None:
    """The rest of the panel answers through the same service the pages use."""
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = next(r for r in study.rounds if r.number == round_number)
        for i, panellist in enumerate(p for p in study.panellists if p.pseudonym not in skip_pseudonyms):
            values = {rs.statement_id: Answer(value=leaning[panellist.group.key][k % len(leaning[panellist.group.key])])
                      for k, rs in enumerate(round_.statements)}
            save_answers(panellist, round_, values)
            submit_round(panellist, round_)
        db.session.commit()


def test_a_whole_study_in_the_browser(app, live_server, chromium, make_user, new_page):
    make_user("lead@example.org", "a long enough password")
    make_user("researcher@example.org", "another long password")
    base = live_server.url
    violations: dict = {}
    context, page = staff_page(chromium)

    # The facilitator signs in and creates the study.
    page.goto(base + "/staff/login")
    checked(page, violations, "login")
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + "/studies/new")
    checked(page, violations, "new study")
    page.get_by_label("Title").fill("Recovery in practice")
    page.get_by_label("Stakeholder groups").fill(
        "service_user: People with lived experience\nfamily: Family members and carers\nstaff: Staff\n"
        "peer: Peer support workers")
    page.get_by_role("button", name="Create the study").click()
    study_id = int(re.search(r"/studies/(\d+)", page.url).group(1))
    checked(page, violations, "study page (new)")

    # Statements from a CSV file, with a preview first.
    page.goto(f"{base}/studies/{study_id}/statements")
    checked(page, violations, "statements")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "statements.csv", "mimeType": "text/csv", "buffer": STATEMENTS_CSV.encode()}])
    page.get_by_role("button", name="Check the file").click()
    checked(page, violations, "statements preview")
    page.get_by_role("button", name=re.compile(r"Import 6 statements")).click()
    assert "HR-01" in page.content()

    # The panel from a CSV of groups; the links are shown once.
    page.goto(f"{base}/studies/{study_id}/panel")
    checked(page, violations, "panel")
    contacts = "group,email\n" + "".join(f"{g},\n" for g in PANEL)
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": contacts.encode()}])
    page.get_by_role("button", name="Add the panellists").click()
    checked(page, violations, "panel links")
    links = re.findall(r"(/p/[A-Za-z0-9_-]{20,})", page.content())
    assert len(links) == len(PANEL)
    with app.app_context():
        ordered = db.session.scalars(sa.select(Panellist).where(Panellist.study_id == study_id)
                                     .order_by(Panellist.id)).all()
        link_of = {p.id: link for p, link in zip(ordered, links)}
        first_of = {}
        for p in ordered:
            first_of.setdefault(p.group.key, p)
        chosen = {key: (first_of[key].pseudonym, link_of[first_of[key].id]) for key in ("service_user", "staff", "family")}

    page.goto(f"{base}/studies/{study_id}")
    page.get_by_role("link", name="Open round 1").click()
    checked(page, violations, "open round 1: what it will do")
    page.get_by_role("button", name="Open round 1").click()
    checked(page, violations, "study page (round 1 open)")
    screenshot(page, "facilitator-study-1280")

    # Three panellists on phones: keyboard alone, JavaScript off, and one who leaves half-way and comes back.
    keyboard = new_page(width=390, height=844)
    keyboard.goto(base + chosen["service_user"][1])
    for box in keyboard.get_by_role("checkbox").all():
        box.focus()
        keyboard.keyboard.press("Space")
    keyboard.locator("[name=agree]").focus()
    keyboard.keyboard.press("Enter")
    keyboard.wait_for_url("**/panel/")
    keyboard.get_by_role("link", name="Start", exact=True).focus()
    keyboard.keyboard.press("Enter")
    keyboard.wait_for_url("**/panel/rate/1")
    while "/panel/rate/" in keyboard.url:
        for fieldset in keyboard.locator("fieldset.statement").all():
            fieldset.locator("input[type=radio]").first.focus()
            keyboard.keyboard.press("Space")
            for _ in range(7):
                keyboard.keyboard.press("ArrowRight")  # to 8
        keyboard.get_by_role("button", name="Save and continue").focus()
        with keyboard.expect_navigation():
            keyboard.keyboard.press("Enter")
    keyboard.get_by_role("button", name="Send my answers").focus()
    keyboard.keyboard.press("Enter")
    keyboard.wait_for_url("**/panel/thanks")

    no_js = new_page(width=390, height=844, javascript=False)
    no_js.goto(base + chosen["staff"][1])
    for box in no_js.get_by_role("checkbox").all():
        box.check()
    no_js.locator("[name=agree]").click()
    # Each click waits for the next page to load: listing the fieldsets of a page still being parsed could miss some
    # (a CI run once saved this panellist's first page empty that way).
    with no_js.expect_navigation():
        no_js.get_by_role("link", name="Start", exact=True).click()
    while "/panel/rate/" in no_js.url:
        for fieldset in no_js.locator("fieldset.statement").all():
            fieldset.locator("label", has_text="3").first.click()
        with no_js.expect_navigation():
            no_js.get_by_role("button", name="Save and continue").click()
    no_js.get_by_role("button", name="Send my answers").click()
    assert no_js.url.endswith("/panel/thanks")

    leaving_context = chromium.new_context(viewport={"width": 390, "height": 844})
    leaving = leaving_context.new_page()
    leaving.goto(base + chosen["family"][1])
    for box in leaving.get_by_role("checkbox").all():
        box.check()
    leaving.locator("[name=agree]").click()
    # The autosave script is deferred: wait for the page to load before answering, or the first click can come before
    # the script listens (a CI run once timed out waiting for "Saved" that way).
    with leaving.expect_navigation():
        leaving.get_by_role("link", name="Start", exact=True).click()
    leaving.locator("fieldset.statement").first.locator("label", has_text="6").first.click()
    leaving.get_by_text("Saved").first.wait_for()
    leaving_context.close()
    back = new_page(width=390, height=844)
    back.goto(base + chosen["family"][1])
    with back.expect_navigation():
        back.get_by_role("link", name="Continue", exact=True).click()
    assert back.locator("fieldset.statement").first.locator("input[value='6']").is_checked()

    # The rest of the panel answers; the facilitator watches, then closes round 1.
    synthetic_answers(app, study_id, 1, {pseudonym for pseudonym, _ in chosen.values()},
                      {"service_user": [8, 9, 7, 2], "staff": [7, 8, 3, 5], "family": [9, 6, 4],
                       "peer": [8, 2]})
    page.goto(f"{base}/studies/{study_id}/rounds/current")
    checked(page, violations, "monitor")
    page.get_by_role("link", name="Close round 1").click()
    checked(page, violations, "close round 1: who has not sent it")
    with page.expect_navigation():
        page.get_by_role("button", name="Close round 1").click()
    # The figures are the worker's job: the page says so until it has run (here, in the test's process).
    assert page.url.endswith(f"/studies/{study_id}/rounds/1/closing")
    checked(page, violations, "closing round 1")
    with app.app_context():
        assert run_close(db.session.get(Study, study_id).rounds[0].id)
    with page.expect_navigation():
        page.get_by_role("link", name="Check again").click()
    assert page.url.endswith(f"/studies/{study_id}/review")
    checked(page, violations, "review")
    screenshot(page, "facilitator-review-1280")
    with app.app_context():
        carried = [rs for rs in db.session.get(Study, study_id).rounds[0].statements if rs.carry_forward]
        target = carried[0].statement
        target_code, target_id = target.code, target.id
    page.get_by_text(f"Decide, or reword {target_code}").click()
    reword = page.locator("form", has=page.get_by_role("button", name=f"Reword {target_code}"))
    reword.get_by_label("New wording").fill("Staff say, in words and deeds, that recovery is possible for this person.")
    reword.get_by_label("Why (for the item history)").fill("Panellists asked for deeds, not only words.")
    reword.get_by_role("button", name=f"Reword {target_code}").click()
    page.goto(f"{base}/studies/{study_id}/review")
    page.get_by_role("link", name="Open round 2").click()
    page.get_by_role("button", name="Open round 2").click()
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert [r.number for r in study.rounds] == [1, 2]
        reworded = next(rs for rs in study.rounds[1].statements if rs.statement_id == target_id)
        assert reworded.text.startswith("Staff say, in words and deeds")

    # Round 2: the keyboard panellist sees their own rating, the panel's and each group's answers, a withheld group.
    panellist = new_page(width=390, height=844)
    panellist.goto(base + chosen["service_user"][1])
    with panellist.expect_navigation():
        panellist.get_by_role("link", name="Start", exact=True).click()
    text = " ".join(panellist.content().split())
    assert "Your answer last time: 8" in text
    assert re.search(r"Whole panel:</strong> \d+ of 1[67] people chose ", text), text[text.find("Last time"):text.find("Last time") + 1500]
    # Peer workers (2) and family members (at most 3) are withheld; when they add up to fewer than 5, the next
    # smallest group goes too, so at least one group of 6 is shown and nothing can be subtracted back.
    assert "6 people answered." in text.split("How each group answered")[1]
    assert "Peer support workers:</strong> fewer than" in text
    assert "Family members and carers:</strong> fewer than" in text
    screenshot(panellist, "panellist-round2-feedback-390")
    assert not scrolls_sideways(panellist)
    first = panellist.locator("fieldset.statement").first
    first.locator("details.group-feedback > summary").click()
    first.locator("label", has_text="4").first.click()
    with panellist.expect_navigation():
        panellist.get_by_role("button", name="Save and continue").click()
    with app.app_context():
        round2 = db.session.scalars(sa.select(Round).where(Round.study_id == study_id, Round.number == 2)).one()
        mine = db.session.scalar(sa.select(Panellist).where(Panellist.pseudonym == chosen["service_user"][0]))
        values = [r.value for r in db.session.scalars(sa.select(Rating).where(
            Rating.panellist_id == mine.id, Rating.round_id == round2.id))]
        assert 4 in values

    # The staff pages at phone width too.
    phone_context, phone = staff_page(chromium, width=390)
    phone.goto(base + "/staff/login")
    phone.get_by_label("Email address").fill("lead@example.org")
    phone.get_by_label("Password").fill("a long enough password")
    phone.get_by_role("button", name="Sign in").click()
    for path, name in [(f"/studies/{study_id}", "study"), (f"/studies/{study_id}/rounds/current", "monitor"),
                       (f"/studies/{study_id}/statements", "statements"), (f"/studies/{study_id}/panel", "panel"),
                       (f"/studies/{study_id}/members", "members"), (f"/studies/{study_id}/audit", "audit")]:
        phone.goto(base + path)
        assert not scrolls_sideways(phone), (path, phone.evaluate("""[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.closest(".table")).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""))
        screenshot(phone, f"facilitator-{name}-390")
    with app.app_context():
        first_contact = db.session.scalar(sa.select(Contact.id).order_by(Contact.id))
    for path, name in [(f"/studies/{study_id}/protocol", "protocol"), (f"/studies/{study_id}/settings", "texts"),
                       (f"/studies/{study_id}/groups", "groups"), (f"/studies/{study_id}/members", "members"),
                       (f"/studies/{study_id}/audit", "audit log"),
                       (f"/studies/{study_id}/panel/contacts/{first_contact}/entry", "proxy entry"),
                       (f"/studies/{study_id}/panel/contacts/{first_contact}/withdraw", "withdraw on request"),
                       ("/studies/", "dashboard"),
                       ("/staff/password", "password"), (f"/studies/{study_id}/panel/reminder", "reminders")]:
        page.goto(base + path)
        checked(page, violations, name)
    phone_context.close()

    # The lead adds a researcher, who reads the report and downloads the data.
    page.goto(f"{base}/studies/{study_id}/members")
    page.get_by_label("Their email address").fill("researcher@example.org")
    page.get_by_label("Researcher").check()
    page.get_by_role("button", name="Invite").click()
    context.close()
    researcher_context, researcher = staff_page(chromium)
    researcher.goto(base + "/staff/login")
    researcher.get_by_label("Email address").fill("researcher@example.org")
    researcher.get_by_label("Password").fill("another long password")
    researcher.get_by_role("button", name="Sign in").click()
    researcher.goto(f"{base}/studies/{study_id}")
    with researcher.expect_navigation():
        researcher.get_by_role("link", name="Reports and data").click()
    # The live server runs no worker: the button queues the build; the test does the worker's part.
    with researcher.expect_navigation():
        researcher.get_by_role("button", name="Prepare the downloads").click()
    checked(researcher, violations, "reports progress")
    with app.app_context():
        from delphi.models import ReportBuild
        from delphi.services.reports.builds import run_build

        assert run_build(db.session.scalar(sa.select(ReportBuild.id).where(ReportBuild.study_id == study_id)))
    with researcher.expect_navigation():
        researcher.get_by_role("link", name=re.compile("Check again|Show the downloads")).click()
    checked(researcher, violations, "reports")
    screenshot(researcher, "researcher-reports-1280")
    with researcher.expect_download() as download_info:
        researcher.get_by_role("link", name=re.compile("Download everything")).click()
    archive = download_info.value.path()
    import zipfile

    with zipfile.ZipFile(archive) as bundle:
        names = {Path(n).name for n in bundle.namelist()}
        assert {"ratings.csv", "statistics.csv", "consensus.csv", "report.html", "ratings.sav", "ratings.dta",
                "results.xlsx"} <= names
        ratings_csv = next(bundle.read(n) for n in bundle.namelist() if n.endswith("ratings.csv")).decode()
    assert "@example.org" not in ratings_csv and "/p/" not in ratings_csv
    with researcher.expect_navigation():
        researcher.get_by_role("link", name="Read the report in your browser").click()
    checked(researcher, violations, "report.html")
    assert researcher.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    screenshot(researcher, "researcher-report-1280")
    researcher_context.close()
    assert violations == {}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Statement.id)).where(Statement.study_id == study_id)) == 6
