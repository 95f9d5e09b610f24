"""Reading an uploaded CSV (statements, contacts) into rows: a file the ``csv`` module cannot read becomes a problem
with its line, in plain words, never an exception from the module (a cell over its 131,072-character limit raised
``csv.Error``, a 500)."""
from __future__ import annotations

import csv
import io

from delphi.errors import InputErrors, Problem


def read_rows(content: str, error: type[InputErrors]) -> list[list[str]]:
    """The rows of ``content`` (a leading byte-order mark dropped); raises ``error`` naming the line that cannot be
    read."""
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff"), newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        line = reader.line_num or 1
        if "field larger than field limit" in str(exc):
            message = (f"line {line}: a cell is longer than {csv.field_size_limit():,} characters, far more than any "
                       "statement or address. Is this the right file?")
        else:
            message = f"line {line}: this line cannot be read as CSV ({exc})."
        raise error([Problem(message, line=line)]) from None
