"""The wheel carries everything the app reads at run time.

The README installs the project non-editable (``pip install .``). The e-mail texts (``templates/email/*.txt``) were
once left out of the wheel by a list of file extensions, and every invitation, reminder and password reset failed in
that install while the editable test install passed. This test builds the wheel from a copy of the tree and compares
it, file by file, with templates/, static/ and the package folders.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "venv", "build", "dist", "*.egg-info", "instance",
                              "artifacts", ".git", ".pytest_cache", "tests", "benchmarks")


def shipped(folder: str) -> set[str]:
    """Every file under a folder of the tree, as a path relative to the repository root."""
    return {str(path.relative_to(ROOT)) for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(out), str(source)], check=True)
    (wheel,) = out.glob("delphi_consensus-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize("folder", ["templates", "static"])
def test_every_template_and_static_file_is_in_the_wheel(wheel_files, folder):
    expected = {f"delphi/{name}" for name in shipped(folder)}
    assert expected, f"{folder}/ is empty"
    assert sorted(expected - wheel_files) == []


@pytest.mark.parametrize("package", ["delphi", "analysis"])
def test_every_file_of_the_packages_is_in_the_wheel(wheel_files, package):
    """Code, migrations (and their .ini/.mako), the statement bank, the translations."""
    assert sorted(shipped(package) - wheel_files) == []


def test_the_mail_texts_are_in_the_wheel(wheel_files):
    """The files whose absence stopped every study (named, so the failure says what matters)."""
    assert "delphi/templates/email/invitation.en.txt" in wheel_files
    assert "delphi/templates/email/password_reset.txt" in wheel_files


def test_openpyxl_writes_through_lxml():
    """The workbook of a national study is written in half the time when openpyxl has lxml (benchmarks/
    bench_workbook.py: 1.54 s without, 0.76 s with, on one machine in one run); lxml is a dependency for that."""
    import openpyxl.xml

    assert openpyxl.xml.LXML is True
