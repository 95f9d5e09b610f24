"""Response headers that every page gets: a strict Content-Security-Policy (no inline scripts or styles), no framing,
no MIME sniffing, no referrer leaving the site, and HSTS when served over HTTPS."""
from __future__ import annotations

import ipaddress
import logging
import re

from flask import Flask, Response, abort, g, request
from flask.sessions import SecureCookieSessionInterface

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
        if request.blueprint in {"panel", "auth", "facilitate", "reports"}:
            # Answers and study data must not linger in shared caches or the back-forward cache of a shared device.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class RedactLinkTokens(logging.Filter):
    """Remove personal-link tokens from request log lines (the dev server's and gunicorn's access logs)."""

    pattern = re.compile(r"/p/[^\s?\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/p/" in record.msg:
            record.msg = self.pattern.sub("/p/[redacted]", record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: self._clean(v) for k, v in record.args.items()}
            else:
                record.args = tuple(self._clean(a) for a in record.args)
        return True

    def _clean(self, value):
        return self.pattern.sub("/p/[redacted]", value) if isinstance(value, str) and "/p/" in value else value


def redact_tokens_in_logs() -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(RedactLinkTokens())
