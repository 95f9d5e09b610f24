"""The download set as a background job: asked for on the reports page, built once, kept in the database, served
from there until the study's data change, purged when a withdrawal deletes answers, and claimed so that two
workers build it once."""
from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import openpyxl
import pyreadstat
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    BuildStatus,
    ConsentDecision,
    ConsentRecord,
    Panellist,
    Rating,
    ReportBuild,
    ReportChunk,
    ReportFile,
    Round,
    Statement,
    StatementStatus,
    Study,
    Submission,
    WithdrawalPolicy,
    utcnow,
)
from delphi.services.answers import Answer, save_answers
from delphi.services.panel import reissue_token, withdraw_panellist
from delphi.services.reports import DOWNLOADS, build_downloads, zip_downloads
from delphi.services.reports import builds
from delphi.services.reports.builds import (
    FAILED_MESSAGE,
    FILE_NAMES,
    GAVE_UP_MESSAGE,
    MAX_ATTEMPTS,
    build_due_reports,
    claim_build,
    download_folder,
    fingerprint,
    run_build,
)
from delphi.services.review import approve_comments, comments, reword
from delphi.services.rounds import close_round, open_next_round
from tests.reports.conftest import prepare_downloads

NAMES = [d.name for d in DOWNLOADS]
STAMPED = (".sav", ".dta", ".xlsx")  # these formats carry the time they were written


@pytest.fixture
def signed_in(client, auth, three_round_study):
    auth.login("researcher@example.org")
    return three_round_study


@pytest.fixture
def queued_only(app):
    """Jobs queued, not run (as in production, where a worker runs them)."""
    app.config.update(JOBS_IMMEDIATE=False)


def status_text(html: str) -> str:
    match = re.search(r'<p class="build-status" role="status"[^>]*>(.*?)</p>', html, re.S)
    return match.group(1).strip()


def build_rows(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (ReportBuild, ReportFile, ReportChunk))


def test_the_page_says_not_built_then_building_then_ready(app, client, signed_in, queued_only):
    base = f"/studies/{signed_in}/reports"
    page = client.get(base).get_data(as_text=True)
    assert status_text(page).startswith("Not built yet")
    assert "Prepare the downloads" in page and f'action="{base}/build"' in page
    assert f"{base}/files/ratings.csv" not in page and f"{base}/all.zip" not in page
    assert client.get(f"{base}/files/ratings.csv").headers["Location"] == f"{base}/build"
    assert client.get(f"{base}/build").headers["Location"] == f"{base}#files"  # nothing to wait for

    asked = client.post(f"{base}/build")
    assert asked.status_code == 303 and asked.headers["Location"] == f"{base}/build"
    progress = client.get(f"{base}/build").get_data(as_text=True)
    assert status_text(progress) == f"Being built: 0 of {len(FILE_NAMES)} files (waiting for the worker to start)."
    assert status_text(client.get(base).get_data(as_text=True)).startswith("Being built: 0 of")
    for path in ("/files/ratings.csv", "/all.zip", "/report"):  # nothing heavy: to the progress page
        assert client.get(base + path).headers["Location"] == f"{base}/build"
    assert client.post(f"{base}/build").status_code == 303  # asking twice queues one build
    assert build_rows(app)[0] == 1

    with app.app_context():
        build_id = db.session.scalar(sa.select(ReportBuild.id))
        assert run_build(build_id) is True
    assert client.get(f"{base}/build").headers["Location"] == f"{base}#files"
    page = client.get(base).get_data(as_text=True)
    assert re.fullmatch(r"Ready, built at \d{4}-\d\d-\d\d \d\d:\d\d UTC from the study's data as they are now\.",
                        status_text(page))
    for name in NAMES:
        assert f'href="{base}/files/{name}" download>{name}</a>' in page
    assert f"{base}/all.zip" in page and "Prepare the downloads" not in page
    assert client.get(f"{base}/files/ratings.csv").data.startswith(b"round,panellist,")


