"""`delphi panel ...` and `delphi round ...`: the facilitator's work from the command line (cli.md)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from delphi.cli import AppHolder, fail, main, pass_app, require_schema
from delphi.db import writing


def _study(study_id: int):
    from delphi.extensions import db
    from delphi.models import Study

    study = db.session.get(Study, study_id) if 0 < study_id < 2**31 else None
    if study is None:
        fail(f"there is no study {study_id}.")
    return study


@main.group(help="The panel of a study.")
def panel():
    pass


@panel.command("invite", help="Add panellists from a CSV of group[,email]; write group,link rows to LINKS.csv.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.argument("contacts", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--links", "links_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the personal links (group,link).")
@click.option("--send", is_flag=True, help="Also e-mail each contact their invitation (SMTP from MAIL_* settings).")
@pass_app
def panel_invite(holder: AppHolder, study_id: int, contacts: Path, links_file: Path, send: bool) -> None:
    from delphi.extensions import db
    from delphi.services import invitations
    from delphi.services.mail import MailError

    app = holder.app
    require_schema(app)
    try:
        content = contacts.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{contacts} is not UTF-8 text.")
    with app.app_context(), writing():
        study = _study(study_id)
        try:
            rows = invitations.parse_contacts_csv(content, study)
        except invitations.ContactsError as exc:
            click.echo(f"Error: {contacts} has problems; nobody was added:", err=True)
            for message in exc.errors:
                click.echo(f"  - {message}", err=True)
            sys.exit(1)
        links = invitations.add_panel(study, rows, None)
        sent, refused = 0, []
        if send:
            subject, body = invitations.default_template("invitation", study.language)
            recipients = [n.panellist for n in links if n.panellist.contact and n.panellist.contact.email]
            try:
                sent, refused = invitations.send_to_panel(study, "invitation", recipients, subject, body, None,
                                                          tokens={n.panellist.id: n.token for n in links})
            except MailError as exc:
                db.session.rollback()
                fail(f"nobody was added, because {exc}")
        try:
            links_file.write_text(invitations.links_csv(links, with_contacts=False), encoding="utf-8")
        except OSError as exc:
            db.session.rollback()
            fail(f"cannot write {links_file}: {exc.strerror}; nobody was added.")
        db.session.commit()
        click.echo(f"Added {len(links)} panellists to study {study.id}; their links are in {links_file}.")
        if send:
            click.echo(f"Sent {sent} invitations." + (f" Refused: {', '.join(refused)}." if refused else ""))


@main.group("round", help="Rounds of a study.")
def round_group():
    pass


@round_group.command("open", help="Open the study's next round.")
@click.argument("study_id", metavar="STUDY", type=int)
@pass_app
def round_open(holder: AppHolder, study_id: int) -> None:
    from delphi.extensions import db
    from delphi.models import DomainError
    from delphi.services.rounds import open_next_round

    app = holder.app
    require_schema(app)
    with app.app_context(), writing():
        study = _study(study_id)
        try:
            opened = open_next_round(study)
        except DomainError as exc:
            db.session.rollback()
            fail(str(exc))
        db.session.commit()
        click.echo(f"Round {opened.number} of study {study.id} is open with {len(opened.statements)} statements.")


@round_group.command("close", help="Close the study's open round and compute its statistics.")
@click.argument("study_id", metavar="STUDY", type=int)
@pass_app
def round_close(holder: AppHolder, study_id: int) -> None:
    from delphi.extensions import db
    from delphi.models import Classification, DomainError
    from delphi.services.rounds import close_round

    app = holder.app
    require_schema(app)
    with app.app_context(), writing():
        study = _study(study_id)
        current = study.current_round
        if current is None or not current.is_open:
            fail(f"study {study.id} has no open round.")
        try:
            close_round(current)
        except DomainError as exc:
            db.session.rollback()
            fail(str(exc))
        db.session.commit()
        counts = {c: sum(1 for rs in current.statements if rs.classification is c) for c in Classification}
        click.echo(f"Round {current.number} of study {study.id} is closed: {counts[Classification.consensus_in]} in, "
                   f"{counts[Classification.consensus_out]} out, {counts[Classification.none]} without consensus.")
