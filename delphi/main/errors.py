"""Friendly error pages: a calm page in plain words, never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from delphi.contact_cipher import ContactsKeyError
from delphi.extensions import db


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/healthz"):
            return {"status": "error"}, error.code
        template = f"errors/{error.code}.html" if error.code in (403, 404, 413, 429) else "errors/generic.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(ContactsKeyError)
    def contacts_key_error(error: ContactsKeyError):
        # The server has the wrong contacts key (start-up refuses that, so it was changed while running): the
        # operator's log says what is wrong; the person sees a calm page, and nothing is read as garbage.
        db.session.rollback()
        app.logger.error("contact details cannot be read on %s %s: %s", request.method, request.path, error)
        return render_template("errors/500.html"), 503

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        if app.config.get("PROPAGATE_EXCEPTIONS") is not False and (app.testing or app.debug):
            raise error  # tests and debugging see the traceback; set PROPAGATE_EXCEPTIONS=False to see the page
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_template("errors/500.html"), 500
