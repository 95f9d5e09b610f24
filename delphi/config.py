"""Configuration, read once in the app factory.

Every setting has a safe default, may be set as an environment variable ``DELPHI_<NAME>`` (values are parsed as JSON
where they can be, so ``DELPHI_MIN_PASSWORD_LENGTH=12`` is an int), and ``DATABASE_URL`` selects the database. Tests
and the ``delphi`` command pass a mapping to ``create_app(config)`` which wins over both.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # A pooled PostgreSQL connection idle for longer than this is checked before use (and replaced if the server
    # restarted or dropped it); busy connections are not, which saves a round trip on every request under load.
    "POOL_PING_AFTER_IDLE_SECONDS": 10,
    "SQLITE_BUSY_TIMEOUT_MS": 15000,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
    # The CSRF token lives as long as the session: a panellist who reads slowly must not lose a page of answers.
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_FORM_PARTS": 2000,
    "BABEL_DEFAULT_LOCALE": "en",
    # Dates are entered and shown in this time zone (closing dates); a Norwegian study sets Europe/Oslo.
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "LANGUAGES": ["en", "nb"],
    "MIN_PASSWORD_LENGTH": 10,
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_FROM": "delphi@localhost",
    "PUBLIC_URL": None,
    # A mail claimed by a worker is its own for this long (a killed worker's mail is sent by the next after it).
    "MAIL_CLAIM_SECONDS": 120,
    # Seconds before each new try while the mail server is away; after the last, the mail is marked failed.
    "MAIL_RETRY_DELAYS": [60, 300, 1800, 7200, 21600],
    # A report build claimed by a worker is its own for this long after each file it keeps (a killed worker's
    # build is taken over by the next after it).
    "REPORT_BUILD_CLAIM_SECONDS": 300,
    # A round's close claimed by a worker is its own for this long (its figures take 5-9 s at national scale; a
    # killed worker's close is taken over by the next after it).
    "ROUND_CLOSE_CLAIM_SECONDS": 300,
    # Background jobs (delphi/jobs.py): None keeps the queue in the instance folder (SQLite); redis://... in Redis.
    "JOBS_URL": None,
    "JOBS_IMMEDIATE": False,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute; 50 per hour",
    "PASSWORD_RESET_RATE_LIMIT": "5 per minute; 20 per hour",
    # Generous enough for a ward or a day centre where many panellists share one address.
    "LINK_RATE_LIMIT": "60 per minute; 600 per hour",
    # Number of reverse proxies in front of the app whose X-Forwarded-For to trust (0: none).
    "PROXY_COUNT": 0,
    # The key that encrypts contact details (delphi/contact_cipher.py): DELPHI_CONTACTS_KEY, else the file
    # contacts.key in the instance folder, made on first start. Never kept in the database.
    "CONTACTS_KEY": None,
}


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL that uses psycopg 3 for PostgreSQL, whichever spelling the host gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: Path) -> str:
    """The secret key kept in the instance folder, made on first use (never a hard-coded one), readable by its owner
    only."""
    path = instance_path / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    key = secrets.token_hex(32)
    write_private(path, key)
    return key


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600), whatever the umask: the file is
    created with that mode, and an existing file is narrowed to it before anything is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)


def create_private(path: Path) -> bool:
    """Create ``path`` empty and 0600 if it does not exist, so that the program that fills it next (SQLite, pg_dump,
    Huey) keeps that mode rather than the umask's 0644; True when it was created here. An existing file is left as
    it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True
