"""The ratings as SPSS ``.sav`` and Stata ``.dta`` (pyreadstat), with variable labels and value labels, so that a
researcher opens them without cleaning. "Unable to rate" is a labelled missing value: SPSS user-missing code
(9, 99, ... above the scale), Stata extended missing ``.a``."""
from __future__ import annotations

import csv
import io
import os
import tempfile

import pandas as pd
import pyreadstat

from delphi.services.reports.tables import unable_code

VARIABLE_LABELS = {
    "round": "Delphi round", "panellist": "Panellist pseudonym", "group": "Stakeholder group",
    "group_key": "Stakeholder group key", "statement": "Statement code", "rating": "Rating",
    "comment": "Comment",
}
# Stata's fixed-width strings stop at 2045 bytes; longer comments are cut to 2000 bytes (the codebook says so).
DTA_COMMENT_LIMIT = 2000


def _frame(ratings_csv: str, protocol) -> pd.DataFrame:
    rows = list(csv.DictReader(io.StringIO(ratings_csv, newline="")))
    number = {g.key: i + 1 for i, g in enumerate(protocol.groups)}
    return pd.DataFrame({
        "round": pd.array([int(r["round"]) for r in rows], dtype="float64"),
        "panellist": [r["panellist"] for r in rows],
        "group": pd.array([number[r["group"]] for r in rows], dtype="float64"),
        "group_key": [r["group"] for r in rows],
        "statement": [r["statement"] for r in rows],
        "rating": pd.Series([None if r["rating"] == "" else int(r["rating"]) for r in rows], dtype="object"),
        # The CSV's apostrophe guards spreadsheets; SPSS and Stata show text as text.
        "comment": [r["comment"][1:] if r["comment"].startswith("'") else r["comment"] for r in rows],
    })


def _labels(protocol) -> tuple[dict, dict]:
    scale_labels = {point: protocol.scale.labels.get(point, str(point))
                    for point in range(protocol.scale.min, protocol.scale.max + 1)}
    groups = {i + 1: g.name for i, g in enumerate(protocol.groups)}
    return scale_labels, groups


def _written(write, frame, **options) -> bytes:
    # pyreadstat writes to a path; a private temporary directory keeps the bytes off anything shared.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ratings")
        write(frame, path, **options)
        with open(path, "rb") as handle:
            return handle.read()


def ratings_sav(ratings_csv: str, protocol) -> bytes:
    frame = _frame(ratings_csv, protocol)
    code = unable_code(protocol.scale.max)
    frame["rating"] = pd.array([code if v is None else v for v in frame["rating"]], dtype="float64")
    scale_labels, groups = _labels(protocol)
    return _written(pyreadstat.write_sav, frame, column_labels=VARIABLE_LABELS,
                    variable_value_labels={"rating": {**scale_labels, code: "Unable to rate"}, "group": groups},
                    missing_ranges={"rating": [code]}, variable_measure={"rating": "ordinal", "group": "nominal"})


def ratings_dta(ratings_csv: str, protocol) -> bytes:
    frame = _frame(ratings_csv, protocol)
    frame["rating"] = pd.Series(["a" if v is None else int(v) for v in frame["rating"]], dtype="object")
    frame["comment"] = [c.encode()[:DTA_COMMENT_LIMIT].decode(errors="ignore") for c in frame["comment"]]
    scale_labels, groups = _labels(protocol)
    return _written(pyreadstat.write_dta, frame, column_labels=VARIABLE_LABELS,
                    variable_value_labels={"rating": {**scale_labels, "a": "Unable to rate"}, "group": groups},
                    missing_user_values={"rating": ["a"]}, version=15)
