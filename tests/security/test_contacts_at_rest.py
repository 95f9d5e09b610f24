"""Contact details encrypted at rest (docs/security.md, "Contact details at rest"): a copy of the database alone names
nobody and opens no link, while the app still invites, reminds, lists non-completers, searches and refuses a
duplicate address; another key is refused with a clear reason; keys, databases, queues and backups are private
files; pg_dump never sees the password on its command line."""
from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from delphi import create_app
from delphi.cli import main
from delphi.contact_cipher import ContactsKeyError, contacts_key_problem, new_contacts_key
from delphi.extensions import db
from delphi.models import Contact, MailStatus, OutboxMail, Panellist, StaffUser, Study, StudyRole
from delphi.services.outbox import deliver_due, queue_password_reset
from delphi.services.rounds import open_next_round
from tests.live import ROOT, Mailbox, free_port

KARI = {"email": "Kari.Nordmann@example.org", "phone": "+47 912 34 567", "name": "Kari Nordmann"}
OLA = {"email": "ola.refused@example.org", "phone": "+47 400 00 001"}


class RefusingMailbox(Mailbox):
    """Refuses one address for good, quoting it as real servers do."""

    def __init__(self, refuse: str):
        super().__init__()
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_smtp(app):
    mailbox = RefusingMailbox(OLA["email"])
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="delphi@example.org",
                      PUBLIC_URL="http://delphi.test")
    yield mailbox
    controller.stop()


@pytest.fixture
def owner(make_user, make_study, auth):
    user_id = make_user("owner@example.org")
    study_id = make_study(members={user_id: StudyRole.owner})
    auth.login(email="owner@example.org")
    return user_id, study_id


def database_text(app) -> str:
    """Every value of every table as the database holds it (raw SQL, no model types): what a copy would show."""
    with app.app_context(), db.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        values = [str(value) for table in tables for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"')
                  for value in row]
    return "\n".join(values).lower()


def shown_link(html: str) -> str:
    return html.split('<code class="link">', 1)[1].split("<", 1)[0]


def test_a_copy_of_the_database_names_nobody_and_opens_no_link(app, client, owner, refusing_smtp):
    """Kari is added by the form and named; Ola comes from a contacts file and the mail server refuses his address
    quoting it. After invitations, reminders, the non-completers list, a search and a queued password reset, no
    address, phone number, name or link is anywhere in the database in clear, and the app read them all back."""
    _, study_id = owner
    added = client.post(f"/studies/{study_id}/panel", data={"group": "staff", "email": KARI["email"]})
    assert added.status_code == 200
    kari_link = shown_link(added.get_data(as_text=True))
    csv = f"group,email,phone\nservice_user,{OLA['email']},{OLA['phone']}\n".encode()
    imported = client.post(f"/studies/{study_id}/panel/import", data={"file": (io.BytesIO(csv), "c.csv")})
    assert imported.status_code == 200
    ola_link = shown_link(imported.get_data(as_text=True))
    with app.app_context():
        kari = db.session.scalar(sa.select(Contact).where(Contact.email_index.is_not(None)).order_by(Contact.id))
        kari.name, kari.phone = KARI["name"], KARI["phone"]
        open_next_round(db.session.get(Study, study_id))
        user = db.session.scalar(sa.select(StaffUser))
        queue_password_reset(user, "Reset", "Open http://delphi.test/staff/reset/SECRET-RESET-TOKEN within the hour")
        db.session.commit()

    for kind in ("invitation", "reminder"):
        response = client.post(f"/studies/{study_id}/panel/{kind}",
                               data={"subject": "{study}", "body": "Hello, your link: {link}"})
        assert response.status_code == 303
    sent = refusing_smtp.to(KARI["email"])
    assert [refusing_smtp.link(m) for m in sent] == [kari_link, kari_link]
    with app.app_context():
        refused = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.status == MailStatus.failed)).all()
        assert len(refused) == 2 and all(OLA["email"] in mail.error for mail in refused)  # read back in clear

    non_completers = client.get(f"/studies/{study_id}/panel/non-completers.csv").get_data(as_text=True)
    # (a leading + is neutralised for spreadsheets)
    assert f"staff,{KARI['email']},'{KARI['phone']},{kari_link}" in non_completers
    assert f"service_user,{OLA['email']},'{OLA['phone']},{ola_link}" in non_completers
    found = client.get(f"/studies/{study_id}/panel", query_string={"q": "NORDMANN@"}).get_data(as_text=True)
    assert KARI["email"] in found and OLA["email"] not in found

    copy = database_text(app)
    tokens = [link.rsplit("/", 1)[1] for link in (kari_link, ola_link)]
    for secret in [*KARI.values(), *OLA.values(), "nordmann", "+47", *tokens, "secret-reset-token"]:
        assert secret.lower() not in copy, secret
    with app.app_context(), db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT email_encrypted, phone_encrypted, name_encrypted FROM contact "
                                      "ORDER BY id").all()
        mails = conn.exec_driver_sql("SELECT subject_encrypted, body_encrypted, error_encrypted FROM outbox_mail").all()
    assert [[(v or "")[:3] for v in row] for row in stored] == [["c1:", "c1:", "c1:"], ["c1:", "c1:", ""]]
    assert mails and all(value.startswith("c1:") for row in mails for value in row)


