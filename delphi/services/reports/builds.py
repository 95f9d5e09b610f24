"""The download set built by a background job, kept in the database and served from there until the data change.

A study's *fingerprint* is a digest of everything its files are made from: the study's settings and texts, groups,
statements and their revisions, open questions, rounds and the statements each showed, panellists (group,
withdrawal, when they joined), consent decisions, submissions, the latest change to each closed rating round's
ratings, and the platform's version. It is read from small tables and index look-ups (well under 0.2 s at 5,000
panellists x 200 statements x 2 closed rounds), so every page and download can check it. A build is kept under the
fingerprint it was made from; one whose fingerprint is no longer the study's is never served, and is deleted when
the next build is asked for or finishes, by the worker's hourly sweep, and at once when a withdrawal deletes a
person's answers.

A build is claimed before it runs (an UPDATE only one worker can win, with a lease renewed as each file is kept),
like the outbox's mail: a job run twice, or by two workers, builds once; a killed worker's build is taken over when
its lease runs out, and given up after :data:`MAX_ATTEMPTS` tries. Each file is kept, and the progress counted, in
its own short transaction, so the reports page can say how far the build has gone.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from huey import crontab
from sqlalchemy.exc import IntegrityError

from delphi import __version__
from delphi.db import writing
from delphi.extensions import db
from delphi.jobs import job, periodic_job, run_soon
from delphi.models import (
    BuildStatus,
    ConsentRecord,
    OpenQuestion,
    Panellist,
    Rating,
    ReportBuild,
    ReportChunk,
    ReportFile,
    Round,
    RoundKind,
    RoundStatement,
    RoundStatus,
    StaffUser,
    StakeholderGroup,
    Statement,
    StatementRevision,
    Study,
    Submission,
    utcnow,
)
from delphi.models.report_build import CHUNK_BYTES
from delphi.services.reports import DOWNLOADS, add_to_zip, each_download
from delphi.services.reports.source import source_from_study

ZIP_NAME = "all.zip"
FILE_NAMES = tuple(d.name for d in DOWNLOADS) + (ZIP_NAME,)
MAX_ATTEMPTS = 3
CHUNKS_PER_INSERT = 16
FAILED_MESSAGE = ("Something went wrong while the files were being made. Try again; if it fails again, tell the "
                  "people who run the platform (the details are in the worker's log).")
GAVE_UP_MESSAGE = (f"The files were started {MAX_ATTEMPTS} times and never finished (the worker stopped each time, "
                   "perhaps for lack of memory). Try again, or tell the people who run the platform.")


def download_folder(study: Study) -> str:
    """A file-system-safe name for the study's downloads (``study-3-what-does-recovery``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", study.title.lower()).strip("-")[:40].strip("-")
    return f"study-{study.id}" + (f"-{slug}" if slug else "")


def _fingerprint_queries(study: Study) -> list[sa.Select]:
    s = study.id
    return [
        sa.select(Study.__table__).where(Study.id == s),
        sa.select(StakeholderGroup.__table__).where(StakeholderGroup.study_id == s).order_by(StakeholderGroup.id),
        sa.select(Statement.__table__).where(Statement.study_id == s).order_by(Statement.id),
        sa.select(StatementRevision.id, StatementRevision.statement_id, StatementRevision.round_number,
                  StatementRevision.kind, StatementRevision.text, StatementRevision.reason,
                  StatementRevision.source_statement_id)
        .join(Statement, Statement.id == StatementRevision.statement_id)
        .where(Statement.study_id == s).order_by(StatementRevision.id),
        sa.select(OpenQuestion.__table__).where(OpenQuestion.study_id == s).order_by(OpenQuestion.id),
        # Not the closing date, reminders or figures: the files are made from the ratings of closed rounds.
        sa.select(Round.id, Round.number, Round.kind, Round.status, Round.opened_at, Round.closed_at)
        .where(Round.study_id == s).order_by(Round.id),
        sa.select(RoundStatement.__table__).join(Round, Round.id == RoundStatement.round_id)
        .where(Round.study_id == s).order_by(RoundStatement.id),
        # A panellist's pseudonym and joining time never change, and a new one has a new id. Not the link's hash or
        # language: a reissued link changes no file.
        sa.select(Panellist.id, Panellist.group_id, Panellist.withdrawn).where(Panellist.study_id == s)
        .order_by(Panellist.id),
        # Consent decisions and submissions are only ever added (or deleted with their panellist).
        sa.select(sa.func.count(), sa.func.max(ConsentRecord.id))
        .join(Panellist, Panellist.id == ConsentRecord.panellist_id).where(Panellist.study_id == s),
        sa.select(sa.func.count(), sa.func.max(Submission.id))
        .join(Round, Round.id == Submission.round_id).where(Round.study_id == s),
        # Every write to a rating sets updated_at (the upserts set it, inserts default to now, the ORM's onupdate
        # does the rest), so each closed round's latest updated_at moves with any insert or change: one step down
        # ix_rating_round_updated. A count would show deletions too, but reads every index entry (0.2-0.8 s for a
        # million on SQLite); ratings of a closed round are deleted only by a withdrawal under the delete policy or
        # with their panellist, statement or round, each of which the rows above show.
        # The open round's ratings are in no file, so saves there leave the kept build alone.
        sa.select(Round.id, sa.select(sa.func.max(Rating.updated_at)).where(Rating.round_id == Round.id)
                  .scalar_subquery())
        .where(Round.study_id == s, Round.status == RoundStatus.closed, Round.kind == RoundKind.rating)
        .order_by(Round.id),
    ]


