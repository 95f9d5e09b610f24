"""Issue 21's "done when": a whole three-round study run in Norwegian from the staff side, in a real browser.

The lead signs in with a Norwegian browser, creates the study, invites a colleague in the app (the invitation goes
through a real local SMTP server), imports bilingual statements, and adds a panel with one phone and one paper
panellist. Panellists answer on phones (one of them in English); the colleague enters the phone panellist's answers
and the lead types in the paper form; between rounds the panel sees its feedback, a typo is corrected in an open
round, and at the end every panellist's link shows the results page in their language. Every page the staff use is
checked with axe-core on the way, and screenshots are saved under artifacts/screenshots/norwegian-*.png for review.
"""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from babel.support import Translations

from delphi.extensions import db
from delphi.models import EntryMode, Panellist, Rating, Round, Statement, Study
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.outbox import deliver_due
from delphi.services.rounds import run_close
from tests.browser.conftest import axe_violations, screenshot, scrolls_sideways
from tests.facilitate.conftest import smtp  # noqa: F401  (the local SMTP server fixture)
from tests.live import Mailbox

CATALOGUE = Translations.load(str(Path(__file__).resolve().parents[2] / "delphi" / "translations"), ["nb"])


def nb(message: str, **values) -> str:
    """The app's Norwegian for an English message: the test reads the pages as a Norwegian user does."""
    translated = CATALOGUE.gettext(message)
    assert message in CATALOGUE._catalog, f"no Norwegian for {message!r}"
    return translated % values if values else translated


STATEMENTS_CSV = """code;domain;text;text_en
HAAP-01;Håp;Ansatte sier til personen at de har tro på at bedring er mulig.;Staff tell the person that they believe recovery is possible.
HAAP-02;Håp;Et tilbakefall blir sett på som en del av veien mot bedring.;A relapse is seen as part of the road to recovery.
MAKT-01;Myndiggjøring;Personen bestemmer selv hva som står i planen for egen oppfølging.;The person decides what goes into their own support plan.
MAKT-02;Myndiggjøring;Personen kan lese det ansatte skriver om dem.;The person can read what staff write about them.
RUS-01;Rus;Rusfrihet er målet for bedring ved rusproblemer.;Total abstinence is the goal of recovery from substance use.
"""
GROUPS = ("service_user: Personer med egenerfaring\nfamily: Pårørende\nstaff: Ansatte\npeer: Likepersoner")
ENGLISH_GROUPS = ("service_user: People with lived experience\nfamily: Family members and carers\nstaff: Staff\n"
                  "peer: Peer support workers")
TITLE, ENGLISH_TITLE = "Hva betyr recovery-orientert praksis?", "What does recovery-oriented practice mean?"
# Five in each group but peer workers: the two peer workers' figures are withheld, and the smallest other group with
# them. Two of the service users answer by phone and on paper.
PANEL = ["service_user"] * 7 + ["staff"] * 5 + ["family"] * 5 + ["peer"] * 2
LEANING = {"service_user": [8, 9, 7, 2, 8], "staff": [7, 8, 3, 5, 6], "family": [9, 6, 4, 8, 7], "peer": [8, 2, 9, 9, 5]}


class Staff:
    """One staff member's browser (a Norwegian one: Accept-Language nb-NO), checked with axe-core as it goes."""

    def __init__(self, chromium, base: str, violations: dict, width: int = 1280):
        self.context = chromium.new_context(viewport={"width": width, "height": 900}, locale="nb-NO")
        self.page = self.context.new_page()
        self.base = base
        self.violations = violations

    def go(self, path: str, name: str | None = None):
        self.page.goto(self.base + path)
        assert self.page.get_attribute("html", "lang") == "nb", path
        if name:
            self.check(name)
        return self.page

    def check(self, name: str) -> None:
        found = axe_violations(self.page)
        if found:
            self.violations[name] = found

    def sign_in(self, email: str, password: str) -> None:
        page = self.go("/staff/login", "innlogging")
        page.get_by_label(nb("Email address")).fill(email)
        page.get_by_label(nb("Password")).fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name=nb("Sign in")).click()

    def shot(self, name: str) -> None:
        screenshot(self.page, f"norwegian-{name}")


