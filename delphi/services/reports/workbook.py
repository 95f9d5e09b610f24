"""``results.xlsx`` (one sheet per table and a "Methods" sheet) and ``results.json``: the same tables as the CSV
files, with numbers as numbers."""
from __future__ import annotations

import csv
import io
import json

from flask_babel import gettext as _
from openpyxl import Workbook

from delphi import __version__
from delphi.services.csv_export import neutralise
from delphi.services.round_figures import BOOTSTRAP_COLUMNS, GROUP_TEST_COLUMNS, STABILITY_COLUMNS

NUMERIC = {"round", "n", "n_unable", "n_declined", "median", "q1", "q3", "iqr", "mean", "sd", "pct_agree", "pct_neutral",
           "pct_disagree", "rating", "p30", "p70", "ipr", "iprcp", "ipras", "rwg", "ad", "cv", "agree_ci_low",
           "agree_ci_high", "statements", "n_panellists", "kendalls_w_n", "kendalls_w", "kendalls_w_uncorrected",
           "kendalls_w_chi2", "kendalls_w_df", "kendalls_w_p", "krippendorff_alpha", "fleiss_kappa", "fleiss_kappa_z",
           "fleiss_kappa_p", "fleiss_kappa_statements", "rwg_j", *BOOTSTRAP_COLUMNS, *GROUP_TEST_COLUMNS,
           *(c for c in STABILITY_COLUMNS if c != "stable"), "bootstrap_resamples", "bootstrap_seed",
           "bootstrap_confidence", "round_from", "round_to", "verdicts_compared", "verdicts_changed",
           "pct_verdicts_changed", "u", "p", "p_holm_pairs", "p_holm", "p_bh", "rank_biserial",
           # issue 23: the experiment table (a study within the study)
           "n_a", "n_b", "n_excluded", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "confidence",
           "permutations", "resamples", "seed", "verdicts_compared", "kappa", "pct_discordant"}
BOOLEAN = {"disagreement", "stable", "changed", "withheld"}


def _rows(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def _typed(column: str, cell: str):
    """A CSV cell as the value it stands for: numbers in numeric columns (None when empty), text otherwise (the CSV
    writer's apostrophe kept, since the spreadsheet needs it too)."""
    if cell is None:  # a row shorter than the header (csv.DictReader's restval)
        return None
    if column in BOOLEAN:
        return {"true": True, "false": False}.get(cell)
    if column in NUMERIC:
        if cell == "":
            return None
        number = float(cell)
        return int(number) if number.is_integer() and "." not in cell else number
    return cell


def tables(texts: dict[str, str]) -> dict[str, tuple[list[str], list[list]]]:
    """The CSV downloads as typed tables, keyed by sheet name."""
    out = {}
    for name in ("statistics.csv", "consensus.csv", "rounds.csv", "verdict_changes.csv", "pairwise.csv",
                 "experiment.csv", "statements.csv", "reasons.csv", "codebook.csv"):
        if name not in texts:
            continue
        header, rows = _rows(texts[name])
        out[name.removesuffix(".csv")] = (header, [[_typed(c, r[c]) for c in header] for r in rows])
    return out


def methods_lines(methods: list[tuple[str, str]]) -> list[list[str]]:
    """The Methods sheet: its column names (and the key "software") as scripts read them, the text in the current
    language."""
    return [["topic", "method"], *[[topic, text] for topic, text in methods],
            ["software", _("Delphi consensus platform %(version)s (analysis package: numpy, scipy)",
                           version=__version__)]]


def results_xlsx(texts: dict[str, str], methods: list[tuple[str, str]]) -> bytes:
    """A workbook with a "Methods" sheet first, then statistics, consensus, statements and codebook. Every text cell,
    headers included, is neutralised against formulas; numbers are stored as numbers."""
    # Write-only: rows go straight to the file's XML instead of a cell object each (about a third less time for
    # the statistics sheet of a national study, 2,400 rows x 27 columns).
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Methods")
    for line in methods_lines(methods):
        sheet.append([neutralise(v) for v in line])
    for name, (header, rows) in tables(texts).items():
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"  # set before the first row, as a write-only sheet needs
        sheet.append([neutralise(h) for h in header])
        for row in rows:
            # Text cells arrive already neutralised by the CSV writer; neutralise() leaves "'=..." alone.
            sheet.append([neutralise(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def results_json(texts: dict[str, str], methods: list[tuple[str, str]], protocol) -> str:
    """The tables as JSON (records with numbers as numbers, null where a figure cannot be computed); text is kept as
    written, without the apostrophe a spreadsheet needs."""
    document = {"software": {"name": "Delphi consensus platform", "version": __version__},
                "title": protocol.title, "methods": dict(methods)}
    for name, (header, rows) in tables(texts).items():
        document[name] = [{c: _plain(v) for c, v in zip(header, row)} for row in rows]
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _plain(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(
            ("=", "+", "-", "@", "\t", "\r")):
        return value[1:]
    return value
