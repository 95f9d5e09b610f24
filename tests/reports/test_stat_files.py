"""The SPSS and Stata files are made from ``ratings.csv`` parsed by pandas' C reader (ten times faster than the csv
module at 2,000,000 ratings); it must read the app's own file cell for cell as the csv module does."""
from __future__ import annotations

import csv
import io

import pytest

from delphi.protocol import load_protocol
from delphi.services.formulas import csv_text
from delphi.services.reports.source import RATINGS_COLUMNS
from delphi.services.reports.stat_files import ratings_frame

PROTOCOL = load_protocol('title = "t"\n[[groups]]\nkey = "staff"\nname = "Staff"\n[[groups]]\nkey = "peer"\n'
                         'name = "Peer workers"\n[[statements]]\ncode = "S1"\ndomain = "d"\ntext = "x"\n')
AWKWARD = ["", "plain", "a, b", 'said "no"', "two\nlines", " leading and trailing ",
           "=SUM(A1)", "-2+3", "'quoted'", "ünïcödé ✓", "#N/A", "NaN", "null", "007", ",", '"', "\t"]


@pytest.mark.parametrize("awkward", [AWKWARD, AWKWARD + ["windows\r\nline", "lone\rcr", "\r"]],
                         ids=["pandas", "carriage return"])
def test_the_frame_holds_what_the_csv_module_reads_from_the_apps_own_file(awkward):
    rows = [(1 + i % 2, name, "staff" if i % 3 else "peer", "S1", None if i % 5 == 0 else 1 + i % 9, comment)
            for i, (name, comment) in enumerate(zip(["P" + a for a in awkward] + ["007", "NaN"],
                                                    awkward + ["x", "y"]))]
    text = csv_text(RATINGS_COLUMNS, rows)
    expected = list(csv.DictReader(io.StringIO(text, newline="")))
    frame = ratings_frame(text, PROTOCOL)
    assert len(frame) == len(expected) == len(rows)
    assert frame["panellist"].tolist() == [r["panellist"] for r in expected]
    assert frame["group_key"].tolist() == [r["group"] for r in expected]
    assert frame["group"].tolist() == [2.0 if r["group"] == "peer" else 1.0 for r in expected]
    assert frame["round"].tolist() == [float(r["round"]) for r in expected]
    assert frame["rating"].tolist() == [None if r["rating"] == "" else int(r["rating"]) for r in expected]
    # The CSV's apostrophe against spreadsheet formulas is taken off again: SPSS and Stata show text as text.
    assert frame["comment"].tolist() == [c[1:] if c.startswith("'") else c for c in (r["comment"] for r in expected)]
    assert "two\nlines" in frame["comment"].tolist() and "=SUM(A1)" in frame["comment"].tolist()


def test_a_file_with_no_ratings_gives_an_empty_frame_with_text_columns():
    frame = ratings_frame(csv_text(RATINGS_COLUMNS, []), PROTOCOL)
    assert len(frame) == 0 and list(frame.columns) == ["round", "panellist", "group", "group_key", "statement",
                                                       "rating", "comment"]
