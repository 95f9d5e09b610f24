"""``delphi analyse RATINGS.csv --protocol PROTOCOL.toml --out DIR``: the statistics of ratings collected elsewhere.

Reads the long-format ratings file of ``protocol.md`` (refusing a bad file with every problem and its line number),
builds one ratings matrix per round with numpy (rows: panellists sorted by pseudonym, the same rows in every round;
columns: the protocol's statements in protocol order), computes each round with :func:`analysis.round.compute_round`
(round k against the round before it for stability), and writes ``statistics.csv`` and ``consensus.csv``
(``cli.md``). The protocol is read duck-typed (``scale``, ``consensus``, ``groups``, ``statements``), as
``delphi.protocol.load_protocol`` returns it.
"""
from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import count
from operator import itemgetter
from pathlib import Path

import numpy as np

import analysis
from analysis.round import compute_round
from delphi.errors import InputErrors, Problem
from delphi.services.round_figures import SCOPE_COLUMNS, STABILITY_COLUMNS, scope_figures
from delphi.services.suppression import withheld_cells, withheld_in_round

REQUIRED_COLUMNS = ("round", "panellist", "group", "statement", "rating")
# The optional column that marks "prefer not to answer" (the rating then empty): ratings.csv writes true or false.
DECLINED_COLUMN = "declined"
ARM_COLUMN = "arm"  # issue 23: the panellist's arm of a study within the study (empty: not allocated)
DECLINED_TEXTS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}
# The first fifteen columns keep their order and meaning; the figures after ``verdict`` are appended (cli.md).
STATISTICS_COLUMNS = ("round", "statement", "scope", "n", "n_unable", "median", "q1", "q3", "iqr", "mean", "sd",
                      "pct_agree", "pct_neutral", "pct_disagree", "verdict", *SCOPE_COLUMNS,
                      # issue 22, appended: "prefer not to answer" answers, counted apart from n_unable
                      "n_declined")
COUNT_COLUMNS = ("n", "n_unable", "n_declined")
CONSENSUS_COLUMNS = ("round", "statement", "classification")
MAX_MESSAGES = 50


class RatingsFileError(InputErrors):
    """A ratings file with problems; ``errors`` lists each one in plain words with its line number, and each of
    ``problems`` carries that line."""


@dataclass(frozen=True, eq=False)
class LongRatings:
    """A ratings file as arrays. ``ratings[k]`` / ``unable[k]`` / ``declined[k]`` are round k's (panellists x
    statements) matrices: NaN where no rating, True where the panellist answered "unable to rate", True where they
    answered "prefer not to answer" (a round missing from ``declined`` had none: see :meth:`declined_in`)."""

    rounds: tuple[int, ...]
    panellists: tuple[str, ...]
    groups: np.ndarray  # the group key of each panellist (row)
    statements: tuple[str, ...]
    ratings: dict
    unable: dict
    declined: dict = field(default_factory=dict)
    # Issue 23: the arm key of each panellist (row) when the file has an ``arm`` column (a study within the study),
    # else None; a panellist with an empty arm (not allocated) has None.
    arms: np.ndarray | None = None

    def declined_in(self, round_number: int) -> np.ndarray:
        """Round ``round_number``'s "prefer not to answer" cells (all False when the file had none)."""
        found = self.declined.get(round_number)
        return np.zeros(self.ratings[round_number].shape, dtype=bool) if found is None else found


def analysis_scale(protocol) -> analysis.Scale:
    """The :class:`analysis.Scale` of a protocol (its scale and consensus bands)."""
    return analysis.Scale(min=protocol.scale.min, max=protocol.scale.max, agree=tuple(protocol.consensus.agree),
                          disagree=tuple(protocol.consensus.disagree))


class _Problems:
    def __init__(self):
        self.found: list[Problem] = []
        self.more = 0

    def add(self, line: int, message: str) -> None:
        if len(self.found) < MAX_MESSAGES:
            self.found.append(Problem(f"line {line}: {message}", line=line))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.found:
            extra = [f"... and {self.more} more problem(s)"] if self.more else []
            raise RatingsFileError(self.found + extra)


