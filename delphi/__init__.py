"""Delphi consensus platform: the Flask application factory."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request, session

from delphi.config import DEFAULTS, instance_secret_key, normalise_database_url
from delphi.contact_cipher import init_contact_cipher, instance_contacts_key

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent


def asset_folder(name: str) -> str:
    """templates/ and static/ live at the repository root, and inside the package once installed from a wheel."""
    inside = _HERE / name
    return str(inside if inside.is_dir() else _HERE.parent / name)


def instance_folder() -> str:
    """``DELPHI_INSTANCE_PATH``, else ``instance/`` in the working directory.

    Flask's own default for an installed package is ``<venv>/var/delphi-instance``: the database and the secret key
    would live inside the virtual environment, and be lost with it when it is rebuilt for an upgrade. The factory
    creates it readable by its owner only (0700).
    """
    return str(Path(os.environ.get("DELPHI_INSTANCE_PATH") or "instance").resolve())


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (``DELPHI_*``, ``DATABASE_URL``) and the defaults."""
    app = Flask(
        __name__,
        instance_path=instance_folder(),
        instance_relative_config=True,
        template_folder=asset_folder("templates"),
        static_folder=asset_folder("static"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("DELPHI", loads=_loads)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if config:
        app.config.from_mapping(config)

    # The folder holds the keys and the SQLite files: private to the user the platform runs as.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", "sqlite:///" + str(Path(app.instance_path) / "delphi.sqlite3")
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    _trust_only_the_public_host(app)
    if not app.config.get("CONTACTS_KEY"):
        app.config["CONTACTS_KEY"] = instance_contacts_key(Path(app.instance_path))
    init_contact_cipher(app)

    _init_extensions(app)
    from delphi.jobs import init_jobs

    init_jobs(app)
    _register_blueprints(app)
    from delphi.security import register_security_headers

    register_security_headers(app)

    @app.context_processor
    def _template_helpers():
        from flask_babel import get_locale

        from delphi.localised import for_page

        return {"current_locale_code": lambda: str(get_locale() or "en"), "app_version": __version__, "tr": for_page}

    return app


def _trust_only_the_public_host(app: Flask) -> None:
    """Answer only requests for ``PUBLIC_URL``'s host (400 for any other ``Host``), unless ``TRUSTED_HOSTS`` says
    otherwise (for example ``DELPHI_TRUSTED_HOSTS='["delphi.example.org", "localhost"]'`` for a local health check).
    Links never use the request's host (delphi/links.py); this also keeps the pages' own addresses honest."""
    from delphi.links import public_host

    host = public_host(app)
    if app.config.get("TRUSTED_HOSTS") is None and host and ":" not in host:  # an IPv6 literal cannot be listed
        app.config["TRUSTED_HOSTS"] = [host]


def _loads(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _init_extensions(app: Flask) -> None:
    from delphi import models  # noqa: F401  (register every table on the metadata)
    from delphi.db import configure_engines
    from delphi.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        configure_engines(app, db)
    migrate.init_app(app, db, directory=str(_HERE / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see that page.")
    login_manager.localize_callback = str  # the flashed message in the page's language, as plain text
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_staff_user)
    babel.init_app(app, locale_selector=_select_locale)


def _load_staff_user(user_id: str):
    from delphi.extensions import db
    from delphi.models import StaffUser

    try:
        pk, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(StaffUser, pk)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def _select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():  # the command line and the worker: messages in the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    class DatabaseId(IntegerConverter):
        """`<int:...>` in URLs stops at PostgreSQL's INTEGER range, so a huge id is a 404, not a database error."""

        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseId
    from delphi.admin import bp as admin_bp
    from delphi.auth import bp as auth_bp
    from delphi.facilitate import bp as facilitate_bp
    from delphi.main import bp as main_bp
    from delphi.main.errors import register_error_handlers
    from delphi.panel import bp as panel_bp
    from delphi.reports import bp as reports_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(panel_bp)
    app.register_blueprint(facilitate_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)
    register_error_handlers(app)