def fingerprint(study: Study) -> str:
    """A digest of everything the study's files are made from (see the module's docstring), as SHA-256 hex."""
    digest = hashlib.sha256(f"delphi report build; platform {__version__}".encode())
    db.session.flush()
    for query in _fingerprint_queries(study):
        for row in db.session.execute(query):
            digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
            digest.update(b"\x1e")
        digest.update(b"\x1d")
    return digest.hexdigest()


def current_build(study: Study, fingerprint_now: str | None = None) -> ReportBuild | None:
    """The study's build made from its data as they are now (in whatever state), or None."""
    fingerprint_now = fingerprint_now or fingerprint(study)
    return db.session.scalar(sa.select(ReportBuild).where(ReportBuild.study_id == study.id,
                                                          ReportBuild.fingerprint == fingerprint_now))


def outdated_at(study: Study) -> datetime | None:
    """When the study's last build that no longer matches its data was made (None: there is none)."""
    return db.session.scalar(sa.select(sa.func.max(ReportBuild.finished_at))
                             .where(ReportBuild.study_id == study.id, ReportBuild.status == BuildStatus.ready))


def request_build(study: Study, actor: StaffUser | None) -> ReportBuild:
    """The study's current build, queued if there is none and queued again if it failed; older builds are deleted.
    The caller commits, then calls :func:`start_build`."""
    fingerprint_now = fingerprint(study)
    purge_builds(study, keep=fingerprint_now)
    build = current_build(study, fingerprint_now)
    if build is None:
        try:
            with db.session.begin_nested():
                build = ReportBuild(study_id=study.id, fingerprint=fingerprint_now, files_total=len(FILE_NAMES),
                                    requested_by_id=actor.id if actor is not None else None)
                db.session.add(build)
        except IntegrityError:  # another request queued the same build a moment ago
            build = current_build(study, fingerprint_now)
    elif build.status is BuildStatus.failed:
        db.session.execute(sa.delete(ReportFile).where(ReportFile.build_id == build.id))
        build.status, build.error, build.files_done, build.attempts = BuildStatus.queued, "", 0, 0
        build.claimed_until = build.started_at = build.finished_at = None
        build.requested_by_id, build.requested_at = actor.id if actor is not None else None, utcnow()
    db.session.flush()
    return build


def start_build(build: ReportBuild) -> None:
    """Ask a worker to run the build now. If the queue cannot be reached, the worker's minute-by-minute sweep runs
    it anyway; the request that asked does not fail for that."""
    try:
        run_soon(build_report, build.id)
    except Exception:  # noqa: BLE001 (the build is safe in its row; only the wake-up was lost)
        current_app.logger.exception("could not queue the report build; the next scheduled sweep will run it")