def test_an_address_already_on_the_panel_is_refused_in_the_file_and_the_form(app, client, owner, make_study,
                                                                                make_panellist):
    _, study_id = owner
    make_panellist(study_id, "staff", email="one@example.org")
    csv = b"group,email\nstaff,new@example.org\nstaff, ONE@Example.org \n"
    response = client.post(f"/studies/{study_id}/panel/import", data={"file": (io.BytesIO(csv), "c.csv")})
    assert response.status_code == 422
    assert "line 3: ONE@Example.org is already on this study&#39;s panel" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/panel", data={"group": "staff", "email": "One@example.ORG"})
    assert response.status_code == 422
    assert "One@example.ORG is already on this study&#39;s panel" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study_id)) == 1
    # Another study may have the same person; the blind index differs between studies, so a copy of the database
    # does not show that it is the same person.
    other_id = make_study()
    make_panellist(other_id, "staff", email="one@example.org")
    with app.app_context():
        indexes = db.session.scalars(sa.select(Contact.email_index)).all()
    assert len(indexes) == len(set(indexes)) == 2


def test_another_key_is_refused_with_the_reason_not_read_as_garbage(app, client, owner, make_panellist, build_app,
                                                                    runner, tmp_path):
    _, study_id = owner
    make_panellist(study_id, "staff", email="one@example.org")
    with app.app_context():
        assert contacts_key_problem() is None
        right_id = app.extensions["contact_cipher"].key_id
    other = build_app({**app.config, "CONTACTS_KEY": new_contacts_key()})
    wrong_id = other.extensions["contact_cipher"].key_id
    with other.app_context():
        problem = contacts_key_problem()
        assert problem.startswith("contact details cannot be read: ")
        assert f"encrypted with the contacts key {right_id}, and this server has the key {wrong_id}" in problem
        with pytest.raises(ContactsKeyError):
            db.session.get(Contact, 1).email  # noqa: B018
        db.session.rollback()

    # A page that reads contacts answers 503 with the calm page; the log has the reason.
    other_client = other.test_client()
    other_client.post("/staff/login", data={"email": "owner@example.org", "password": "correct horse battery"})
    response = other_client.get(f"/studies/{study_id}/panel")
    assert response.status_code == 503 and "one@example.org" not in response.get_data(as_text=True)

    # Commands refuse to work, saying what is wrong.
    result = other.test_cli_runner().invoke(main,
                                            ["panel", "remind", str(study_id), "--dry-run"])
    assert result.exit_code == 1 and "contact details cannot be read" in result.output

    # The production server does not start.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELPHI_")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], DELPHI_INSTANCE_PATH=str(tmp_path / "server"),
               DELPHI_CONTACTS_KEY=new_contacts_key(), DELPHI_PUBLIC_URL="https://delphi.example.org",
               PYTHONPATH=str(ROOT))
    started = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode == 3, started.stderr
    assert "delphi: not starting: contact details cannot be read" in started.stderr


def test_a_malformed_key_is_refused_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(ContactsKeyError, match="must be 32 random bytes in base64"):
        create_app({"CONTACTS_KEY": "too-short"})
    monkeypatch.setenv("DELPHI_CONTACTS_KEY", "not a key at all")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "the contacts key (DELPHI_CONTACTS_KEY" in result.output


