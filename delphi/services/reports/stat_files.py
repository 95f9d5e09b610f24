"""The ratings as SPSS ``.sav`` and Stata ``.dta`` (pyreadstat), with variable labels and value labels, so that a
researcher opens them without cleaning. "Unable to rate" is a labelled missing value: SPSS user-missing code
(9, 99, ... above the scale), Stata extended missing ``.a``; "prefer not to answer" likewise, one below that code
(98, ...; see ``declined_code``) and ``.b``.

The comments are in files of their own (``comments.sav``, ``comments.dta``: one row per comment, with the round,
panellist and statement to merge on). A text column in these formats is as wide as its longest value in every row
(SPSS has no other kind; Stata only from 2,045 bytes), so one long comment in the ratings file would make each of a
national study's two million rows that long: a 5,000-character comment, within what a panellist may write, made
``ratings.sav`` 1 GB at 200,000 ratings (2 GB if its letters take two bytes each)."""
from __future__ import annotations

import csv
import io
import os
import tempfile

import numpy as np
import pandas as pd
import pyreadstat

from delphi.services.reports.tables import declined_code, unable_code

VARIABLE_LABELS = {
    "round": "Delphi round", "panellist": "Panellist pseudonym", "group": "Stakeholder group",
    "group_key": "Stakeholder group key", "statement": "Statement code", "rating": "Rating",
    "comment": "Comment", "reason": "Reason given for changing the rating",
    "arm": "Arm of the study within the study", "arm_key": "Arm key",
}
DECLINED = "declined"  # a rating cell of ``ratings_frame``: "prefer not to answer"
RATING_COLUMNS = ["round", "panellist", "group", "group_key", "statement", "rating"]
COMMENT_COLUMNS = ["round", "panellist", "group", "group_key", "statement", "comment", "reason"]


def ratings_frame(ratings_csv: str, protocol) -> pd.DataFrame:
    """``ratings.csv`` as the columns both files hold (one parse serves the two).

    Parsed by pandas' C reader, which reads the app's own file (written by :func:`csv.writer`) cell for cell as
    :mod:`csv` does and ten times faster (2,000,000 ratings in about half a second), unless the text holds a carriage
    return, which the two read differently outside quotes. Text columns are plain object
    arrays: pyreadstat reads a frame cell by cell, and pandas' string arrays are twice as slow to read that way."""
    if "\r" in ratings_csv:  # the csv module and pandas part ways on a carriage return outside quotes
        reader = csv.reader(io.StringIO(ratings_csv, newline=""))
        header = next(reader)
        table = pd.DataFrame(dict(zip(header, zip(*reader))) or {name: () for name in header}, dtype=object)
    else:
        table = pd.read_csv(io.StringIO(ratings_csv), dtype=object, keep_default_na=False, na_filter=False,
                            engine="c")
    number = {g.key: float(i + 1) for i, g in enumerate(protocol.groups)}
    ratings = table["rating"].to_numpy(dtype=object)
    rating = {text: None if text == "" else int(text) for text in set(ratings)}
    chosen = [rating[text] for text in ratings]
    if "declined" in table:  # "prefer not to answer": DECLINED in the frame, a missing code of its own in the files
        chosen = [DECLINED if flag == "true" else value for value, flag in zip(chosen, table["declined"])]
    comments = table["comment"].to_numpy(dtype=object)
    experiment = getattr(protocol, "experiment", None)
    arm_number = {a.key: float(i + 1) for i, a in enumerate(experiment.arms)} if experiment else {}
    arms = table["arm"] if "arm" in table else pd.Series([""] * len(table), dtype=object)
    return pd.DataFrame({
        "round": table["round"].to_numpy(dtype=object).astype(float),
        "panellist": _text(table["panellist"]),
        "group": table["group"].map(number).to_numpy(dtype=float),
        "group_key": _text(table["group"]),
        "statement": _text(table["statement"]),
        "rating": pd.Series(chosen, dtype=object),
        # The CSV's apostrophe guards spreadsheets; SPSS and Stata show text as text.
        "comment": _text([c[1:] if c.startswith("'") else c for c in comments]),
        # Issue 23, in a study within the study only: numbered in the protocol's order, labelled with the arms'
        # names; empty: not allocated.
        **({"arm": arms.map(arm_number).to_numpy(dtype=float), "arm_key": _text(arms)} if experiment else {}),
    })


