"""delphi analyse: the ratings file is read, refused with line numbers when bad, and its figures are those of the
analysis functions. The protocol is a SimpleNamespace with the fields of delphi.protocol.Protocol."""
import csv
import io
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import analysis
from delphi.services.analyse import (
    REQUIRED_COLUMNS, RatingsFileError, _read_ratings_by_column, _read_ratings_by_line, analyse, analyse_file,
    analysis_scale, read_ratings_csv, read_ratings_text,
)

DATA = Path(__file__).parent / "data" / "ratings_3rounds.csv"
GROUPS = ("service_user", "family", "staff", "peer")
STATEMENTS = ("HOPE-01", "HOPE-02", "CHOICE-01", "CHOICE-02")


def make_protocol(scope="each_group", unable_to_rate=True, include="pct_agree >= 70 and pct_disagree < 15"):
    return SimpleNamespace(
        title="Recovery", language="en", max_rounds=3, min_group_feedback=1,  # nothing withheld: every figure checked
        scale=SimpleNamespace(min=1, max=9, unable_to_rate=unable_to_rate, labels={}),
        consensus=SimpleNamespace(agree=(7, 9), disagree=(1, 3), scope=scope, include=include,
                                  exclude="pct_disagree >= 70 and pct_agree < 15", stable_change=15.0,
                                  quantile_method="linear", unable_in_denominator=False),
        groups=tuple(SimpleNamespace(key=k, name=k.title()) for k in GROUPS),
        statements=tuple(SimpleNamespace(code=c, domain="", text=c) for c in STATEMENTS),
    )


