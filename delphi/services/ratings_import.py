"""Ratings from elsewhere (cli.md, "Ratings from elsewhere"): the files other tools export, read as the
:class:`~delphi.services.analyse.LongRatings` that ``delphi analyse`` computes on.

A file is ``.csv``/``.tsv`` (comma, semicolon or tab, whichever splits the header into most columns; UTF-8 with or
without a byte-order mark, else Windows-1252) or ``.xlsx`` (the first sheet). Its first row names the columns. It is
*long* when it has a statement and a rating column (after ``--columns``), else *wide*: one row per panellist and
round, one column per protocol statement (named by its code or its ``column`` key). Qualtrics writes two more rows
under the header (each question's text, then ``{"ImportId":"QID1"}`` cells): a row whose every cell is such an
ImportId, within the first two rows under the header, is dropped together with the row above it.

Every refusal names where (``line 5, column 'HOPE-01'`` in a text file, ``cell D5 ('HOPE-01')`` in a workbook), the
value, and what would be accepted; all problems are listed at once (up to 50), and nothing is read from a file with
any. A plain long UTF-8 file with the protocol's columns (the app's own export) is read by the fast column reader of
:mod:`delphi.services.analyse`, which gives the same arrays as this module's general reading.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from delphi.errors import Problem
from delphi.services.analyse import (
    DECLINED_COLUMN, DECLINED_TEXTS, MAX_MESSAGES, REQUIRED_COLUMNS, LongRatings, RatingsFileError,
    _read_ratings_by_column, _read_ratings_by_line, _whole_number,
)

ROLES = REQUIRED_COLUMNS  # round, panellist, group, statement, rating
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# After a leading number or a code: the label's separator (cli.md: a space, a dash or an en dash; REDCap writes
# "5, Important", others "5: Important" or "5. Important").
SEPARATORS = " \t-–—,:."
LABELLED = re.compile(r"([+-]?\d+)(?:\s*[-–—,:.)]\s*|\s+)(?=[^\d\s.,])")
ROLE_MAP = re.compile(r",\s*(?=(?:round|panellist|group|statement|rating)\s*=)")
IMPORT_ID = '{"importid"'
SKIP, UNABLE, DECLINED = "skip", "unable", "declined"


@dataclass(frozen=True)
class ImportedRatings:
    """The ratings read, and what was read: ``given`` describes the file in plain words (format, encoding, shape,
    rows skipped, rounds named in the file and the numbers they were given) for the command to print."""

    long: LongRatings
    given: tuple[str, ...]


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]  # data rows, each at least as long as the header
    places: list[int]  # each row's line (text) or row number (workbook)
    workbook: bool
    given: list[str]

    def where(self, i: int | None, column: int | None = None) -> str:
        place = 1 if i is None else self.places[i]
        if self.workbook:
            if column is None:
                return f"row {place}"
            return f"cell {_column_letter(column)}{place} ({self.header[column]!r})"
        return f"line {place}" if column is None else f"line {place}, column {self.header[column]!r}"

    def line(self, i: int | None) -> int:
        return 1 if i is None else self.places[i]


class _Problems:
    def __init__(self):
        self.found: list[Problem] = []
        self.more = 0

    def add(self, where: str, line: int, message: str) -> None:
        if len(self.found) < MAX_MESSAGES:
            self.found.append(Problem(f"{where}: {message}", line=line))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.found:
            raise RatingsFileError(self.found + ([f"... and {self.more} more problem(s)"] if self.more else []))


def parse_columns(specs) -> dict[str, str]:
    """``--columns panellist=record_id,group=role`` (given once or more) as {role: column name}. A name may hold
    commas: only a comma before another ``ROLE=`` separates. Raises :class:`RatingsFileError` for an unknown role."""
    mapping, problems = {}, []
    for spec in specs or ():
        for part in ROLE_MAP.split(spec.strip()):
            role, equals, name = part.partition("=")
            role, name = role.strip(), name.strip()
            if not equals or role not in ROLES or not name:
                problems.append(f"--columns {part!r}: expected ROLE=NAME, ROLE one of {', '.join(ROLES)} and NAME "
                                "a column of the file, e.g. --columns panellist=record_id,group=role")
            elif role in mapping:
                problems.append(f"--columns names the {role} column twice ({mapping[role]!r} and {name!r})")
            else:
                mapping[role] = name
    if problems:
        raise RatingsFileError(problems)
    return mapping


def parse_codes(spec: str | None, option: str, scale) -> tuple[str, ...]:
    """``--missing NA,99`` / ``--unable X`` as codes. A code that is a point of the scale is refused: every such
    rating would silently vanish."""
    codes = tuple(code.strip() for code in (spec or "").split(",") if code.strip())
    on_scale = [c for c in codes if (n := _whole_number(c)) is not None and scale.min <= n <= scale.max]
    if on_scale:
        raise RatingsFileError([f"{option} {', '.join(on_scale)}: a code cannot be a point on the scale "
                                f"{scale.min}-{scale.max}; accepted: codes off the scale, such as NA, 99 or X"])
    return codes


def read_ratings_file(path, protocol, columns: dict[str, str] | None = None, missing=(), unable=(),
                      declined=()) -> ImportedRatings:
    """Read ratings from elsewhere under ``protocol`` (its ``scale``, ``groups`` and ``statements``); see the module
    docstring. ``columns`` maps roles to the file's column names; ``missing``, ``unable`` and ``declined`` are cell
    codes meaning no rating, "unable to rate" and "prefer not to answer" (a long file's ``declined`` column, as
    ``ratings.csv`` has it, says the last too). Raises :class:`RatingsFileError` naming each problem's line or cell."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".numbers"):
        raise RatingsFileError([f"{path.name}: a {suffix} file cannot be read; accepted: .csv, .tsv or .xlsx "
                                "(save the sheet as an Excel workbook or as CSV)"])
    if suffix == ".xlsx":
        table = _workbook_table(path)
    else:
        raw = path.read_bytes()
        if suffix == ".csv" and not columns and not missing and not unable and not declined:
            long = _plain_long(raw, protocol)
            if long is not None:
                return ImportedRatings(long, ("a long CSV file (UTF-8, comma-separated), one rating per row",))
        table = _text_table(raw, suffix)
    _drop_qualtrics_rows(table)
    return _interpret(table, protocol, columns or {}, tuple(missing), tuple(unable), tuple(declined))


