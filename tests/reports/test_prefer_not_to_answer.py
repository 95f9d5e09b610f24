""""Prefer not to answer" (issue 22) is counted apart from "unable to rate" in every table and file, and in no figure
(not even in a denominator when "unable to rate" is): the figures stored at the close, statistics.csv, the workbook,
the JSON, the report, ratings.csv with its codebook and the SPSS/Stata files; ``delphi analyse`` of the exported
ratings gives the stored figures again."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import openpyxl
import pyreadstat
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Rating, RoundResult
from delphi.protocol import load_protocol
from delphi.services.analyse import RatingsFileError, analyse, read_ratings_text
from delphi.services.ratings_import import read_ratings_file

PROTOCOL = """
title = "Declined"
min_group_feedback = 1
[scale]
min = 1
max = 9
unable_to_rate = true
prefer_not_to_answer = {offered}
[consensus]
include = "pct_agree >= 70"
exclude = "pct_disagree >= 70"
scope = "overall"
unable_in_denominator = true
[[groups]]
key = "staff"
name = "Staff"
[[statements]]
code = "S1"
text = "A statement"
[[statements]]
code = "S2"
text = "Another statement"
"""
# S1: eight agree, two disagree, four unable to rate, three prefer not to answer. With unable in the denominator:
# 8 of 14 = 57.1% agree; were "prefer not to answer" counted too it would be 8 of 17 = 47.1%.
ANSWERS = [8] * 8 + [2] * 2 + ["unable"] * 4 + ["declined"] * 3
RATINGS = "round,panellist,group,statement,rating,declined\n" + "".join(
    f"1,P{i:02d},staff,S1,{'' if a in ('unable', 'declined') else a},{'true' if a == 'declined' else 'false'}\n"
    for i, a in enumerate(ANSWERS)) + "".join(f"1,P{i:02d},staff,S2,5,false\n" for i in range(len(ANSWERS)))


def _protocol(offered: bool = True):
    return load_protocol(PROTOCOL.format(offered="true" if offered else "false"))


def _overall(rows, code="S1"):
    (row,) = [r for r in rows if r["scope"] == "overall" and r["statement"] == code]
    return row


def test_a_ratings_file_counts_it_apart_and_never_in_the_denominator():
    protocol = _protocol()
    long = read_ratings_text(RATINGS, ["staff"], ["S1", "S2"], protocol.scale)
    assert long.declined[1][:, 0].sum() == 3 and long.unable[1][:, 0].sum() == 4
    statistics, _ = analyse(long, protocol)
    row = _overall(statistics)
    assert (row["n"], row["n_unable"], row["n_declined"]) == (10, 4, 3)
    assert float(row["pct_agree"]) == pytest.approx(800 / 14, abs=1e-9)
    assert list(row)[-1] == "n_declined"  # appended: the spec's columns keep their order
    assert _overall(statistics, "S2")["n_declined"] == 0


def test_a_file_with_declined_answers_is_refused_when_the_protocol_does_not_offer_it():
    with pytest.raises(RatingsFileError) as refused:
        read_ratings_text(RATINGS, ["staff"], ["S1", "S2"], _protocol(offered=False).scale)
    assert "does not allow \"prefer not to answer\"" in refused.value.errors[0]
    broken = RATINGS.replace("1,P14,staff,S1,,true", "1,P14,staff,S1,4,true")
    with pytest.raises(RatingsFileError) as refused:
        read_ratings_text(broken, ["staff"], ["S1", "S2"], _protocol().scale)
    assert "declined is true, so the rating must be empty, not '4'" in refused.value.errors[0]


def test_the_importer_reads_declined_codes(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("panellist,group,S1,S2\nA,staff,8,PNA\nB,staff,X,7\nC,staff,PNA,PNA\n", encoding="utf-8")
    long = read_ratings_file(path, _protocol(), unable=("X",), declined=("PNA",)).long
    assert long.declined[1].tolist() == [[False, True], [False, False], [True, True]]
    assert long.unable[1].tolist() == [[False, False], [True, False], [False, False]]
    row = _overall(analyse(long, _protocol())[0], "S2")
    assert (row["n"], row["n_unable"], row["n_declined"]) == (1, 0, 2)


def test_every_file_counts_it_and_delphi_analyse_of_the_export_gives_the_stored_figures(app, tmp_path):
    from delphi.services.panel import add_panellists
    from delphi.services.reports import build_downloads
    from delphi.services.rounds import close_round, open_next_round
    from delphi.services.studies import create_study

    with app.app_context():
        study = create_study(_protocol())
        added = add_panellists(study, [(study.groups[0], None, None)] * len(ANSWERS))
        round_ = open_next_round(study)
        s1, s2 = (rs.statement_id for rs in round_.statements)
        for (panellist, _), answer in zip(added, ANSWERS):
            db.session.add(Rating(panellist_id=panellist.id, round_id=round_.id, statement_id=s1,
                                  value=answer if isinstance(answer, int) else None,
                                  unable_to_rate=answer == "unable", declined=answer == "declined"))
            db.session.add(Rating(panellist_id=panellist.id, round_id=round_.id, statement_id=s2, value=5))
        db.session.flush()
        close_round(round_)
        db.session.commit()
        stored = db.session.scalar(sa.select(RoundResult).where(RoundResult.statement_id == s1,
                                                                RoundResult.scope == "overall"))
        assert (stored.n, stored.n_unable, stored.n_declined) == (10, 4, 3)
        assert stored.pct_agree == pytest.approx(800 / 14, abs=1e-9)
        files = build_downloads(study)

    statistics = list(csv.DictReader(io.StringIO(files["statistics.csv"].decode())))
    row = _overall(statistics)
    assert (row["n"], row["n_unable"], row["n_declined"]) == ("10", "4", "3")
    # delphi analyse of the exported ratings.csv gives every row again.
    ratings_text = files["ratings.csv"].decode()
    ratings = list(csv.DictReader(io.StringIO(ratings_text)))
    assert sum(r["declined"] == "true" and r["rating"] == "" for r in ratings) == 3
    assert sum(r["declined"] == "false" and r["rating"] == "" for r in ratings) == 4
    long = read_ratings_text(ratings_text, ["staff"], ["S1", "S2"], _protocol().scale)
    again = analyse(long, _protocol())[0]
    assert [{k: str(v) for k, v in r.items()} for r in again] == statistics
    (tmp_path / "ratings.csv").write_text(ratings_text, encoding="utf-8")
    from_file = analyse(read_ratings_file(tmp_path / "ratings.csv", _protocol()).long, _protocol())[0]
    assert [{k: str(v) for k, v in r.items()} for r in from_file] == statistics

    book = openpyxl.load_workbook(io.BytesIO(files["results.xlsx"]))
    header = [c.value for c in book["statistics"][1]]
    sheet_rows = [dict(zip(header, (c.value for c in r))) for r in book["statistics"].iter_rows(min_row=2)]
    assert _overall(sheet_rows)["n_declined"] == 3
    assert _overall(json.loads(files["results.json"])["statistics"])["n_declined"] == 3

    report = files["report.html"].decode()
    assert '<th scope="col" class="num">Prefer not to answer</th>' in report
    assert "reported separately (n_declined) and count in no statistic, not even in a denominator" in report

    codebook = list(csv.DictReader(io.StringIO(files["codebook.csv"].decode())))
    assert any(r["file"] == "ratings.csv" and r["column"] == "declined" and r["code"] == "true" for r in codebook)
    assert any(r["file"] == "statistics.csv" and r["column"] == "n_declined" for r in codebook)

    (tmp_path / "r.sav").write_bytes(files["ratings.sav"])
    frame, meta = pyreadstat.read_sav(str(tmp_path / "r.sav"), user_missing=True)
    assert meta.variable_value_labels["rating"][98.0] == "Prefer not to answer"
    assert {"lo": 98.0, "hi": 98.0} in meta.missing_ranges["rating"]
    assert (frame["rating"] == 98.0).sum() == 3 and (frame["rating"] == 99.0).sum() == 4
    (tmp_path / "r.dta").write_bytes(files["ratings.dta"])
    frame, meta = pyreadstat.read_dta(str(tmp_path / "r.dta"), user_missing=True)
    assert meta.variable_value_labels["rating"]["b"] == "Prefer not to answer"
    assert [str(v) for v in frame["rating"]].count("b") == 3
    assert np.isnan(pyreadstat.read_sav(str(tmp_path / "r.sav"))[0]["rating"]).sum() == 7


def test_delphi_analyse_takes_declined_codes(tmp_path):
    from click.testing import CliRunner

    from delphi.cli import main

    (tmp_path / "protocol.toml").write_text(PROTOCOL.format(offered="true"), encoding="utf-8")
    ratings = tmp_path / "wide.csv"
    ratings.write_text("panellist,group,S1,S2\nA,staff,8,PNA\nB,staff,X,7\nC,staff,PNA,PNA\n", encoding="utf-8")
    args = ["analyse", str(ratings), "--protocol", str(tmp_path / "protocol.toml"), "--out", str(tmp_path / "out"),
            "--unable", "X"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0 and "'PNA' is not a rating" in refused.output
    result = CliRunner().invoke(main, [*args, "--declined", "PNA"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "statistics.csv").read_text(encoding="utf-8"))))
    assert [(_overall(rows, c)["n"], _overall(rows, c)["n_unable"], _overall(rows, c)["n_declined"])
            for c in ("S1", "S2")] == [("1", "1", "1"), ("1", "0", "2")]
