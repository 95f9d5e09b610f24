"""An open first round: questions answered in panellists' own words, and suggestions of new statements."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, utcnow, enum_type
from delphi.models.statement import statement_source

if TYPE_CHECKING:
    from delphi.models.panellist import Panellist
    from delphi.models.statement import Statement
    from delphi.models.study import Study


class OpenQuestion(Base):
    __tablename__ = "open_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text)
    # Its other languages, {"text": {"en": "..."}}: delphi/localised.py
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")

    study: Mapped[Study] = relationship(back_populates="open_questions")
    answers: Mapped[list[OpenAnswer]] = relationship(back_populates="question", cascade="all, delete-orphan")


class OpenAnswer(Base):
    __tablename__ = "open_answer"
    __table_args__ = (sa.UniqueConstraint("question_id", "panellist_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("open_question.id", ondelete="CASCADE"))
    panellist_id: Mapped[int] = mapped_column(sa.ForeignKey("panellist.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    question: Mapped[OpenQuestion] = relationship(back_populates="answers")
    panellist: Mapped[Panellist] = relationship()
    statements: Mapped[list[Statement]] = relationship(secondary=statement_source, back_populates="source_answers")


class SuggestionStatus(enum.Enum):
    pending = "pending"
    accepted = "accepted"
    merged = "merged"
    declined = "declined"


class Suggestion(Base):
    """A statement a panellist proposes; the facilitator accepts, merges or declines it between rounds."""

    __tablename__ = "suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    # Nulled when the panellist withdraws: the suggestion may stay, its author may not.
    panellist_id: Mapped[int | None] = mapped_column(sa.ForeignKey("panellist.id", ondelete="SET NULL"))
    domain: Mapped[str] = mapped_column(sa.String(200), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[SuggestionStatus] = mapped_column(
        enum_type(SuggestionStatus, 20), default=SuggestionStatus.pending
    )
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    statement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statement.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
