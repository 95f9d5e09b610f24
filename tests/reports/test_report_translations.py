"""The report, the codebook and the workbook's Methods sheet are written in the study's language (issue 21): every
string they show is translatable and has a Norwegian (bokmål) translation, and a study in Norwegian gets them in
Norwegian with the same figures, column names, codes and file names as in English (spec/cli.md: those are what R,
SPSS and Stata scripts read). Modelled on tests/test_staff_translations_more.py."""
from __future__ import annotations

import ast
import csv
import html
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ReportBuild, Study
from delphi.protocol import ConsensusScope, StoppingRule
from delphi.services.reports import build_downloads
from delphi.services.reports.builds import (
    file_content,
    kept_file,
    request_build,
    run_build,
)
from delphi.services.reports.tables import CODEBOOK_COLUMNS
from tests.i18n import ROOT, extracted, untranslated
from tests.reports.conftest import build_three_round_study
from tests.test_staff_translations_more import _attribute_text, _visible_text

TEMPLATE = ROOT / "templates" / "reports" / "report_document.html"
PYTHON = sorted((ROOT / "delphi" / "services" / "reports").glob("*.py"))
# Column headings that are the statistics' own names (the same in both languages, as in statistics.csv).
NOT_WORDS = {"CV", "rwg", "AD", "IPR", "IPRAS", "df", "ε²", "χ²"}
# Where the human text of the files is written: these functions may hold no sentence outside gettext.
HUMAN_TEXT = {"document.py": {"checklist", "methods", "_bootstrap_sentence", "_from_elsewhere", "_quantile_words",
                              "report_html"},
              "tables.py": {"codebook_csv", "statistics_meanings"}, "workbook.py": {"methods_lines"},
              "charts.py": {"diverging_bars", "across_rounds"}, "findings.py": {"sensitivity_definitions"}}
TRANSLATED_CALLS = {"_", "gettext", "ngettext", "N_"}


def report_messages() -> set:
    found = extracted(["reports/report_document.html"], PYTHON)
    # Phrases of the protocol's settings that the methods translate as they write them.
    found |= {m.phrase for kind in (ConsensusScope, StoppingRule) for m in kind}
    return found


def test_there_are_report_strings_to_check():
    assert len(report_messages()) > 250


def test_every_report_string_has_a_norwegian_translation():
    assert untranslated(report_messages()) == []


def _expression_strings(source: str) -> list[str]:
    """Quoted words inside ``{{ ... }}`` shown as they are, outside ``_()`` (whose strings may hold escaped quotes)."""
    words = []
    for expression in re.findall(r"{{(.*?)}}", source, flags=re.S):
        expression = re.sub(r"_\(\s*(['\"])(?:\\.|(?!\1).)*\1", " ", expression, flags=re.S)
        for _quote, text in re.findall(r"(['\"])(.*?)\1", expression):
            if re.search(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}", text):
                words.append(text)
    return words


def test_the_report_template_has_no_untranslated_text():
    source = TEMPLATE.read_text(encoding="utf-8")
    leftovers = [w for w in re.findall(r"[^\W\d_]{2,}", _visible_text(source)) if w not in NOT_WORDS]
    leftovers += _attribute_text(source) + _expression_strings(source)
    assert leftovers == [], f"wrap these in _(): {leftovers}"


def _unwrapped_sentences(tree: ast.AST, functions: set[str]) -> list[str]:
    """String literals of two words or more inside ``functions`` that no gettext call wraps (docstrings aside)."""
    found = []

    def visit(node, wrapped: bool):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            wrapped = wrapped or name in TRANSLATED_CALLS
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not wrapped \
                and re.search(r"[^\W\d_]{2,} [^\W\d_]{2,}", node.value):
            found.append(node.value)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Expr) and isinstance(child.value, ast.Constant):
                continue  # a docstring
            visit(child, wrapped)

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            visit(node, False)
    return found


