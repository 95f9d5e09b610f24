"""The outbox: one row per mail to send, so that a request only queues mail and a background job delivers it.

Each row is one recipient: delivered once, retried with back-off when the mail server is away, and marked failed with
the server's own reason when it refuses the address. Rows belong to the contacts side: a panel mail points at the
contact (erasing the contact deletes its mail), a password reset at the staff account. No row holds an address or a
panellist's link: both are read when the mail is sent; the texts are stored encrypted (a password reset's holds its
link until it is sent), so a copy of the database alone opens nothing.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, EncryptedText, enum_type, utcnow

if TYPE_CHECKING:
    from delphi.models.panellist import Contact
    from delphi.models.staff import StaffUser


class MailKind(enum.Enum):
    invitation = "invitation"
    reminder = "reminder"
    password_reset = "password_reset"
    staff_invitation = "staff_invitation"  # a link to choose the first password of an invited staff account
    staff_added = "staff_added"  # a colleague added an existing account to a study
    results = "results"  # the study has closed: its results are on the panellist's own link


class MailStatus(enum.Enum):
    queued = "queued"  # waiting to be sent (first time, or again after the server was away)
    sending = "sending"  # claimed by a worker until ``claimed_until``; a dead worker's claim runs out
    sent = "sent"  # accepted by the mail server
    failed = "failed"  # refused by the server, or given up after the last retry; ``error`` says why


class OutboxMail(Base):
    __tablename__ = "outbox_mail"
    __table_args__ = (
        sa.CheckConstraint("(contact_id IS NULL) <> (staff_user_id IS NULL)", name="one_recipient"),
        # The worker's next due mail: by status and due time.
        sa.Index("ix_outbox_mail_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int | None] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"))
    kind: Mapped[MailKind] = mapped_column(enum_type(MailKind, 20))
    # Panel mails keep the facilitator's text with its {study} and {link} placeholders, filled in when sent. A password
    # reset keeps its text whole (its link expires within the hour) and only until it is sent or given up. Both are
    # encrypted with the contacts key, and so is the server's reason for a refusal (it often quotes the address).
    subject: Mapped[str] = mapped_column("subject_encrypted", EncryptedText("outbox_mail.subject"))
    body: Mapped[str] = mapped_column("body_encrypted", EncryptedText("outbox_mail.body"))
    status: Mapped[MailStatus] = mapped_column(enum_type(MailStatus, 20), default=MailStatus.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    error: Mapped[str] = mapped_column("error_encrypted", EncryptedText("outbox_mail.error"), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    contact: Mapped[Contact | None] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()

    def __repr__(self) -> str:
        return f"<OutboxMail {self.id} {self.kind.value} {self.status.value}>"


class MailText(Base):
    """A study's own wording of an invitation or reminder in one language, kept for the next send."""

    __tablename__ = "mail_text"
    __table_args__ = (sa.UniqueConstraint("study_id", "kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"))
    kind: Mapped[MailKind] = mapped_column(enum_type(MailKind, 20))
    language: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
