"""Formula injection, small cells and access: what the download set must never do."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from delphi.extensions import db
from delphi.models import StudyRole
from delphi.services.csv_export import csv_text, csv_text_by_column, neutralise
from delphi.services.reports.source import RATINGS_COLUMNS
from tests.reports.conftest import build_three_round_study, prepare_downloads


@pytest.mark.parametrize("text, expected", [
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("-2+3", "'-2+3"), ("+1", "'+1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tTab", "'\tTab"), ("\rCR", "'\rCR"),
    ("plain", "plain"), ("", ""),
])
def test_text_that_starts_a_formula_is_neutralised(text, expected):
    assert neutralise(text) == expected


def test_numbers_stay_numbers_and_headers_are_neutralised():
    text = csv_text(["=cmd", "rating"], [["-2+3", -2], ["ok", -0.5]])
    assert text.splitlines() == ["'=cmd,rating", "'-2+3,-2", "ok,-0.5"]


TRICKY_TEXTS = ("=HYPERLINK(\"http://x\")", "-2+3", "+1", "@SUM(A1)", "\tTab", "\rCR", "a,b", 'say "hi"', "two\nlines",
                "x\r\ny", "Zoë ✓", "", " ", "'quoted'", "plain", "1", "-2", "true", "None", "\u2028")


@pytest.mark.parametrize("seed", range(8))
def test_the_column_wise_writer_writes_what_csv_text_writes(seed):
    """Byte for byte, on ratings rows (int, text, text, text, int or None, text or None) with tricky texts, and on
    columns that mix types: booleans ("true", not "True"), floats and NaN go through csv_cell."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def text():
        return str(rng.choice(TRICKY_TEXTS)) + str(rng.choice(["", "x", "=y"]))

    rows = [(int(rng.integers(1, 4)), text(), text(), text(), None if rng.random() < 0.2 else int(rng.integers(-3, 10)),
             None if rng.random() < 0.5 else text()) for _ in range(300)]
    assert csv_text_by_column(RATINGS_COLUMNS, rows) == csv_text(RATINGS_COLUMNS, rows)
    columns = [[1, True, None], [1, 2.5, float("nan"), -0.0], [None, False, -3], [np.int64(3), 2, np.float64(1.5)],
               [-(10 ** 30), 0, float("inf")], ["=1", 1, np.str_("=s"), None]]
    mixed = [tuple(c[rng.integers(len(c))] for c in columns) for _ in range(200)]
    assert csv_text_by_column(RATINGS_COLUMNS, mixed) == csv_text(RATINGS_COLUMNS, mixed)
    for odd in (rows[:5] + [(1, "=a"), ()] + rows[5:10], [(), ()], [(None,), ("",), (1,)], [[None, None]]):
        assert csv_text_by_column(["=h", "b"], odd) == csv_text(["=h", "b"], odd)
    assert csv_text_by_column(RATINGS_COLUMNS, iter(rows)) == csv_text(RATINGS_COLUMNS, rows)
    assert csv_text_by_column(RATINGS_COLUMNS, []) == csv_text(RATINGS_COLUMNS, []) == ",".join(RATINGS_COLUMNS) + "\n"


