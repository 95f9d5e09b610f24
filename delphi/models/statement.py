"""Statements and their history across rounds."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, utcnow, enum_type

if TYPE_CHECKING:
    from delphi.models.open_round import OpenAnswer
    from delphi.models.study import Study


class StatementStatus(enum.Enum):
    active = "active"  # goes into the next round
    retired = "retired"  # reached a verdict, or the facilitator took it out
    merged = "merged"  # folded into another statement
    dropped = "dropped"  # removed without a verdict


class RevisionKind(enum.Enum):
    created = "created"  # written by the study team
    from_open_answers = "from_open_answers"  # written from panellists' answers in an open round
    from_suggestion = "from_suggestion"  # added from a panellist's suggestion
    reworded = "reworded"
    merged = "merged"  # another statement was merged into this one (``source_statement`` names it)
    merged_into = "merged_into"  # this statement was merged into ``source_statement``
    carried_forward = "carried_forward"
    retired = "retired"
    dropped = "dropped"
    reinstated = "reinstated"
    correction = "correction"  # a typo fixed in an open round (``reason`` says why; the old text is the revision before)
    # Its text in another language changed after panellists had seen it (issue 21): ``text`` is the new translation,
    # ``previous_text`` the one before ("" when there was none), ``reason`` starts with the language ("[en] ...").
    translated = "translated"


statement_source = sa.Table(
    "statement_source",
    Base.metadata,
    sa.Column("statement_id", sa.ForeignKey("statement.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("open_answer_id", sa.ForeignKey("open_answer.id", ondelete="CASCADE"), primary_key=True),
)


class Statement(Base):
    __tablename__ = "statement"
    __table_args__ = (sa.UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    domain: Mapped[str] = mapped_column(sa.String(200), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    # Its other languages, {"text": {"en": "..."}}: delphi/localised.py
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[StatementStatus] = mapped_column(
        enum_type(StatementStatus, 20), default=StatementStatus.active
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    study: Mapped[Study] = relationship(back_populates="statements")
    revisions: Mapped[list[StatementRevision]] = relationship(
        back_populates="statement",
        cascade="all, delete-orphan",
        order_by="StatementRevision.id",
        foreign_keys="StatementRevision.statement_id",
    )
    source_answers: Mapped[list[OpenAnswer]] = relationship(secondary=statement_source, back_populates="statements")

    def __repr__(self) -> str:
        return f"<Statement {self.code}>"


class StatementRevision(Base):
    """One event in a statement's history: the item history of the report and the facilitator's review."""

    __tablename__ = "statement_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"), index=True)
    # The round the change takes effect in (None: before round 1).
    round_number: Mapped[int | None]
    kind: Mapped[RevisionKind] = mapped_column(enum_type(RevisionKind, 30))
    text: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # A correction's wording before it (what panellists who had answered are shown beside the new text).
    previous_text: Mapped[str | None] = mapped_column(sa.Text)
    source_statement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statement.id", ondelete="SET NULL"))
    suggestion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suggestion.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    statement: Mapped[Statement] = relationship(back_populates="revisions", foreign_keys=[statement_id])
    source_statement: Mapped[Statement | None] = relationship(foreign_keys=[source_statement_id])