def _plain_long(raw: bytes, protocol) -> LongRatings | None:
    """The app's own export (and any well-formed long UTF-8 file) by the fast column reader; None otherwise."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    lines = list(io.StringIO(text, newline=""))
    if not lines:
        return None
    header = [name.strip() for name in next(csv.reader(lines[:1]), [])]
    if not all(name in header for name in REQUIRED_COLUMNS):
        return None
    groups, codes = [g.key for g in protocol.groups], [s.code for s in protocol.statements]
    long = _read_ratings_by_column(lines, groups, codes, protocol.scale)
    if long is None and DECLINED_COLUMN in header:
        # A ratings.csv with "prefer not to answer" and a problem: the line reader words it (never reading the
        # declined answers as "unable to rate").
        long = _read_ratings_by_line(lines, groups, codes, protocol.scale)
    return long


def _text_table(raw: bytes, suffix: str) -> _Table:
    try:
        text, encoding = raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        try:
            text, encoding = raw.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise RatingsFileError([Problem(
                f"line {line}: byte {exc.start + 1} (0x{raw[exc.start]:02X}) is neither UTF-8 nor Windows-1252 "
                "text; accepted: a file saved as UTF-8 (\"CSV UTF-8\" in Excel) or Windows-1252", line=line)]) from None
    first = next(iter(io.StringIO(text, newline="")), "")
    preferred = "\t" if suffix == ".tsv" else ","
    delimiter = max(DELIMITERS, key=lambda d: (len(next(csv.reader([first], delimiter=d), [])), d == preferred))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, rows, places, previous = None, [], [], 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if header is None:
                header = [cell.strip() for cell in row]
            elif any(cell.strip() for cell in row):
                rows.append(row + [""] * (len(header) - len(row)))
                places.append(start)
    except csv.Error as exc:
        line = reader.line_num
        raise RatingsFileError([Problem(f"line {line}: the file cannot be read as CSV ({exc}); accepted: cells "
                                        "separated by commas, semicolons or tabs", line=line)]) from None
    kind = "TSV" if suffix == ".tsv" else "CSV"
    given = [f"a {kind} file ({encoding}, {DELIMITERS[delimiter]}-separated)"]
    return _Table(header or [], rows, places, False, given)


def _workbook_table(path: Path) -> _Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not need
            workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RatingsFileError([f"{path.name} cannot be read as an Excel workbook ({exc.__class__.__name__}); "
                                "accepted: an .xlsx file saved by Excel, LibreOffice or a survey tool"]) from None
    try:
        sheet = workbook.worksheets[0]
        header, rows, places = None, [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                row = [_cell_text(value) for value in values]
                if header is None:
                    while row and not row[-1]:
                        row.pop()
                    header = [cell.strip() for cell in row]
                elif any(cell.strip() for cell in row):
                    rows.append(row + [""] * (len(header) - len(row)))
                    places.append(number)
        title = sheet.title
    finally:
        workbook.close()
    return _Table(header or [], rows, places, True, [f"an Excel workbook (its first sheet, {title!r})"])


def _cell_text(value) -> str:
    """A workbook cell as the text a CSV export would hold: whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _drop_qualtrics_rows(table: _Table) -> None:
    for k, row in enumerate(table.rows[:2]):
        cells = [cell.strip() for cell in row if cell.strip()]
        if cells and all(cell.lower().replace(" ", "").startswith(IMPORT_ID) for cell in cells):
            del table.rows[:k + 1], table.places[:k + 1]
            table.given.append(f"the {k + 1} row(s) under the header (Qualtrics' question texts and ImportId "
                               "row) skipped")
            return