def test_the_progress_page_works_without_javascript(app, client, signed_in, queued_only):
    base = f"/studies/{signed_in}/reports"
    client.post(f"{base}/build")
    with app.app_context():
        build = db.session.scalar(sa.select(ReportBuild))
        build.status, build.files_done = BuildStatus.running, 5
        db.session.commit()
    page = client.get(f"{base}/build").get_data(as_text=True)
    assert '<p class="build-status" role="status" aria-live="polite">' in page
    assert status_text(page) == f"Being built: 5 of {len(FILE_NAMES)} files."
    assert f'<a class="check-again" href="{base}/build">Check again</a>' in page
    assert f'<progress max="{len(FILE_NAMES)}" value="5" aria-label="Files made">' in page
    assert "http-equiv" not in page  # no timed reload (WCAG 2.2.1): the reader checks again when they choose
    assert '<script src="/static/js/report_progress.js" defer></script>' in page
    status = client.get(f"{base}/build.json").get_json()
    assert status == {"status": "running", "done": 5, "total": len(FILE_NAMES),
                      "message": f"Being built: 5 of {len(FILE_NAMES)} files."}


def test_a_build_keeps_the_files_build_downloads_makes_and_serves_them_streamed(app, client, signed_in):
    base = f"/studies/{signed_in}/reports"
    prepare_downloads(client, signed_in)
    with app.app_context():
        study = db.session.get(Study, signed_in)
        fresh, folder = build_downloads(study), download_folder(study)
        largest = max(db.session.scalars(sa.select(ReportFile.size)))
        chunks = db.session.scalar(sa.select(sa.func.max(sa.func.length(ReportChunk.content))))
    assert chunks <= 1024 * 1024 and largest > 0
    served = {}
    for name in NAMES:
        response = client.get(f"{base}/files/{name}")
        assert response.status_code == 200 and response.is_streamed
        assert response.headers["Content-Length"] == str(len(response.data))
        served[name] = response.data
        if not name.endswith(STAMPED):
            assert response.data == fresh[name], name
    for name in ("ratings.sav", "comments.sav"):
        assert _sav(served[name]).equals(_sav(fresh[name]))
    for name in ("ratings.dta", "comments.dta"):
        assert _dta(served[name]).equals(_dta(fresh[name]))
    assert _cells(served["results.xlsx"]) == _cells(fresh["results.xlsx"])
    everything = client.get(f"{base}/all.zip")
    assert everything.headers["Content-Disposition"] == f'attachment; filename="{folder}.zip"'
    assert everything.data == zip_downloads(served, folder)  # the zip holds the very files served one by one
    shown = client.get(f"{base}/report")
    assert shown.data == fresh["report.html"] and "style-src 'sha256-" in shown.headers["Content-Security-Policy"]


def _sav(content: bytes):
    return _read(pyreadstat.read_sav, content, ".sav")


def _dta(content: bytes):
    return _read(pyreadstat.read_dta, content, ".dta")


def _read(reader, content: bytes, suffix: str):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(content)
        return reader(str(path))[0]