def _whole_number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value == int(value) else None


def read_ratings_csv(path, group_keys, statement_codes, scale) -> LongRatings:
    """Read a long-format ratings file (``round,panellist,group,statement,rating`` plus ignored extra columns; UTF-8,
    optionally with a byte-order mark).

    ``scale`` needs ``min`` and ``max``, and may say ``unable_to_rate`` (default True): whether an empty rating
    ("unable to rate") is allowed. Raises :class:`RatingsFileError` listing every problem (up to 50) with its line
    number: missing columns, a round that is not a whole number from 1, an empty pseudonym, an unknown group or
    statement, a rating off the scale or not a whole number, an empty rating the protocol does not allow, the same
    panellist rating a statement twice in a round, and a panellist in two groups.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_ratings(handle, group_keys, statement_codes, scale)
    except UnicodeDecodeError as exc:
        raise RatingsFileError([f"the file is not UTF-8 text (byte {exc.start + 1} cannot be read)"]) from None


def read_ratings_text(text: str, group_keys, statement_codes, scale) -> LongRatings:
    """:func:`read_ratings_csv` for ratings already in memory (the app's own export, read back as a file would be)."""
    return _read_ratings(io.StringIO(text.removeprefix("\ufeff"), newline=""), group_keys, statement_codes, scale)


def _read_ratings(handle, group_keys, statement_codes, scale) -> LongRatings:
    """Column by column when the file is well formed (the app's own export of millions of ratings is), otherwise
    line by line, which words every problem with its line number. Both give the same result for any file."""
    group_keys, statement_codes = list(group_keys), list(statement_codes)
    source, head = iter(handle), []
    header = next(csv.reader(_kept(source, head)), None)
    names = [] if header is None else [name.strip() for name in header]
    if header is None or not all(name in names for name in REQUIRED_COLUMNS):
        return _read_ratings_by_line(head, group_keys, statement_codes, scale)  # refused before reading on
    lines = head + list(source)  # read once, for both readings
    long = _read_ratings_by_column(lines, group_keys, statement_codes, scale)
    if long is None:
        long = _read_ratings_by_line(lines, group_keys, statement_codes, scale)
    return _with_arms(long, lines, names) if ARM_COLUMN in names else long


def _with_arms(long: LongRatings, lines: list[str], names: list[str]) -> LongRatings:
    """``long`` with each panellist's arm from the file's ``arm`` column (one arm per panellist, or none)."""
    name_at, arm_at = names.index("panellist"), names.index(ARM_COLUMN)
    arm_of: dict[str, str | None] = {}
    problems = []
    reader = csv.reader(lines)
    next(reader)
    for line, row in enumerate(reader, start=2):
        if len(row) <= max(name_at, arm_at) or not row[name_at].strip():
            continue
        name, arm = row[name_at].strip(), row[arm_at].strip() or None
        if arm_of.setdefault(name, arm) != arm and len(problems) < 50:
            problems.append(Problem(f"line {line}: panellist {name!r} is in arm {arm_of[name]!r} on an earlier line "
                                    f"and {arm!r} here", field=ARM_COLUMN))
    if problems:
        raise RatingsFileError(problems)
    return replace(long, arms=arms_of(long.panellists, arm_of))


def arms_of(panellists, arm_of: dict) -> np.ndarray | None:
    """Each panellist's arm (None: not allocated), or None when no panellist has one (a study without an
    experiment writes the column empty)."""
    arms = np.array([arm_of.get(name) for name in panellists], dtype=object)
    return arms if any(arm is not None for arm in arms) else None


def _kept(lines, kept: list):
    """``lines`` as they are read, each also put in ``kept``."""
    for line in lines:
        kept.append(line)
        yield line


def _read_ratings_by_column(lines, group_keys, statement_codes, scale) -> LongRatings | None:
    """The well-formed file of :func:`_read_ratings_by_line` read a column at a time: each distinct text of a column
    is checked once, and the matrices are filled with numpy. None when anything is unusual (any problem, a short row,
    a blank line other than an empty one, no rows), for the line-by-line reading to word it."""
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader)]
    with_declined = DECLINED_COLUMN in header
    pick = itemgetter(*(header.index(name) for name in REQUIRED_COLUMNS
                        + ((DECLINED_COLUMN,) if with_declined else ())))
    try:
        picked = list(map(pick, filter(None, reader)))  # a short row raises IndexError; empty lines are dropped
    except (IndexError, csv.Error):
        return None
    if not picked:
        return None
    (round_texts, round_at), (name_texts, name_at), (group_texts, group_at), (code_texts, code_at), \
        (rating_texts, rating_at) = (_distinct(map(itemgetter(i), picked), len(picked)) for i in range(5))
    declined_texts, declined_at = (_distinct(map(itemgetter(5), picked), len(picked)) if with_declined
                                   else ([""], np.zeros(len(picked), dtype=np.intp)))
    del picked
    declined_flags = [DECLINED_TEXTS.get(text.strip().lower()) for text in declined_texts]
    if None in declined_flags or (any(declined_flags) and not getattr(scale, "prefer_not_to_answer", False)):
        return None

    round_numbers = [_whole_number(text.strip()) for text in round_texts]
    names = [text.strip() for text in name_texts]
    group_names = [text.strip() for text in group_texts]
    statement_column = {code: j for j, code in enumerate(statement_codes)}
    columns = [statement_column.get(text.strip()) for text in code_texts]
    if (any(number is None or number < 1 for number in round_numbers) or not all(names)
            or not set(group_names) <= set(group_keys) or None in columns):
        return None
    allow_unable = bool(getattr(scale, "unable_to_rate", True))
    values = []
    for text in rating_texts:
        text = text.strip()
        if not text:
            values.append(np.nan)  # "unable to rate" unless declined (checked below)
            continue
        rating = _whole_number(text)
        if rating is None or not scale.min <= rating <= scale.max:
            return None
        values.append(rating)

    rounds = tuple(sorted(set(round_numbers)))
    panellists = tuple(sorted(set(names)))
    round_index = {number: i for i, number in enumerate(rounds)}
    round_at = np.array([round_index[number] for number in round_numbers], dtype=np.intp)[round_at]
    row_of = {name: i for i, name in enumerate(panellists)}
    row_at = np.array([row_of[name] for name in names], dtype=np.intp)[name_at]
    group_index = {name: i for i, name in enumerate(group_names)}  # texts " a" and "a" are one group
    group_at = np.array([group_index[name] for name in group_names], dtype=np.intp)[group_at]
    column_at = np.array(columns, dtype=np.intp)[code_at]
    value_at = np.array(values, dtype=float)[rating_at]
    declined_cell = np.array(declined_flags, dtype=bool)[declined_at]
    if (declined_cell & ~np.isnan(value_at)).any():
        return None  # "prefer not to answer" with a rating
    if not allow_unable and (np.isnan(value_at) & ~declined_cell).any():
        return None

    group_of = np.empty(len(panellists), dtype=np.intp)
    group_of[row_at] = group_at
    if (group_of[row_at] != group_at).any():
        return None  # a panellist in two groups
    shape = (len(panellists), len(statement_codes))
    ratings, unable, declined = {}, {}, {}
    for i, k in enumerate(rounds):
        chosen = round_at == i
        rows, cols, chosen_values = row_at[chosen], column_at[chosen], value_at[chosen]
        chosen_declined = declined_cell[chosen]
        cells = np.sort(rows * shape[1] + cols)
        if (cells[1:] == cells[:-1]).any():
            return None  # a panellist rating a statement twice in a round
        ratings[k] = np.full(shape, np.nan)
        ratings[k][rows, cols] = chosen_values
        unable[k] = np.zeros(shape, dtype=bool)
        unable[k][rows, cols] = np.isnan(chosen_values) & ~chosen_declined
        declined[k] = np.zeros(shape, dtype=bool)
        declined[k][rows, cols] = chosen_declined
    groups = np.array([group_names[i] for i in group_of], dtype=object)
    return LongRatings(rounds=rounds, panellists=panellists, groups=groups, statements=tuple(statement_codes),
                       ratings=ratings, unable=unable, declined=declined)


