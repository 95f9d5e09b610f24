"""Every string staff read on the study pages is translatable and has a Norwegian (bokmål) translation, and a staff user
who chooses Norwegian gets the pages in Norwegian (issue 21). Modelled on tests/panel/test_translations.py, which
checks the panellist pages, the shared partials and the catalogue's placeholders and compiled file.

Other parts of the staff console extend STAFF_TEMPLATES and STAFF_PYTHON as they are translated."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.i18n import ROOT, extracted, untranslated
from tests.i18n import visible_text as _visible_text

# Globs under templates/ and under the repository root: the staff console's pages and its Python (views, forms).
STAFF_TEMPLATES = ["facilitate/*.html", "_*.html"]
STAFF_PYTHON = ["delphi/facilitate/*.py"]
# Files another part of issue 21 translates (phone and paper entry, statement edits and the statement bank); they join
# the checks when that work is merged: remove them from here then.
NOT_YET: set[str] = set()  # every staff template and view is translated
# Words written the same in both languages or in their own language on purpose (language names, the file formats
# and the statistics' names that formulas use), and punctuation that the regular expression does not see.
NOT_WORDS = {"English", "Norsk", "bokmål", "CSV", "TOML", "UTC", "IQR"}
# Calls whose string arguments a user reads: a flash message, a form field's label, a validator's message.
SHOWN_CALLS = {"flash", "DataRequired", "InputRequired", "NumberRange", "Length", "ValidationError", "Optional"}


def _templates() -> list[Path]:
    found = {p for pattern in STAFF_TEMPLATES for p in (ROOT / "templates").glob(pattern)}
    return sorted(p for p in found if str(p.relative_to(ROOT / "templates")) not in NOT_YET)


def _python() -> list[Path]:
    found = {p for pattern in STAFF_PYTHON for p in ROOT.glob(pattern)}
    return sorted(p for p in found if str(p.relative_to(ROOT)) not in NOT_YET)


def staff_messages() -> set:
    return extracted(sorted(str(p.relative_to(ROOT / "templates")) for p in _templates()), _python())


def test_the_lists_name_real_files():
    assert len(_templates()) > 25 and len(_python()) > 8
    assert len(staff_messages()) > 300


def test_every_staff_string_has_a_norwegian_translation():
    assert untranslated(staff_messages()) == []


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_staff_templates_have_no_untranslated_text(template):
    text = _visible_text(template.read_text(encoding="utf-8"))
    leftovers = [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in NOT_WORDS]
    assert leftovers == [], f"{template.name}: wrap these in _(): {leftovers}"


def _shown_literals(tree: ast.AST) -> list[str]:
    """String literals (plain or f-strings) passed where a user reads them: to flash(), to a validator or error, as a
    form field's label, or as a choice's label in ``options([(value, label), ...])``."""
    found = []

    def literal(node) -> bool:
        return (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() != "") or \
            isinstance(node, ast.JoinedStr)

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in SHOWN_CALLS or name.endswith("Field"):
            args = node.args[:1] if name.endswith("Field") else node.args
            args = [a for a in args if not (name == "flash" and a is not node.args[0])]
            args += [k.value for k in node.keywords if k.arg in {"message", "label", "description"}]
            found += [ast.unparse(a) for a in args if literal(a)]
        if name == "options" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
            found += [ast.unparse(pair.elts[1]) for pair in node.args[0].elts
                      if isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and literal(pair.elts[1])]
        if name == "ValueError" and node.args and literal(node.args[0]):
            found.append(ast.unparse(node.args[0]))
    return found


@pytest.mark.parametrize("module", _python(), ids=lambda p: p.name)
def test_staff_python_shows_no_unwrapped_string(module):
    leftovers = _shown_literals(ast.parse(module.read_text(encoding="utf-8")))
    assert leftovers == [], f"{module.name}: wrap these in _() or _l(): {leftovers}"


def test_the_python_check_sees_unwrapped_strings():
    tree = ast.parse('flash("Saved.", "success")\nflash(_("Saved."), "success")\n'
                     'x = StringField("Title", validators=[DataRequired("Enter it.")])\n'
                     'y = RadioField(_l("D"), choices=options([("yes", "Carry forward"), ("no", _l("Retire"))]))\n'
                     'raise ValidationError(f"Bad {x}")')
    assert sorted(_shown_literals(tree)) == sorted(["'Saved.'", "'Title'", "'Enter it.'", "'Carry forward'", "f'Bad {x}'"])


def test_the_settings_titles_pages_show_have_norwegian_translations():
    """Scope, stopping rule, withdrawal and verdict titles stay English in reports and files; pages translate them."""
    from delphi.models.round import Classification
    from delphi.protocol import ConsensusScope, StoppingRule, WithdrawalPolicy

    titles = [m.title for kind in (ConsensusScope, StoppingRule, WithdrawalPolicy, Classification) for m in kind]
    assert untranslated(titles) == []


CONFIRM = {"confirm": "yes"}


def test_a_staff_user_who_chooses_norwegian_gets_the_study_pages_in_norwegian(client, owner, make_panellist,
                                                                                answer_round):
    _, study_id = owner
    pids = [make_panellist(study_id, key)[0] for key in ("staff", "staff", "staff", "service_user")]
    assert client.post(f"/studies/{study_id}/rounds/open", data=CONFIRM).status_code == 303
    answer_round(study_id, {pid: {"A-01": 9, "A-02": 8, "B-01": 2} for pid in pids[:3]})
    study_page = f"/studies/{study_id}"
    english = client.get(study_page).get_data(as_text=True)
    assert '<html lang="en">' in english and "What happens next" in english and "Norsk (bokmål)" in english

    # The switch in the page header, as a staff user presses it: back to the same page, now in Norwegian.
    response = client.post("/language", data={"lang": "nb", "next": study_page})
    assert response.status_code == 303 and response.headers["Location"] == study_page
    page = client.get(study_page).get_data(as_text=True)
    assert '<html lang="nb">' in page and ">English</button>" in page
    assert "Hva skjer videre" in page and "Runde 1 er åpen." in page and "Rollen din: Eier" in page
    assert "Innsendte svar på runde 1, etter interessentgruppe" in page and "What happens next" not in page
    panel = client.get(f"{study_page}/panel").get_data(as_text=True)
    assert "4 personer i panelet." in panel and "Legg til én paneldeltaker" in panel and "Send påminnelser" in panel
    monitor = client.get(f"{study_page}/rounds/current").get_data(as_text=True)
    assert "Runde 1 er åpen" in monitor and "3 paneldeltakere har lagret minst ett svar." in monitor
    assert "Avslutt runde 1" in monitor
    closing = client.get(f"{study_page}/rounds/1/close").get_data(as_text=True)
    assert "Avslutte runde 1?" in closing and "3 av 4 personer har sendt runde 1" in closing

    assert client.post(f"{study_page}/rounds/1/close", data=CONFIRM).status_code == 303
    review = client.get(f"{study_page}/review").get_data(as_text=True)
    assert "Gjennomgang av runde 1" in review and "Stoppregelen" in review and "konsensus inn" in review
    flashed = client.get(study_page).get_data(as_text=True)
    assert "Runde 1 er avsluttet" in flashed and "Runder" in flashed and "vurdering" in flashed

    client.post("/language", data={"lang": "en", "next": study_page})
    assert "What happens next" in client.get(study_page).get_data(as_text=True)