def _cells(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {sheet.title: [[c.value for c in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


def _first_rating(round_number: int) -> Rating:
    return db.session.scalar(sa.select(Rating).join(Round).where(Round.number == round_number,
                                                                 Rating.value.is_not(None)).order_by(Rating.id))


def _leaver(policy: WithdrawalPolicy):
    """A withdrawal whose answers are deleted or kept as ``policy`` says (the policy itself locks at round 1; a
    withdrawal at the person's request may erase answers whatever it says)."""
    def change(study: Study) -> None:
        withdraw_panellist(db.session.scalar(sa.select(Panellist).order_by(Panellist.id.desc())),
                           erase_answers=policy is WithdrawalPolicy.delete)
    return change


def _change_rating(study: Study) -> None:
    rating = _first_rating(2)
    rating.value = 1 if rating.value != 1 else 9


def _change_comment(study: Study) -> None:
    _first_rating(1).comment = "Changed afterwards."


def _reword(study: Study) -> None:
    statement = db.session.scalar(sa.select(Statement).where(Statement.status == StatementStatus.active)
                                  .order_by(Statement.id))
    reword(study.rounds[-2], statement, statement.text + " Always.", "Clearer", None)


def _approve_comment(study: Study) -> None:
    round_ = study.rounds[0]
    approve_comments(round_, {c.id for c in comments(round_)[:1]}, None)


def _close_round(study: Study) -> None:
    close_round(study.rounds[-1])


def _move_group(study: Study) -> None:
    panellist = db.session.scalar(sa.select(Panellist).order_by(Panellist.id))
    panellist.group_id = study.groups[-1].id


def _consent(study: Study) -> None:
    panellist = db.session.scalar(sa.select(Panellist).order_by(Panellist.id))
    db.session.add(ConsentRecord(panellist_id=panellist.id, decision=ConsentDecision.refused, consent_version=1))


def _unsubmit(study: Study) -> None:
    db.session.delete(db.session.scalar(sa.select(Submission).order_by(Submission.id)))


CHANGES = {
    "a rating changed in a closed round": _change_rating,
    "a comment changed in a closed round": _change_comment,
    "a withdrawal under the delete policy": _leaver(WithdrawalPolicy.delete),
    "a withdrawal under the keep policy": _leaver(WithdrawalPolicy.keep),
    "a statement reworded": _reword,
    "a comment approved": _approve_comment,
    "the open round closed": _close_round,
    "a setting changed": lambda study: setattr(study, "allow_suggestions", not study.allow_suggestions),
    "the title changed": lambda study: setattr(study, "title", "Another title"),
    "a group renamed": lambda study: setattr(study.groups[0], "name", "Service users"),
    "a panellist moved to another group": _move_group,
    "a consent decision recorded": _consent,
    "a submission deleted": _unsubmit,
}


@pytest.fixture
def open_fourth_round(app, three_round_study):
    """The three-round study with a fourth rating round open (its ratings are in no file until it closes)."""
    with app.app_context():
        study = db.session.get(Study, three_round_study)
        # The number of rounds locks when round 1 opens; this test needs a fourth, so it is set underneath the app.
        db.session.execute(sa.update(Study).where(Study.id == study.id).values(max_rounds=4))
        db.session.refresh(study)
        open_next_round(study)
        db.session.commit()
    return three_round_study


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_each_change_to_what_the_files_are_made_from_changes_the_fingerprint(app, open_fourth_round, change):
    with app.app_context():
        study = db.session.get(Study, open_fourth_round)
        before = fingerprint(study)
        assert fingerprint(study) == before
        change(study)
        db.session.commit()
        assert fingerprint(db.session.get(Study, open_fourth_round)) != before


def test_what_changes_no_file_leaves_the_fingerprint_alone(app, open_fourth_round):
    """Saves in the open round (its ratings are in no file until it closes) and a reissued link keep the build."""
    with app.app_context():
        study = db.session.get(Study, open_fourth_round)
        before = fingerprint(study)
        current = study.rounds[-1]
        panellist = db.session.scalar(sa.select(Panellist).where(Panellist.withdrawn.is_(False)))
        save_answers(panellist, current, {rs.statement_id: Answer(value=5) for rs in current.statements})
        reissue_token(panellist)
        db.session.commit()
        assert fingerprint(db.session.get(Study, open_fourth_round)) == before


def test_a_stale_build_is_never_served_and_the_next_replaces_it(app, client, signed_in):
    base = f"/studies/{signed_in}/reports"
    prepare_downloads(client, signed_in)
    old = client.get(f"{base}/files/ratings.csv").data
    with app.app_context():
        rating = _first_rating(3)
        rating.comment = "Written after the first build."
        db.session.commit()
    for path in ("/files/ratings.csv", "/all.zip", "/report"):
        assert client.get(base + path).headers["Location"] == f"{base}/build"
    assert status_text(client.get(base).get_data(as_text=True)).startswith(
        "Not built yet for the study's data as they are now: they have changed since the last build (")
    prepare_downloads(client, signed_in)
    new = client.get(f"{base}/files/ratings.csv").data
    assert b"Written after the first build." in new and b"Written after the first build." not in old
    assert build_rows(app)[:2] == (1, len(FILE_NAMES))  # the old build and its files are gone


def test_a_withdrawal_that_deletes_answers_deletes_every_kept_build(app, client, signed_in):
    prepare_downloads(client, signed_in)
    assert build_rows(app)[0] == 1 and build_rows(app)[2] >= len(FILE_NAMES)
    with app.app_context():
        withdraw_panellist(db.session.scalar(sa.select(Panellist).order_by(Panellist.id)), erase_answers=True)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportChunk)) == 0  # same transaction
        db.session.commit()
    assert build_rows(app) == (0, 0, 0)


def test_a_withdrawal_during_a_build_leaves_nothing_kept(app, client, signed_in, queued_only, monkeypatch):
    """The withdrawal's purge wins against a build already reading: the build stops at its next file."""
    client.post(f"/studies/{signed_in}/reports/build")
    made = builds.each_download

    def withdraw_after_the_first_file(source):
        for position, item in enumerate(made(source)):
            yield item
            if position == 1:
                with app.app_context():  # another request, on its own session
                    withdraw_panellist(db.session.scalar(sa.select(Panellist).order_by(Panellist.id)),
                                       erase_answers=True)
                    db.session.commit()

    monkeypatch.setattr(builds, "each_download", withdraw_after_the_first_file)
    with app.app_context():
        assert run_build(db.session.scalar(sa.select(ReportBuild.id))) is False
    assert build_rows(app) == (0, 0, 0)


def test_a_build_that_fails_says_so_and_can_be_tried_again(app, client, signed_in, monkeypatch):
    base = f"/studies/{signed_in}/reports"

    def broken(source):
        yield "report.html", b"<html>"
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(builds, "each_download", broken)
    prepare_downloads(client, signed_in)
    progress = client.get(f"{base}/build").get_data(as_text=True)
    assert status_text(progress) == f"Failed: {FAILED_MESSAGE}".replace("'", "&#39;")
    assert "disk on fire" not in progress and ">Try again</button>" in progress
    assert ">Try again</button>" in client.get(base).get_data(as_text=True)
    assert client.get(f"{base}/files/report.html").headers["Location"] == f"{base}/build"
    assert build_rows(app)[1:] == (0, 0)  # nothing half-built is kept

    monkeypatch.undo()
    prepare_downloads(client, signed_in)
    assert client.get(f"{base}/files/ratings.csv").data.startswith(b"round,panellist,")
    with app.app_context():
        build = db.session.scalar(sa.select(ReportBuild))
        assert (build.status, build.error, build.attempts) == (BuildStatus.ready, "", 1)


@pytest.mark.parametrize("path", ["", "/build", "/build.json", "/report", "/files/ratings.csv", "/all.zip"])
def test_people_outside_the_study_get_nothing(app, client, auth, make_user, signed_in, path):
    prepare_downloads(client, signed_in)
    auth.logout()
    url = f"/studies/{signed_in}/reports{path}"
    assert client.get(url).status_code == 302  # to the sign-in page
    assert client.post(f"/studies/{signed_in}/reports/build").status_code == 302
    make_user("outsider@example.org")
    auth.login("outsider@example.org")
    assert client.get(url).status_code == 404
    assert client.post(f"/studies/{signed_in}/reports/build").status_code == 404
    assert build_rows(app)[0] == 1


def test_two_workers_build_once(app, client, signed_in, queued_only):
    client.post(f"/studies/{signed_in}/reports/build")
    with app.app_context():
        build_id = db.session.scalar(sa.select(ReportBuild.id))
    results, barrier = [], threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(run_build(build_id))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    with app.app_context():
        build = db.session.get(ReportBuild, build_id)
        assert (build.status, build.attempts, build.files_done) == (BuildStatus.ready, 1, len(FILE_NAMES))
        assert run_build(build_id) is False  # ready: nothing left to do
    assert build_rows(app)[1] == len(FILE_NAMES)


def test_a_killed_workers_build_is_taken_over_after_its_lease(app, client, signed_in, queued_only):
    client.post(f"/studies/{signed_in}/reports/build")
    with app.app_context():
        build_id = db.session.scalar(sa.select(ReportBuild.id))
        assert claim_build(build_id) == 1  # a worker claims it, then is killed
        assert claim_build(build_id) is None and run_build(build_id) is False  # its lease holds
        later = utcnow() + timedelta(seconds=app.config["REPORT_BUILD_CLAIM_SECONDS"] + 1)
        assert run_build(build_id, now=later) is True
        assert db.session.get(ReportBuild, build_id).attempts == 2


def test_the_sweep_runs_a_build_whose_wake_up_was_lost_and_gives_up_after_the_last_try(app, client, signed_in,
                                                                                    queued_only):
    base = f"/studies/{signed_in}/reports"
    client.post(f"{base}/build")
    with app.app_context():
        build_due_reports.call_local()
        assert db.session.scalar(sa.select(ReportBuild.status)) is BuildStatus.ready
        build = db.session.scalar(sa.select(ReportBuild))
        build.status, build.attempts = BuildStatus.running, MAX_ATTEMPTS
        build.claimed_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        build_due_reports.call_local()
        assert db.session.scalar(sa.select(ReportBuild.status)) is BuildStatus.failed
    assert status_text(client.get(base).get_data(as_text=True)) == f"Failed: {GAVE_UP_MESSAGE}"


def test_data_changed_while_queued_are_built_as_they_are_when_the_build_runs(app, client, signed_in, queued_only):
    base = f"/studies/{signed_in}/reports"
    client.post(f"{base}/build")
    with app.app_context():
        _first_rating(3).comment = "Written while the build waited."
        db.session.commit()
        assert run_build(db.session.scalar(sa.select(ReportBuild.id))) is True
    assert b"Written while the build waited." in client.get(f"{base}/files/ratings.csv").data