def _distinct(texts, n: int) -> tuple[list, np.ndarray]:
    """The distinct texts of a column, in order of first appearance, and each cell's index among them (one pass)."""
    index = defaultdict(count().__next__)
    at = np.fromiter(map(index.__getitem__, texts), dtype=np.intp, count=n)
    return list(index), at


def _read_ratings_by_line(handle, group_keys, statement_codes, scale) -> LongRatings:
    group_keys, statement_codes = list(group_keys), list(statement_codes)
    known_groups, statement_column = set(group_keys), {code: j for j, code in enumerate(statement_codes)}
    allow_unable = bool(getattr(scale, "unable_to_rate", True))
    problems = _Problems()
    records = []  # (round, panellist, statement column, rating or None)
    group_of: dict[str, tuple[str, int]] = {}
    seen: dict[tuple[int, str, str], int] = {}
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise RatingsFileError([Problem("line 1: the file is empty; expected the header " + ",".join(REQUIRED_COLUMNS),
                                        line=1)])
    header = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise RatingsFileError([Problem(f"line 1: missing column(s) {', '.join(missing)}; the header must start "
                                        f"with {','.join(REQUIRED_COLUMNS)}", line=1)])
    at = {name: header.index(name) for name in REQUIRED_COLUMNS + ((DECLINED_COLUMN,) if DECLINED_COLUMN in header
                                                                   else ())}
    allow_declined = bool(getattr(scale, "prefer_not_to_answer", False))
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        cell = {name: row[i].strip() for name, i in at.items()}
        round_number = _whole_number(cell["round"])
        if round_number is None or round_number < 1:
            problems.add(line, f"round {cell['round']!r} is not a whole number 1, 2, ...")
        panellist = cell["panellist"]
        if not panellist:
            problems.add(line, "the panellist pseudonym is empty")
        group = cell["group"]
        if group not in known_groups:
            problems.add(line, f"unknown group {group!r}; the protocol's groups are {', '.join(group_keys)}")
        elif panellist:
            first = group_of.setdefault(panellist, (group, line))
            if first[0] != group:
                problems.add(line, f"panellist {panellist!r} is in group {group!r} here but in group "
                                   f"{first[0]!r} on line {first[1]}")
        code = cell["statement"]
        if code not in statement_column:
            problems.add(line, f"unknown statement {code!r}")
        text, rating = cell["rating"], None
        chose_not = DECLINED_TEXTS.get(cell.get(DECLINED_COLUMN, "").lower())
        if chose_not is None:
            problems.add(line, f"declined {cell[DECLINED_COLUMN]!r} is not true or false")
        elif chose_not and not allow_declined:
            problems.add(line, "declined is true, but this protocol does not allow \"prefer not to answer\"")
        elif chose_not and text != "":
            problems.add(line, f"declined is true, so the rating must be empty, not {text!r}")
        if text == "":
            if not allow_unable and not chose_not:
                problems.add(line, "the rating is empty, but this protocol does not allow \"unable to rate\"")
        else:
            rating = _whole_number(text)
            if rating is None:
                problems.add(line, f"rating {text!r} is not a whole number")
            elif not scale.min <= rating <= scale.max:
                problems.add(line, f"rating {rating} is off the scale {scale.min}-{scale.max}")
        if round_number is not None and panellist and code:
            first_line = seen.setdefault((round_number, panellist, code), line)
            if first_line != line:
                problems.add(line, f"panellist {panellist!r} rated statement {code!r} twice in round "
                                   f"{round_number} (first on line {first_line})")
        if not problems.found and code in statement_column:
            records.append((round_number, panellist, statement_column[code], rating, bool(chose_not)))
    problems.raise_if_any()
    if not records:
        raise RatingsFileError(["the file has a header but no ratings"])

    panellists = tuple(sorted(group_of))
    row_of = {p: i for i, p in enumerate(panellists)}
    rounds = tuple(sorted({r[0] for r in records}))
    shape = (len(panellists), len(statement_codes))
    ratings = {k: np.full(shape, np.nan) for k in rounds}
    unable = {k: np.zeros(shape, dtype=bool) for k in rounds}
    declined = {k: np.zeros(shape, dtype=bool) for k in rounds}
    for k in rounds:
        chosen = [r for r in records if r[0] == k]
        rows = np.fromiter((row_of[r[1]] for r in chosen), dtype=np.intp, count=len(chosen))
        cols = np.fromiter((r[2] for r in chosen), dtype=np.intp, count=len(chosen))
        values = np.fromiter((np.nan if r[3] is None else r[3] for r in chosen), dtype=float, count=len(chosen))
        chose_not = np.fromiter((r[4] for r in chosen), dtype=bool, count=len(chosen))
        ratings[k][rows, cols] = values
        unable[k][rows, cols] = np.isnan(values) & ~chose_not
        declined[k][rows, cols] = chose_not
    groups = np.array([group_of[p][0] for p in panellists], dtype=object)
    return LongRatings(rounds=rounds, panellists=panellists, groups=groups, statements=tuple(statement_codes),
                       ratings=ratings, unable=unable, declined=declined)