def _matches(text: str, code: str) -> bool:
    """cli.md: a cell matches a code when it equals it or begins with it followed by a space or a dash."""
    folded, code = text.casefold(), code.casefold()
    return folded == code or (folded.startswith(code) and folded[len(code)] in SEPARATORS)


class _Ratings:
    """What a rating cell means, each distinct text worked out once: a point of the scale, SKIP, UNABLE, or a
    message (starting with the value) saying why not and what is accepted."""

    def __init__(self, scale, missing, unable, declined=()):
        self.scale, self.missing, self.unable, self.declined = scale, missing, unable, declined
        self.allow_unable = bool(getattr(scale, "unable_to_rate", True))
        self.allow_declined = bool(getattr(scale, "prefer_not_to_answer", False))
        labels = getattr(scale, "labels", {}) or {}
        self.labels = {str(label).strip().casefold(): int(point) for point, label in labels.items()}
        accepted = [f"a whole number {scale.min}-{scale.max}",
                    f"a label starting with one (\"{scale.max} - {labels.get(scale.max, 'Important')}\")"]
        if labels:
            accepted.append("a scale label (" + ", ".join(f"{label!r}" for label in labels.values()) + ")")
        accepted.append(f"a --missing code ({', '.join(missing)})" if missing else "a code named with --missing")
        if self.allow_unable:
            accepted.append(f"an --unable code ({', '.join(unable)})" if unable else "a code named with --unable")
        if self.allow_declined:
            accepted.append(f"a --declined code ({', '.join(declined)})" if declined
                            else "a code named with --declined")
        self.accepted = "accepted: " + ", ".join(accepted[:-1]) + " or " + accepted[-1]
        self.known: dict[str, object] = {}

    def __call__(self, text: str):
        meaning = self.known.get(text)
        if meaning is None:
            meaning = self.known[text] = self._meaning(text.strip())
        return meaning

    def _meaning(self, text: str):
        if any(_matches(text, code) for code in self.missing):
            return SKIP
        if any(_matches(text, code) for code in self.unable):
            if not self.allow_unable:
                return (f"{text!r} is an --unable code, but this protocol has no \"unable to rate\"; accepted: a "
                        f"whole number {self.scale.min}-{self.scale.max} or a --missing code")
            return UNABLE
        if any(_matches(text, code) for code in self.declined):
            if not self.allow_declined:
                return (f"{text!r} is a --declined code, but this protocol has no \"prefer not to answer\"; "
                        f"{self.accepted}")
            return DECLINED
        point = _whole_number(text)
        if point is None and (found := LABELLED.match(text)):
            point = int(found.group(1))
        if point is None:
            point = self.labels.get(text.casefold())
        if point is None:
            return f"{text!r} is not a rating; {self.accepted}"
        if not self.scale.min <= point <= self.scale.max:
            return f"{text!r} is off the scale {self.scale.min}-{self.scale.max}; {self.accepted}"
        return float(point)


