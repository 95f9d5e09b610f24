"""Recovery: a server on a database whose schema is not the code's refuses to start and says why; `delphi db upgrade`
against a busy live SQLite database says what is wrong and what to do."""
import sqlite3

import pytest
from flask_migrate import stamp

from delphi.cli import main
from delphi.extensions import db
from tests.live import LiveServer


def test_a_server_on_a_database_never_migrated_refuses_to_start_and_says_why(app, tmp_path):
    with pytest.raises(RuntimeError) as stopped:
        LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=1, migrated=False)
    assert "delphi: not starting: the database is not set up" in str(stopped.value)
    assert "Run `delphi db upgrade` first." in str(stopped.value)


def test_a_server_on_an_older_schema_refuses_to_start_and_names_both_revisions(app, tmp_path):
    with app.app_context():
        stamp(revision="0004")
    with pytest.raises(RuntimeError) as stopped:
        LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=1, migrated=False)
    assert "the database is at schema revision 0004 and this version needs" in str(stopped.value)


def test_a_server_on_a_newer_schema_refuses_to_start(app, tmp_path):
    with app.app_context():
        stamp()
        db.session.execute(db.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
        db.session.commit()
    with pytest.raises(RuntimeError) as stopped:
        LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=1, migrated=False)
    assert "revision f00dfeed, which this version of the platform does not know" in str(stopped.value)


def test_db_upgrade_against_a_busy_sqlite_database_says_what_to_do(app, build_app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's write lock")
    busy_app = build_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SQLITE_BUSY_TIMEOUT_MS": 200})
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the live server in the middle of a write
    try:
        result = busy_app.test_cli_runner().invoke(main, ["db", "upgrade"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "the SQLite database is busy: another process is writing to it" in result.output
    assert "systemctl stop delphi-web delphi-worker" in result.output
    assert "cannot reach the database" not in result.output
