"""analysis is pure: importing it loads no web framework, database layer or app module."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_analysis_loads_neither_flask_nor_sqlalchemy():
    code = ("import analysis, sys; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'delphi')]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_analysis_sources_never_import_the_app():
    for path in (ROOT / "analysis").glob("*.py"):
        text = path.read_text()
        for name in ("flask", "sqlalchemy", "delphi"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
