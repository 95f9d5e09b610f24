"""The SPSS and Stata files are made from ``ratings.csv`` parsed by pandas' C reader (ten times faster than the csv
module at 2,000,000 ratings); it must read the app's own file cell for cell as the csv module does."""
from __future__ import annotations

import csv
import io

import pyreadstat
import pytest

from delphi.protocol import load_protocol
from delphi.services.csv_export import csv_text
from delphi.services.reports.source import RATINGS_COLUMNS
from delphi.services.reports.stat_files import comments_dta, comments_sav, ratings_dta, ratings_frame, ratings_sav

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


def _read(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return (pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta)(str(path), user_missing=True)


def _ratings_text(comments: dict[int, str], n: int = 2000) -> str:
    return csv_text(RATINGS_COLUMNS, [(1, f"P{i // 10:03d}", "staff" if i % 2 else "peer", "S1", 1 + i % 9,
                                       comments.get(i, "")) for i in range(n)])


@pytest.mark.parametrize("length, words", [(2000, "Recovery means my own goals. "),
                                           (5000, "Recovery means my own goals, ünïcödé ✓. ")],
                         ids=["2,000 bytes: a fixed-width Stata text", "5,000 characters, the most a panellist may write"])
def test_a_long_comment_is_kept_whole_in_the_comment_files_and_does_not_widen_the_rating_files(tmp_path, length,
                                                                                               words):
    """SPSS and Stata write a text column as wide as its longest value in every row: with the comments in the rating
    files, one 5,000-character comment made ``ratings.sav`` 2 GB at 200,000 ratings."""
    long = (words * 200)[:length - 1] + "."  # SPSS drops trailing spaces
    plain = _ratings_text({3: "short", 1500: "'=quoted"})
    wide = _ratings_text({3: "short", 1500: "'=quoted", 7: long})
    for write in (ratings_sav, ratings_dta):
        assert len(write(wide, PROTOCOL)) == len(write(plain, PROTOCOL)) < 100_000
    frame, meta = _read(tmp_path, "ratings.sav", ratings_sav(wide, PROTOCOL))
    assert "comment" not in frame.columns and len(frame) == 2000

    expected = [r for r in csv.DictReader(io.StringIO(wide, newline="")) if r["comment"]]
    for name, write in (("comments.sav", comments_sav), ("comments.dta", comments_dta)):
        content = write(wide, PROTOCOL)
        assert len(content) < 60_000, (name, len(content))  # three rows
        frame, meta = _read(tmp_path, name, content)
        assert list(frame.columns) == ["round", "panellist", "group", "group_key", "statement", "comment", "reason"]
        assert frame["comment"].tolist() == ["short", long, "=quoted"]  # whole; the spreadsheet guard taken off
        assert frame["panellist"].tolist() == [r["panellist"] for r in expected]
        assert frame["statement"].tolist() == ["S1"] * 3 and frame["round"].tolist() == [1.0] * 3
        assert frame["group"].tolist() == [1.0 if r["group"] == "staff" else 2.0 for r in expected]
        assert meta.variable_value_labels["group"] == {1: "Staff", 2: "Peer workers"}
        assert meta.column_names_to_labels["comment"] == "Comment"


def test_a_study_without_comments_gives_comment_files_with_no_rows(tmp_path):
    for name, write in (("comments.sav", comments_sav), ("comments.dta", comments_dta)):
        frame, _ = _read(tmp_path, name, write(_ratings_text({}, n=20), PROTOCOL))
        assert len(frame) == 0 and "comment" in frame.columns


def test_reasons_for_change_join_the_comment_files_in_the_ratings_order(tmp_path):
    """A reason for changing a rating sits beside that rating's comment, and a rating with a reason and no comment
    gets its own row; rows keep the ratings file's order (by pseudonym and statement), never the order written."""
    comments = {3: "short", 10: "also"}
    text = csv_text(RATINGS_COLUMNS, [(1 + i // 10, f"P{i % 10:03d}", "staff" if i % 2 else "peer", "S1", 1 + i % 9,
                                       comments.get(i, "")) for i in range(20)])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    # Given in reverse order: the files must not follow it.
    reasons = [(int(rows[i]["round"]), rows[i]["panellist"], rows[i]["group"], rows[i]["statement"], reason)
               for i, reason in ((10, "heard the others"), (5, "changed my mind"))]
    for name, write in (("comments.sav", comments_sav), ("comments.dta", comments_dta)):
        frame, meta = _read(tmp_path, name, write(text, PROTOCOL, None, reasons))
        assert frame["panellist"].tolist() == [rows[i]["panellist"] for i in (3, 5, 10)]
        assert frame["comment"].tolist() == ["short", "", "also"]
        assert frame["reason"].tolist() == ["", "changed my mind", "heard the others"]
        assert meta.column_names_to_labels["reason"] == "Reason given for changing the rating"
