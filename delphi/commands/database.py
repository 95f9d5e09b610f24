"""`delphi db upgrade` and `delphi backup`, and the check the other commands make that the schema is up to date."""
from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext


def require_schema() -> None:
    """Refuse to work on a database that migrations have not brought up to date, or whose contact details this
    server's contacts key cannot read."""
    from delphi.contact_cipher import contacts_key_problem
    from delphi.db import schema_problem

    problem = schema_problem() or contacts_key_problem()
    if problem:
        raise click.ClickException(problem)


def close_connections(app) -> None:
    """Release the database connections of an app a command built."""
    from delphi.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@click.group(help="Database schema.")
def db():
    pass


@db.command("upgrade", help="Apply the database migrations (creates the database on first use).")
@with_appcontext
def db_upgrade() -> None:
    from flask_migrate import upgrade

    try:
        upgrade()  # the migrations folder given to Flask-Migrate in create_app
    except sa.exc.OperationalError as exc:
        from delphi.db import explain_database_error

        raise click.ClickException(explain_database_error(exc, current_app.config["SQLALCHEMY_DATABASE_URI"])) from exc
    click.echo("The database is up to date.")


@click.command(help="Make a consistent copy of the live database (SQLite online backup, or pg_dump).")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(out: Path) -> None:
    from delphi.services.backup import BackupError, backup_database

    try:
        written = backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {written}.")