def purge_builds(study: Study | int, keep: str | None = None) -> int:
    """Delete the study's kept builds (every one, or all but the one made from ``keep``); returns how many. A
    withdrawal that deletes a person's answers calls this in its own transaction, so no kept file keeps them."""
    study_id = study if isinstance(study, int) else study.id
    condition = ReportBuild.study_id == study_id
    if keep is not None:
        condition = sa.and_(condition, ReportBuild.fingerprint != keep)
    # Files and chunks go with their build (ON DELETE CASCADE), without loading megabytes into the session.
    deleted = db.session.execute(sa.delete(ReportBuild).where(condition)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    return deleted


@job()
def build_report(build_id: int) -> None:
    run_build(build_id)


@periodic_job(crontab(minute="*"))
def build_due_reports() -> None:
    """Builds whose wake-up was lost, or whose worker was killed (lease run out); gives up after MAX_ATTEMPTS."""
    now = utcnow()
    with writing():
        db.session.execute(
            sa.update(ReportBuild).where(ReportBuild.status == BuildStatus.running, ReportBuild.claimed_until < now,
                                         ReportBuild.attempts >= MAX_ATTEMPTS)
            .values(status=BuildStatus.failed, error=GAVE_UP_MESSAGE, claimed_until=None, finished_at=now)
            .execution_options(synchronize_session=False))
        db.session.commit()
    for build_id in db.session.scalars(sa.select(ReportBuild.id).where(_due(now)).order_by(ReportBuild.id)).all():
        db.session.commit()
        run_build(build_id)


@periodic_job(crontab(minute="17"))
def purge_stale_builds() -> None:
    """Delete kept builds that no longer match their study's data (hourly)."""
    study_ids = db.session.scalars(sa.select(ReportBuild.study_id).distinct()).all()
    for study_id in study_ids:
        study = db.session.get(Study, study_id)
        fingerprint_now = fingerprint(study)
        db.session.commit()
        with writing():
            purge_builds(study_id, keep=fingerprint_now)
            db.session.commit()


def _due(now: datetime):
    return sa.and_(ReportBuild.attempts < MAX_ATTEMPTS, sa.or_(
        ReportBuild.status == BuildStatus.queued,
        sa.and_(ReportBuild.status == BuildStatus.running, ReportBuild.claimed_until < now)))


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=current_app.config["REPORT_BUILD_CLAIM_SECONDS"])


def claim_build(build_id: int, now: datetime | None = None) -> int | None:
    """Claim the build for this worker (queued, or running with its lease run out); returns the attempt's number,
    which every later write of this run checks, or None when another worker has it or there is nothing to do."""
    now = now or utcnow()
    with writing():
        claimed = db.session.execute(
            sa.update(ReportBuild).where(ReportBuild.id == build_id, _due(now))
            .values(status=BuildStatus.running, claimed_until=_lease(now), attempts=ReportBuild.attempts + 1,
                    started_at=now, files_done=0)
            .execution_options(synchronize_session=False)).rowcount
        if claimed:
            # What a killed worker kept before it stopped is made again.
            db.session.execute(sa.delete(ReportFile).where(ReportFile.build_id == build_id))
        db.session.commit()
    if not claimed:
        return None
    attempt = db.session.scalar(sa.select(ReportBuild.attempts).where(ReportBuild.id == build_id))
    db.session.commit()
    return attempt


class _Abandoned(Exception):
    """The build was deleted (the data changed, a withdrawal) or taken over by another worker while this one ran."""


def run_build(build_id: int, now: datetime | None = None) -> bool:
    """Claim and build every file and the zip, keeping each; True when this call made the build."""
    attempt = claim_build(build_id, now)
    if attempt is None:
        return False
    try:
        _build(build_id, attempt)
    except _Abandoned:
        db.session.rollback()
        return False
    except Exception:  # noqa: BLE001 (any failure is the build's, told on the reports page; the trace is logged)
        db.session.rollback()
        current_app.logger.exception("report build %s failed", build_id)
        _finish(build_id, attempt, BuildStatus.failed, FAILED_MESSAGE)
        return False
    return True