@pytest.fixture
def study_files(app, client, auth, make_user):
    user = make_user("researcher@example.org")
    with app.app_context():
        study_id = build_three_round_study(user)
    auth.login("researcher@example.org")
    import zipfile

    prepare_downloads(client, study_id)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/studies/{study_id}/reports/all.zip").data))
    return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_comments_and_statement_texts_cannot_run_as_formulas(study_files):
    for name in ("ratings.csv", "statements.csv", "codebook.csv", "statistics.csv", "consensus.csv"):
        for row in csv.reader(io.StringIO(study_files[name].decode(), newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
                assert not cell.startswith("-") or _is_number(cell), (name, cell)
    comments = {r["comment"] for r in csv.DictReader(io.StringIO(study_files["ratings.csv"].decode()))}
    assert {"'-2+3", "'@SUM(A1)"} <= comments  # (a leading tab is already stripped when saved)
    book = openpyxl.load_workbook(io.BytesIO(study_files["results.xlsx"]))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (sheet.title, cell.value)
                assert cell.data_type != "f"
    texts = [row[2].value for row in book["statements"].iter_rows(min_row=2)]
    assert '\'=HYPERLINK("http://evil.example","click")' in texts and "'-2+3 is how staff weigh risk." in texts


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_negative_numbers_stay_numeric_in_the_workbook():
    """Protocols keep scales at 0 or above, but numeric columns must never be mistaken for formulas: a negative
    figure stays a number, a text cell reading "-2+3" becomes text."""
    from delphi.services.analyse import STATISTICS_COLUMNS
    from delphi.services.reports.workbook import results_xlsx

    statistics = csv_text(STATISTICS_COLUMNS, [[1, "S01", "overall", 3, 0, -2.0, -2.5, -1.5, 1.0, -1.3333333333333333,
                                                0.5, 0.0, 33.3, 66.7, "none"]])
    texts = {"statistics.csv": statistics, "consensus.csv": csv_text(["round", "statement", "classification"], []),
             "statements.csv": csv_text(["code", "domain", "text"], [["S01", "", "-2+3"]]),
             "codebook.csv": csv_text(["file", "column"], [])}
    book = openpyxl.load_workbook(io.BytesIO(results_xlsx(texts, [("Scale", "=1+1")])))
    row = [c.value for c in book["statistics"][2]]
    assert row[5:9] == [-2.0, -2.5, -1.5, 1.0] and row[9] == pytest.approx(-4 / 3)  # xlsx keeps 15 digits
    assert book["statements"]["C2"].value == "'-2+3" and book["Methods"]["B2"].value == "'=1+1"


def test_a_group_of_two_under_a_minimum_of_five_is_withheld_and_not_derivable(app, study_files):
    """Peer support workers (2) are under the minimum (5); family members (5, the next smallest) are withheld too, so
    that the panel's figures minus the groups shown never give the peers' figures."""
    from delphi.models import Study
    from delphi.services.reports import findings
    from delphi.services.reports.source import source_from_study

    with app.app_context():
        source = source_from_study(db.session.get(Study, 1))
        views = findings.compute_rounds(source)
        results = findings.statement_results(source, views)
    for result in results:
        shown = {c.scope: c.shown for c in result.groups}
        assert shown == {"service_user": True, "family": False, "staff": True, "peer": False}
        assert all(c.n == 0 and c.pct_agree != c.pct_agree for c in result.groups if not c.shown)  # nothing kept
    html = study_files["report.html"].decode()
    section = html[html.index('id="consensus-h"'):html.index('id="history-h"')]
    assert section.count("withheld") >= len(results) * 2
    # Figure 1's text equivalent names the group but shows no figure for it.
    figure = html[html.index("Figure 1 as a table"):html.index('id="rounds-caption"')]
    for line in figure.split("<tr>"):
        if "Peer support workers" in line:
            assert "withheld" in line and "class=\"num\"" not in line
    # The researcher's raw file keeps the small group, and the report says the raw files are not suppressed.
    assert b",peer," in study_files["ratings.csv"]
    assert "are not suppressed" in html


@pytest.mark.parametrize("path", ["", "/report", "/files/ratings.csv", "/all.zip"])
def test_only_the_study_team_gets_in(app, client, auth, make_user, make_study, path):
    outsider = make_user("outsider@example.org")
    owner = make_user("owner@example.org")
    other_study = make_study(members={outsider: StudyRole.owner})
    study_id = make_study(members={owner: StudyRole.owner})
    url = f"/studies/{study_id}/reports{path}"
    assert client.get(url).status_code == 302  # to the sign-in page
    auth.login("outsider@example.org")
    assert client.get(url).status_code == 404
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 404
    prepare_downloads(client, other_study)
    other = client.get(f"/studies/{other_study}/reports{path}")
    assert other.status_code == 200 and other.data  # a file is streamed: read to its end
    auth.logout()
    auth.login("owner@example.org")
    prepare_downloads(client, study_id)
    response = client.get(url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store" and response.data
    assert client.post(url).status_code == 405
    assert client.get(f"/studies/{study_id}/reports/files/secrets.txt").status_code == 404


def test_facilitators_and_researchers_may_read_reports(client, auth, make_user, make_study):
    facilitator = make_user("f@example.org")
    researcher = make_user("r@example.org")
    study_id = make_study(members={facilitator: StudyRole.facilitator, researcher: StudyRole.researcher})
    for email in ("f@example.org", "r@example.org"):
        auth.login(email)
        assert client.get(f"/studies/{study_id}/reports").status_code == 200
        auth.logout()


def test_a_lone_carriage_return_in_a_comment_does_not_break_the_ratings_file(app, client, auth, make_user):
    """csv.writer leaves a cell with a lone CR unquoted, and every reader ends the row there: one comment sent with
    a bare CR (a browser sends CRLF, any other client may not) made the study's ratings.csv unreadable, and the
    report, read back from it, failed. The CR is written as a CRLF line break inside a quoted cell."""
    from delphi.models import Rating

    assert csv_text(["comment"], [["one\rtwo"], ["\rCR"], ["keep\r\nthis"]]) == \
        'comment\n"one\r\ntwo"\n"\'\r\nCR"\n"keep\r\nthis"\n'
    user = make_user("researcher@example.org")
    with app.app_context():
        study_id = build_three_round_study(user)
        ratings = db.session.scalars(db.select(Rating).where(Rating.value.is_not(None)).order_by(Rating.id)).all()
        ratings[0].comment, ratings[1].comment = "first line\rsecond line", "\r=1+1"
        db.session.commit()
    auth.login("researcher@example.org")
    prepare_downloads(client, study_id)
    shown = client.get(f"/studies/{study_id}/reports/report")
    assert shown.status_code == 200
    text = client.get(f"/studies/{study_id}/reports/files/ratings.csv").data.decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert {len(row) for row in rows} == {len(RATINGS_COLUMNS)}
    comments = [row[RATINGS_COLUMNS.index("comment")] for row in rows]
    assert "first line\r\nsecond line" in comments and "'\r\n=1+1" in comments