def test_the_key_file_is_made_once_private_and_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("DELPHI_CONTACTS_KEY", raising=False)
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "instance"))
    old_umask = os.umask(0o022)
    try:
        first = create_app().config["CONTACTS_KEY"]
    finally:
        os.umask(old_umask)
    assert create_app().config["CONTACTS_KEY"] == first
    path = tmp_path / "instance" / "contacts.key"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "instance").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600
    given = new_contacts_key()
    monkeypatch.setenv("DELPHI_CONTACTS_KEY", given)
    assert create_app().config["CONTACTS_KEY"] == given != first


def test_databases_queues_and_backups_are_created_private(monkeypatch, tmp_path):
    """With the usual umask (022) SQLite, Huey and the backup made their files 0644: anyone on the machine could copy
    the database."""
    from delphi.services.backup import backup_database

    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)
    try:
        app = create_app({"CONTACTS_KEY": new_contacts_key()})
        with app.app_context():
            db.create_all()
            db.session.add(StaffUser(email="a@example.org", password_hash="x"))
            db.session.commit()
            instance = Path(app.instance_path)
            files = [instance / "delphi.sqlite3", instance / "delphi.sqlite3-wal", instance / "delphi.sqlite3-shm",
                     instance / "jobs.sqlite3"]
            files.append(backup_database(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "backups" / "copy.db"))
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}  # the WAL lives while connected
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    assert modes == {path.name: 0o600 for path in files}


def test_pg_dump_gets_the_password_from_a_private_pass_file_not_its_command_line(monkeypatch, tmp_path):
    from delphi.services import backup

    seen = {}

    def fake_run(command, env=None, **options):
        seen.update(command=command, env=env if env is not None else dict(os.environ), umask=options.get("umask"))
        if "PGPASSFILE" in seen["env"]:
            passfile = Path(seen["env"]["PGPASSFILE"])
            seen.update(passfile=passfile, content=passfile.read_text(), mode=stat.S_IMODE(passfile.stat().st_mode))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backup.shutil, "which", lambda name: "/usr/bin/pg_dump")
    monkeypatch.setattr(backup.subprocess, "run", fake_run)
    monkeypatch.setenv("PGPASSWORD", "from-the-environment")
    out = tmp_path / "db.dump"
    backup.backup_database("postgresql+psycopg://postgres:s3cr%3Aet%5C@127.0.0.1:54329/delphi_crypto", out)
    assert not any("s3cr" in part for part in seen["command"])
    assert "--dbname=postgresql://postgres@127.0.0.1:54329/delphi_crypto" in seen["command"]
    assert "PGPASSWORD" not in seen["env"]
    assert seen["content"] == "*:*:*:*:s3cr\\:et\\\\\n" and seen["mode"] == 0o600 and seen["umask"] == 0o077
    assert not seen["passfile"].exists()  # removed once pg_dump is done
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_real_pg_dump_with_a_password_in_the_url(app, tmp_path):
    """On PostgreSQL: the pass file is one pg_dump accepts (the test server trusts local connections, so the password
    itself is not checked), and the copy is private."""
    from delphi.services.backup import backup_database

    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql" or shutil.which("pg_dump") is None:
        pytest.skip("needs PostgreSQL and pg_dump")
    out = backup_database(url.set(password="secret").render_as_string(hide_password=False), tmp_path / "db.dump")
    assert out.stat().st_size > 0 and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_deliver_due_still_sends_after_the_texts_are_encrypted(app, make_study, make_panellist, refusing_smtp):
    """The outbox row keeps the facilitator's text encrypted; the worker opens it and fills in the link."""
    from delphi.models import MailKind
    from delphi.services.outbox import queue_panel_mail

    study_id = make_study()
    _, token = make_panellist(study_id, "staff", email="p@example.org")
    with app.app_context():
        study = db.session.get(Study, study_id)
        queue_panel_mail(study, MailKind.invitation, list(study.panellists), "Join {study}", "Link: {link}", None)
        db.session.commit()
        assert deliver_due().sent == 1
    (mail,) = refusing_smtp.to("p@example.org")
    assert mail["Subject"] == "Join Test study" and refusing_smtp.link(mail) == f"http://delphi.test/p/{token}"
