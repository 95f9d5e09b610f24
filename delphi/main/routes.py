"""The landing page, the accessibility statement, the language switch and the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from delphi.extensions import db
from delphi.main import bp
from delphi.main.safety import is_safe_next


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("facilitate.dashboard"))
    return render_template("main/index.html")


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement, linked from every page's footer (issue 22)."""
    return render_template("main/accessibility.html")


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if isinstance(session.get("panellist"), dict):
            from delphi.panel.routes import remember_language

            remember_language(lang)
            db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("main.index"), code=303)


@bp.get("/livez")
def livez():
    """Liveness without touching the database (also the trivial endpoint the load benchmark measures as ceiling)."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/healthz")
def healthz():
    """Ready to serve: the database answers and accepts writes (a server whose every save would fail is not healthy).

    The write is an UPDATE that matches no row, rolled back: it needs the write lock (SQLite) or a writable
    transaction (PostgreSQL), so a read-only file or a read-only server fails it, and it changes nothing.
    """
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return {"status": "error", "database": "unreachable"}, 503
    try:
        db.session.execute(sa.text("UPDATE study SET id = id WHERE 1 = 0"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: the database does not accept writes")
        return {"status": "error", "database": "read-only"}, 503
    finally:
        db.session.rollback()
    return {"status": "ok", "database": "ok"}
