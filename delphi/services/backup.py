"""A consistent copy of a live database: SQLite's online backup API, or pg_dump for PostgreSQL."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from delphi.config import create_private, write_private


class BackupError(RuntimeError):
    """The copy could not be made; the message says why in plain words."""


def backup_database(url: str, out: Path) -> Path:
    """Copy the database at ``url`` to ``out`` while the app keeps running, and return the path written."""
    parsed = make_url(url)
    out = Path(out)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The copy is made private (0600) before anything is written into it; creating it exclusively is also what
    # refuses an existing file, with no moment between the check and the write.
    if not create_private(out):
        raise BackupError(f"{out} already exists; choose a new file name so that no backup is overwritten.")
    try:
        if parsed.get_backend_name() == "sqlite":
            return _backup_sqlite(parsed.database, out)
        return _backup_postgres(parsed, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


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
    command, env = pg_dump_command(pg_dump, url, out)
    with tempfile.TemporaryDirectory(prefix="delphi-backup-") as private:  # made 0700
        if url.password is not None:
            # The password goes in a pass file only this user can read, never on the command line (where `ps`
            # shows it to every user of the machine).
            passfile = Path(private) / "pgpass"
            write_private(passfile, f"*:*:*:*:{_pgpass_escape(str(url.password))}\n")
            env["PGPASSFILE"] = str(passfile)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, umask=0o077)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return out


def pg_dump_command(pg_dump: str, url, out: Path) -> tuple[list[str], dict[str, str]]:
    """pg_dump's arguments and environment for a copy of ``url`` into ``out``: the password is left out of both (it
    goes in a pass file)."""
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"} if url.password is not None else dict(os.environ)
    return [pg_dump, "--format=custom", "--no-owner", f"--file={out}", f"--dbname={plain}"], env


def _pgpass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")
