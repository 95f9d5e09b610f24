"""The Reports page and report.html in headless Chromium: the report renders with no broken images, prints to PDF
(a PDF and a PNG of its first page are saved under artifacts/reports), and both pass axe's WCAG 2.2 A/AA checks."""
from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.reports.conftest import build_three_round_study

OUT = ARTIFACTS / "reports"


def test_report_renders_prints_and_passes_axe(app, live_server, new_page, make_user, tmp_path):
    from delphi.extensions import db

    make_user("researcher@example.org", password="a long enough password")
    from delphi.models import StaffUser

    with app.app_context():
        user_id = db.session.scalar(db.select(StaffUser.id).filter_by(email="researcher@example.org"))
        study_id = build_three_round_study(user_id)
    page = new_page(width=1280, height=900)
    page.goto(live_server.url + "/staff/login")
    page.get_by_label("Email address").fill("researcher@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/studies/{study_id}/reports")
    assert page.get_by_role("heading", name="Reports and data").is_visible()
    violations = {"reports page, nothing built": axe_violations(page)}
    # The live server runs no worker: the button queues the build, and the progress page waits for it.
    page.get_by_role("button", name="Prepare the downloads").click()
    assert page.get_by_role("heading", name="Preparing the downloads").is_visible()
    assert page.get_by_role("status").inner_text().startswith("Being built: 0 of")
    violations["progress page"] = axe_violations(page)
    with app.app_context():  # the worker's part
        from delphi.models import ReportBuild
        from delphi.services.reports.builds import run_build

        assert run_build(db.session.scalar(db.select(ReportBuild.id)))
    # The page's script asks again by itself and says so in the live region; the link then leads to the files.
    page.get_by_role("link", name="Show the downloads").wait_for(timeout=15_000)
    assert page.get_by_role("status").inner_text().startswith("Ready, built at")
    page.get_by_role("link", name="Show the downloads").click()
    assert page.get_by_role("link", name="ratings.csv").is_visible()
    violations["reports page"] = axe_violations(page)

    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/studies/{study_id}/reports/report")
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert len(images) == 2 and all(done and width > 0 for done, width in images), images
    # The report's own stylesheet applied (allowed by its hash): the table borders are collapsed.
    assert page.evaluate("getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    violations["report.html"] = axe_violations(page)
    assert violations == {"reports page, nothing built": [], "progress page": [], "reports page": [],
                          "report.html": []}

    OUT.mkdir(parents=True, exist_ok=True)
    html = page.content()
    page.emulate_media(media="print")
    pdf = page.pdf(path=str(OUT / "report.pdf"), format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.emulate_media(media="screen")
    page.screenshot(path=str(OUT / "report-first-page.png"), full_page=False)
    assert (OUT / "report-first-page.png").stat().st_size > 10_000

    # The downloaded file opens on its own (file://), images and all.
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    offline = new_page(width=900, height=1200)
    offline.goto((tmp_path / "report.html").as_uri())
    images = offline.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert all(done and width > 0 for done, width in images)
