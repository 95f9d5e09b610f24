"""A real server process for tests that need one (concurrency, crashes, the browser suite), and a small HTTP client
with its own cookie jar that does not follow redirects."""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The contacts key of every test app and of the servers and workers they start (they share the test database, so
# they must share its key). A fixed key, never used outside the tests.
TEST_CONTACTS_KEY = "dGVzdC1jb250YWN0cy1rZXktbm90LWZvci11c2UtISE="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def body(message) -> str:
        return message.get_body(("plain",)).get_content()

    @staticmethod
    def link(message) -> str:
        return re.search(r"https?://\S+/p/\S+", Mailbox.body(message)).group(0)


def stamp_as_migrated(database_url: str) -> None:
    """Mark a test database (made by ``create_all``) as at the head of the migrations: servers refuse to start on a
    database whose schema revision is not the code's."""
    from flask_migrate import stamp

    from delphi import create_app
    from delphi.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "CONTACTS_KEY": TEST_CONTACTS_KEY})
    with app.app_context():
        stamp()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


class LiveServer:
    """gunicorn serving ``wsgi:app`` on 127.0.0.1 against the given database."""

    def __init__(self, database_url: str, instance_path: Path, *, workers: int = 2, threads: int = 8,
                 extra_env: dict | None = None, migrated: bool = True):
        if migrated:
            stamp_as_migrated(database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DELPHI_")}
        env.update({
            "DATABASE_URL": database_url,
            "DELPHI_INSTANCE_PATH": str(instance_path),
            "DELPHI_SECRET_KEY": "live-test-secret-key",
            "DELPHI_PUBLIC_URL": self.url,
            "DELPHI_CONTACTS_KEY": TEST_CONTACTS_KEY,
            "DELPHI_LINK_RATE_LIMIT": "100000 per minute",
            "DELPHI_LOGIN_RATE_LIMIT": "100000 per minute",
            "PYTHONPATH": str(ROOT),
            **(extra_env or {}),
        })
        self.log = open(instance_path / "server.log", "w+b")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:delphi.gunicorn_config",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", str(threads),
             "--timeout", "60", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait()
        except RuntimeError:
            self.stop()  # the process and its log file, before the caller sees why
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@dataclass
class Reply:
    status: int
    headers: dict
    text: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def csrf(self) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.text).group(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One visitor: a cookie jar and plain HTTP requests (no JavaScript, no redirects followed)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None) -> Reply:
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return Reply(response.status, dict(response.headers), response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> Reply:
        return self.request("POST", path, data=data, **kwargs)
