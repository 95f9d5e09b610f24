"""Cells that a spreadsheet cannot take for a formula (CSV and formula injection, OWASP), for every export.

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading apostrophe, which Excel,
LibreOffice and Google Sheets show as text. Numbers are left as numbers: the caller passes them as ``int``/``float``,
so a rating of -2 on a -3..3 scale stays -2 in its numeric column, while a comment reading "-2+3" is neutralised.
"""
from __future__ import annotations

import csv
import io
import math
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LONE_CR = re.compile(r"\r(?!\n)")


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
    text = neutralise(str(value))
    if "\r" in text:
        # The csv writer quotes a cell with a line feed but not one with a lone carriage return, which every reader
        # (the csv module, R, pandas, Excel) takes for the end of the row: one such comment broke the whole file.
        # Written as a CRLF line break, the cell is quoted and reads back as a line break.
        text = LONE_CR.sub("\r\n", text)
    return text


def csv_text(header, rows) -> str:
    """A whole CSV file (UTF-8 text, ``\\n`` line ends) with every header and cell passed through :func:`csv_cell`."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return handle.getvalue()


def csv_text_by_column(header, rows) -> str:
    """:func:`csv_text`, byte for byte, a column at a time: a column of text passes each distinct text through
    :func:`csv_cell` once, and a column of whole numbers (and None) goes to the csv writer as it is, which writes them
    as :func:`csv_cell` does. Several times faster on a long file of few distinct texts, such as the ratings file;
    rows of unequal length (or of none) are left to :func:`csv_text`."""
    rows = rows if isinstance(rows, list) else list(rows)
    widths = set(map(len, rows))
    if len(widths) > 1 or 0 in widths:
        return csv_text(header, rows)
    columns = [_column_cells([row[i] for row in rows]) for i in range(widths.pop() if widths else 0)]
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows(zip(*columns))
    return handle.getvalue()


def _column_cells(column: list):
    # By exact type: a bool is an int to the csv writer (which would write True) and equal to 1 as a dict key.
    kinds = set(map(type, column))
    if kinds <= {int, type(None)}:
        return column  # the csv writer writes an int with str() and None as an empty field
    if kinds <= {str, type(None)}:
        return map(_TextCells().__getitem__, column)
    return map(csv_cell, column)


class _TextCells(dict):
    """Each distinct text's cell, worked out the first time it is asked for."""

    def __missing__(self, text):
        cell = self[text] = csv_cell(text)
        return cell
