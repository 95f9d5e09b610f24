"""The researcher's download set through the Reports pages and `delphi report`, and the round trip through
`delphi analyse`: the exported ratings re-analysed give the same statistics.csv, byte for byte."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import openpyxl
import pyreadstat
import pytest
import sqlalchemy as sa

import analysis
from delphi.extensions import db
from delphi.models import Round, RoundResult, Statement
from delphi.services.reports import DOWNLOADS
from tests.reports.conftest import SIZES, prepare_downloads

NAMES = [d.name for d in DOWNLOADS]


@pytest.fixture
def files(client, auth, three_round_study):
    """Every file of the set, from the zip download (one build; single files are checked against it)."""
    auth.login("researcher@example.org")
    prepare_downloads(client, three_round_study)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/studies/{three_round_study}/reports/all.zip").data))
    return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def test_reports_page_lists_every_file_and_each_downloads(client, files, three_round_study):
    page = client.get(f"/studies/{three_round_study}/reports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name in NAMES:
        assert f"/studies/{three_round_study}/reports/files/{name}" in text
    assert list(files) == NAMES
    for name in NAMES:  # each file is served from the same kept build as the zip: the same bytes
        one = client.get(f"/studies/{three_round_study}/reports/files/{name}")
        assert one.status_code == 200 and one.data == files[name]
        assert one.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        assert one.headers["Content-Length"] == str(len(files[name]))
    shown = client.get(f"/studies/{three_round_study}/reports/report")
    assert shown.status_code == 200 and shown.data == files["report.html"]
    assert "'unsafe-inline'" not in shown.headers["Content-Security-Policy"]
    assert "style-src 'sha256-" in shown.headers["Content-Security-Policy"]


def test_round_trip_through_delphi_analyse_is_exact(files, runner, tmp_path, app, three_round_study):
    (tmp_path / "ratings.csv").write_bytes(files["ratings.csv"])
    (tmp_path / "protocol.toml").write_bytes(files["protocol.toml"])
    result = runner.invoke("analyse", str(tmp_path / "ratings.csv"), "--protocol", str(tmp_path / "protocol.toml"),
                           "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "statistics.csv").read_bytes() == files["statistics.csv"]
    assert (tmp_path / "out" / "consensus.csv").read_bytes() == files["consensus.csv"]
    assert "A ratings file does not say who was invited" in (tmp_path / "out" / "report.html").read_text()

    # ... and both equal the figures the app froze at each round close, where they are not withheld: peer support
    # workers (2) are under the minimum (5), family members (the next smallest) go with them, and equal_groups too.
    stats = {(int(r["round"]), r["statement"], r["scope"]): r for r in rows(files["statistics.csv"])}
    with app.app_context():
        frozen = db.session.execute(
            sa.select(Round.number, Statement.code, RoundResult).join(Round, Round.id == RoundResult.round_id)
            .join(Statement, Statement.id == RoundResult.statement_id)).all()
        assert len(frozen) == len(stats) == 3 * 5 * (len(SIZES) + 2)
        for number, code, result_row in frozen:
            row = stats[(number, code, result_row.scope)]
            if result_row.scope in ("peer", "family", "equal_groups"):
                assert row["verdict"] == "withheld" and set(row.values()) == {str(number), code, result_row.scope,
                                                                             "", "withheld"}
                continue
            assert int(row["n"]) == result_row.n and int(row["n_unable"]) == result_row.n_unable
            assert row["verdict"] == result_row.verdict.value
            for name in ("median", "iqr", "mean", "sd", "pct_agree"):
                value = getattr(result_row, name)
                assert (row[name] == "") if value is None else float(row[name]) == value


def test_ratings_are_anonymous_long_format(files, app, three_round_study):
    ratings = rows(files["ratings.csv"])
    assert list(ratings[0]) == ["round", "panellist", "group", "statement", "rating", "comment", "mode", "declined",
                                "arm"]
    assert {r["arm"] for r in ratings} == {""}  # no study within the study (issue 23)
    assert {r["mode"] for r in ratings} == {"web"}
    assert {r["declined"] for r in ratings} == {"false"}  # this study offers no "prefer not to answer"
    assert {r["round"] for r in ratings} == {"1", "2", "3"}
    assert all(r["panellist"].startswith("P-") for r in ratings)
    text = files["ratings.csv"].decode()
    assert "@" not in text.replace("'@SUM", "")  # no e-mail addresses
    assert any(r["rating"] == "" for r in ratings)  # unable to rate
    codebook = rows(files["codebook.csv"])
    assert {r["column"] for r in codebook if r["file"] == "ratings.csv"} >= set(ratings[0])
    statements = {r["code"]: r for r in rows(files["statements.csv"])}
    assert statements["HOPE-01"]["status"] == "retired" and "Agreed in round 1" in statements["HOPE-01"]["history"]
    assert "NEW-01" in statements and files["protocol.toml"].decode().count("[[statements]]") == 6


def test_workbook_json_sav_and_dta(files, tmp_path):
    book = openpyxl.load_workbook(io.BytesIO(files["results.xlsx"]))
    assert book.sheetnames == ["Methods", "statistics", "consensus", "rounds", "verdict_changes", "pairwise",
                               "statements", "reasons", "codebook"]
    sheet = book["statistics"]
    header = [c.value for c in sheet[1]]
    assert header == list(rows(files["statistics.csv"])[0])
    first = [c.value for c in sheet[2]]
    csv_first = rows(files["statistics.csv"])[0]
    assert isinstance(first[header.index("n")], int) and first[header.index("mean")] == float(csv_first["mean"])
    assert any("Consensus definition" == row[0].value for row in book["Methods"].iter_rows())
    document = json.loads(files["results.json"])
    assert len(document["statistics"]) == len(rows(files["statistics.csv"]))
    assert document["statements"][1]["text"].startswith("=HYPERLINK")  # JSON is not a spreadsheet

    ratings = rows(files["ratings.csv"])
    (tmp_path / "r.sav").write_bytes(files["ratings.sav"])
    frame, meta = pyreadstat.read_sav(str(tmp_path / "r.sav"), user_missing=True)
    assert meta.column_names_to_labels["rating"] == "Rating"
    assert meta.variable_value_labels["rating"][1.0] == "Not important"
    assert meta.variable_value_labels["rating"][99.0] == "Unable to rate"
    assert meta.missing_ranges["rating"] == [{"lo": 99.0, "hi": 99.0}]
    assert meta.variable_value_labels["group"][4.0] == "Peer support workers"
    assert len(frame) == len(ratings) and "comment" not in frame.columns  # in comments.sav
    expected = [99.0 if r["rating"] == "" else float(r["rating"]) for r in ratings]
    assert frame["rating"].tolist() == expected
    assert frame["panellist"].tolist() == [r["panellist"] for r in ratings]

    (tmp_path / "r.dta").write_bytes(files["ratings.dta"])
    frame, meta = pyreadstat.read_dta(str(tmp_path / "r.dta"), user_missing=True)
    assert meta.variable_value_labels["rating"]["a"] == "Unable to rate"
    assert meta.variable_value_labels["rating"][9] == "Critically important"
    assert meta.missing_user_values["rating"] == ["a"]
    assert [str(v) for v in frame["rating"]] == ["a" if r["rating"] == "" else r["rating"] for r in ratings]
    assert frame["group_key"].tolist() == [r["group"] for r in ratings]
    plain, _ = pyreadstat.read_dta(str(tmp_path / "r.dta"))
    assert plain["rating"].isna().sum() == sum(r["rating"] == "" for r in ratings)

    commented = [r for r in ratings if r["comment"]]
    assert commented  # the study has comments to carry
    for name in ("comments.sav", "comments.dta"):
        (tmp_path / name).write_bytes(files[name])
        read = pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta
        frame, meta = read(str(tmp_path / name))
        assert [(int(f.round), f.panellist, f.group_key, f.statement, f.comment) for f in frame.itertuples()] == [
            (int(r["round"]), r["panellist"], r["group"], r["statement"], r["comment"].removeprefix("'"))
            for r in commented]
        assert meta.variable_value_labels["group"][4.0] == "Peer support workers"


def test_delphi_report_writes_the_same_set(runner, files, tmp_path):
    result = runner.invoke("report", "1", "--out", str(tmp_path / "set"))
    assert result.exit_code == 0, result.output
    for name in NAMES:
        assert (tmp_path / "set" / name).exists()
    for name in ("ratings.csv", "statistics.csv", "consensus.csv", "codebook.csv", "statements.csv",
                 "protocol.toml", "report.html"):
        assert (tmp_path / "set" / name).read_bytes() == files[name], name
    missing = runner.invoke("report", "999", "--out", str(tmp_path / "x"))
    assert missing.exit_code != 0 and "no study 999" in missing.output


def test_report_numbers_match_analysis(files, app, three_round_study):
    from delphi.models import Study
    from delphi.services.reports import findings
    from delphi.services.reports.document import number
    from delphi.services.reports.source import source_from_study

    ratings = rows(files["ratings.csv"])
    html = files["report.html"].decode()
    with app.app_context():
        source = source_from_study(db.session.get(Study, three_round_study))
        views = findings.compute_rounds(source)
    scale = analysis.Scale()
    for view in views:
        k = view.number
        chosen = [r for r in ratings if r["round"] == str(k)]
        people = sorted({r["panellist"] for r in chosen})
        codes = [source.protocol.statements[c].code for c in view.columns]
        x = np.full((len(people), len(codes)), np.nan)
        for r in chosen:
            if r["rating"]:
                x[people.index(r["panellist"]), codes.index(r["statement"])] = int(r["rating"])
        w = analysis.kendalls_w(x)
        assert view.figures.kendalls_w.w == pytest.approx(w.w)
        assert f"<td class=\"num\">{number(w.w, 3)}</td>" in html
        assert f"<td class=\"num\">{number(analysis.krippendorff_alpha(x), 3)}</td>" in html
        summary = analysis.summarise(x, scale)
        for j, code in enumerate(codes):
            assert view.figures.summaries["overall"].pct_agree[j] == pytest.approx(summary.pct_agree[j])
    # The consensus table shows each statement's last-round overall median and % agreement.
    last = views[-1]
    code = "CHOICE-01"
    j = [source.protocol.statements[c].code for c in last.columns].index(code)
    s = last.figures.summaries["overall"]
    section = html[html.index('id="consensus-h"'):html.index('id="history-h"')]
    row = section[section.index(f'<th scope="row">{code}'):]
    row = row[:row.index("</tr>")]
    assert f'<td class="num">{number(float(s.median[j]))}</td>' in row
    assert f'<td class="num">{number(float(s.pct_agree[j]))}</td>' in row
    for section_id in ("methods", "flow", "consensus", "history", "divergence", "agreement", "sensitivity",
                       "attrition", "figures", "checklist"):
        assert f'id="{section_id}"' in html
    assert html.count('src="data:image/svg+xml;base64,') == 2
    assert "Delphi consensus platform version" in html
