"""`delphi user create`: staff accounts from the command line."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from delphi.commands.database import require_schema


@click.group(help="Staff accounts.")
def user():
    pass


@user.command("create", help="Create a staff account; asks for the password.")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create(email: str, role: str, password_stdin: bool) -> None:
    from delphi.extensions import db
    from delphi.services.staff import StaffError, create_staff_user

    require_schema()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = create_staff_user(email, password, is_admin=role == "admin",
                                    min_length=current_app.config["MIN_PASSWORD_LENGTH"])
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {role} account {created.email}.")


@user.command("deactivate", help="Close a staff account: no more sign-ins or password resets, and every session "
                                 "of it ends at once. Its studies and audit trail stay.")
@click.argument("email")
@with_appcontext
def user_deactivate(email: str) -> None:
    import sqlalchemy as sa

    from delphi.extensions import db
    from delphi.models import StaffUser
    from delphi.services.staff import deactivate, normalise_email

    require_schema()
    address = normalise_email(email)
    account = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == address))
    if account is None:
        raise click.ClickException(f"there is no staff account {address}.")
    if not account.active:
        click.echo(f"{address} was already deactivated.")
        return
    deactivate(account)
    db.session.commit()
    click.echo(f"Deactivated {address}; every session of it has ended.")
