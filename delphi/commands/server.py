"""`delphi serve` and `delphi demo`: the app on the development server (production: ``gunicorn wsgi:app``), with a
background worker in the same process; `delphi worker`: the worker on its own (production runs it as a service).

Each writes links (mails, pages staff copy links from), so each needs ``DELPHI_PUBLIC_URL`` (delphi/links.py); the
demo, and ``delphi serve`` in debug mode (``DELPHI_DEBUG=true``), use the local address they serve on instead."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from delphi.commands.database import require_schema
from delphi.links import require_public_url

host_option = click.option("--host", default="127.0.0.1", show_default=True)
port_option = click.option("--port", default=5000, show_default=True, type=int)


def local_address(host: str, port: int) -> str:
    return f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"


def run_server(host: str, port: int) -> None:
    """The development server, with a background worker in the same process (mail, reminders, round deadlines)."""
    from delphi.jobs import start_worker_in_background

    app = current_app._get_current_object()
    worker = start_worker_in_background(app)
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        worker.stop(graceful=True)


@click.command(help="Run the background worker (mail, scheduled reminders, round deadlines) until stopped.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Jobs run at once (threads).")
@with_appcontext
def worker(workers: int) -> None:
    from delphi.jobs import run_worker

    app = current_app._get_current_object()
    require_public_url(app, local_address("127.0.0.1", 5000) if app.debug else None)
    require_schema()
    run_worker(app, workers)


@click.command(help="Serve the app with the development server (production: gunicorn wsgi:app).")
@host_option
@port_option
@with_appcontext
def serve(host: str, port: int) -> None:
    require_public_url(current_app, local_address(host, port) if current_app.debug else None)
    require_schema()
    run_server(host, port)


@click.command(help="Set up a demo study on recovery-oriented practice, print its logins and links, and serve it.")
@host_option
@port_option
@click.option("--no-serve", is_flag=True, help="Only set up the demo and print its logins and links.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    from flask_migrate import upgrade

    from delphi.extensions import db
    from delphi.links import external_url, panel_link
    from delphi.services.demo import seed_demo

    require_public_url(current_app, local_address(host, port))
    upgrade()
    seeded = seed_demo()
    db.session.commit()
    click.echo("")
    click.echo(f"Instance folder (database, secret key, contacts key): {current_app.instance_path}")
    click.echo(f"Demo study: {seeded.study.title} (id {seeded.study.id})")
    click.echo(f"  Round 1 closed with {seeded.round1_submissions} submissions; round 2 is open.")
    click.echo(f"Facilitator sign-in: {external_url('auth.login')}")
    click.echo(f"  email:    {seeded.email}")
    click.echo(f"  password: {seeded.password}")
    click.echo("Panellist links (one per stakeholder group; each opens that panellist's survey):")
    for group_name, token in seeded.links:
        click.echo(f"  {group_name}: {panel_link(token)}")
    click.echo("")
    if not no_serve:
        run_server(host, port)
