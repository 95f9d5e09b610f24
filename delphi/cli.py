"""The ``delphi`` command (``../shared/spec/cli.md``). Every command prints plain-language errors and exits non-zero
on failure; none needs the web server to be running."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


class AppHolder:
    """Builds the app on first use, so that ``delphi --help`` works without a database."""

    def __init__(self, database: str | None):
        self.database = database
        self._app = None

    @property
    def app(self):
        if self._app is None:
            from delphi import create_app

            self._app = create_app({"SQLALCHEMY_DATABASE_URI": self.database} if self.database else None)
        return self._app

    def close(self) -> None:
        """Release the database connections of the app this command built."""
        if self._app is not None:
            from delphi.extensions import db

            with self._app.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


pass_app = click.make_pass_decorator(AppHolder)


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.group(help="Multi-stakeholder Delphi consensus studies.")
@click.option("--database", envvar="DATABASE_URL", metavar="URL",
              help="Database URL (default: a SQLite file in the instance folder).")
@click.version_option(package_name="delphi-consensus")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    ctx.obj = AppHolder(database)
    ctx.call_on_close(ctx.obj.close)


def upgrade_database(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=MIGRATIONS)


def require_schema(app) -> None:
    """Refuse to work on a database that migrations have not brought up to date."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    from delphi.extensions import db

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_current_head()
    with app.app_context(), db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        fail("the database is not set up or not up to date. Run `delphi db upgrade` first.")


@main.group(help="Database schema.")
def db():
    pass


@db.command("upgrade", help="Apply the database migrations (creates the database on first use).")
@pass_app
def db_upgrade(holder: AppHolder) -> None:
    try:
        upgrade_database(holder.app)
    except sa.exc.OperationalError as exc:
        fail(f"cannot reach the database: {exc.orig}")
    click.echo("The database is up to date.")


@main.group(help="Staff accounts.")
def user():
    pass


@user.command("create", help="Create a staff account; asks for the password.")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_create(holder: AppHolder, email: str, role: str, password_stdin: bool) -> None:
    from delphi.extensions import db as database
    from delphi.services.staff import StaffError, create_staff_user

    app = holder.app
    require_schema(app)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with app.app_context():
        try:
            created = create_staff_user(email, password, is_admin=role == "admin",
                                        min_length=app.config["MIN_PASSWORD_LENGTH"])
        except StaffError as exc:
            fail(str(exc))
        database.session.commit()
        click.echo(f"Created {role} account {created.email}.")


@main.group(help="Studies.")
def study():
    pass


@study.command("create", help="Create a study from a protocol file; prints its id on the last line.")
@click.argument("protocol_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--owner", metavar="EMAIL", help="A staff account to make the study's owner.")
@pass_app
def study_create(holder: AppHolder, protocol_file: Path, owner: str | None) -> None:
    from delphi.extensions import db as database
    from delphi.models import StaffUser
    from delphi.protocol import ProtocolError, load_protocol
    from delphi.services.studies import create_study

    try:
        protocol = load_protocol(protocol_file)
    except ProtocolError as exc:
        click.echo(f"Error: {protocol_file} is not a valid protocol; nothing was created:", err=True)
        for message in exc.errors:
            click.echo(f"  - {message}", err=True)
        sys.exit(1)
    app = holder.app
    require_schema(app)
    with app.app_context():
        owner_user = None
        if owner:
            owner_user = database.session.scalar(sa.select(StaffUser).where(StaffUser.email == owner.strip().lower()))
            if owner_user is None:
                fail(f"there is no staff account {owner!r}; create it with `delphi user create {owner}`.")
        created = create_study(protocol, owner=owner_user)
        database.session.commit()
        click.echo(f"Created study {created.title!r} with {len(created.groups)} groups and "
                   f"{len(created.statements)} statements.")
        click.echo(created.id)


@main.command(help="Serve the app with the development server (production: gunicorn wsgi:app).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_app
def serve(holder: AppHolder, host: str, port: int) -> None:
    app = holder.app
    require_schema(app)
    app.run(host=host, port=port, debug=False, use_reloader=False)


@main.command(help="Set up a demo study on recovery-oriented practice, print its logins and links, and serve it.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only set up the demo and print its logins and links.")
@pass_app
def demo(holder: AppHolder, host: str, port: int, no_serve: bool) -> None:
    from delphi.extensions import db as database
    from delphi.services.demo import seed_demo

    app = holder.app
    upgrade_database(app)
    base_url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    with app.app_context():
        seeded = seed_demo()
        database.session.commit()
        click.echo("")
        click.echo(f"Instance folder (database, secret key): {app.instance_path}")
        click.echo(f"Demo study: {seeded.study.title} (id {seeded.study.id})")
        click.echo(f"  Round 1 closed with {seeded.round1_submissions} submissions; round 2 is open.")
        click.echo(f"Facilitator sign-in: {base_url}/staff/login")
        click.echo(f"  email:    {seeded.email}")
        click.echo(f"  password: {seeded.password}")
        click.echo("Panellist links (one per stakeholder group; each opens that panellist's survey):")
        for group_name, token in seeded.links:
            click.echo(f"  {group_name}: {base_url}/p/{token}")
        click.echo("")
    if not no_serve:
        app.run(host=host, port=port, debug=False, use_reloader=False)


@main.command(help="Make a consistent copy of the live database (SQLite online backup, or pg_dump).")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup(holder: AppHolder, out: Path) -> None:
    from delphi.services.backup import BackupError, backup_database

    try:
        written = backup_database(holder.app.config["SQLALCHEMY_DATABASE_URI"], out)
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"Backed up the database to {written}.")


@main.command(help="Compute the statistics of ratings collected elsewhere (long-format CSV) under a protocol.")
@click.argument("ratings_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--protocol", "protocol_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def analyse(ratings_file: Path, protocol_file: Path, out_dir: Path) -> None:
    from delphi.protocol import ProtocolError, load_protocol
    from delphi.services.analyse import RatingsFileError, analyse_file

    try:
        protocol = load_protocol(protocol_file)
    except ProtocolError as exc:
        click.echo(f"Error: {protocol_file} is not a valid protocol:", err=True)
        for message in exc.errors:
            click.echo(f"  - {message}", err=True)
        sys.exit(1)
    try:
        written = analyse_file(ratings_file, protocol, out_dir)
    except RatingsFileError as exc:
        click.echo(f"Error: {ratings_file} has problems; nothing was written:", err=True)
        for message in exc.errors:
            click.echo(f"  - {message}", err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"Wrote {path}")


# Commands that arrive with later work register themselves on ``main`` from their own modules.
from delphi import cli_facilitate  # noqa: E402,F401
from delphi import cli_reports  # noqa: E402,F401
