"""Reading an uploaded CSV (statements, contacts) into rows: a file the ``csv`` module cannot read becomes a problem
with its line, in plain words, never an exception from the module (a cell over its 131,072-character limit raised
``csv.Error``, a 500).

Spreadsheets save CSV as they please: Norwegian Excel separates with semicolons and, unless told "CSV UTF-8", writes
Windows-1252. ``decode_spreadsheet_text`` reads either encoding and ``read_rows`` takes a comma, semicolon or tab,
whichever the first line uses most (outside quotes)."""
from __future__ import annotations

import csv
import io
import re

from flask_babel import format_number
from flask_babel import gettext as _

from delphi.errors import InputErrors, Problem


DELIMITERS = (",", ";", "\t")


def decode_spreadsheet_text(raw: bytes) -> str | None:
    """``raw`` as text: UTF-8 (with or without a byte-order mark), else Windows-1252; None when it is neither (bytes
    Windows-1252 leaves undefined, as in a binary file)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return None


def delimiter_of(content: str) -> str:
    """The delimiter the first line uses most, outside quoted cells: a comma unless a semicolon or a tab is more
    common (a one-column file has none, and reads the same either way)."""
    first = re.sub(r'"[^"]*"', "", content.lstrip("\ufeff").split("\n", 1)[0])
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_rows(content: str, error: type[InputErrors]) -> list[list[str]]:
    """The rows of ``content`` (a leading byte-order mark dropped; comma, semicolon or tab, see
    :func:`delimiter_of`); raises ``error`` naming the line that cannot be read."""
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff"), newline=""), delimiter=delimiter_of(content))
    try:
        return list(reader)
    except csv.Error as exc:
        line = reader.line_num or 1
        if "field larger than field limit" in str(exc):
            message = _("line %(line)s: a cell is longer than %(limit)s characters, far more than any statement or "
                        "address. Is this the right file?", line=line, limit=format_number(csv.field_size_limit()))
        else:
            message = _("line %(line)s: this line cannot be read as CSV (%(reason)s).", line=line, reason=exc)
        raise error([Problem(message, line=line)]) from None
