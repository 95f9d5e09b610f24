"""Links that leave the browser (mails, links files, pages staff copy from) are built here, on ``PUBLIC_URL`` alone.

A link built from the request's ``Host`` or ``X-Forwarded-Host`` header is whatever the requester says it is: a
password-reset request sent with ``Host: evil.example`` once mailed the account's owner a link that handed the reset
token to that host. So no link is ever built from a request: without ``PUBLIC_URL`` there is no link, and the
servers and commands that write links refuse to start (``require_public_url``); only debug and the demo fall back to
the local address they serve on.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app

MISSING = ("DELPHI_PUBLIC_URL is not set. Every link in a mail or a links file starts with it: set it to the address "
           "people reach this site by, for example DELPHI_PUBLIC_URL=https://delphi.example.org")


class PublicUrlMissing(RuntimeError):
    """A link was asked for while ``PUBLIC_URL`` is not set."""


def public_url_problem(value: object) -> str | None:
    """What is wrong with a ``PUBLIC_URL`` value, in a sentence; None when it can be used."""
    if not value:
        return MISSING
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return (f"DELPHI_PUBLIC_URL={value!r} is not a site address: give the scheme and host (and a path, if the site "
                "is served under one), for example https://delphi.example.org")
    return None


def public_host(app: Flask) -> str | None:
    """The host name of ``PUBLIC_URL`` (for ``TRUSTED_HOSTS``), or None when it is not set or not usable (the servers
    and the commands that write links then refuse to start, saying why)."""
    value = app.config.get("PUBLIC_URL")
    return None if public_url_problem(value) else urlsplit(str(value)).hostname


def require_public_url(app: Flask, local_address: str | None = None) -> None:
    """Stop (``click.ClickException``) a server or command that would write links without ``PUBLIC_URL``.

    ``local_address`` is where this process serves; the demo and debug mode use it when ``PUBLIC_URL`` is not set.
    """
    import click

    value = app.config.get("PUBLIC_URL")
    if not value and local_address:
        app.config["PUBLIC_URL"] = local_address
        return
    problem = public_url_problem(value)
    if problem:
        raise click.ClickException(problem)


def external_url(endpoint: str, **values) -> str:
    """The full address of ``endpoint`` on ``PUBLIC_URL`` (``url_for`` for a link that leaves the browser).

    Works with or without a request; never reads the request's host. Raises :class:`PublicUrlMissing` when
    ``PUBLIC_URL`` is not set.
    """
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise PublicUrlMissing(MISSING)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def panel_link(token: str) -> str:
    """A panellist's personal link."""
    return external_url("panel.enter", token=token)


def password_reset_link(token: str) -> str:
    return external_url("auth.reset_password", token=token)