@pytest.mark.parametrize("module", sorted(HUMAN_TEXT))
def test_the_report_python_writes_no_sentence_outside_gettext(module):
    tree = ast.parse((ROOT / "delphi" / "services" / "reports" / module).read_text(encoding="utf-8"))
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert HUMAN_TEXT[module] <= defined  # the list names real functions
    leftovers = [s for s in _unwrapped_sentences(tree, HUMAN_TEXT[module])
                 # file names and column lists are the files' own, the same in every language
                 # and so are the rules (expressions in protocol.toml's language)
                 if not re.fullmatch(r"[\w., /()-]*(csv|json|xlsx|sav|dta|files)|[a-z_]+(, [a-z_]+)+|all figures", s)
                 and not re.search(r"[<>]=", s)]
    assert leftovers == [], f"{module}: wrap these in _(): {leftovers}"


def test_the_python_check_sees_an_unwrapped_sentence():
    tree = ast.parse('def methods(p):\n    """A docstring is not shown."""\n'
                     '    return [(_("Rating scale"), _("Rated on a %(n)s scale.", n=p)),'
                     ' ("Quartiles", f"Set by {p} method."),'
                     ' ("Stopping rule", "At most three rounds.")]\n'
                     'def other():\n    return "Not a human text function."\n')
    assert _unwrapped_sentences(tree, {"methods"}) == ["Set by ", "Stopping rule", "At most three rounds."]


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _number_cells(report: str) -> list[str]:
    """The report's figure cells (class "num"), words in <small> dropped and decimal commas read as points."""
    cells = re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', report, flags=re.S)
    cells = [re.sub(r"<small>.*?</small>", "", c).strip() for c in cells]
    cells = [re.sub(r"(\d),(\d)", r"\1.\2", html.unescape(c)) for c in cells]
    # The words in figure cells: "withheld" and "5 of 7" (panellists in Kendall's W)
    return [c.replace("holdt tilbake", "withheld").replace(" av ", " of ") for c in cells]


def _both(app) -> tuple[int, dict, dict]:
    with app.app_context():
        study_id = build_three_round_study()
        study = db.session.get(Study, study_id)
        english = build_downloads(study)
        study.language = "nb"
        db.session.commit()
        norwegian = build_downloads(db.session.get(Study, study_id))
    return study_id, english, norwegian


