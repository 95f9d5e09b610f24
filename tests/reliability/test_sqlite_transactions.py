"""SQLite, the embedded default: writes take the write lock when their transaction begins (BEGIN IMMEDIATE), so
concurrent writers queue instead of failing half-way; reads do not block writers (WAL)."""
import sqlite3

import pytest
import sqlalchemy as sa

from delphi.db import writing
from delphi.extensions import db

def other_writer_is_blocked(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


@pytest.fixture
def sqlite_path(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        pytest.skip("SQLite only")
    return app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")


@pytest.mark.parametrize("method, blocked", [("POST", True), ("GET", False)])
def test_requests_that_write_begin_immediate(app, sqlite_path, method, blocked):
    with app.test_request_context("/", method=method):
        db.session.execute(sa.text("SELECT 1"))
        assert other_writer_is_blocked(sqlite_path) is blocked
        db.session.rollback()
    assert other_writer_is_blocked(sqlite_path) is False


def test_work_outside_a_request_can_declare_it_writes(app, sqlite_path):
    with app.app_context():
        with writing():
            db.session.execute(sa.text("SELECT 1"))
            assert other_writer_is_blocked(sqlite_path)
            db.session.rollback()
        db.session.execute(sa.text("SELECT 1"))
        assert not other_writer_is_blocked(sqlite_path)
        db.session.rollback()