def everyone_else_answers(app, study_id: int, number: int, skip: set[str], shift: int = 0) -> None:
    """The panellists no test browser plays answer through the service the pages use."""
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = next(r for r in study.rounds if r.number == number)
        for panellist in study.panellists:
            if panellist.pseudonym in skip or panellist.withdrawn:
                continue
            leaning = LEANING[panellist.group.key]
            values = {rs.statement_id: Answer(value=min(9, leaning[(k + shift) % len(leaning)] + (shift and 1)))
                      for k, rs in enumerate(round_.statements)}
            save_answers(panellist, round_, values)
            submit_round(panellist, round_)
        db.session.commit()


def close_round(app, lead: Staff, study_id: int, number: int) -> None:
    page = lead.go(f"/studies/{study_id}/rounds/current")
    page.get_by_role("link", name=nb("Close round %(number)s", number=number)).click()
    lead.check(f"lukk runde {number}: bekreft")
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Close round %(number)s", number=number)).click()
    assert page.url.endswith(f"/studies/{study_id}/rounds/{number}/closing")
    with app.app_context():  # the worker's part, done here
        round_id = db.session.scalar(sa.select(Round.id).where(Round.study_id == study_id, Round.number == number))
        assert run_close(round_id)


def open_round(lead: Staff, study_id: int, number: int) -> None:
    page = lead.go(f"/studies/{study_id}")
    page.get_by_role("link", name=nb("Open round %(number)s", number=number)).click()
    lead.check(f"åpne runde {number}: bekreft")
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Open round %(number)s", number=number)).click()


def answer_on_a_phone(page, base: str, link: str, value: str, t=nb, first_visit: bool = False,
                      shot: str = "") -> str:
    """A panellist answers every statement of the open round through their link, without JavaScript; returns the text
    of the first rating page (``t``: the words of the panellist's language)."""
    page.goto(base + link)
    if first_visit:
        for box in page.get_by_role("checkbox").all():
            box.check()
        with page.expect_navigation():
            page.locator("[name=agree]").click()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(f"^({t('Start')}|{t('Continue')})$")).first.click()
    first_page = ""
    while "/panel/rate/" in page.url:
        if not first_page and shot:
            screenshot(page, f"norwegian-{shot}")
            assert not scrolls_sideways(page)
        first_page = first_page or " ".join(page.content().split())
        for fieldset in page.locator("fieldset.statement").all():
            fieldset.locator(f"input[type=radio][value='{value}']").check()
        with page.expect_navigation():
            page.get_by_role("button", name=t("Save and continue")).click()
    with page.expect_navigation():
        page.get_by_role("button", name=t("Send my answers")).click()
    assert page.url.endswith("/panel/thanks"), page.url
    return first_page


def english(message: str, **values) -> str:
    return message % values if values else message