def _cell(value):
    """Full precision (``repr`` of the float), integers as integers, booleans as ``true``/``false``, NaN and None
    as empty."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return "" if math.isnan(value) else repr(value)


def asked_statements(long_ratings: LongRatings, round_number: int) -> np.ndarray:
    """Which statements round ``round_number`` asked: those with at least one answer (a rating, "unable to rate" or
    "prefer not to answer")
    in it. A ratings file cannot say more, so this is the definition wherever rounds are rebuilt from one."""
    answered = (~np.isnan(long_ratings.ratings[round_number]) | long_ratings.unable[round_number]
                | long_ratings.declined_in(round_number))
    return answered.any(axis=0)


def analyse(long_ratings: LongRatings, protocol, closed: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Every round's figures: ``statistics`` rows (round x statement x scope, scopes ``overall``, each group key in
    protocol order, ``equal_groups``) and ``consensus`` rows (round x statement), as dicts of CSV cells.

    A statement without any answer in a round (not asked then: retired, or added later) has no rows for that round.
    Small cells are withheld under the protocol's ``min_group_feedback``
    (:func:`delphi.services.suppression.withheld_in_round`; ``closed``: the sizes frozen at each close, by (round,
    statement code), for a study's own export): a withheld row keeps its round, statement and scope, has every
    figure empty and the verdict ``withheld``. The study's classification (consensus rows) is always given."""
    scale = analysis_scale(protocol)
    minimum = protocol.min_group_feedback
    consensus = protocol.consensus
    keys = [g.key for g in protocol.groups]
    statistics_rows, consensus_rows = [], []
    previous = None
    for k in long_ratings.rounds:
        figures = compute_round(
            long_ratings.ratings[k], long_ratings.groups.astype(str), keys, scale, consensus.include,
            consensus.exclude, consensus.scope, previous=previous, stable_change=consensus.stable_change,
            quantile_method=consensus.quantile_method, unable=long_ratings.unable[k],
            unable_in_denominator=consensus.unable_in_denominator, declined=long_ratings.declined_in(k),
        )
        extras = scope_figures(figures, long_ratings.ratings[k], long_ratings.groups.astype(str), scale,
                               consensus.quantile_method, unable=long_ratings.unable[k],
                               unable_in_denominator=consensus.unable_in_denominator, previous=previous,
                               stable_change=consensus.stable_change)
        previous = long_ratings.ratings[k]
        asked = asked_statements(long_ratings, k)
        for j, code in enumerate(long_ratings.statements):
            if not asked[j]:
                continue
            withheld = withheld_in_round(figures, keys, j, minimum,
                                         None if closed is None else closed.get((k, code), {}))
            unstable = stability_withheld({key: extras[key]["n_pairs"][j] for key in keys}, minimum)
            for scope in figures.scopes:
                if scope in withheld.scopes:
                    statistics_rows.append(withheld_row(k, code, scope))
                    continue
                summary = figures.summaries[scope]
                figures_of_row = {"n": summary.n[j], "n_unable": figures.n_unable[scope][j],
                                  "n_declined": figures.n_declined[scope][j],
                                  **{name: getattr(summary, name)[j] for name in STATISTICS_COLUMNS[5:14]},
                                  "verdict": figures.verdicts[scope][j],
                                  **{name: extras[scope][name][j] for name in SCOPE_COLUMNS}}
                if scope in unstable:
                    figures_of_row.update(dict.fromkeys(STABILITY_COLUMNS))
                statistics_rows.append(statistics_row(k, code, scope, figures_of_row))
            consensus_rows.append({"round": k, "statement": code, "classification": str(figures.classification[j])})
    return statistics_rows, consensus_rows