def _interpret(table: _Table, protocol, columns: dict[str, str], missing, unable, declined=()) -> ImportedRatings:
    header = table.header
    if not any(header):
        raise RatingsFileError([Problem(f"{table.where(None)}: the file is empty; accepted: a header row naming the "
                                        "columns, then one row per rating (long) or per panellist (wide)", line=1)])
    listed = ", ".join(repr(name) for name in header if name)
    at, problems = {}, []
    for role in ROLES:
        name = columns.get(role, role)
        if name in header:
            at[role] = header.index(name)
        elif role in columns:
            problems.append(Problem(f"{table.where(None)}: --columns {role}={name}: the file has no column {name!r}; "
                                    f"its columns are {listed}", line=1))
    if problems:
        raise RatingsFileError(problems)
    long = "statement" in at and "rating" in at
    needed = ROLES if long or "statement" in columns or "rating" in columns else ("panellist", "group")
    absent = [role for role in needed if role not in at]
    if absent:
        raise RatingsFileError([Problem(
            f"{table.where(None)}: no {role} column; accepted: a column named {role!r}, or name the file's own with "
            f"--columns {role}=NAME; the file's columns are {listed}", line=1) for role in absent])
    statements = list(protocol.statements)
    if long:
        table.given.append("long: one rating per row")
        return _read(table, protocol, at, None, missing, unable, declined)
    statement_at, absent = [], []
    for s in statements:
        names = [name for name in (getattr(s, "column", ""), s.code) if name]
        found = next((header.index(name) for name in names if name in header), None)
        statement_at.append(found)
        if found is None:
            absent.append(" or ".join(repr(name) for name in names))
    if absent:
        raise RatingsFileError([Problem(
            f"{table.where(None)}: no column for statement(s) {'; '.join(absent)}; accepted: a wide file with one "
            "column per protocol statement, named by its code or its `column` key, or a long file with the columns "
            f"statement and rating; the file's columns are {listed}", line=1)])
    table.given.append("wide: one row per panellist" + (" and round" if "round" in at else ", all in round 1"))
    return _read(table, protocol, at, statement_at, missing, unable, declined)


def _read(table: _Table, protocol, at: dict[str, int], statement_at, missing, unable, declined=()) -> ImportedRatings:
    scale = protocol.scale
    problems = _Problems()
    rows, where = table.rows, table.where
    group_of_text = {}
    for g in protocol.groups:
        group_of_text[g.name.strip().casefold()] = g.key
    for g in protocol.groups:
        group_of_text[g.key.casefold()] = g.key
    groups_accepted = ("accepted (any case): " + ", ".join(f"{g.key} or {g.name!r}" for g in protocol.groups))
    rating_of = _Ratings(scale, missing, unable, declined)
    # A long file's declined column (ratings.csv's): true where the empty rating is "prefer not to answer".
    declined_at = table.header.index(DECLINED_COLUMN) if statement_at is None and DECLINED_COLUMN in table.header \
        else None

    round_of, round_names = _round_numbers(table, at.get("round"), problems)
    group_seen: dict[str, tuple[str, int]] = {}
    row_seen: dict[tuple, int] = {}
    code_of = {}
    for j, s in enumerate(protocol.statements):
        code_of[s.code] = j
        if getattr(s, "column", ""):
            code_of.setdefault(s.column, j)
    codes_accepted = ", ".join(s.code for s in protocol.statements[:12]) + (
        ", ..." if len(protocol.statements) > 12 else "")
    records = []  # (round, panellist, column j, value: a point or NaN for "unable to rate")
    for i, row in enumerate(rows):
        k = round_of[i]
        panellist = row[at["panellist"]].strip()
        if not panellist:
            problems.add(where(i, at["panellist"]), table.line(i),
                         "the panellist is empty; accepted: the panellist's pseudonym or record id")
        text = row[at["group"]].strip()
        group = group_of_text.get(text.casefold())
        if group is None:
            problems.add(where(i, at["group"]), table.line(i),
                         f"{text!r} is not one of the protocol's groups; {groups_accepted}")
        elif panellist:
            first = group_seen.setdefault(panellist, (group, i))
            if first[0] != group:
                problems.add(where(i, at["group"]), table.line(i),
                             f"{text!r}: panellist {panellist!r} is in group {first[0]!r} on "
                             f"{where(first[1])}; accepted: one group per panellist")
        if statement_at is None:
            code = row[at["statement"]].strip()
            j = code_of.get(code)
            if j is None:
                problems.add(where(i, at["statement"]), table.line(i),
                             f"{code!r} is not a statement of the protocol; accepted: {codes_accepted}")
            cells = [(j, at["rating"])]
        else:
            cells = list(enumerate(statement_at))
        if panellist and k is not None:
            key = (k, panellist) if statement_at is not None else (k, panellist, cells[0][0])
            first_i = row_seen.setdefault(key, i)
            if first_i != i:
                what, once = (("a second row", "one row per panellist and round") if statement_at is not None else
                              (f"a second rating of {code!r}", "one rating per panellist, statement and round"))
                problems.add(where(i), table.line(i), f"{what} for panellist {panellist!r} in round {k} (the first "
                             f"is on {where(first_i)}); accepted: {once}")
        for j, c in cells:
            text = row[c]
            flag = DECLINED_TEXTS.get(row[declined_at].strip().lower()) if declined_at is not None else False
            if flag is None:
                problems.add(where(i, declined_at), table.line(i), f"declined {row[declined_at]!r} is not true or "
                             "false")
                continue
            if flag and (text.strip() or not rating_of.allow_declined):
                problems.add(where(i, declined_at), table.line(i), "declined is true, but " + (
                    f"the rating is {text.strip()!r}, not empty" if text.strip()
                    else "this protocol has no \"prefer not to answer\""))
                continue
            if flag:
                meaning = DECLINED
            elif not text.strip():
                if statement_at is not None:
                    continue  # wide: an empty cell is no rating
                meaning = UNABLE if rating_of.allow_unable else (
                    f"the rating is empty, but this protocol has no \"unable to rate\"; {rating_of.accepted}")
            else:
                meaning = rating_of(text)
            if isinstance(meaning, str) and meaning not in (SKIP, UNABLE, DECLINED):
                problems.add(where(i, c), table.line(i), meaning)
            elif meaning != SKIP and j is not None:
                records.append((k, panellist, j, np.nan if meaning in (UNABLE, DECLINED) else meaning,
                                meaning == DECLINED))
    problems.raise_if_any()
    if not records:
        raise RatingsFileError(["the file has a header but no ratings (every rating cell is empty or a --missing "
                                "code); accepted: at least one rating"])
    given = list(table.given)
    if round_names:
        given.append("rounds named in the file, numbered in order of first appearance: "
                     + ", ".join(f"{name!r} = round {k}" for name, k in round_names.items()))
    return ImportedRatings(_long_ratings(records, group_seen, protocol), tuple(given))