def test_a_whole_norwegian_study(app, smtp, live_server, chromium, make_user, new_page):  # noqa: F811
    make_user("leder@example.org", "et langt nok passord")
    base = live_server.url
    violations: dict = {}
    lead = Staff(chromium, base, violations)
    lead.sign_in("leder@example.org", "et langt nok passord")

    # The study, in Norwegian, with Norwegian group names.
    page = lead.go("/studies/new", "ny studie")
    page.get_by_label(nb("Title")).fill(TITLE)
    page.get_by_label(nb("Panel pages' language")).select_option("nb")
    page.get_by_label(nb("Stakeholder groups")).fill(GROUPS)
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Create the study")).click()
    study_id = int(re.search(r"/studies/(\d+)", page.url).group(1))
    lead.check("studien (ny)")

    # The study offers English too: the title and the groups' names in English, beside the Norwegian.
    page = lead.go(f"/studies/{study_id}/settings", "tekster")
    page.get_by_role("checkbox", name="English").check()
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Save"), exact=True).click()
    page = lead.go(f"/studies/{study_id}/settings", "tekster på to språk")
    page.get_by_label(nb("Title (%(language)s)", language="English")).fill(ENGLISH_TITLE)
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Save"), exact=True).click()
    page = lead.go(f"/studies/{study_id}/groups", "grupper")
    page.get_by_label(nb("Group names (%(language)s)", language="English")).fill(ENGLISH_GROUPS)
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Save the groups")).click()
    lead.shot("grupper-to-spraak-1280")

    # A colleague is invited in the app, by e-mail, as facilitator, and chooses a password from the mail's link.
    page = lead.go(f"/studies/{study_id}/members", "studieteamet")
    page.get_by_label(nb("Their email address")).fill("kollega@example.org")
    page.get_by_role("radio", name=nb("Facilitator"), exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Invite")).click()
    with app.app_context():
        deliver_due()
    (invitation,) = smtp.to("kollega@example.org")
    join = re.search(r"https?://\S+(/staff/join/\S+)", Mailbox.body(invitation)).group(1)
    colleague = Staff(chromium, base, violations)
    colleague.go(join, "velg passord")
    colleague.page.get_by_label(nb("New password")).fill("kollegas lange passord")
    colleague.page.get_by_label(nb("Type the new password again")).fill("kollegas lange passord")
    with colleague.page.expect_navigation():
        colleague.page.get_by_role("button", name=nb("Save the password and sign in")).click()
    assert colleague.page.get_attribute("html", "lang") == "nb"

    # Bilingual statements from a semicolon CSV (Norwegian Excel's default), with a preview first.
    page = lead.go(f"/studies/{study_id}/statements", "utsagn")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "utsagn.csv", "mimeType": "text/csv", "buffer": STATEMENTS_CSV.encode()}])
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Check the file")).click()
    lead.check("utsagn: forhåndsvisning")
    with page.expect_navigation():
        page.get_by_role("button", name=CATALOGUE.ngettext("Import %(num)d statement", "Import %(num)d statements", 5) % {"num": 5}).click()
    assert "RUS-01" in page.content()

    # The panel: web panellists get their links once; two service users answer by phone and on paper.
    page = lead.go(f"/studies/{study_id}/panel", "panelet")
    # The first two service users give an e-mail address, for the results mail at the end.
    emails = {0: "kari@example.org", 1: "reader@example.org"}
    contacts = "group;email;phone\n" + "".join(f"{g};{emails.get(i, '')};\n" for i, g in enumerate(PANEL))
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "kontakter.csv", "mimeType": "text/csv", "buffer": contacts.encode()}])
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Add the panellists")).click()
    lead.check("panelet: lenker")
    links = re.findall(r"(/p/[A-Za-z0-9_-]{20,})", page.content())
    assert len(links) == len(PANEL)
    with app.app_context():
        ordered = db.session.scalars(sa.select(Panellist).where(Panellist.study_id == study_id)
                                     .order_by(Panellist.id)).all()
        users = [(p.pseudonym, link, p.contact.id) for p, link in zip(ordered, links) if p.group.key == "service_user"]
    (norwegian, norwegian_link, _), (english_reader, english_link, _) = users[0], users[1]
    phone_contact, paper_contact = users[2][2], users[3][2]
    phone_pseudonym, paper_pseudonym = users[2][0], users[3][0]

    open_round(lead, study_id, 1)
    lead.shot("studien-runde-1-1280")

    # Round 1: a panellist on a phone in Norwegian, one who switches to English.
    phone = new_page(width=390, height=844, javascript=False)
    text = answer_on_a_phone(phone, base, norwegian_link, "8", first_visit=True)
    assert "Ansatte sier til personen" in text and TITLE in text
    reader = new_page(width=390, height=844, javascript=False)
    reader.goto(base + english_link)
    for box in reader.get_by_role("checkbox").all():
        box.check()
    with reader.expect_navigation():
        reader.locator("[name=agree]").click()
    with reader.expect_navigation():
        reader.get_by_role("button", name="English").click()
    # The choice is the panellist's from now on: their link opens in English next time too.
    text = answer_on_a_phone(reader, base, english_link, "7", t=english)
    assert "Staff tell the person that they believe recovery is possible." in text

    # The colleague takes the phone panellist's answers, with their consent; the lead prints and types in the paper form.
    enter_by_proxy(colleague, study_id, phone_contact, "phone", "Kari Nordmann", "Ringte, har ikke internett.", "8",
                   consent=True, name="telefon-runde-1")
    page = lead.go(f"/studies/{study_id}/panel/contacts/{paper_contact}/paper-form", "papirskjema runde 1")
    assert "Ansatte sier til personen" in page.content()
    lead.shot("papirskjema-runde-1-1280")
    enter_by_proxy(lead, study_id, paper_contact, "paper", "Ola Nordmann", "Sendte papirskjemaet i posten.", "9",
                   consent=True, name="papir-runde-1")

    played = {norwegian, english_reader, phone_pseudonym, paper_pseudonym}
    everyone_else_answers(app, study_id, 1, played)
    close_round(app, lead, study_id, 1)
    page = lead.go(f"/studies/{study_id}/review", "gjennomgang")
    lead.shot("gjennomgang-runde-1-1280")
    open_round(lead, study_id, 2)

    # Round 2: the Norwegian panellist sees their own answer, the panel's and each group's, and sends the round.
    text = answer_on_a_phone(phone, base, norwegian_link, "7", shot="panellist-runde-2-tilbakemelding-390")
    assert nb("Your answer last time: %(value)s", value="8") in text
    assert nb("Whole panel:") in text
    assert nb("How each group answered") in text
    text = answer_on_a_phone(reader, base, english_link, "6", t=english)
    assert "Your answer last time: 7" in text and "Whole panel:" in text
    assert ENGLISH_TITLE in text and "People with lived experience" in text and "Personer med egenerfaring" not in text

    # A typo found in round 2, corrected by the colleague with a reason.
    with app.app_context():
        typo = db.session.scalar(sa.select(Statement).where(Statement.study_id == study_id, Statement.code == "MAKT-02"))
        typo_id = typo.id
    page = colleague.go(f"/studies/{study_id}/statements/{typo_id}/correct", "rett en skrivefeil")
    page.get_by_label(nb("Corrected statement")).fill("Personen kan lese alt det ansatte skriver om dem.")
    page.get_by_label(nb("What the correction fixes")).fill("Et ord manglet.")
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Check the correction")).click()
    colleague.check("rett en skrivefeil: bekreft")
    colleague.shot("rettelse-bekreft-1280")
    with page.expect_navigation():
        page.locator("form button[type=submit].button").first.click()
    with app.app_context():
        assert db.session.get(Statement, typo_id).text == "Personen kan lese alt det ansatte skriver om dem."

    # The panellist who had answered it sees the correction on their next visit.
    phone.goto(base + norwegian_link)
    with phone.expect_navigation():
        phone.get_by_role("link", name=nb("See or change my answers")).click()
    phone.goto(base + "/panel/rate/2")
    correction = phone.locator("p.notice.correction")
    assert "Personen kan lese alt det ansatte skriver om dem." in correction.inner_text()
    assert nb("Please check that your answer still fits.") in correction.inner_text()
    screenshot(phone, "norwegian-panellist-rettelse-390")
    assert not scrolls_sideways(phone)

    # By phone again: the colleague sees the feedback and asks why the rating changed.
    enter_by_proxy(colleague, study_id, phone_contact, "phone", "Kari Nordmann", "Ringte igjen.", "5",
                   name="telefon-runde-2", reason="Har snakket med andre i samme situasjon.")
    page = lead.go(f"/studies/{study_id}/panel/contacts/{paper_contact}/paper-form", "papirskjema runde 2")
    lead.shot("papirskjema-runde-2-1280")
    enter_by_proxy(lead, study_id, paper_contact, "paper", "Ola Nordmann", "Papirskjema for runde 2.", "9",
                   name="papir-runde-2")
    everyone_else_answers(app, study_id, 2, played, shift=1)
    close_round(app, lead, study_id, 2)
    open_round(lead, study_id, 3)
    answer_on_a_phone(phone, base, norwegian_link, "7")
    answer_on_a_phone(reader, base, english_link, "6", t=english)
    enter_by_proxy(colleague, study_id, phone_contact, "phone", "Kari Nordmann", "Siste runde.", "6",
                   name="telefon-runde-3")
    enter_by_proxy(lead, study_id, paper_contact, "paper", "Ola Nordmann", "Papirskjema for runde 3.", "9",
                   name="papir-runde-3")
    everyone_else_answers(app, study_id, 3, played, shift=1)
    close_round(app, lead, study_id, 3)

    # The end: the study is closed on a page of its own, panellists are told by mail, and their links show the results.
    page = lead.go(f"/studies/{study_id}/close", "lukk studien: bekreft")
    page.get_by_label(nb("Tell panellists by e-mail that the results are ready")).check()
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Close the study")).click()
    lead.shot("studien-lukket-1280")
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.status.value == "closed"
        modes = set(db.session.scalars(sa.select(Rating.mode).join(Panellist).where(Panellist.study_id == study_id)))
        assert {EntryMode.web, EntryMode.phone, EntryMode.paper} <= modes
    # The results mail goes out in each panellist's language: the one who switched to English gets it in English.
    # The test does the worker's part, under the served app's secret key (tests/live.py), as the worker shares it:
    # the mail then carries each panellist's own link, the one they have had since round 1.
    app.config["SECRET_KEY"] = "live-test-secret-key"
    with app.app_context():
        deliver_due()
    (mail_nb,) = [m for m in smtp.to("kari@example.org") if "?to=results" in Mailbox.body(m)]
    (mail_en,) = [m for m in smtp.to("reader@example.org") if "?to=results" in Mailbox.body(m)]
    assert mail_nb["Subject"] == "Resultatene fra Delphi-studien «Hva betyr recovery-orientert praksis?» er klare"
    assert mail_en["Subject"] == f'The results of the Delphi study "{ENGLISH_TITLE}" are ready'
    # Each opens the mail's link, which leads to their results page.
    assert Mailbox.link(mail_nb).split("/p/", 1)[1] == norwegian_link.removeprefix("/p/") + "?to=results"
    assert Mailbox.link(mail_en).split("/p/", 1)[1] == english_link.removeprefix("/p/") + "?to=results"
    phone.goto(base + "/p/" + Mailbox.link(mail_nb).split("/p/", 1)[1])
    assert phone.url.endswith("/panel/results")
    assert phone.get_attribute("html", "lang") == "nb"
    results = " ".join(phone.content().split())
    assert nb("What the panel agreed") in results
    assert nb("Agreed") in results or nb("No agreement") in results
    assert "Rusfrihet er målet for bedring ved rusproblemer." in results
    screenshot(phone, "norwegian-resultater-390")
    assert not scrolls_sideways(phone)
    reader.goto(base + "/p/" + Mailbox.link(mail_en).split("/p/", 1)[1])
    assert reader.url.endswith("/panel/results")
    assert reader.get_attribute("html", "lang") == "en"
    assert "What the panel agreed" in reader.content()
    assert "Staff tell the person that they believe recovery is possible." in reader.content()
    screenshot(reader, "norwegian-results-in-english-390")

    # The lead reads the audit log and the report in Norwegian.
    page = lead.go(f"/studies/{study_id}/audit", "revisjonslogg")
    assert "reissue_link" not in page.content()  # no link was replaced along the way
    lead.shot("revisjonslogg-1280")
    assert violations == {}