def stability_withheld(n_pairs: dict, minimum: int) -> frozenset[str]:
    """The scopes whose stability figures are withheld for one statement: the small-cell rule
    (:func:`delphi.services.suppression.withheld_cells`) on each group's number of pairs (panellists who rated it in
    both rounds), since a group's pairs can be few where its ratings in this round are not. ``n_pairs``: group key ->
    pairs (None: no pairs)."""
    withheld = withheld_cells({key: int(n or 0) for key, n in n_pairs.items()}, minimum)
    return frozenset(withheld.groups | ({"overall"} if withheld.overall else set()))


def withheld_row(round_number: int, code: str, scope: str) -> dict:
    """A statistics row whose figures are withheld (small cells): round, statement and scope, every figure empty."""
    return {"round": round_number, "statement": code, "scope": scope, "verdict": "withheld"}


def statistics_row(round_number: int, code: str, scope: str, figures: dict) -> dict:
    """One statistics row as CSV cells from its figures (``STATISTICS_COLUMNS[3:]``, NaN or None where a figure
    cannot be computed): :func:`analyse` and the study's stored figures (``reports.stored``) write rows with it."""
    row = {"round": round_number, "statement": code, "scope": scope}
    for name in STATISTICS_COLUMNS[3:]:
        value = figures.get(name)
        row[name] = int(value or 0) if name in COUNT_COLUMNS else _cell(value)
    return row