def _build(build_id: int, attempt: int) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        # One snapshot for the fingerprint and every query the files are made from (SQLite's read transaction is
        # one snapshot already).
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    build = db.session.get(ReportBuild, build_id, populate_existing=True)
    if build is None:
        raise _Abandoned
    study = db.session.get(Study, build.study_id)
    fingerprint_now, folder = fingerprint(study), download_folder(study)
    source = source_from_study(study)
    study_id, asked_for = study.id, build.fingerprint
    db.session.commit()  # ends the snapshot; nothing was written
    if fingerprint_now != asked_for:  # the data changed since the build was asked for: build them as they are now
        _adopt(build_id, attempt, study_id, fingerprint_now)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for position, (name, content) in enumerate(each_download(source)):
            add_to_zip(archive, folder, name, content)
            _keep(build_id, attempt, position, name, content)
            del content
    _keep(build_id, attempt, len(DOWNLOADS), ZIP_NAME, buffer.getvalue())
    _finish(build_id, attempt, BuildStatus.ready)
    with writing():
        purge_builds(study_id, keep=fingerprint_now)
        db.session.commit()


def _mine(build_id: int, attempt: int):
    return sa.and_(ReportBuild.id == build_id, ReportBuild.attempts == attempt,
                   ReportBuild.status == BuildStatus.running)


def _adopt(build_id: int, attempt: int, study_id: int, fingerprint_now: str) -> None:
    with writing():
        if db.session.scalar(sa.select(ReportBuild.id).where(ReportBuild.study_id == study_id,
                                                             ReportBuild.fingerprint == fingerprint_now)):
            db.session.execute(sa.delete(ReportBuild).where(_mine(build_id, attempt)))
            db.session.commit()
            raise _Abandoned  # another build of the same data exists: that one is kept
        db.session.execute(sa.update(ReportBuild).where(_mine(build_id, attempt)).values(fingerprint=fingerprint_now)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def _keep(build_id: int, attempt: int, position: int, name: str, content: bytes) -> None:
    """Keep one file as chunks and count it done, in one transaction, renewing the lease."""
    with writing():
        # First, so that a purge waits for this transaction (PostgreSQL's row lock) or has already won.
        still_mine = db.session.execute(
            sa.update(ReportBuild).where(_mine(build_id, attempt))
            .values(files_done=position + 1, claimed_until=_lease(utcnow()))
            .execution_options(synchronize_session=False)).rowcount
        if not still_mine:
            raise _Abandoned
        file_id = db.session.execute(sa.insert(ReportFile).values(
            build_id=build_id, name=name, position=position, size=len(content)).returning(ReportFile.id)).scalar_one()
        starts = range(0, len(content), CHUNK_BYTES)
        for batch in range(0, len(starts), CHUNKS_PER_INSERT):
            db.session.execute(sa.insert(ReportChunk), [
                {"file_id": file_id, "number": number, "content": content[start:start + CHUNK_BYTES]}
                for number, start in enumerate(starts[batch:batch + CHUNKS_PER_INSERT], start=batch)])
        db.session.commit()


def _finish(build_id: int, attempt: int, status: BuildStatus, error: str = "") -> None:
    with writing():
        if status is BuildStatus.failed:
            db.session.execute(sa.delete(ReportFile).where(ReportFile.build_id == build_id,
                                                           sa.exists().where(_mine(build_id, attempt))))
        db.session.execute(
            sa.update(ReportBuild).where(_mine(build_id, attempt))
            .values(status=status, error=error[:500], claimed_until=None, finished_at=utcnow())
            .execution_options(synchronize_session=False))
        db.session.commit()


def kept_file(build: ReportBuild, name: str) -> ReportFile | None:
    return db.session.scalar(sa.select(ReportFile).where(ReportFile.build_id == build.id, ReportFile.name == name))


def file_chunks(kept: ReportFile) -> Iterator[bytes]:
    """The file's content a chunk at a time (one query each, so no more than a chunk is held). Stops short if the
    build is deleted meanwhile (a withdrawal): the response is then cut off rather than finished from a stale
    build."""
    file_id, size = kept.id, kept.size
    for number in range(-(-size // CHUNK_BYTES)):
        content = db.session.scalar(sa.select(ReportChunk.content).where(ReportChunk.file_id == file_id,
                                                                          ReportChunk.number == number))
        if content is None:
            return
        yield bytes(content)


def file_content(kept: ReportFile) -> bytes:
    return b"".join(file_chunks(kept))
