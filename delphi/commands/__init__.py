"""The ``delphi`` command's subcommands, one module per subject; :mod:`delphi.cli` gathers them on one group.

Each runs inside an app context of the command's app (``flask.cli.with_appcontext``) and reaches it as
``current_app``, except ``analyse``, which needs no app and no database. A refusal is a ``click.ClickException``:
``Error: ...`` on standard error and exit status 1.
"""
from __future__ import annotations

import click


def refused(heading: str, errors: list[str]) -> click.ClickException:
    """The refusal of input with problems: ``heading``, then each problem on a line of its own."""
    return click.ClickException(heading + "".join(f"\n  - {message}" for message in errors))
