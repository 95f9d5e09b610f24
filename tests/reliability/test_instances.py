"""Production is several gunicorn instances behind the proxy, one PostgreSQL and one Redis: limits count once across
all of them, and what one instance changes the next request to another sees.

The two-instance tests need PostgreSQL (DELPHI_TEST_DATABASE_URL) and Redis (DELPHI_TEST_REDIS_URL); .ci/run starts
both for its PostgreSQL run. On SQLite they are skipped; on PostgreSQL without Redis too, except in CI (CI=true),
where that is a failure.
"""
import os
import secrets
import subprocess
import sys
import time

import pytest

from delphi.extensions import db
from delphi.models import Study, StudyRole
from delphi.services.panel import add_panellist
from tests.conftest import TEST_DATABASE_URL
from tests.live import Browser, LiveServer

REDIS_URL = os.environ.get("DELPHI_TEST_REDIS_URL")
MEMORY_WARNING = "Rate limits are kept in each worker's memory"


def test_several_workers_with_limits_in_memory_warn_at_start(app, tmp_path):
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=2)
    try:
        assert MEMORY_WARNING in server.output()
        assert "2 workers serve" in server.output()
    finally:
        server.stop()


def test_one_worker_with_limits_in_memory_does_not_warn(app, tmp_path):
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=1)
    try:
        assert Browser(server.url).get("/livez").status == 200
        assert MEMORY_WARNING not in server.output()
    finally:
        server.stop()


@pytest.fixture
def two_instances(app, tmp_path):
    """Two gunicorn instances (2 workers each) on one PostgreSQL database and one Redis."""
    if not (TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres")):
        pytest.skip("needs PostgreSQL (DELPHI_TEST_DATABASE_URL): SQLite serves one machine")
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI runs the PostgreSQL suite with a Redis server: DELPHI_TEST_REDIS_URL is not set")
        pytest.skip("needs Redis (DELPHI_TEST_REDIS_URL)")
    import redis

    # Each test starts with no counts, as it starts with an empty database.
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"DELPHI_RATELIMIT_STORAGE_URI": REDIS_URL, "DELPHI_LINK_RATE_LIMIT": "10 per minute"}
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            servers.append(LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / name, workers=2,
                                      extra_env=env))
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_a_limit_counts_once_across_instances_and_workers(two_instances):
    a, b = two_instances
    assert MEMORY_WARNING not in a.output() + b.output()
    browsers = [Browser(a.url), Browser(b.url)]
    # Ten misses, alternating between the instances (and so between their four workers), use up the one limit.
    statuses = [browsers[i % 2].get(f"/p/{secrets.token_urlsafe(24)}").status for i in range(12)]
    assert statuses == [404] * 10 + [429, 429]


def test_a_revoked_link_stops_at_once_on_the_other_instance(two_instances, app, make_study, make_user):
    a, b = two_instances
    owner = make_user()
    study_id = make_study(members={owner: StudyRole.owner})
    with app.app_context():
        study = db.session.get(Study, study_id)
        panellist, token = add_panellist(study, study.groups[0])
        db.session.commit()
        contact_id = panellist.contact.id
    assert Browser(b.url).get(f"/p/{token}").status == 303

    staff = Browser(a.url)
    page = staff.get("/staff/login")
    assert staff.post("/staff/login", {"csrf_token": page.csrf(), "email": "facilitator@example.org",
                                       "password": "correct horse battery"}).status == 303
    panel = staff.get(f"/studies/{study_id}/panel")
    revoked = staff.post(f"/studies/{study_id}/panel/contacts/{contact_id}/revoke", {"csrf_token": panel.csrf()})
    assert revoked.status == 303

    assert Browser(b.url).get(f"/p/{token}").status == 404


def test_two_workers_on_one_queue_send_each_mail_once(two_instances, app, make_study, make_panellist, tmp_path):
    """Production's workers share Redis and PostgreSQL: 30 invitations queued through one instance are sent by two
    `delphi worker` processes together, each mail exactly once."""
    from aiosmtpd.controller import Controller
    from flask_migrate import stamp

    from delphi.models import MailKind
    from delphi.services.outbox import queue_panel_mail
    from tests.live import ROOT, Mailbox, free_port

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    study_id = make_study()
    addresses = [f"p{n}@example.org" for n in range(30)]
    for address in addresses:
        make_panellist(study_id, "staff", email=address)
    with app.app_context():
        stamp()
        study = db.session.get(Study, study_id)
        queue_panel_mail(study, MailKind.invitation, list(study.panellists), "Join", "{link}", None)
        db.session.commit()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DELPHI_")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], DELPHI_SECRET_KEY=app.config["SECRET_KEY"],
               DELPHI_CONTACTS_KEY=app.config["CONTACTS_KEY"],
               DELPHI_JOBS_URL=REDIS_URL.rsplit("/", 1)[0] + "/1", DELPHI_MAIL_SERVER="127.0.0.1",
               DELPHI_MAIL_PORT=str(controller.port), DELPHI_MAIL_FROM="delphi@example.org",
               DELPHI_PUBLIC_URL="http://delphi.test", PYTHONPATH=str(ROOT))
    workers = []
    try:
        for name in ("w1", "w2"):
            (tmp_path / name).mkdir()
            workers.append(subprocess.Popen(
                [sys.executable, "-c", "from delphi.cli import main; main()", "worker", "--workers", "2"],
                env={**env, "DELPHI_INSTANCE_PATH": str(tmp_path / name)}, cwd=tmp_path / name,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while len(mailbox.messages) < len(addresses) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # a second sending of any mail would have arrived by now
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
        controller.stop()
    assert sorted(m["To"] for m in mailbox.messages) == sorted(addresses)
