"""Response headers that every page gets: a strict Content-Security-Policy (no inline scripts or styles), no framing,
no MIME sniffing, no referrer leaving the site, and HSTS when served over HTTPS."""
from __future__ import annotations

import ipaddress
import logging
import re

from flask import Flask, Response, abort, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import SecurityError

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])


def rate_limit_key() -> str:
    """Whom a rate limit counts: an IPv4 address, or the /64 network of an IPv6 address.

    One IPv6 subscriber or server is handed a whole /64 (2^64 addresses), so a limit per full address limited nobody.
    An IPv4-mapped IPv6 address counts as its IPv4 address. ``request.remote_addr`` is the client as ProxyFix found
    it behind the configured proxies.
    """
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a response marked by ``keep_session_cookie`` does not re-send an
    unchanged cookie (a permanent session is otherwise re-signed on every response to push its expiry on)."""

    def should_set_cookie(self, app: Flask, session) -> bool:
        if g.get("keep_session_cookie") and not session.modified:
            return False
        return super().should_set_cookie(app, session)


def keep_session_cookie() -> None:
    """Do not refresh the session cookie on this response (for the many small background saves: the pages around
    them refresh it)."""
    g.keep_session_cookie = True


def register_security_headers(app: Flask) -> None:
    app.session_interface = SessionInterface()
    redact_tokens_in_logs()

    def _refuse_other_hosts():
        # A Host (or trusted X-Forwarded-Host) outside TRUSTED_HOSTS leaves the request without URL building, so no
        # page can be drawn for it: answer in plain text, before CSRF checks or rate limits, which would draw one.
        if isinstance(request.routing_exception, SecurityError):
            return Response("This site does not answer to that address.\n", 400, mimetype="text/plain")
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_other_hosts)

    @app.before_request
    def _limit_form_fields():
        # Werkzeug caps the parts of multipart bodies (MAX_FORM_PARTS) but not the fields of urlencoded ones; no
        # page of ours has more than a few hundred, so thousands are an attack or a fault: refuse them plainly.
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            if sum(1 for _ in request.form.items(multi=True)) > app.config["MAX_FORM_PARTS"]:
                abort(413)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.blueprint in {"panel", "auth", "facilitate", "reports", "admin"}:
            # Answers and study data must not linger in shared caches or the back-forward cache of a shared device.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# The paths that carry a secret: a personal link (/p/<token>), a password-reset link (/staff/reset/<token>; not
# /staff/reset/sent) and a staff invitation (/staff/join/<token>). Whoever reads such a path in a log can act as that
# panellist, or take over that staff account.
_TOKEN_PATH = re.compile(r"(/p/|/staff/join/|/staff/reset/(?!sent(?:[\s?#\"'<>]|$)))[^\s?#\"'<>]+")
_PLAIN = (int, float, bool, type(None))


def redact_tokens(text: str) -> str:
    """``text`` with the token of every personal-link and password-reset path replaced by ``[redacted]``."""
    return _TOKEN_PATH.sub(r"\1[redacted]", text)


class RedactLinkTokens(logging.Filter):
    """Remove link tokens from log records: the message, its arguments (gunicorn's access-log atoms too), and the
    traceback of a logged exception (an error on ``/p/<token>`` is logged with its path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, dict):
            for key, value in record.args.items():
                record.args[key] = self._clean(value)
        elif record.args:
            record.args = tuple(self._clean(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_tokens(record.stack_info)
        return True

    @staticmethod
    def _clean(value):
        if isinstance(value, _PLAIN):
            return value
        text = value if isinstance(value, str) else str(value)
        cleaned = redact_tokens(text)
        return value if cleaned == text else cleaned


def redact_tokens_in_logs() -> None:
    """Redact link tokens from every log record this process makes, whichever logger makes it and whichever handler
    writes it: the app's own log, the development server's and gunicorn's request logs, the worker's (Huey's) log of
    a failed job, SQLAlchemy's errors. Done where records are made (the record factory), so that a logging set-up
    the operator chooses (another handler, the root logger, syslog) cannot route around it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_link_tokens", False):
        return
    redactor = RedactLinkTokens()

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor.filter(record)
        return record

    make_record.redacts_link_tokens = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
