"""`delphi panel ...` and `delphi round ...`: the facilitator's work from the command line (cli.md)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from delphi.commands import refused
from delphi.commands.database import require_schema
from delphi.commands.studies import changing_study, find_study
from delphi.db import writing
from delphi.links import require_public_url


@click.group(help="The panel of a study.")
def panel():
    pass


@panel.command("invite", help="Add panellists from a CSV of group[,email]; write group,email,link rows to LINKS.csv.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.argument("contacts", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--links", "links_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the personal links (group,email,link).")
@click.option("--send", is_flag=True, help="Also e-mail each contact their invitation (SMTP from MAIL_* settings).")
@with_appcontext
def panel_invite(study_id: int, contacts: Path, links_file: Path, send: bool) -> None:
    from delphi.extensions import db
    from delphi.models import MailKind
    from delphi.services import invitations
    from delphi.services.outbox import queue_panel_mail
    from delphi.services.csv_import import decode_spreadsheet_text
    from delphi.services.round_timing import mail_text

    require_public_url(current_app)
    require_schema()
    content = decode_spreadsheet_text(contacts.read_bytes())
    if content is None:
        raise click.ClickException(f"{contacts} is not text: save it from your spreadsheet as CSV.")
    with writing():
        study = find_study(study_id)
        try:
            links = invitations.add_panel(study, invitations.parse_contacts_csv(content, study), None)
        except invitations.ContactsError as exc:
            db.session.rollback()
            raise refused(f"{contacts} has problems; nobody was added:", exc.errors) from exc
        try:
            links_file.write_text(invitations.links_csv(links), encoding="utf-8")
        except OSError as exc:
            db.session.rollback()
            raise click.ClickException(f"cannot write {links_file}: {exc.strerror}; nobody was added.") from exc
        queued = 0
        if send:
            subject, body = mail_text(study, MailKind.invitation)
            queued = queue_panel_mail(study, MailKind.invitation, [n.panellist for n in links], subject, body, None)
        db.session.commit()
    click.echo(f"Added {len(links)} panellists to study {study.id}; their links are in {links_file}.")
    if send:
        report_delivery(queued, "invitation")


def report_delivery(queued: int, kind: str) -> None:
    """Send what this command queued (a command is not a request: it may wait for the mail server), and say how it
    went; what the server could not take now stays queued for the worker."""
    from delphi.services.outbox import deliver_due

    delivery = deliver_due()
    click.echo(f"Sent {delivery.sent} of {queued} {kind}s."
               + (f" {delivery.failed} could not be delivered (see the panel page)." if delivery.failed else "")
               + (" The others wait for the mail server; `delphi worker` (or a running `delphi serve`) sends them."
                  if delivery.sent + delivery.failed < queued else ""))


@panel.command("remind", help="Queue a reminder to every invited panellist with an e-mail address who has not "
                              "submitted the open round; prints how many on its last line.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.option("--dry-run", is_flag=True, help="Only count who would be reminded; queue nothing.")
@with_appcontext
def panel_remind(study_id: int, dry_run: bool) -> None:
    from delphi.extensions import db
    from delphi.models import MailKind
    from delphi.services.invitations import reminder_recipients
    from delphi.services.outbox import queue_panel_mail
    from delphi.services.round_timing import mail_text

    if not dry_run:
        require_public_url(current_app)  # the reminders carry each panellist's link
    require_schema()
    with writing():
        study = find_study(study_id)
        current = study.current_round
        if current is None or not current.is_open:
            raise click.ClickException(f"study {study.id} has no open round; reminders go out while one is open.")
        recipients = [p for p in reminder_recipients(study, current) if p.contact.invited_at is not None]
        if dry_run:
            click.echo(f"{len(recipients)} panellists would be reminded (dry run: nothing was queued).")
            return
        subject, body = mail_text(study, MailKind.reminder)
        queued = queue_panel_mail(study, MailKind.reminder, recipients, subject, body, None)
        db.session.commit()
    report_delivery(queued, "reminder")
    click.echo(f"Queued {queued} reminders.")


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
        # A round left closing by a failed or stuck worker is finished here too, synchronously.
        if current is None or not (current.is_open or current.is_closing):
            raise click.ClickException(f"study {study.id} has no open round.")
        close_round(current)
    counts = {c: sum(1 for rs in current.statements if rs.classification is c) for c in Classification}
    click.echo(f"Round {current.number} of study {study.id} is closed: {counts[Classification.consensus_in]} in, "
               f"{counts[Classification.consensus_out]} out, {counts[Classification.none]} without consensus.")
