"""`delphi panel ...` and `delphi round ...`: the facilitator's work from the command line (cli.md)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from delphi.commands import refused
from delphi.commands.database import require_schema
from delphi.commands.studies import changing_study, find_study
from delphi.db import writing


@click.group(help="The panel of a study.")
def panel():
    pass


@panel.command("invite", help="Add panellists from a CSV of group[,email]; write group,link rows to LINKS.csv.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.argument("contacts", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--links", "links_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the personal links (group,link).")
@click.option("--send", is_flag=True, help="Also e-mail each contact their invitation (SMTP from MAIL_* settings).")
@with_appcontext
def panel_invite(study_id: int, contacts: Path, links_file: Path, send: bool) -> None:
    from delphi.extensions import db
    from delphi.services import invitations
    from delphi.services.mail import MailError

    require_schema()
    try:
        content = contacts.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{contacts} is not UTF-8 text.") from exc
    with writing():
        study = find_study(study_id)
        try:
            rows = invitations.parse_contacts_csv(content, study)
        except invitations.ContactsError as exc:
            raise refused(f"{contacts} has problems; nobody was added:", exc.errors) from exc
        links = invitations.add_panel(study, rows, None)
        sent, refused_addresses = 0, []
        if send:
            subject, body = invitations.default_template("invitation", study.language)
            recipients = [n.panellist for n in links if n.panellist.contact and n.panellist.contact.email]
            try:
                sent, refused_addresses = invitations.send_to_panel(
                    study, "invitation", recipients, subject, body, None,
                    tokens={n.panellist.id: n.token for n in links})
            except MailError as exc:
                db.session.rollback()
                raise click.ClickException(f"nobody was added, because {exc}") from exc
        try:
            links_file.write_text(invitations.links_csv(links, with_contacts=False), encoding="utf-8")
        except OSError as exc:
            db.session.rollback()
            raise click.ClickException(f"cannot write {links_file}: {exc.strerror}; nobody was added.") from exc
        db.session.commit()
        click.echo(f"Added {len(links)} panellists to study {study.id}; their links are in {links_file}.")
        if send:
            click.echo(f"Sent {sent} invitations."
                       + (f" Refused: {', '.join(refused_addresses)}." if refused_addresses else ""))


@click.group("round", help="Rounds of a study.")
def round_group():
    pass


@round_group.command("open", help="Open the study's next round.")
@click.argument("study_id", metavar="STUDY", type=int)
@with_appcontext
def round_open(study_id: int) -> None:
    from delphi.services.rounds import open_next_round

    with changing_study(study_id) as study:
        opened = open_next_round(study)
    click.echo(f"Round {opened.number} of study {study.id} is open with {len(opened.statements)} statements.")


@round_group.command("close", help="Close the study's open round and compute its statistics.")
@click.argument("study_id", metavar="STUDY", type=int)
@with_appcontext
def round_close(study_id: int) -> None:
    from delphi.models import Classification
    from delphi.services.rounds import close_round

    with changing_study(study_id) as study:
        current = study.current_round
        if current is None or not current.is_open:
            raise click.ClickException(f"study {study.id} has no open round.")
        close_round(current)
    counts = {c: sum(1 for rs in current.statements if rs.classification is c) for c in Classification}
    click.echo(f"Round {current.number} of study {study.id} is closed: {counts[Classification.consensus_in]} in, "
               f"{counts[Classification.consensus_out]} out, {counts[Classification.none]} without consensus.")
