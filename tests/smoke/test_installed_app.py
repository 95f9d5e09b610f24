"""The README's install, used as a team would: mail sent and its links opened through a non-editable install.

An editable install reads templates/ from the source tree and hides files missing from the wheel (every mail once
failed in the README's own install for that reason). ``.ci/run`` installs the project with the README's first command
into a venv of its own and points ``DELPHI_INSTALLED_VENV`` at it; this test then runs that venv's ``delphi``
command from an empty working directory, against a local SMTP server, and opens every mailed link.
Without ``DELPHI_INSTALLED_VENV`` (a developer's editable run) it is skipped.
"""
from __future__ import annotations

import html
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.live import Browser, Mailbox, free_port

VENV = os.environ.get("DELPHI_INSTALLED_VENV")
pytestmark = pytest.mark.skipif(not VENV, reason="DELPHI_INSTALLED_VENV is not set (.ci/run sets it)")


@pytest.fixture
def mailbox():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def wait_for_mail(mailbox: Mailbox, address: str, count: int = 1) -> list:
    deadline = time.monotonic() + 20
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.to(address)


class InstalledApp:
    """The installed ``delphi`` command, run in a working directory of its own with a clean environment."""

    def __init__(self, venv: Path, work: Path, port: int, mail_port: int):
        self.command = venv / "bin" / "delphi"
        self.work = work
        self.url = f"http://127.0.0.1:{port}"
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("DELPHI_", "PYTHON")) and key != "DATABASE_URL"}
        self.env.update(DELPHI_MAIL_SERVER="127.0.0.1", DELPHI_MAIL_PORT=str(mail_port),
                        DELPHI_MAIL_FROM="delphi@example.org", DELPHI_PUBLIC_URL=self.url)
        self.server = None

    def run(self, *args: str) -> str:
        done = subprocess.run([str(self.command), *args], cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def serve(self, port: int) -> None:
        self.log = open(self.work / "serve.log", "w+")  # noqa: SIM115 (closed in stop)
        self.server = subprocess.Popen([str(self.command), "serve", "--port", str(port)], cwd=self.work,
                                       env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.output()
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError(f"the installed server did not start: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)
            self.log.close()


@pytest.fixture
def installed(tmp_path, mailbox):
    port = free_port()
    app = InstalledApp(Path(VENV), tmp_path, port, mailbox.port)
    app.port = port
    yield app
    app.stop()


def csrf(text: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text).group(1)


def opens(link: str) -> bool:
    """A panellist's link opens their survey: a redirect to consent or the round, never 'This link does not work'."""
    reply = Browser("").get(link)
    return reply.status == 303 and "/p/" not in (reply.location or "/p/")


def test_invitations_and_a_password_reset_through_the_installed_app(installed, mailbox):
    demo = installed.run("demo", "--no-serve")
    study_id = re.search(r"\(id (\d+)\)", demo).group(1)
    email = re.search(r"email:\s+(\S+)", demo).group(1)
    password = re.search(r"password:\s+(\S+)", demo).group(1)
    instance = installed.work / "instance"
    assert f"Instance folder (database, secret key, contacts key): {instance}" in demo, demo
    assert (instance / "delphi.sqlite3").is_file() and (instance / "secret_key").is_file()
    assert not list(Path(VENV).glob("var/*instance*")), "the instance folder must not live inside the venv"

    # The command line: two contacts invited and mailed.
    (installed.work / "contacts.csv").write_text("group,email\nstaff,cli.one@example.org\nstaff,cli.two@example.org\n")
    installed.run("panel", "invite", study_id, "contacts.csv", "--links", "links.csv", "--send")

    installed.serve(installed.port)
    for address in ("cli.one@example.org", "cli.two@example.org"):
        (mail,) = wait_for_mail(mailbox, address)
        assert opens(Mailbox.link(mail))

    # The web pages: a facilitator adds six panellists and sends the invitations; the server's own worker sends them.
    staff = Browser(installed.url)
    page = staff.get("/staff/login")
    signed_in = staff.post("/staff/login", {"csrf_token": page.csrf(), "email": email, "password": password})
    assert signed_in.status == 303, signed_in.text[:2000]
    panel = staff.get(f"/studies/{study_id}/panel")
    group = re.search(r'<option value="([^"]+)"', panel.text).group(1)
    web = [f"web.{n}@example.org" for n in range(1, 7)]
    for address in web:
        added = staff.post(f"/studies/{study_id}/panel",
                           {"csrf_token": csrf(panel.text), "group": group, "email": address})
        assert added.status == 200 and "/p/" in added.text
    form = staff.get(f"/studies/{study_id}/panel/invitation")
    assert form.status == 200, form.text[:2000]
    subject = html.unescape(re.search(r'name="subject"[^>]*value="([^"]*)"', form.text).group(1))
    body = html.unescape(re.search(r'<textarea[^>]*name="body"[^>]*>\n?(.*?)</textarea>', form.text, re.S).group(1))
    sent = staff.post(f"/studies/{study_id}/panel/invitation",
                      {"csrf_token": form.csrf(), "subject": subject, "body": body})
    assert sent.status == 303, sent.text[:3000]
    invited = {}
    for address in web:
        (mail,) = wait_for_mail(mailbox, address)
        assert subject.split("{study}")[0] in mail["Subject"]
        invited[address] = Mailbox.link(mail)
        assert opens(invited[address])

    # A reminder later delivers the same links, and they still open.
    form = staff.get(f"/studies/{study_id}/panel/reminder")
    body = html.unescape(re.search(r'<textarea[^>]*name="body"[^>]*>\n?(.*?)</textarea>', form.text, re.S).group(1))
    subject = html.unescape(re.search(r'name="subject"[^>]*value="([^"]*)"', form.text).group(1))
    assert staff.post(f"/studies/{study_id}/panel/reminder",
                      {"csrf_token": form.csrf(), "subject": subject, "body": body}).status == 303
    for address in web:
        invitation, reminder = wait_for_mail(mailbox, address, count=2)
        assert Mailbox.link(reminder) == invited[address]
        assert opens(invited[address])

    # A forgotten password: the mailed link opens the form to choose a new one.
    visitor = Browser(installed.url)
    form = visitor.get("/staff/reset")
    assert visitor.post("/staff/reset", {"csrf_token": form.csrf(), "email": email}).status == 303
    (mail,) = wait_for_mail(mailbox, email)
    link = re.search(r"https?://\S+/staff/reset/\S+", Mailbox.body(mail)).group(0)
    assert link.startswith(installed.url)
    reset = visitor.get(link[len(installed.url):])
    assert reset.status == 200 and 'name="new_password"' in reset.text
