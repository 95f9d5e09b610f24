"""Every panellist-facing string is translatable, and the English and Norwegian (bokmål) catalogues are complete."""
import re

import pytest
from babel.messages.mofile import read_mo

from tests.i18n import MO, ROOT, catalogue, extracted, untranslated, visible_text

# Everything a panellist can see: their pages, the shared layout and partials, error pages, the landing page.
PANEL_TEMPLATES = ["panel/*.html", "base.html", "_*.html", "errors/*.html", "main/*.html"]
PANEL_PYTHON = ["delphi/panel/*.py", "delphi/main/*.py"]


def panel_messages() -> set:
    return extracted(PANEL_TEMPLATES, [path for pattern in PANEL_PYTHON for path in ROOT.glob(pattern)])


def test_there_are_panellist_strings_to_check():
    assert len(panel_messages()) > 100


def test_every_panellist_string_has_a_norwegian_translation():
    assert untranslated(panel_messages()) == []


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


_visible_text = visible_text


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
