"""The ``delphi`` command (``../shared/spec/cli.md``) on Flask's command line. Every command prints plain-language
errors and exits non-zero on failure; none needs the web server to be running.

The commands live in :mod:`delphi.commands`; each runs in an app context (``flask.cli.with_appcontext``) of the app
that :func:`app_for_command` builds when the command first needs it, so ``delphi --help`` and ``delphi analyse`` build
none. Tests run the same group on their own app with ``app.test_cli_runner().invoke(main, ...)``.

The group is Flask's ``AppGroup`` with a ``ScriptInfo`` per run, which is the part of ``FlaskGroup`` the command
needs. ``FlaskGroup`` itself would add what spec/cli.md does not have: Flask's ``--app``, ``--debug`` and
``--env-file`` options and ``FLASK_*`` variables for every option; the ``run``, ``shell`` and ``routes`` commands and
those of installed extensions (Flask-Limiter's ``limiter``, Flask-Migrate's whole ``db`` group); building the app just
to list them (``delphi --help`` would then create an instance folder); and ``app.run`` made a no-op.
"""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo, pass_script_info

from delphi import create_app
from delphi.contact_cipher import ContactsKeyError
from delphi.commands import database, facilitate, reports, server, studies, users


def app_for_command() -> Flask:
    """The app a command works on: its database from ``--database``, else ``DATABASE_URL``, else the SQLite file in
    the instance folder. Its database connections are closed when the command ends."""
    context = click.get_current_context()
    url = context.find_object(ScriptInfo).data.get("database_url")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url} if url else None)
    except ContactsKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    context.find_root().call_on_close(lambda: database.close_connections(app))
    return app


class DelphiGroup(AppGroup):
    """Flask's command group on :func:`app_for_command`; ``app.test_cli_runner()`` passes its own ``ScriptInfo``."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        extra.setdefault("obj", ScriptInfo(create_app=app_for_command, set_debug_flag=False,
                                           load_dotenv_defaults=False))
        return super().make_context(info_name, args, parent=parent, **extra)


@click.group(cls=DelphiGroup, help="Multi-stakeholder Delphi consensus studies.")
@click.option("--database", "database_url", envvar="DATABASE_URL", metavar="URL",
              help="Database URL (default: a SQLite file in the instance folder).")
@click.version_option(package_name="delphi-consensus")
@pass_script_info
def main(script_info: ScriptInfo, database_url: str | None) -> None:
    script_info.data["database_url"] = database_url


for command in (server.demo, server.serve, server.worker, database.db, users.user, studies.study, facilitate.panel,
                facilitate.round_group, reports.report, reports.analyse, database.backup):
    main.add_command(command)
