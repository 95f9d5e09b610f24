"""Contact details encrypted at rest, at national scale: 5,000 contacts added, invited, reminded, listed, searched.

Adds 5,000 panellists with an address and a phone number through ``add_panel`` (the contacts file's path: each
address encrypted, its blind index computed, the panel checked for it), then times queuing an invitation and a
reminder to all of them, the non-completers file, the panel page plain and searched by part of an address (which
opens every address of the study), and, as the reference, reading the 5,000 encrypted addresses with and without
opening them, and opening them alone in memory.

    python benchmarks/bench_contacts.py                      # SQLite in a temporary folder
    DELPHI_BENCH_POSTGRES_URL=postgresql://... python benchmarks/bench_contacts.py --database postgres
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from delphi import create_app  # noqa: E402
from delphi.contact_cipher import contact_cipher, new_contacts_key  # noqa: E402
from delphi.extensions import db  # noqa: E402
from delphi.models import Contact, MailKind  # noqa: E402
from delphi.protocol import load_protocol  # noqa: E402
from delphi.services.invitations import (  # noqa: E402
    ContactRow, add_panel, invitation_recipients, non_completers_csv, reminder_recipients,
)
from delphi.services.outbox import queue_panel_mail  # noqa: E402
from delphi.services.panel_search import panel_page  # noqa: E402
from delphi.services.rounds import open_next_round  # noqa: E402
from delphi.services.studies import create_study  # noqa: E402

PROTOCOL = """
title = "Contacts benchmark"
[scale]
min = 1
max = 9
[[groups]]
key = "staff"
name = "Staff"
[[statements]]
code = "A-01"
domain = "Hope"
text = "Staff believe recovery is possible."
"""


def timed(label: str, work) -> None:
    started = time.perf_counter()
    work()
    print(f"{label:48s} {time.perf_counter() - started:7.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=5000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-contacts-")
    os.environ["DELPHI_INSTANCE_PATH"] = folder
    url = os.environ["DELPHI_BENCH_POSTGRES_URL"] if args.database == "postgres" else f"sqlite:///{folder}/b.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_URL": "http://localhost", "CONTACTS_KEY": new_contacts_key()})
    with app.app_context():
        db.drop_all()
        db.create_all()
        study = create_study(load_protocol(PROTOCOL))
        db.session.commit()
        rows = [ContactRow(i + 1, "staff", f"person{i:05d}@example.org", "+47 400 00 000")
                for i in range(args.contacts)]
        print(f"{args.contacts} contacts on {args.database}")
        timed("add the contacts (add_panel, commit)", lambda: (add_panel(study, rows, None), db.session.commit()))

        def queue(kind, recipients):
            queue_panel_mail(study, kind, recipients(), "Subject", "Your link: {link}", None)
            db.session.commit()
            db.session.expire_all()

        db.session.expire_all()
        timed("queue an invitation to each", lambda: queue(MailKind.invitation, lambda: invitation_recipients(study)))
        open_next_round(study)
        db.session.commit()
        timed("queue a reminder to each", lambda: queue(
            MailKind.reminder, lambda: reminder_recipients(study, study.current_round)))
        timed("non-completers file", lambda: (non_completers_csv(study, study.current_round, None),
                                              db.session.rollback()))
        for search in ("", "person0421", "@"):
            db.session.expire_all()
            timed(f"panel page, search {search!r}",
                  lambda: [c.email for c in panel_page(study, 1, search).items])
        db.session.expire_all()
        timed("read the addresses, encrypted (reference)", lambda: db.session.execute(
            sa.select(sa.cast(Contact.email, sa.Text))).all())
        timed("read and open the addresses", lambda: db.session.execute(sa.select(Contact.email)).all())
        cipher = contact_cipher()
        stored = [cipher.encrypt(row.email, "contact.email") for row in rows]
        timed("open the addresses in memory only", lambda: [cipher.decrypt(s, "contact.email") for s in stored])


if __name__ == "__main__":
    main()
