"""Cells that a spreadsheet cannot take for a formula (CSV and formula injection, OWASP), for every export.

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading apostrophe, which Excel,
LibreOffice and Google Sheets show as text. Numbers are left as numbers: the caller passes them as ``int``/``float``,
so a rating of -2 on a -3..3 scale stays -2 in its numeric column, while a comment reading "-2+3" is neutralised.
"""
from __future__ import annotations

import csv
import io
import math

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` made safe for a spreadsheet cell: text that would start a formula is prefixed with an apostrophe;
    numbers, booleans and None are returned unchanged.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-2+3"), neutralise(-2), neutralise("ok")
    ('\\'=HYPERLINK("http://x")', "'-2+3", -2, 'ok')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_cell(value) -> str:
    """A CSV cell: numbers written in full precision (NaN and None empty), text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return neutralise(str(value))


def csv_text(header, rows) -> str:
    """A whole CSV file (UTF-8 text, ``\\n`` line ends) with every header and cell passed through :func:`csv_cell`."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return handle.getvalue()
