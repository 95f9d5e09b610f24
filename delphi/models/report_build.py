"""A study's download set, built once by a background job and kept in the database until the data change.

A build is keyed by the study's fingerprint (``services/reports/builds.py``): a digest of everything the files are
made from. A build whose fingerprint is no longer the study's is never served, and is deleted. The files live here,
not on a disk, so that every instance behind the proxy serves the same build from the one database; each file is
kept as chunks of about a megabyte, so serving one streams it without holding it in memory.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, enum_type, utcnow


class BuildStatus(enum.Enum):
    queued = "queued"  # asked for; waiting for a worker
    running = "running"  # claimed by a worker until ``claimed_until``; a killed worker's claim runs out
    ready = "ready"  # every file and the zip are kept
    failed = "failed"  # ``error`` says why, in plain words


class ReportBuild(Base):
    __tablename__ = "report_build"
    __table_args__ = (
        sa.UniqueConstraint("study_id", "fingerprint"),
        # The worker's next build to claim: queued, or running with its lease run out.
        sa.Index("ix_report_build_due", "status", "claimed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"))
    # SHA-256 (hex) of what the files are made from, as read when the build was asked for and again when it ran.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[BuildStatus] = mapped_column(enum_type(BuildStatus, 20), default=BuildStatus.queued)
    files_done: Mapped[int] = mapped_column(default=0)
    files_total: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    files: Mapped[list[ReportFile]] = relationship(back_populates="build", cascade="all, delete-orphan",
                                                   passive_deletes=True, order_by="ReportFile.position")

    def __repr__(self) -> str:
        return f"<ReportBuild {self.id} of study {self.study_id} ({self.status.value})>"


class ReportFile(Base):
    """One kept file of a build (a download, or the zip of all); its content is in :class:`ReportChunk` rows."""

    __tablename__ = "report_file"
    __table_args__ = (sa.UniqueConstraint("build_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(sa.ForeignKey("report_build.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    build: Mapped[ReportBuild] = relationship(back_populates="files")


class ReportChunk(Base):
    """Up to ``CHUNK_BYTES`` of a kept file, in order of ``number`` from 0."""

    __tablename__ = "report_chunk"

    file_id: Mapped[int] = mapped_column(sa.ForeignKey("report_file.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


CHUNK_BYTES = 1024 * 1024
