"""A PostgreSQL connection that died while idle in the pool (a server restart, a failover, a firewall dropping quiet
connections) is replaced before a request uses it, so the panellist's request does not fail. Busy connections are not
checked on every request (``POOL_PING_AFTER_IDLE_SECONDS``), which saves a round trip per request under load."""
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not (TEST_DATABASE_URL or "").startswith("postgres"),
                                reason="PostgreSQL only: an SQLite file has no server connection to lose")


def end_other_connections(url: str) -> int:
    """What a server restart does to the app's pooled connections (from outside the app)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        ended = connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )).scalar()
    engine.dispose()
    return ended


def count_pings(app, monkeypatch) -> list:
    from delphi.extensions import db

    pings = []
    with app.app_context():
        dialect = db.engine.dialect
    real = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda connection: pings.append(1) or real(connection))
    return pings


def test_a_connection_lost_while_idle_is_replaced_before_use(build_app, app_config):
    app = build_app({**app_config, "POOL_PING_AFTER_IDLE_SECONDS": 0.2})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    time.sleep(0.3)
    assert end_other_connections(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_without_the_check_the_first_request_after_a_loss_fails(build_app, app_config):
    # The control for the test above: the same loss, with the idle connection used unchecked.
    app = build_app({**app_config, "POOL_PING_AFTER_IDLE_SECONDS": 3600})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert end_other_connections(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").status_code == 200  # the pool was renewed after the failure


def test_only_a_connection_idle_for_long_is_pinged(build_app, app_config, monkeypatch):
    app = build_app({**app_config, "POOL_PING_AFTER_IDLE_SECONDS": 0.5})
    client = app.test_client()
    pings = count_pings(app, monkeypatch)
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert len(pings) == 0  # in steady use: no extra round trip
    time.sleep(0.6)
    assert client.get("/healthz").status_code == 200
    assert len(pings) == 1
