"""No log line carries a personal-link or password-reset token (issue 19: with the database down, the error log
named every link opened, ``unhandled error on GET /p/<token>``; gunicorn's access log printed reset links)."""
from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from itsdangerous import URLSafeTimedSerializer

from delphi.security import RedactLinkTokens

LINK_TOKEN = "Xq3LinkTokenAbCdEfGhIjKlMnOpQrStUv"
RESET_TOKEN = URLSafeTimedSerializer("any key", salt="any salt").dumps(1)  # names account 1, as a real one does


@pytest.fixture
def database_down(build_app, tmp_path):
    """The app as served (errors logged, not raised) on a database that cannot be opened."""
    return build_app({"SECRET_KEY": "k", "PUBLIC_URL": "http://localhost",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}"})  # a folder, not a database file


def test_errors_on_link_pages_are_logged_without_the_token(database_down, caplog):
    client = database_down.test_client()
    with caplog.at_level(logging.ERROR):
        assert client.get(f"/p/{LINK_TOKEN}").status_code == 500
        assert client.get(f"/staff/reset/{RESET_TOKEN}").status_code == 500
    logged = caplog.text
    assert "unhandled error on GET /p/[redacted]" in logged
    assert "unhandled error on GET /staff/reset/[redacted]" in logged
    assert "OperationalError" in logged  # the cause is still there to read
    assert LINK_TOKEN not in logged and RESET_TOKEN not in logged


def test_exception_text_is_redacted_too(app, caplog):
    with caplog.at_level(logging.ERROR), app.test_request_context():
        try:
            raise ValueError(f"could not open https://delphi.example.org/p/{LINK_TOKEN}")
        except ValueError:
            logging.getLogger("delphi.jobs").exception("job failed")  # a child of the app's logger
    assert "job failed" in caplog.text and "/p/[redacted]" in caplog.text
    assert LINK_TOKEN not in caplog.text


def test_development_server_request_log_is_redacted(app, caplog):
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        # As werkzeug's development server logs each request.
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1",
                                           f"POST /staff/reset/{RESET_TOKEN} HTTP/1.1", "303")
    assert caplog.messages == ['127.0.0.1 - - "POST /staff/reset/[redacted] HTTP/1.1" 303']


def test_a_failed_jobs_log_is_redacted(app, caplog):
    with caplog.at_level(logging.ERROR):
        try:
            raise RuntimeError(f"[parameters: {{'body': 'open http://localhost/staff/reset/{RESET_TOKEN} within'}}]")
        except RuntimeError:
            logging.getLogger("huey").exception("Unhandled exception in task %s.", "f00d")
    assert "/staff/reset/[redacted] within" in caplog.text and RESET_TOKEN not in caplog.text


@pytest.mark.parametrize("path, shown", [
    (f"/p/{LINK_TOKEN}", "/p/[redacted]"),
    (f"/staff/reset/{RESET_TOKEN}", "/staff/reset/[redacted]"),
    ("/staff/reset/sent", "/staff/reset/sent"),
    (f"/staff/join/{RESET_TOKEN}", "/staff/join/[redacted]"),  # a staff invitation sets an account's password
    ("/panel/rate/2", "/panel/rate/2"),
])
def test_gunicorn_access_log_never_prints_a_token(tmp_path, path, shown):
    from gunicorn.app.base import Application
    from gunicorn.config import Config

    # Loaded the way `gunicorn -c python:delphi.gunicorn_config` loads it; every field that holds the path is logged.
    loader = Application.__new__(Application)
    loader.cfg = Config()
    loader.load_config_from_module_name_or_filename("python:delphi.gunicorn_config")
    access_log = tmp_path / "access.log"
    loader.cfg.set("accesslog", str(access_log))
    loader.cfg.set("access_log_format", '%(h)s "%(r)s" %(U)s %(s)s "%(f)s" %({referer}i)s %({raw_uri}e)s')
    logger = loader.cfg.logger_class(loader.cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.1",
               "HTTP_REFERER": f"https://delphi.example.org{path}"}
    request = SimpleNamespace(headers=[("REFERER", f"https://delphi.example.org{path}")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.flush()
    line = access_log.read_text()
    assert line == (f'192.0.2.1 "GET {shown} HTTP/1.1" {shown} 200 "https://delphi.example.org{shown}" '
                    f'https://delphi.example.org{shown} {shown}\n')
    for handler in list(logging.getLogger("gunicorn.access").handlers):
        logging.getLogger("gunicorn.access").removeHandler(handler)
        handler.close()


def test_gunicorn_error_log_is_filtered(tmp_path):
    from gunicorn.config import Config

    from delphi.gunicorn_config import TokenRedactingLogger

    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = TokenRedactingLogger(cfg)
    logger.error("Error handling request %s", f"/p/{LINK_TOKEN}")
    for handler in logger.error_log.handlers:
        handler.flush()
    assert "Error handling request /p/[redacted]" in (tmp_path / "error.log").read_text()
    assert any(isinstance(f, RedactLinkTokens) for f in logger.error_log.filters)
    for handler in list(logger.error_log.handlers):
        logger.error_log.removeHandler(handler)
        handler.close()
