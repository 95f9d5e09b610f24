"""A consistent copy of a live database: SQLite's online backup API, or pg_dump for PostgreSQL."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The copy could not be made; the message says why in plain words."""


def backup_database(url: str, out: Path) -> Path:
    """Copy the database at ``url`` to ``out`` while the app keeps running, and return the path written."""
    parsed = make_url(url)
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name so that no backup is overwritten.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        return _backup_sqlite(parsed.database, out)
    if parsed.get_backend_name() == "postgresql":
        return _backup_postgres(parsed, out)
    raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")


def _backup_sqlite(path: str | None, out: Path) -> Path:
    if not path or path == ":memory:" or not Path(path).exists():
        raise BackupError(f"there is no SQLite database at {path!r}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        with target:
            source.backup(target)  # page by page, consistent even while others write (WAL)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
    finally:
        target.close()
        source.close()
    return out


def _backup_postgres(url, out: Path) -> Path:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={out}", f"--dbname={plain}"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        out.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return out
