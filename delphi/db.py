"""Database engine set-up that differs between SQLite (the embedded default) and PostgreSQL."""
from __future__ import annotations

import contextlib
import contextvars
import time

from flask import Flask, has_request_context, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

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
