"""Database engine set-up that differs between SQLite (the embedded default) and PostgreSQL."""
from __future__ import annotations

import contextlib
import contextvars
import time
from pathlib import Path

from flask import Flask, has_request_context, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from delphi.config import create_private

# Set by `writing()` for work outside a request that writes (the CLI's round close, the demo seed).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("delphi_write_intent", default=False)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextlib.contextmanager
def writing():
    """Mark the transactions begun inside as writes (SQLite: BEGIN IMMEDIATE)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _wants_write() -> bool:
    if _write_intent.get():
        return True
    return has_request_context() and request.method not in _READ_METHODS


def configure_engines(app: Flask, db) -> None:
    """Turn on WAL, foreign keys and a busy timeout for SQLite, and let SQLAlchemy own its transactions; check idle
    PostgreSQL connections before use."""
    for engine in db.engines.values():
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        else:
            _ping_when_idle(engine, float(app.config["POOL_PING_AFTER_IDLE_SECONDS"]))


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Like ``pool_pre_ping``, but only for a connection that has been idle in the pool for ``idle_seconds``.

    A restarted or failed-over server, or a firewall that drops idle connections, leaves dead connections in the
    pool; they are the idle ones, and this finds and replaces them (the pool retries with a new connection when a
    checkout raises ``DisconnectionError``). Connections in steady use skip the round trip that ``pool_pre_ping``
    spends on every request."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("idle connection no longer answers") from error
        if not alive:
            raise exc.DisconnectionError("idle connection no longer answers")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")
    if not in_memory and not engine.url.query.get("uri") and Path(engine.url.database).parent.is_dir():
        # SQLite would create the file with the umask's mode (0644: anyone on the machine could copy it); its -wal
        # and -shm files take the database file's mode.
        create_private(Path(engine.url.database))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling issues BEGIN at odd moments; SQLAlchemy emits BEGIN itself below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A write takes SQLite's write lock when its transaction begins, so concurrent writers wait their turn
        # (busy timeout) instead of failing half-way when a read snapshot cannot be upgraded; reads stay DEFERRED.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write() else "BEGIN")


def contains_pattern(text: str) -> str:
    """A LIKE pattern (``escape="\\"``) for values containing ``text``, its own ``%``, ``_`` and ``\\`` taken
    literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def schema_problem() -> str | None:
    """What is wrong with the database's schema for this version of the code, in plain words; None when it is at
    the head of the migrations. Needs an app context."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app

    from delphi.extensions import db

    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    head = scripts.get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return None
    if current is None:
        return "the database is not set up (it has no schema yet). Run `delphi db upgrade` first."
    if current not in {script.revision for script in scripts.walk_revisions()}:
        return (f"the database is at schema revision {current}, which this version of the platform does not know: "
                "a newer version has upgraded it. Install that version (or restore a backup taken before).")
    return (f"the database is at schema revision {current} and this version needs {head}. "
            "Run `delphi db upgrade` first.")


def explain_database_error(error: exc.OperationalError, url: str) -> str:
    """A plain-language reason for a database that cannot be used (for commands and start-up)."""
    text = str(error.orig).lower()
    if "database is locked" in text or "database is busy" in text:
        return ("the SQLite database is busy: another process is writing to it (the running server, the worker, or "
                "another command) and did not finish within SQLITE_BUSY_TIMEOUT_MS. Stop the server and the worker "
                "(for example `systemctl stop delphi-web delphi-worker`), run the command again, then start them.")
    if "readonly" in text or "read-only" in text:
        return f"the database refuses writes ({error.orig}): check that this user may write the file and its folder."
    if "unable to open database file" in text:
        return (f"cannot open the SQLite file of {url}: check that its folder exists and that this user may write "
                "there (the instance folder is DELPHI_INSTANCE_PATH, or instance/ in the working directory).")
    return f"cannot reach the database: {error.orig}"
