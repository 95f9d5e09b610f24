"""Rounds, the statements each round shows, and the figures frozen when a round closes."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, DomainError, utcnow, enum_type
from delphi.protocol import N_, RichEnum

if TYPE_CHECKING:
    from delphi.models.statement import Statement
    from delphi.models.study import Study


class RoundStatus(enum.Enum):
    draft = "draft"
    open = "open"
    # Closed to answers; a worker is computing its figures (services/rounds.py). Nothing reads it as closed yet.
    closing = "closing"
    closed = "closed"


class RoundKind(enum.Enum):
    rating = "rating"  # panellists rate statements
    open = "open"  # panellists answer open questions in their own words


class Classification(RichEnum):
    consensus_in = "in"
    consensus_out = "out"
    none = "none"

    __titles__ = {"consensus_in": N_("consensus in"), "consensus_out": N_("consensus out"),
                  "none": N_("no consensus")}


class Round(Base):
    __tablename__ = "round"
    __table_args__ = (sa.UniqueConstraint("study_id", "number"), sa.CheckConstraint("number >= 1", name="number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    kind: Mapped[RoundKind] = mapped_column(enum_type(RoundKind, 20), default=RoundKind.rating)
    status: Mapped[RoundStatus] = mapped_column(
        enum_type(RoundStatus, 20), default=RoundStatus.draft
    )
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The closing date panellists are told (start page, mails); None: open until the facilitator closes it.
    closes_at: Mapped[datetime | None]
    # Close by itself at ``closes_at`` (a background job), or wait for the facilitator.
    auto_close: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Reminders to those who have not submitted, this many days before ``closes_at`` ([7, 2]), and those already sent.
    reminder_days: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    reminders_sent: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # Whole-panel indices computed at close (Kendall's W, Krippendorff's alpha, rwg(J), ...).
    figures: Mapped[dict | None] = mapped_column(sa.JSON)
    # Moves on with each correction of a statement's wording in this open round: the cached pages of a round
    # (services/answers.round_pages) are keyed by it, so every process shows the corrected text.
    wording_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The close as a background job (services/rounds.py): who asked, the worker's tries, its lease, and why the last
    # try failed ("" while none has).
    close_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    close_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    close_claimed_until: Mapped[datetime | None]
    close_error: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")

    study: Mapped[Study] = relationship(back_populates="rounds")
    statements: Mapped[list[RoundStatement]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundStatement.position"
    )

    def __repr__(self) -> str:
        return f"<Round {self.number} of study {self.study_id} ({self.status.value})>"

    def open(self) -> None:
        if self.status is not RoundStatus.draft:
            refusals = {RoundStatus.open: _("Round %(number)s is open; only a draft round can be opened."),
                        RoundStatus.closing: _("Round %(number)s is closing; only a draft round can be opened."),
                        RoundStatus.closed: _("Round %(number)s is closed; only a draft round can be opened.")}
            raise DomainError(refusals[self.status] % {"number": self.number})
        self.status = RoundStatus.open
        self.opened_at = utcnow()

    def close(self) -> None:
        if self.status is not RoundStatus.open:
            refusals = {RoundStatus.draft: _("Round %(number)s is draft; only an open round can be closed."),
                        RoundStatus.closing: _("Round %(number)s is closing; only an open round can be closed."),
                        RoundStatus.closed: _("Round %(number)s is closed; only an open round can be closed.")}
            raise DomainError(refusals[self.status] % {"number": self.number})
        self.status = RoundStatus.closed
        self.closed_at = utcnow()

    @property
    def is_open(self) -> bool:
        return self.status is RoundStatus.open

    @property
    def is_closing(self) -> bool:
        return self.status is RoundStatus.closing

    @property
    def previous_rating_round(self) -> Round | None:
        """The last closed rating round before this one (what feedback shows and stability compares with)."""
        earlier = [r for r in self.study.rounds if r.kind is RoundKind.rating and r.number < self.number
                   and r.status is RoundStatus.closed]
        return earlier[-1] if earlier else None


class RoundStatement(Base):
    """A statement as shown in one round: its wording then, and what the round decided about it."""

    __tablename__ = "round_statement"
    __table_args__ = (sa.UniqueConstraint("round_id", "statement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    domain: Mapped[str] = mapped_column(sa.String(200), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    classification: Mapped[Classification | None] = mapped_column(
        enum_type(Classification, 10)
    )
    # The facilitator's decision after the round: carry forward or not, and why when it overrides the default.
    carry_forward: Mapped[bool | None]
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")

    round: Mapped[Round] = relationship(back_populates="statements")
    statement: Mapped[Statement] = relationship()


class RoundResult(Base):
    """The figures of one statement in one scope of a closed round (``scope``: overall, equal_groups or a group key)."""

    __tablename__ = "round_result"
    __table_args__ = (sa.UniqueConstraint("round_id", "statement_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(40))
    n: Mapped[int] = mapped_column(default=0)
    n_unable: Mapped[int] = mapped_column(default=0)
    n_declined: Mapped[int] = mapped_column(default=0, server_default="0")  # "prefer not to answer"
    median: Mapped[float | None]
    q1: Mapped[float | None]
    q3: Mapped[float | None]
    iqr: Mapped[float | None]
    mean: Mapped[float | None]
    sd: Mapped[float | None]
    pct_agree: Mapped[float | None]
    pct_neutral: Mapped[float | None]
    pct_disagree: Mapped[float | None]
    verdict: Mapped[Classification | None] = mapped_column(enum_type(Classification, 10))
    # Counts per scale point ({"1": 3, ...}) for feedback charts, and the remaining per-statement figures
    # (RAND/UCLA, rwg, group differences, stability) so that pages and reports do no statistics.
    distribution: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
