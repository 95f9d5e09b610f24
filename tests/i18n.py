"""What the translation tests share: the Norwegian (bokmål) catalogue, the messages a set of templates and Python files
hold (extracted as pybabel does), the ones the catalogue lacks, and the text a template shows outside Jinja.

Each part of the app has its own test module (panellist pages, facilitator pages, sign-in and the other staff pages,
the report) with its own list of files; this is the one way they read the files and the catalogue."""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "delphi" / "translations" / "nb" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# The gettext functions of the app, as babel.cfg names them (N_ marks a phrase translated where it is shown).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}


def catalogue() -> Catalog:
    with PO.open("rb") as handle:
        return read_po(handle, locale="nb")


def extracted(templates: Iterable[str], python: Iterable[Path]) -> set:
    """Every message in the templates (names or globs under templates/) and the Python files."""
    found = set()
    method_map = [(pattern, "jinja2") for pattern in templates]
    if method_map:
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / "templates", method_map,
                                                                              keywords=KEYWORDS):
            found.add(message)
    for path in python:
        with Path(path).open("rb") as handle:
            for _line, message, _comments, _context in extract("python", handle, keywords=KEYWORDS):
                found.add(message)
    return found


def untranslated(messages: Iterable) -> list[str]:
    """The messages (plural forms by their singular) with no Norwegian entry, a fuzzy one, or an empty form."""
    cat = catalogue()
    missing = []
    for message in messages:
        key = message if isinstance(message, str) else message[0]
        entry = cat.get(key)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else [
            getattr(entry, "string", "")]
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(key)
    return sorted(missing)


def visible_text(source: str) -> str:
    """Template text a user would read that is not inside a Jinja expression, statement or comment."""
    source = re.sub(r"{#.*?#}", " ", source, flags=re.DOTALL)
    source = re.sub(r"{%.*?%}", " ", source, flags=re.DOTALL)
    source = re.sub(r"{{.*?}}", " ", source, flags=re.DOTALL)
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.DOTALL)
    source = re.sub(r"<svg\b.*?</svg>", " ", source, flags=re.DOTALL)
    source = re.sub(r"<[^>]*>", " ", source, flags=re.DOTALL)
    source = re.sub(r"&\w+;", " ", source)
    return source