def outputs_text(statistics_rows, consensus_rows) -> dict[str, str]:
    """``statistics.csv`` and ``consensus.csv`` as text, exactly as :func:`write_outputs` writes them."""
    texts = {}
    for name, columns, rows in (("statistics.csv", STATISTICS_COLUMNS, statistics_rows),
                                ("consensus.csv", CONSENSUS_COLUMNS, consensus_rows)):
        handle = io.StringIO(newline="")
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        texts[name] = handle.getvalue()
    return texts


def write_outputs(out_dir, statistics_rows, consensus_rows) -> list[Path]:
    """Write ``statistics.csv`` and ``consensus.csv`` into ``out_dir`` (created if needed); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in outputs_text(statistics_rows, consensus_rows).items():
        path = out / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written


def analyse_file(ratings_path, protocol, out_dir, report: bool = True, columns: dict[str, str] | None = None,
                 missing=(), unable=(), declined=()) -> list[Path]:
    """Read, compute and write: the whole of ``delphi analyse``. Nothing is written when the file has problems.

    The file is read by :func:`delphi.services.ratings_import.read_ratings_file` (csv/tsv/xlsx, long or wide;
    ``columns``, ``missing`` and ``unable`` as there). With ``report`` (the default) ``report.html`` is written too:
    the report of ``delphi report``, from what a ratings file and a protocol can tell (see
    :func:`delphi.services.reports.report_from_ratings`)."""
    from delphi.services.ratings_import import read_ratings_file  # it builds on this module

    long_ratings = read_ratings_file(ratings_path, protocol, columns, missing, unable, declined).long
    return write_analysis(long_ratings, protocol, out_dir, report)


def write_analysis(long_ratings: LongRatings, protocol, out_dir, report: bool = True) -> list[Path]:
    """Compute and write what :func:`analyse_file` writes, for ratings already read."""
    statistics_rows, consensus_rows = analyse(long_ratings, protocol)
    written = write_outputs(out_dir, statistics_rows, consensus_rows)
    if report:
        from delphi.services.reports import report_from_ratings  # the reports build on this module

        path = Path(out_dir) / "report.html"
        path.write_text(report_from_ratings(long_ratings, protocol), encoding="utf-8")
        written.append(path)
    return written
