"""Background work, with Huey: requests queue a job and answer at once; a worker does the work.

Where the queue lives (``JOBS_URL``):
- unset: a SQLite file in the instance folder (``jobs.sqlite3``), the embedded default, no server to run;
- ``redis://host:6379/0``: Redis, for production and for several instances behind a proxy.
``JOBS_IMMEDIATE`` runs each job inside the call that queues it (the test suite's default, so a page's test sees
its mail delivered; the worker's own behaviour is tested with a real worker).

A worker is ``delphi worker``; ``delphi demo`` and ``delphi serve`` run one in their own process. Jobs are written to
be run more than once safely: the work they do is claimed row by row in the database (see services/outbox.py), so a
retried or duplicated job finds nothing left to do.
"""
from __future__ import annotations

import functools
import signal
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from delphi.config import create_private

# One queue per process, bound to the app that `init_jobs` configured last (one app per process outside the tests).
huey = Huey("delphi", storage_class=MemoryStorage, results=False, utc=True)
_apps: list[Flask] = []


def init_jobs(app: Flask) -> None:
    url = app.config.get("JOBS_URL") or f"sqlite:///{Path(app.instance_path) / 'jobs.sqlite3'}"
    if url.startswith("redis://") or url.startswith("rediss://"):
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": url}
    elif url.startswith("sqlite:///"):
        filename = url.removeprefix("sqlite:///")
        if Path(filename).parent.is_dir():
            create_private(Path(filename))  # queued jobs name rows and studies: not for other users to read
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": filename}
    else:
        raise ValueError(f"JOBS_URL must start with sqlite:/// or redis://, not {url!r}")
    huey.storage = huey.create_storage()
    _apps[:] = [app]


def run_soon(task, *args, **kwargs):
    """Queue a job for the worker; with ``JOBS_IMMEDIATE`` (read from the calling app, not from the process-wide
    queue, so that the test suite's other apps cannot change it) run it here and now instead."""
    if current_app.config.get("JOBS_IMMEDIATE"):
        return task.call_local(*args, **kwargs)
    return task(*args, **kwargs)


def job(**options):
    """A Huey task that runs inside the app's context (the worker's app, or the caller's in immediate mode)."""

    def decorate(function):
        @huey.task(**options)
        @functools.wraps(function)
        def run(*args, **kwargs):
            if has_app_context():
                return function(*args, **kwargs)
            with _apps[0].app_context():
                return function(*args, **kwargs)

        return run

    return decorate


def periodic_job(crontab, **options):
    """A job the worker runs on a schedule (``huey.crontab``), inside the app's context."""

    def decorate(function):
        @huey.periodic_task(crontab, **options)
        @functools.wraps(function)
        def run():
            with _apps[0].app_context():
                return function()

        return run

    return decorate


def register_jobs() -> None:
    """Import the modules that define jobs, so a worker knows every job by name."""
    from delphi.services import outbox, password_reset, retention, round_timing, rounds, study_deletion  # noqa: F401
    from delphi.services.reports import builds  # noqa: F401


def consumer(app: Flask, workers: int = 2) -> Consumer:
    if _apps != [app]:
        raise RuntimeError("a worker serves the app whose factory configured the queue last")
    register_jobs()
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=True, initial_delay=0.1,
                                max_delay=1.0, check_worker_health=True)


def run_worker(app: Flask, workers: int = 2) -> None:
    """Run a worker until SIGINT or SIGTERM (``delphi worker``)."""
    consumer(app, workers).run()


def start_worker_in_background(app: Flask, workers: int = 1) -> Consumer:
    """Start a worker's threads in this process (``delphi demo``/``serve``); the caller stops it when it is done.

    Huey's consumer takes over SIGINT and SIGTERM when it starts; the server started next keeps its own handling of
    Ctrl+C, so the handlers are put back.
    """
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = consumer(app, workers)
    started.start()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    return started
