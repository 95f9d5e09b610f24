"""Links that leave the browser are built on PUBLIC_URL, never on the request's Host or X-Forwarded-Host (issue 19:
a reset request sent with ``Host: evil.example`` mailed the account's owner a link to evil.example, which handed
the reset token, and the account, to whoever runs it)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.links import PublicUrlMissing, external_url, panel_link
from delphi.models import OutboxMail, Panellist
from delphi.services.invitations import link_for
from tests.live import LiveServer

EVIL = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


def test_requests_for_another_host_are_refused(client):
    assert client.get("/staff/login").status_code == 200
    refused = client.get("/staff/login", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert refused.get_data(as_text=True) == "This site does not answer to that address.\n"
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert client.get("/staff/login", headers={"Host": "localhost:8000"}).status_code == 200  # ports are not hosts


def test_a_forwarded_host_is_checked_too(build_app, app_config):
    behind_proxy = build_app({**app_config, "PROXY_COUNT": 1})
    client = behind_proxy.test_client()
    behind_proxy.config["WTF_CSRF_ENABLED"] = True  # refused before the CSRF check, whose page could not be drawn
    refused = client.post("/staff/reset", data={"email": "a@example.org"}, headers=EVIL)
    assert (refused.status_code, refused.get_data(as_text=True)) == (400, "This site does not answer to that address.\n")
    assert client.get("/staff/login", headers={"X-Forwarded-Host": "localhost"}).status_code == 200


def test_trusted_hosts_can_be_widened_for_a_local_health_check(build_app, app_config):
    widened = build_app({**app_config, "TRUSTED_HOSTS": ["localhost", "127.0.0.1"]})
    assert widened.test_client().get("/livez", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_the_reset_link_is_on_public_url_whatever_host_the_request_names(build_app, app_config, make_user):
    # Hosts not checked (TRUSTED_HOSTS empty): the link must still not come from the request.
    open_app = build_app({**app_config, "PUBLIC_URL": "https://delphi.example.org", "TRUSTED_HOSTS": [],
                          "PROXY_COUNT": 1, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9})
    make_user("owner@example.org")
    response = open_app.test_client().post("/staff/reset", data={"email": "owner@example.org"}, headers=EVIL)
    assert response.status_code == 303
    with open_app.app_context():
        [mail] = db.session.scalars(sa.select(OutboxMail)).all()
    assert "https://delphi.example.org/staff/reset/" in mail.body
    assert "evil.example" not in mail.body


def test_no_link_is_built_from_the_request_without_public_url(app, make_study, make_panellist):
    study_id = make_study()
    _, token = make_panellist(study_id)
    app.config["PUBLIC_URL"] = None
    with app.test_request_context("/", headers=EVIL):
        with pytest.raises(PublicUrlMissing, match="DELPHI_PUBLIC_URL is not set"):
            link_for(token)
        with pytest.raises(PublicUrlMissing):
            external_url("auth.reset_password", token="x")


def test_links_keep_the_path_public_url_is_served_under(app, make_study, make_panellist):
    study_id = make_study()
    _, token = make_panellist(study_id)
    app.config["PUBLIC_URL"] = "https://example.org/delphi/"
    with app.app_context():  # no request: the worker and the commands build links too
        assert panel_link(token) == f"https://example.org/delphi/p/{token}"
        assert link_for(token) == panel_link(token)
        assert external_url("auth.login") == "https://example.org/delphi/staff/login"


def test_the_links_page_shows_links_on_public_url(app, client, make_user, make_study, auth):
    from delphi.models import StudyRole

    user_id = make_user()
    study_id = make_study(members={user_id: StudyRole.owner})
    auth.login()
    app.config["PUBLIC_URL"] = "https://delphi.example.org"
    response = client.post(f"/studies/{study_id}/panel", data={"group": "staff"}, headers={"Host": "localhost"})
    assert response.status_code == 200
    assert "https://delphi.example.org/p/" in response.get_data(as_text=True)


def refusal_to_start(database_url: str, instance, public_url: str) -> str:
    """What gunicorn says when it refuses to serve ``wsgi:app`` with this DELPHI_PUBLIC_URL."""
    try:
        server = LiveServer(database_url, instance, workers=1, extra_env={"DELPHI_PUBLIC_URL": public_url})
    except RuntimeError as stopped:
        return str(stopped)
    server.stop()
    pytest.fail(f"the server started with DELPHI_PUBLIC_URL={public_url!r}")


def test_gunicorn_refuses_to_start_without_public_url(app, tmp_path):
    said = refusal_to_start(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "")
    assert "delphi: not starting: DELPHI_PUBLIC_URL is not set" in said


def test_gunicorn_refuses_a_public_url_that_is_not_an_address(app, tmp_path):
    said = refusal_to_start(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "delphi.example.org")
    assert "DELPHI_PUBLIC_URL='delphi.example.org' is not a site address" in said


@pytest.fixture
def without_public_url(app, monkeypatch):
    """The command's app as a process without DELPHI_PUBLIC_URL would build it; servers and workers do not start."""
    from delphi.commands import server

    app.config["PUBLIC_URL"] = None
    started = []
    monkeypatch.setattr(server, "run_server", lambda host, port: started.append((host, port)))
    monkeypatch.setattr("delphi.jobs.run_worker", lambda *args: started.append(args))
    return started


@pytest.mark.parametrize("command", [("serve",), ("worker",)])
def test_servers_and_workers_stop_without_public_url(runner, without_public_url, command):
    result = runner.invoke(*command)
    assert result.exit_code == 1
    assert "Error: DELPHI_PUBLIC_URL is not set" in result.output
    assert without_public_url == []


def test_serve_in_debug_mode_uses_the_address_it_serves_on(app, runner, without_public_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # how the test runner's command sets app.debug (DELPHI_DEBUG in life)
    result = runner.invoke("serve", "--port", "5077")
    assert result.exit_code == 0, result.output
    assert without_public_url == [("127.0.0.1", 5077)]
    assert app.config["PUBLIC_URL"] == "http://localhost:5077"


def test_panel_invite_stops_without_public_url_and_adds_nobody(app, runner, without_public_url, make_study, tmp_path):
    study_id = make_study()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("group,email\nstaff,a@example.org\n", encoding="utf-8")
    links = tmp_path / "links.csv"
    result = runner.invoke("panel", "invite", str(study_id), str(contacts), "--links", str(links))
    assert result.exit_code == 1 and "DELPHI_PUBLIC_URL is not set" in result.output
    assert not links.exists()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id))) == 0


def test_panel_remind_stops_without_public_url_but_may_count(runner, without_public_url, make_study):
    study_id = make_study()
    result = runner.invoke("panel", "remind", str(study_id))
    assert result.exit_code == 1 and "DELPHI_PUBLIC_URL is not set" in result.output
    dry_run = runner.invoke("panel", "remind", str(study_id), "--dry-run")
    assert "DELPHI_PUBLIC_URL" not in dry_run.output  # counting writes no link