def test_a_study_in_norwegian_gets_a_norwegian_report_codebook_and_methods_with_the_same_figures(app):
    _, en, nb = _both(app)
    report_en, report_nb = en["report.html"].decode(), nb["report.html"].decode()
    assert '<html lang="en">' in report_en and '<html lang="nb">' in report_nb
    for english, norwegian in (("Participant flow", "Deltakerflyt"), ("Methods", "Metode"),
                               ("Attrition", "Frafall"), ("Consensus table", "Konsensustabell")):
        assert f">{english}</h2>" in report_en and f">{norwegian}</h2>" in report_nb
        assert f">{english}</h2>" not in report_nb
    for words in ("Svarskala</dt>", "Konsensusdefinisjon</dt>", "Kendalls W", "Krippendorffs alfa",
                  "Holm-justert p", "prosent enighet", "bootstrap-intervaller", "Interkvartilavstand",
                  "Figur 1", "vurdert: konsensus inn", "<td>lagt til av studieteamet</td>", "<td>avsluttet</td>"):
        assert words in report_nb, words
    # Sentences with the study's settings in them: a decimal comma in prose, Norwegian quotes.
    assert "2 000 trekninger" in report_nb.replace("\xa0", " ") and "95 % nivå" in report_nb.replace("\xa0", " ")
    # The same figures, cell for cell (decimal commas in Norwegian), and the same statement codes and groups.
    assert _number_cells(report_nb) == _number_cells(report_en)
    assert len(_number_cells(report_en)) > 300
    assert re.findall(r'<th scope="row">([A-Z]+-\d\d)', report_nb) == re.findall(r'<th scope="row">([A-Z]+-\d\d)',
                                                                                  report_en)
    assert "0,5" in report_nb or "0,3" in report_nb

    # The machine-read files do not change with the language.
    for name in ("ratings.csv", "statistics.csv", "consensus.csv", "rounds.csv", "pairwise.csv",
                 "verdict_changes.csv", "protocol.toml"):
        if name in en:
            assert nb[name] == en[name], name
    # statements.csv too, but for its last column: the history again, for people, in the study's language.
    statements_en, statements_nb = _rows(en["statements.csv"].decode()), _rows(nb["statements.csv"].decode())
    people = "history_in_study_language"
    assert [{k: v for k, v in r.items() if k != people} for r in statements_nb] == [
        {k: v for k, v in r.items() if k != people} for r in statements_en]
    assert all(r[people] == r["history"] for r in statements_en)
    histories = " ".join(r[people] for r in statements_nb)
    assert "runde 1: vurdert: konsensus" in histories and "før runde 1: lagt til av studieteamet" in histories
    # (A decision's reason is the study team's own words: "Agreed in round 1" stays as they wrote it.)
    assert not re.search(r"(^|; )(round \d|before round)", histories) and "rated:" not in histories

    codebook_en, codebook_nb = _rows(en["codebook.csv"].decode()), _rows(nb["codebook.csv"].decode())
    assert list(codebook_nb[0]) == list(codebook_en[0]) == list(CODEBOOK_COLUMNS)
    assert [(r["file"], r["column"], r["code"]) for r in codebook_nb] == [
        (r["file"], r["column"], r["code"]) for r in codebook_en]
    explained = [(e, n) for e, n in zip(codebook_en, codebook_nb) if e["meaning"]]
    assert len(explained) > 40 and all(e["meaning"] != n["meaning"] for e, n in explained)
    verdicts = {r["code"]: r["code_meaning"] for r in codebook_nb if r["column"] == "verdict" and r["code"]}
    assert verdicts == {"in": "konsensus inn", "out": "konsensus ut", "none": "ingen konsensus",
                        "withheld": "tall holdt tilbake (liten gruppe)"}
    assert any("Paneldeltakerens pseudonym" in r["meaning"] for r in codebook_nb)

    def methods(content: bytes) -> tuple[list[str], list[list]]:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return book.sheetnames, [list(row) for row in book["Methods"].iter_rows(values_only=True)]

    sheets_en, methods_en = methods(en["results.xlsx"])
    sheets_nb, methods_nb = methods(nb["results.xlsx"])
    assert sheets_nb == sheets_en and methods_nb[0] == methods_en[0] == ["topic", "method"]
    assert methods_nb[1] == ["Svarskala", methods_nb[1][1]] and methods_nb[1][1].startswith("Utsagnene ble vurdert")
    assert [row[0] for row in methods_en[1:]][:2] == ["Rating scale", "Consensus definition"]


def test_the_build_job_and_delphi_report_write_the_study_language(app, runner, tmp_path):
    """Neither runs in a request, where the locale selector would give the default (English)."""
    with app.app_context():
        study_id = build_three_round_study()
        study = db.session.get(Study, study_id)
        study.language = "nb"
        request_build(study, None)
        db.session.commit()
        assert run_build(db.session.scalar(sa.select(ReportBuild.id))) is True
        build = db.session.scalar(sa.select(ReportBuild))
        report = file_content(kept_file(build, "report.html")).decode()
        codebook = file_content(kept_file(build, "codebook.csv")).decode()
    assert '<html lang="nb">' in report and ">Deltakerflyt</h2>" in report
    assert "Rundenummer (1, 2, ...)" in codebook and list(_rows(codebook)[0]) == list(CODEBOOK_COLUMNS)

    result = runner.invoke("report", str(study_id), "--out", str(tmp_path / "set"))
    assert result.exit_code == 0, result.output
    written = (tmp_path / "set" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="nb">' in written and ">Metode</h2>" in written
