"""Ratings and submissions: one rating per panellist x statement x round, one submission per panellist x round."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, enum_type, utcnow

if TYPE_CHECKING:
    from delphi.models.panellist import Panellist
    from delphi.models.round import Round
    from delphi.models.statement import Statement


class EntryMode(enum.Enum):
    """How a panellist gave an answer or sent a round: on the web themselves, or to staff who typed it in."""

    web = "web"
    phone = "phone"
    paper = "paper"
    in_person = "in_person"


def mode_column():
    return mapped_column(enum_type(EntryMode, 10), default=EntryMode.web, server_default=EntryMode.web.value)


class Rating(Base):
    __tablename__ = "rating"
    __table_args__ = (
        sa.UniqueConstraint("panellist_id", "round_id", "statement_id"),
        # A rating can only be of a statement that is in that round.
        sa.ForeignKeyConstraint(
            ["round_id", "statement_id"],
            ["round_statement.round_id", "round_statement.statement_id"],
            ondelete="CASCADE",
            name="fk_rating_round_statement",
        ),
        sa.CheckConstraint("NOT (unable_to_rate AND value IS NOT NULL)", name="value_or_unable"),
        # "Prefer not to answer" is an answer of its own: never with a value, never also "unable to rate".
        sa.CheckConstraint("NOT (declined AND (unable_to_rate OR value IS NOT NULL))", name="declined_alone"),
        sa.Index("ix_rating_round_statement", "round_id", "statement_id"),
        # A closed round's count, highest id and last change, read from the index alone: the reports' fingerprint
        # (services/reports/builds.py) checks them on every reports page and download.
        sa.Index("ix_rating_round_updated", "round_id", "updated_at"),
        # The approved comments of a round are read for every feedback page: a partial index finds them without
        # visiting the round's other ratings.
        sa.Index("ix_rating_approved_comment", "round_id", "statement_id",
                 sqlite_where=sa.text("comment_approved = 1"), postgresql_where=sa.text("comment_approved")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panellist_id: Mapped[int] = mapped_column(sa.ForeignKey("panellist.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"))
    # None with unable_to_rate False: the panellist has only written a comment so far.
    value: Mapped[int | None]
    unable_to_rate: Mapped[bool] = mapped_column(default=False)
    # The panellist chose "prefer not to answer" (issue 22): not a rating, counted apart from "unable to rate".
    declined: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # Why the rating moved to another band than last round's (the optional prompt).
    change_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Whether the facilitator approved the comment for anonymous display in the next round.
    comment_approved: Mapped[bool] = mapped_column(default=False)
    # Set when staff typed the answer in from a paper form or a call.
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    # How this answer was last given (the ratings export's ``mode`` column).
    mode: Mapped[EntryMode] = mode_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    panellist: Mapped[Panellist] = relationship()
    round: Mapped[Round] = relationship()
    statement: Mapped[Statement] = relationship()

    @property
    def is_answered(self) -> bool:
        return self.value is not None or self.unable_to_rate or self.declined


class Submission(Base):
    """A panellist's 'I have finished this round'. The database allows one per panellist and round."""

    __tablename__ = "submission"
    __table_args__ = (sa.UniqueConstraint("panellist_id", "round_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panellist_id: Mapped[int] = mapped_column(sa.ForeignKey("panellist.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    # How the round was sent (the report's participant flow counts them).
    mode: Mapped[EntryMode] = mode_column()
