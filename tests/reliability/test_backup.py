"""`delphi backup OUT`: a consistent copy of a live database that restores to the same data."""
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Study


def test_backup_copies_a_live_database(app, runner, make_study, make_panellist, tmp_path):
    study_id = make_study()
    for _ in range(3):
        make_panellist(study_id)
    out = tmp_path / "backups" / "delphi-backup.db"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    # Keep a connection open in a transaction, as a running app would.
    with app.app_context():
        db.session.scalar(sa.select(Study.title))
        result = runner.invoke("backup", str(out))
        db.session.rollback()
    assert result.exit_code == 0, result.output
    assert out.exists() and out.stat().st_size > 0
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        copy = sqlite3.connect(out)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM panellist").fetchone()[0] == 3
        assert copy.execute("SELECT title FROM study").fetchone()[0] == "Test study"
        copy.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id))) == 3


def test_backup_never_overwrites(runner, tmp_path):
    out = tmp_path / "exists.db"
    out.write_text("precious")
    result = runner.invoke("backup", str(out))
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert out.read_text() == "precious"
