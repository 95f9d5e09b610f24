"""Fixtures shared by the test suite (STYLE.md): ``app`` with a fresh database per test, ``client``, ``runner``,
an ``auth`` helper, and factories that return callables.

Tests run on a SQLite file by default and on the database named by ``DELPHI_TEST_DATABASE_URL`` when it is set (CI
runs the suite a second time against PostgreSQL). Each test starts from empty tables with the current schema and ids
counting from 1, without paying for the schema each time (indico's testing/fixtures/database.py makes its database
once per session too): on SQLite the schema is made once into a template file that each test copies; on PostgreSQL
each test empties the tables in one TRUNCATE, and makes the schema again only when the test before left it changed.
Many tests use separate connections and processes (gunicorn, threads, the command line), so a per-test transaction
rolled back at the end would not hold their work.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from delphi import create_app
from delphi.extensions import db, limiter
from delphi.models import Panellist, StaffUser, Study, StudyMember, StudyRole
from delphi.protocol import load_protocol
from delphi.services.panel import add_panellist
from delphi.services.studies import create_study
from tests.live import TEST_CONTACTS_KEY

TEST_DATABASE_URL = os.environ.get("DELPHI_TEST_DATABASE_URL")

MINIMAL_PROTOCOL = """
title = "Test study"
min_group_feedback = 3

[scale]
min = 1
max = 9
labels = { "1" = "Not important", "9" = "Very important" }

[consensus]
scope = "overall"

[[groups]]
key = "service_user"
name = "People with lived experience"

[[groups]]
key = "staff"
name = "Staff"

[[statements]]
code = "A-01"
domain = "Hope"
text = "Staff believe recovery is possible."

[[statements]]
code = "A-02"
domain = "Hope"
text = "A relapse is not a failure."

[[statements]]
code = "B-01"
domain = "Empowerment"
text = "The person decides what goes into their plan."
"""


def reset_database(engine: sa.Engine) -> None:
    """Drop every table (ours and Alembic's), whatever a previous test left behind."""
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    meta.drop_all(bind=engine)


def empty_tables(engine: sa.Engine) -> None:
    """Leave exactly the models' tables, empty, their ids restarting at 1 (PostgreSQL; a SQLite file is copied from
    ``schema_template`` instead).

    One TRUNCATE of every table costs a few milliseconds where dropping and creating the schema costs about a second.
    A test that ran migrations, stamped the database or dropped tables leaves another set of tables; the schema is
    then made again.
    """
    names = set(db.metadata.tables)
    with engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
    if present != names:
        reset_database(engine)
        db.metadata.create_all(engine)
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE " + ", ".join(f'"{name}"' for name in sorted(names)) + " RESTART IDENTITY CASCADE"
        )


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory) -> Path | None:
    """A SQLite file holding the current schema and no rows, made once per session (None on PostgreSQL)."""
    if TEST_DATABASE_URL:
        return None
    folder = tmp_path_factory.mktemp("schema-template")
    template = folder / "template.sqlite3"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(folder / "instance"))
        application = create_app({"TESTING": True, "SECRET_KEY": "template",
                                  "SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}"})
    with application.app_context():
        db.create_all()
        with db.engine.connect() as conn:  # the file alone must hold the schema: nothing left in the WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    for leftover in ("-wal", "-shm"):
        Path(f"{template}{leftover}").unlink(missing_ok=True)
    return template


def database_url(tmp_path: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app_config(tmp_path):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "CONTACTS_KEY": TEST_CONTACTS_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        # Jobs (mail) run where they are queued, so a page's test sees the result; tests of the worker itself start
        # a real one (tests/facilitate/test_outbox.py).
        "JOBS_IMMEDIATE": True,
        "MIN_PASSWORD_LENGTH": 10,
        # Links are built on it (never on the request's host), and only its host is served: the test client's.
        "PUBLIC_URL": "http://localhost",
    }


@pytest.fixture
def app(app_config, schema_template, tmp_path, monkeypatch):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    target = sa.make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    copied = schema_template is not None and target.get_backend_name() == "sqlite" and target.database not in (
        None, "", ":memory:")
    if copied:
        shutil.copyfile(schema_template, target.database)
    application = create_app(app_config)
    with application.app_context():
        if not copied:
            empty_tables(db.engine)
        limiter.reset()  # rate-limit counts are per process; each test starts with none
    yield application
    with application.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def build_app(monkeypatch, tmp_path):
    """Build another app (as a restarted process would) and release its connections after the test."""
    built = []
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "instance"))

    def build(config):
        application = create_app(config)
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def live_server(app, tmp_path):
    """The app served by gunicorn (2 workers) on 127.0.0.1, on the test database; yields the LiveServer."""
    from tests.live import LiveServer

    instance = tmp_path / "live-instance"
    instance.mkdir()
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], instance)
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """Runs the ``delphi`` command on the test app (``app.test_cli_runner()``); returns click's Result.

    The test database was made by ``create_all``; it is stamped as migrated so that commands accept it.
    """
    from flask_migrate import stamp

    from delphi.cli import main

    with app.app_context():
        stamp()

    class Runner:
        def invoke(self, *args: str, input: str | None = None):
            return app.test_cli_runner().invoke(main, list(args), input=input, catch_exceptions=False)

    return Runner()


@pytest.fixture
def make_user(app):
    def make(email: str = "facilitator@example.org", password: str = "correct horse battery", **overrides):
        with app.app_context():
            user = StaffUser(email=email, password_hash="", **overrides)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def make_study(app):
    """Create a study from the minimal protocol (or ``protocol_text``), optionally with members; returns its id."""

    def make(protocol_text: str = MINIMAL_PROTOCOL, members: dict[int, StudyRole] | None = None, **overrides):
        with app.app_context():
            study = create_study(load_protocol(protocol_text))
            for key, value in overrides.items():
                setattr(study, key, value)
            for user_id, role in (members or {}).items():
                db.session.add(StudyMember(study=study, user_id=user_id, role=role))
            db.session.commit()
            return study.id

    return make


@pytest.fixture
def make_panellist(app):
    """Add a panellist to a study in a group (by key); returns (panellist id, personal-link token)."""

    def make(study_id: int, group_key: str | None = "service_user", email: str | None = None):
        with app.app_context():
            study = db.session.get(Study, study_id)
            group = study.group_by_key(group_key) if group_key else None
            panellist, token = add_panellist(study, group, email=email)
            db.session.commit()
            return panellist.id, token

    return make


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str = "facilitator@example.org", password: str = "correct horse battery", **extra):
        return self._client.post("/staff/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self._client.post("/staff/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def get(app):
    """Load a model by primary key in a fresh session (to assert on database state)."""

    def load(model, pk):
        with app.app_context():
            db.session.expire_all()
            obj = db.session.get(model, pk)
            if obj is not None:
                db.session.expunge(obj)
            return obj

    return load


__all__ = ["MINIMAL_PROTOCOL", "Panellist"]
