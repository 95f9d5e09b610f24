"""The app factory, configuration, the database set-up and the site-wide pages."""
import pytest
import sqlalchemy as sa

from delphi import create_app
from delphi.config import normalise_database_url
from delphi.extensions import db


def test_testing_config_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DELPHI_MIN_PASSWORD_LENGTH", "14")
    monkeypatch.setenv("DELPHI_MAIL_SERVER", "mail.example.org")
    app = create_app({"TESTING": True, "MAIL_SERVER": "override.example.org",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["MIN_PASSWORD_LENGTH"] == 14  # parsed as JSON: an int
    assert app.config["MAIL_SERVER"] == "override.example.org"


def test_database_url_from_environment_uses_psycopg(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example.org/delphi")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example.org/delphi"


def test_normalise_database_url_leaves_sqlite_alone():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgresql://h/d") == "postgresql+psycopg://h/d"


def test_default_database_is_sqlite_file_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'delphi.sqlite3'}"


def test_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "a"))
    first = create_app().config["SECRET_KEY"]
    again = create_app().config["SECRET_KEY"]
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "b"))
    other = create_app().config["SECRET_KEY"]
    assert first == again
    assert first != other
    assert len(first) == 64
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}", "SQLITE_BUSY_TIMEOUT_MS": 4321})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321


def test_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "personal link" in text
    assert 'href="/staff/login"' in text
    assert '<html lang="en">' in text


def test_landing_page_in_norwegian_when_browser_asks(client):
    response = client.get("/", headers={"Accept-Language": "nb-NO,nb;q=0.9"})
    assert '<html lang="nb">' in response.get_data(as_text=True)


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path))
    # A directory cannot be opened as a SQLite database.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_unknown_page_gets_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_server_error_page_is_calm_and_rolls_back(app_config, build_app):
    app = build_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        db.session.execute(sa.text("SELECT 1"))
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong on our side" in text
    assert "kaboom" not in text and "Traceback" not in text


def test_pages_reference_the_stylesheet_and_skip_link(client):
    text = client.get("/").get_data(as_text=True)
    assert "/static/css/site.css" in text
    assert 'href="#main"' in text
    with client.get("/static/css/site.css") as css:
        assert css.status_code == 200
        assert b":focus-visible" in css.data


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers
    assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers


def test_no_inline_scripts_or_styles_in_templates():
    """The CSP forbids them; a template that used one would silently break in browsers."""
    import re
    from pathlib import Path

    for template in Path(__file__).resolve().parents[1].joinpath("templates").rglob("*.html"):
        if "email" in template.parts:  # e-mail bodies are not served under the CSP
            continue
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
        assert not re.search(r"\sstyle=|<style", source), template
        assert not re.search(r"\son[a-z]+=", source), template


def test_request_logs_never_carry_link_tokens(app, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1", "GET /p/SECRETtoken-123_abc HTTP/1.1", "303")
    assert "SECRETtoken" not in caplog.text
    assert "/p/[redacted]" in caplog.text


def test_livez_answers_without_the_database(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}"})  # unusable database
    response = app.test_client().get("/livez")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")


def test_instance_folder_defaults_to_the_working_directory(monkeypatch, tmp_path):
    """Not Flask's default for an installed package (``<venv>/var/delphi-instance``): rebuilding the venv for an
    upgrade must not lose the database and the secret key."""
    monkeypatch.delenv("DELPHI_INSTANCE_PATH", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    app = create_app()
    assert app.instance_path == str(tmp_path.resolve() / "instance")
    assert (tmp_path / "instance" / "secret_key").exists()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path.resolve() / 'instance' / 'delphi.sqlite3'}"


def test_healthz_fails_when_the_database_cannot_write(app, build_app):
    """A database that answers but refuses writes (a read-only file, a read-only server) fails the check: every save
    would fail there. SQLite opened read-only stands for both here."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("read-only is set up through SQLite's URI mode here")
    read_only = build_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI":
                           f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"})
    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "read-only"}
