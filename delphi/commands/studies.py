"""`delphi study create`: a study from a protocol file; and how the other commands find the study they are given."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from delphi.commands import refused
from delphi.commands.database import require_schema
from delphi.db import writing


def find_study(study_id: int):
    """The study with this id, or a refusal naming it."""
    from delphi.extensions import db
    from delphi.models import Study

    study = db.session.get(Study, study_id) if 0 < study_id < 2**31 else None
    if study is None:
        raise click.ClickException(f"there is no study {study_id}.")
    return study


@contextmanager
def changing_study(study_id: int) -> Iterator:
    """The study, in a write transaction committed at the end; a rule it breaks (``DomainError``) rolls back and
    refuses with the rule's message. Any other refusal raised inside leaves nothing written."""
    from delphi.extensions import db
    from delphi.models import DomainError

    require_schema()
    with writing():
        study = find_study(study_id)
        try:
            yield study
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()


@click.group(help="Studies.")
def study():
    pass


@study.command("create", help="Create a study from a protocol file; prints its id on the last line.")
@click.argument("protocol_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--owner", metavar="EMAIL", help="A staff account to make the study's owner.")
@with_appcontext
def study_create(protocol_file: Path, owner: str | None) -> None:
    from delphi.extensions import db
    from delphi.models import StaffUser
    from delphi.protocol import ProtocolError, load_protocol
    from delphi.services.studies import create_study

    try:
        protocol = load_protocol(protocol_file)
    except ProtocolError as exc:
        raise refused(f"{protocol_file} is not a valid protocol; nothing was created:", exc.errors) from exc
    require_schema()
    owner_user = None
    if owner:
        owner_user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == owner.strip().lower()))
        if owner_user is None:
            raise click.ClickException(
                f"there is no staff account {owner!r}; create it with `delphi user create {owner}`.")
    created = create_study(protocol, owner=owner_user)
    db.session.commit()
    click.echo(f"Created study {created.title!r} with {len(created.groups)} groups and "
               f"{len(created.statements)} statements.")
    click.echo(created.id)