def plain_rows():
    """The fixture read with the csv module alone, as an independent check of the matrices."""
    with open(DATA, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def independent_matrix(rows, round_number):
    panellists = sorted({r["panellist"] for r in rows})
    x = np.full((len(panellists), len(STATEMENTS)), np.nan)
    groups = {r["panellist"]: r["group"] for r in rows}
    for r in rows:
        if int(r["round"]) == round_number and r["rating"]:
            x[panellists.index(r["panellist"]), STATEMENTS.index(r["statement"])] = int(r["rating"])
    return x, np.array([groups[p] for p in panellists])


@pytest.mark.parametrize("scope", ["overall", "each_group", "equal_groups"])
def test_outputs_match_the_analysis_functions(tmp_path, scope):
    protocol = make_protocol(scope)
    written = analyse_file(DATA, protocol, tmp_path)
    assert [p.name for p in written] == ["statistics.csv", "consensus.csv", "report.html"]
    with open(tmp_path / "statistics.csv", newline="") as handle:
        stats_rows = list(csv.DictReader(handle))
    with open(tmp_path / "consensus.csv", newline="") as handle:
        consensus_rows = list(csv.DictReader(handle))
    assert len(stats_rows) == 3 * 4 * (len(GROUPS) + 2) and len(consensus_rows) == 3 * 4
    assert list(stats_rows[0]) == ["round", "statement", "scope", "n", "n_unable", "median", "q1", "q3", "iqr",
                                   "mean", "sd", "pct_agree", "pct_neutral", "pct_disagree", "verdict",
                                   "p30", "p70", "ipr", "iprcp", "ipras", "disagreement", "appropriateness",
                                   "rwg", "ad", "cv", "agree_ci_low", "agree_ci_high",
                                   "median_boot_low", "median_boot_high", "agree_boot_low", "agree_boot_high",
                                   "n_pairs", "pct_changed", "pct_change", "stable", "delta_pct_agree", "wilcoxon_v",
                                   "wilcoxon_p", "kw_h", "kw_df", "kw_p", "kw_p_holm", "kw_p_bh",
                                   "kw_epsilon_squared", "n_declined"]
    rows = plain_rows()
    scale = analysis_scale(protocol)
    for k in (1, 2, 3):
        x, groups = independent_matrix(rows, k)
        expected = {"overall": analysis.summarise(x, scale),
                    "equal_groups": analysis.summarise_equal_groups(x, groups, scale)}
        expected.update({g: analysis.summarise(x[groups == g], scale) for g in GROUPS})
        classification = analysis.classify(x, groups, scale, protocol.consensus.include,
                                           protocol.consensus.exclude, scope=scope)
        for j, code in enumerate(STATEMENTS):
            for name, summary in expected.items():
                (row,) = [r for r in stats_rows if (r["round"], r["statement"], r["scope"]) == (str(k), code, name)]
                assert int(row["n"]) == summary.n[j]
                for field in ("median", "q1", "iqr", "mean", "sd", "pct_agree", "pct_disagree"):
                    value = getattr(summary, field)[j]
                    if np.isnan(value):
                        assert row[field] == ""
                    else:
                        assert float(row[field]) == pytest.approx(value, abs=1e-12)
                # The figures after the verdict (cli.md), each against its own analysis function on the scope's rows.
                part = x if name in ("overall", "equal_groups") else x[groups == name]
                independent = {"cv": summary.cv[j], "agree_ci_low": summary.agree_ci_low[j],
                               "agree_ci_high": summary.agree_ci_high[j]}
                if name != "equal_groups":
                    ru = analysis.rand_ucla(part)
                    independent.update({f: getattr(ru, f)[j] for f in ("p30", "p70", "ipr", "iprcp", "ipras")},
                                       rwg=analysis.rwg(part, scale)[j], ad=analysis.average_deviation(part)[j])
                    assert row["disagreement"] == (("true" if ru.disagreement[j] else "false") if summary.n[j]
                                                   else "")  # no ratings: neither disagreement nor its absence
                    assert row["appropriateness"] == ru.appropriateness[j]
                else:
                    assert all(row[f] == "" for f in ("p30", "ipr", "disagreement", "appropriateness", "rwg", "ad"))
                for field, value in independent.items():
                    assert (row[field] == "") if np.isnan(value) else (
                        float(row[field]) == pytest.approx(value, abs=1e-12)), (k, code, name, field)
                unable = sum(1 for r in rows if r["round"] == str(k) and r["statement"] == code and not r["rating"]
                             and (name in ("overall", "equal_groups") or r["group"] == name))
                assert int(row["n_unable"]) == unable
            (row,) = [r for r in consensus_rows if (r["round"], r["statement"]) == (str(k), code)]
            assert row["classification"] == classification[j]


def test_full_precision_and_empty_for_nan(tmp_path):
    analyse_file(DATA, make_protocol(), tmp_path)
    text = (tmp_path / "statistics.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert any(len(r["sd"]) > 10 for r in rows)  # e.g. 1.3416407864998738, not rounded
    assert all(r["median"] == "" for r in rows if r["scope"] == "equal_groups")
    assert all(r["n"].isdigit() for r in rows)


def test_long_ratings_shape_and_stability_rows():
    long = read_ratings_csv(DATA, GROUPS, STATEMENTS, make_protocol().scale)
    assert long.rounds == (1, 2, 3) and len(long.panellists) == 12 and long.ratings[3].shape == (12, 4)
    assert np.isnan(long.ratings[3][long.panellists.index("P05")]).all()  # absent from round 3
    assert long.unable[1].sum() + long.unable[2].sum() + long.unable[3].sum() == sum(
        1 for r in plain_rows() if not r["rating"])
    statistics, consensus = analyse(long, make_protocol())
    assert {r["verdict"] for r in statistics} <= {"in", "out", "none"}


HEADER = "round,panellist,group,statement,rating\n"


@pytest.mark.parametrize("body, message", [
    ("1,P1,staff,HOPE-01,7\n1,P2,nurses,HOPE-01,7\n", "line 3: unknown group 'nurses'"),
    ("1,P1,staff,HOPE-01,7\n1,P1,staff,HOPE-99,7\n", "line 3: unknown statement 'HOPE-99'"),
    ("1,P1,staff,HOPE-01,10\n", "line 2: rating 10 is off the scale 1-9"),
    ("1,P1,staff,HOPE-01,0\n", "line 2: rating 0 is off the scale 1-9"),
    ("1,P1,staff,HOPE-01,7.5\n", "line 2: rating '7.5' is not a whole number"),
    ("1,P1,staff,HOPE-01,seven\n", "line 2: rating 'seven' is not a whole number"),
    ("1,P1,staff,HOPE-01,7\n1,P2,staff,HOPE-01,7\n1,P1,staff,HOPE-01,8\n",
     "line 4: panellist 'P1' rated statement 'HOPE-01' twice in round 1 \\(first on line 2\\)"),
    ("1,P1,staff,HOPE-01,7\n1,P1,peer,HOPE-02,7\n",
     "line 3: panellist 'P1' is in group 'peer' here but in group 'staff' on line 2"),
    ("one,P1,staff,HOPE-01,7\n", "line 2: round 'one' is not a whole number"),
    ("0,P1,staff,HOPE-01,7\n", "line 2: round '0' is not a whole number"),
    ("1,,staff,HOPE-01,7\n", "line 2: the panellist pseudonym is empty"),
])
def test_bad_files_give_the_line_number(tmp_path, body, message):
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_csv(path, GROUPS, STATEMENTS, make_protocol().scale)
    assert any(re.search(message, m) for m in caught.value.errors), caught.value.errors


def test_unable_to_rate_refused_when_the_protocol_disallows_it(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + "1,P1,staff,HOPE-01,7\n1,P1,staff,HOPE-02,\n", encoding="utf-8")
    with pytest.raises(RatingsFileError, match="line 3: the rating is empty"):
        read_ratings_csv(path, GROUPS, STATEMENTS, make_protocol(unable_to_rate=False).scale)


@pytest.mark.parametrize("content, message", [
    ("panellist,group,statement,rating\n1,2,3,4\n", "line 1: missing column\\(s\\) round"),
    ("", "the file is empty"),
    (HEADER, "no ratings"),
])
def test_unusable_files(tmp_path, content, message):
    path = tmp_path / "ratings.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RatingsFileError, match=message):
        read_ratings_csv(path, GROUPS, STATEMENTS, make_protocol().scale)


def test_not_utf8(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(HEADER.encode() + "1,Pø,staff,HOPE-01,7\n".encode("latin-1"))
    with pytest.raises(RatingsFileError, match="not UTF-8"):
        read_ratings_csv(path, GROUPS, STATEMENTS, make_protocol().scale)


def test_every_problem_is_listed_and_capped(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + "".join(f"1,P{i},staff,HOPE-01,12\n" for i in range(80)), encoding="utf-8")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_csv(path, GROUPS, STATEMENTS, make_protocol().scale)
    assert len(caught.value.errors) == 51 and caught.value.errors[-1] == "... and 30 more problem(s)"
    assert caught.value.errors[0].startswith("line 2:") and caught.value.errors[49].startswith("line 51:")


def test_nothing_is_written_for_a_bad_file(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + "1,P1,staff,HOPE-01,12\n", encoding="utf-8")
    with pytest.raises(RatingsFileError):
        analyse_file(path, make_protocol(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# The column-wise reading (the app reads its own export of millions of ratings with it) against the line-by-line one,
# which words the problems: for any file, the same arrays bit for bit, or the same refusal.

NAMES = ("P01", "Ann O'Neil", 'say "hi"', "a,b", "=SUM(A1)", "-7", "Zoë", "p 7", "'quoted'", "x\ty", "P10", "P2")
RATING_TEXTS = ("{}", " {} ", "{}.0", "{}e0", "+{}", "0{}", "{}.", " {}.00\t")
ROUND_TEXTS = ("{}", " {}", "{}.0", "{}e0")


def pad(rng, text):
    return rng.choice(["", " ", "  "]) + text + rng.choice(["", " ", "\t"])


def well_formed(rng, unable=True):
    """A random well-formed file: header (required columns in any order, with extra columns, a second "rating" column
    that is not read) and rows (cells padded, numbers written many ways, rows in any order)."""
    columns = list(REQUIRED_COLUMNS) + list(rng.choice(["comment", "rating", "note"], size=rng.integers(0, 3)))
    rng.shuffle(columns)
    if rng.random() < 0.5:
        columns = [c for c in columns if c not in REQUIRED_COLUMNS or c == "rating"] + list(REQUIRED_COLUMNS)
    people = list(rng.choice(NAMES, size=rng.integers(1, len(NAMES)), replace=False))
    group_of = {p: str(rng.choice(GROUPS)) for p in people}
    rounds = sorted(int(k) for k in rng.choice([1, 2, 3, 5, 12], size=rng.integers(1, 4), replace=False))
    rows = []
    for k in rounds:
        for p in people:
            for code in rng.choice(STATEMENTS, size=rng.integers(0, len(STATEMENTS) + 1), replace=False):
                empty = unable and rng.random() < 0.15
                cells = {"round": str(rng.choice(ROUND_TEXTS)).format(k), "panellist": pad(rng, p),
                         "group": pad(rng, group_of[p]), "statement": pad(rng, str(code)),
                         "rating": str(rng.choice(["", "  "])) if empty
                         else str(rng.choice(RATING_TEXTS)).format(rng.integers(1, 10)),
                         "comment": str(rng.choice(["", "fine, really", 'a "quote"', "two\nlines", "=1+2", "x\r\ny"])),
                         "note": str(rng.choice(["", "n"]))}
                # the first of two same-named columns is the one read
                rows.append([cells[c] if columns.index(c) == n else str(rng.integers(1, 10))
                             for n, c in enumerate(columns)])
    order = rng.permutation(len(rows))
    return columns, [rows[i] for i in order]


def to_text(rng, columns, rows, blank_lines=False):
    """The file's text: CSV quoting, ``\\n`` or ``\\r\\n`` line ends, maybe a byte-order mark and empty lines."""
    end = str(rng.choice(["\n", "\r\n"]))
    records = []
    for row in [[pad(rng, name) for name in columns]] + rows:
        handle = io.StringIO(newline="")
        csv.writer(handle, lineterminator=end).writerow(row)
        records.append(handle.getvalue())
    if blank_lines:
        for _ in range(rng.integers(1, 4)):
            records.insert(rng.integers(1, len(records) + 1), end)
    return ("\ufeff" if rng.random() < 0.3 else "") + "".join(records)


def outcome(read, source, unable):
    """What a reading gives: the arrays as bytes (NaN positions and all), or the refusal's messages."""
    try:
        long = read(source, GROUPS, STATEMENTS, SimpleNamespace(min=1, max=9, unable_to_rate=unable))
    except RatingsFileError as refused:
        return refused.errors
    assert long.groups.dtype == object and all(long.ratings[k].dtype == float for k in long.rounds)
    return (long.rounds, long.panellists, long.groups.tolist(), long.statements, list(long.ratings),
            [(m.shape, m.tobytes()) for m in long.ratings.values()],
            [(m.shape, m.dtype, m.tobytes()) for m in long.unable.values()])


def by_line(text, *args):
    return _read_ratings_by_line(io.StringIO(text.removeprefix("\ufeff"), newline=""), *args)


def by_column(text, *args):
    long = _read_ratings_by_column(list(io.StringIO(text.removeprefix("\ufeff"), newline="")), *args)
    assert long is not None, "the column-wise reading gave up on a well-formed file"
    return long


@pytest.mark.parametrize("seed", range(60))
def test_a_well_formed_file_is_read_column_wise_exactly_as_line_by_line(seed):
    rng = np.random.default_rng(seed)
    unable = bool(seed % 4)
    columns, rows = well_formed(rng, unable)
    while not rows:
        columns, rows = well_formed(rng, unable)
    text = to_text(rng, columns, rows, blank_lines=seed % 3 == 0)
    expected = outcome(by_line, text, unable)
    assert isinstance(expected, tuple), expected
    assert outcome(by_column, text, unable) == expected
    assert outcome(read_ratings_text, text, unable) == expected


def break_file(rng, kind, columns, rows, i):
    """``rows`` with a problem of ``kind`` at row ``i`` (rows are lists of cells, in ``columns`` order)."""
    at = {name: columns.index(name) for name in REQUIRED_COLUMNS}
    row = list(rows[i])
    if kind == "round":
        row[at["round"]] = str(rng.choice(["0", "-1", "1.5", "one", "", " ", "inf", "nan", "1e400", "0x1"]))
    elif kind == "pseudonym":
        row[at["panellist"]] = str(rng.choice(["", "  "]))
    elif kind == "group":
        row[at["group"]] = str(rng.choice(["nurses", "", "Staff", "staff_"]))
    elif kind == "statement":
        row[at["statement"]] = str(rng.choice(["HOPE-99", "", "hope-01", "HOPE-1"]))
    elif kind == "rating":
        row[at["rating"]] = str(rng.choice(["0", "10", "-3", "1e9", "7.5", "seven", "nan", "inf", "7,5", "1_0"]))
    elif kind == "twice":
        row = list(rows[int(rng.integers(len(rows)))])
        row[at["rating"]] = str(rng.integers(1, 10))
        return columns, rows[:i] + [row] + rows[i:]
    elif kind == "two groups":
        row[at["group"]] = str(rng.choice([g for g in GROUPS if g != row[at["group"]].strip()]))
    elif kind == "short row":
        row = row[:int(rng.integers(0, max(at.values()) + 1))]
    elif kind == "blank cells":
        row = [str(rng.choice(["", " "])) for _ in row]
    elif kind == "missing column":
        missing = str(rng.choice(REQUIRED_COLUMNS))
        columns = [c if c != missing else "other" for c in columns]
    rows = rows[:i] + [row] + rows[i + 1:]
    return columns, rows


KINDS = ("round", "pseudonym", "group", "statement", "rating", "twice", "two groups", "short row", "blank cells",
         "missing column", "unable refused")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(12))
def test_a_file_with_a_problem_gives_the_line_by_line_result(kind, seed):
    rng = np.random.default_rng(seed)
    columns, rows = well_formed(rng)
    while not rows:
        columns, rows = well_formed(rng)
    unable = kind != "unable refused"
    if seed % 3 or kind == "missing column":
        columns, rows = break_file(rng, kind, columns, rows, int(rng.integers(len(rows))))
    else:  # many problems, often past the cap of 50
        for i in reversed(range(len(rows))):
            if rng.random() < 0.8:
                columns, rows = break_file(rng, kind, columns, rows, i)
    text = to_text(rng, columns, rows)
    expected = outcome(by_line, text, unable)
    assert outcome(read_ratings_text, text, unable) == expected
    lines = list(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    scale = SimpleNamespace(min=1, max=9, unable_to_rate=unable)
    if isinstance(expected, list) and "missing column" not in expected[0]:
        assert _read_ratings_by_column(lines, GROUPS, STATEMENTS, scale) is None


@pytest.mark.parametrize("text", ["", "\n", HEADER, HEADER + "\n\n", HEADER + " , ,,,\n", HEADER + ",,,,,\n\n",
                                  "round,panellist\n", HEADER + "1,P1,staff,HOPE-01,7\n\n\n",
                                  HEADER + '1,"P1\n",staff,HOPE-01,7\n1,P1,staff,HOPE-01,7\n',
                                  HEADER + "1,P1,staff,HOPE-01,7,extra\n1,P2,staff\n"])
def test_an_empty_or_odd_file_gives_the_line_by_line_result(text):
    assert outcome(read_ratings_text, text, True) == outcome(by_line, text, True)


@pytest.mark.parametrize("kind", [None, "rating", "twice", "short row"])
def test_a_file_on_disk_gives_the_line_by_line_result(tmp_path, kind):
    rng = np.random.default_rng(7)
    columns, rows = well_formed(rng)
    if kind:
        columns, rows = break_file(rng, kind, columns, rows, len(rows) // 2)
    path = tmp_path / "ratings.csv"
    path.write_text(to_text(rng, columns, rows), encoding="utf-8", newline="")

    def by_line_from_disk(path, *args):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_ratings_by_line(handle, *args)

    expected = outcome(by_line_from_disk, path, True)
    assert isinstance(expected, tuple) == (kind is None)
    assert outcome(read_ratings_csv, path, True) == expected