def enter_by_proxy(staff: Staff, study_id: int, contact_id: int, channel: str, who: str, why: str, value: str, *,
                   name: str, consent: bool = False, reason: str = "") -> None:
    """A staff member types in a panellist's answers for the open round (phone or paper) and marks the round sent."""
    page = staff.go(f"/studies/{study_id}/panel/contacts/{contact_id}/entry", f"{name}: hvordan")
    page.locator(f"input[name=channel][value={channel}]").check()
    page.get_by_label(nb("Who is entering them")).fill(who)
    page.get_by_label(nb("Why they are entered for the panellist")).fill(why)
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Continue to the answers")).click()
    staff.check(f"{name}: svarene")
    if consent:
        page.get_by_label(nb("The person gave consent (read to them, or a signed form)")).check()
    for select in page.locator("select[name^=value-]").all():
        select.select_option(value)
    for radio_group in page.locator("fieldset:has(input[name^=value-])").all():
        radio_group.locator(f"input[name^=value-][value='{value}']").check()
    if reason:
        reasons = page.locator("textarea[name^=reason-]")
        assert reasons.count() > 0  # round 2 on: asked as the panellist's own page asks
        reasons.first.fill(reason)
    page.get_by_label(nb("The panellist has finished: mark the round as sent")).check()
    staff.shot(f"{name}-1280")
    with page.expect_navigation():
        page.get_by_role("button", name=nb("Save the answers")).click()
    assert page.url.endswith(f"/studies/{study_id}/panel"), page.url