def _round_numbers(table: _Table, column: int | None, problems: _Problems) -> tuple[list, dict[str, int] | None]:
    """Each row's round (None where refused): the number in the round column, or, when no value there is a number
    (REDCap's ``round_1_arm_1``), the values numbered in order of first appearance, which are returned too; round 1
    without a round column."""
    numbers: list[int | None] = [1] * len(table.rows)
    if column is None:
        return numbers, None
    texts = [row[column].strip() for row in table.rows]
    as_numbers = {text: _whole_number(text) for text in set(texts)}
    numeric = {text for text in as_numbers if _number(text)}
    named = None if numeric else {}
    for i, text in enumerate(texts):
        if named is not None and text:
            numbers[i] = named.setdefault(text, len(named) + 1)
            continue
        number = as_numbers[text]
        if number is None or number < 1:
            numbers[i] = None
            why = "is empty" if not text else "is not a whole number 1, 2, ..." if text in numeric else \
                "is not a number while other rounds in the column are"
            problems.add(table.where(i, column), table.line(i), f"the round {text!r} {why}; accepted: whole numbers "
                         "1, 2, ... throughout the column, or names throughout (numbered in order of first appearance)")
        else:
            numbers[i] = number
    return numbers, named


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _long_ratings(records, group_seen, protocol) -> LongRatings:
    """The matrices of :class:`LongRatings` as the long reader builds them: panellists sorted, rounds sorted."""
    codes = tuple(s.code for s in protocol.statements)
    panellists = tuple(sorted(group_seen))
    row_of = {p: i for i, p in enumerate(panellists)}
    rounds = tuple(sorted({r[0] for r in records} or {1}))
    shape = (len(panellists), len(codes))
    ratings, unable = {}, {}
    round_at = np.array([r[0] for r in records], dtype=np.intp)
    rows = np.array([row_of[r[1]] for r in records], dtype=np.intp)
    cols = np.array([r[2] for r in records], dtype=np.intp)
    values = np.array([r[3] for r in records], dtype=float)
    chose_not = np.array([r[4] for r in records], dtype=bool)
    declined = {}
    for k in rounds:
        chosen = round_at == k
        ratings[k] = np.full(shape, np.nan)
        ratings[k][rows[chosen], cols[chosen]] = values[chosen]
        unable[k] = np.zeros(shape, dtype=bool)
        unable[k][rows[chosen], cols[chosen]] = np.isnan(values[chosen]) & ~chose_not[chosen]
        declined[k] = np.zeros(shape, dtype=bool)
        declined[k][rows[chosen], cols[chosen]] = chose_not[chosen]
    groups = np.array([group_seen[p][0] for p in panellists], dtype=object)
    return LongRatings(rounds=rounds, panellists=panellists, groups=groups, statements=codes, ratings=ratings,
                       unable=unable, declined=declined)