def _text(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def _rating_columns(protocol) -> list[str]:
    """The columns of ratings.sav and ratings.dta: the arm only in a study within the study (issue 23)."""
    return RATING_COLUMNS + (["arm", "arm_key"] if getattr(protocol, "experiment", None) else [])


def _arm_labels(protocol) -> dict:
    experiment = getattr(protocol, "experiment", None)
    return {"arm": {i + 1: a.name for i, a in enumerate(experiment.arms)}} if experiment else {}


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


def _sav(frame, **options) -> bytes:
    """Bytecode-compressed, as SPSS itself saves by default (``SAVE /COMPRESSED``) and every reader of ``.sav``
    reads: a text's padding takes a byte per eight."""
    return _written(pyreadstat.write_sav, frame, column_labels=VARIABLE_LABELS, row_compress=True, **options)


def _dta(frame, **options) -> bytes:
    """Stata 15's format: a text column with a value of 2,045 bytes or more is written as ``strL``, which Stata keeps
    at each value's own length."""
    return _written(pyreadstat.write_dta, frame, column_labels=VARIABLE_LABELS, version=15, **options)


def _frame(ratings_csv: str, protocol, frame: pd.DataFrame | None) -> pd.DataFrame:
    return ratings_frame(ratings_csv, protocol) if frame is None else frame


def ratings_sav(ratings_csv: str, protocol, frame: pd.DataFrame | None = None) -> bytes:
    """``frame``: :func:`ratings_frame` of ``ratings_csv``, if already made (it is not changed)."""
    frame = _frame(ratings_csv, protocol, frame)[_rating_columns(protocol)].copy()
    code, declined = unable_code(protocol.scale.max), declined_code(protocol.scale.max)
    frame["rating"] = np.array([code if v is None else declined if v == DECLINED else v for v in frame["rating"]],
                               dtype=float)
    scale_labels, groups = _labels(protocol)
    # The code of "prefer not to answer" only where the protocol offered it (the file of a study without is as before).
    offered = {declined: "Prefer not to answer"} if getattr(protocol.scale, "prefer_not_to_answer", False) else {}
    return _sav(frame, variable_value_labels={"rating": {**scale_labels, code: "Unable to rate", **offered},
                                              "group": groups, **_arm_labels(protocol)},
                missing_ranges={"rating": [code, *offered]},
                variable_measure={"rating": "ordinal", "group": "nominal",
                                  **({"arm": "nominal"} if _arm_labels(protocol) else {})})


def ratings_dta(ratings_csv: str, protocol, frame: pd.DataFrame | None = None) -> bytes:
    """``frame``: :func:`ratings_frame` of ``ratings_csv``, if already made (it is not changed)."""
    frame = _frame(ratings_csv, protocol, frame)[_rating_columns(protocol)].copy()
    frame["rating"] = pd.Series(["a" if v is None else "b" if v == DECLINED else v for v in frame["rating"]],
                                dtype="object")
    scale_labels, groups = _labels(protocol)
    offered = {"b": "Prefer not to answer"} if getattr(protocol.scale, "prefer_not_to_answer", False) else {}
    return _dta(frame, variable_value_labels={"rating": {**scale_labels, "a": "Unable to rate", **offered},
                                              "group": groups, **_arm_labels(protocol)},
                missing_user_values={"rating": ["a", *offered]})


def comments_frame(frame: pd.DataFrame, reasons=None) -> pd.DataFrame:
    """The rows of :func:`ratings_frame` with a comment or a reason for changing the rating (``reasons``: rows
    (round, pseudonym, group, statement, reason) as ``ReportSource.reasons``), in the same order."""
    frame = frame.assign(reason="")
    if reasons:
        given = pd.DataFrame([(float(r[0]), r[1], r[3], r[4]) for r in reasons],
                             columns=["round", "panellist", "statement", "given"])
        frame = frame.merge(given, on=["round", "panellist", "statement"], how="left", sort=False)
        frame["reason"] = _text(frame["given"].fillna("").to_numpy(dtype=object))
    keep = (frame["comment"].to_numpy(dtype=object) != "") | (frame["reason"].to_numpy(dtype=object) != "")
    return frame.loc[keep, COMMENT_COLUMNS].reset_index(drop=True)


def comments_sav(ratings_csv: str, protocol, frame: pd.DataFrame | None = None, reasons=None) -> bytes:
    """The comments and reasons for change for SPSS; ``frame`` as for :func:`ratings_sav`."""
    _, groups = _labels(protocol)
    return _sav(comments_frame(_frame(ratings_csv, protocol, frame), reasons), variable_value_labels={"group": groups},
                variable_measure={"group": "nominal"})


def comments_dta(ratings_csv: str, protocol, frame: pd.DataFrame | None = None, reasons=None) -> bytes:
    """The comments and reasons for change for Stata, whole (a long one as ``strL``); ``frame`` as for
    :func:`ratings_sav`."""
    _, groups = _labels(protocol)
    return _dta(comments_frame(_frame(ratings_csv, protocol, frame), reasons), variable_value_labels={"group": groups})
