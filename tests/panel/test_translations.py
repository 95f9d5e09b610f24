"""Every panellist-facing string is translatable, and the English and Norwegian (bokmål) catalogues are complete."""
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "delphi" / "translations" / "nb" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# Everything a panellist can see: their pages, the shared layout and partials, error pages, the landing page.
PANEL_TEMPLATES = ["panel/*.html", "base.html", "_*.html", "errors/*.html", "main/*.html"]
PANEL_PYTHON = ["delphi/panel/*.py", "delphi/main/*.py"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def panel_messages() -> set:
    found = set()
    method_map = [(pattern, "jinja2") for pattern in PANEL_TEMPLATES]
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT / "templates", method_map,
                                                                          keywords=KEYWORDS):
        found.add(message)
    for pattern in PANEL_PYTHON:
        for path in ROOT.glob(pattern):
            from babel.messages.extract import extract

            with path.open("rb") as handle:
                for _line, message, _comments, _context in extract("python", handle, keywords=KEYWORDS):
                    found.add(message)
    return found


def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle, locale="nb")


def test_there_are_panellist_strings_to_check():
    assert len(panel_messages()) > 100


def test_every_panellist_string_has_a_norwegian_translation():
    cat = catalogue()
    missing = []
    for message in panel_messages():
        key = message if isinstance(message, str) else message[0]
        entry = cat.get(key)
        if entry is None or entry.fuzzy or not all(entry.string if isinstance(entry.string, tuple) else [entry.string]):
            missing.append(key)
    assert missing == []


@pytest.mark.parametrize("entry", [m for m in catalogue() if m.id], ids=lambda m: str(m.id)[:40])
def test_placeholders_survive_translation(entry):
    ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    wanted = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
    for text in strings:
        assert set(re.findall(r"%\(\w+\)[sd]", text)) <= wanted | {"%(num)d"}
        assert set(re.findall(r"%\(\w+\)[sd]", text)) >= wanted - {"%(num)d"}


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as handle:
        compiled = read_mo(handle)
    po = catalogue()
    for entry in po:
        if entry.id:
            assert compiled.get(entry.id) is not None, entry.id
            got, want = compiled[entry.id].string, entry.string
            as_tuple = (lambda v: tuple(v) if isinstance(v, (list, tuple)) else v)
            assert as_tuple(got) == as_tuple(want), "run: pybabel compile -d delphi/translations"


def _visible_text(source: str) -> str:
    """Template text a user would read that is not inside a Jinja expression, statement or comment."""
    source = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    source = re.sub(r"{%.*?%}", " ", source, flags=re.S)
    source = re.sub(r"{{.*?}}", " ", source, flags=re.S)
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
    source = re.sub(r"<svg\b.*?</svg>", " ", source, flags=re.S)
    source = re.sub(r"<[^>]*>", " ", source, flags=re.S)
    source = re.sub(r"&\w+;", " ", source)
    return source


@pytest.mark.parametrize("template", sorted(p for pattern in PANEL_TEMPLATES for p in (ROOT / "templates").glob(pattern)),
                         ids=lambda p: p.name)
def test_panellist_templates_have_no_untranslated_text(template):
    text = _visible_text(template.read_text(encoding="utf-8"))
    # Language names are written in their own language on purpose; a dash or a dot is punctuation.
    leftovers = [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in {"English", "Norsk", "bokmål"}]
    assert leftovers == [], f"{template.name}: wrap these in _(): {leftovers}"


def test_pages_render_in_norwegian(client, make_study, make_panellist):
    study_id = make_study(language="nb")
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    page = client.get("/panel/consent").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert "Jeg vil være med" in page and "Om studien" in page
    client.post("/language", data={"lang": "en", "next": "/panel/consent"})
    assert "I agree to take part" in client.get("/panel/consent").get_data(as_text=True)
