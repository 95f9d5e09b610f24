"""Panellists, kept apart from their contact details, and their answers."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from delphi.models.base import Base, EncryptedText, utcnow, enum_type
from delphi.models.rating import EntryMode, mode_column

if TYPE_CHECKING:
    from delphi.models.study import StakeholderGroup, Study


class Panellist(Base):
    """A panel member, known to the platform only by a pseudonym and the hash of their link's token."""

    __tablename__ = "panellist"
    __table_args__ = (
        # Pseudonyms are unique across all studies, so a pseudonym is never reused in another study's exports.
        sa.UniqueConstraint("pseudonym"),
        sa.UniqueConstraint("token_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholder_group.id", ondelete="RESTRICT"), index=True)
    pseudonym: Mapped[str] = mapped_column(sa.String(20))
    # SHA-256 of the personal link's token (hex); None once the link is revoked and not yet reissued.
    token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # The link's token is derived from the server key and this number (services/panel.py): reminders resend the same
    # link; reissuing or revoking it moves the number on, so the old link never comes back.
    link_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    language: Mapped[str | None] = mapped_column(sa.String(8))
    withdrawn: Mapped[bool] = mapped_column(default=False)
    withdrawn_at: Mapped[datetime | None]
    # The arm of a study within the study (issue 23), allocated when round 2 opens; answers side only: never shown
    # next to a contact or a pseudonym on a staff page.
    arm: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    study: Mapped[Study] = relationship(back_populates="panellists")
    group: Mapped[StakeholderGroup | None] = relationship()
    contact: Mapped[Contact | None] = relationship(
        back_populates="panellist", cascade="all, delete-orphan", uselist=False
    )
    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="panellist", cascade="all, delete-orphan", order_by="ConsentRecord.id"
    )

    def __repr__(self) -> str:
        return f"<Panellist {self.pseudonym}>"

    @property
    def consent(self) -> ConsentRecord | None:
        """The panellist's latest consent decision."""
        return self.consents[-1] if self.consents else None

    @property
    def has_consented(self) -> bool:
        return self.consent is not None and self.consent.decision is ConsentDecision.given

    @property
    def consent_is_current(self) -> bool:
        """Consented to the study's consent text as it is now: a text changed since (a higher ``consent_version``)
        is asked again before anything more is saved."""
        return self.has_consented and self.consent.consent_version >= self.study.consent_version


class Contact(Base):
    """How to reach a panellist. Erasing this row leaves the ratings, and no trace of whose they were.

    The address, phone number and name are stored encrypted with the contacts key (delphi/contact_cipher.py): the
    code reads and writes them as text, the database holds only ciphertext. ``email_index`` is the address's blind
    index within the study, set with the address (services/panel.add_panellist), to find an exact address."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    panellist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("panellist.id", ondelete="CASCADE"), unique=True
    )
    email: Mapped[str | None] = mapped_column("email_encrypted", EncryptedText("contact.email"))
    email_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # For text messages and phone calls: many service users have no e-mail.
    phone: Mapped[str | None] = mapped_column("phone_encrypted", EncryptedText("contact.phone"))
    name: Mapped[str | None] = mapped_column("name_encrypted", EncryptedText("contact.name"))
    invited_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]

    panellist: Mapped[Panellist] = relationship(back_populates="contact")
    deletion_requests: Mapped[list[DeletionRequest]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="DeletionRequest.id"
    )


class DeletionScope(enum.Enum):
    """What a panellist asked to have deleted, from the withdraw page."""

    contact = "contact"  # their contact details; they stay in the study
    answers = "answers"  # their answers and contact details: they leave the study


class DeletionRequest(Base):
    """A panellist's request, from their own link, to delete their data: a task for the contacts side (owners and
    facilitators), who act on it with the existing erase or withdraw actions; acting on it deletes the request.

    It hangs on the contact, never on a pseudonym or an answer, and goes with the contact (withdrawal deletes it)."""

    __tablename__ = "deletion_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"), unique=True)
    scope: Mapped[DeletionScope] = mapped_column(enum_type(DeletionScope, 10))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="deletion_requests")


class ConsentDecision(enum.Enum):
    given = "given"
    refused = "refused"


class ConsentRecord(Base):
    __tablename__ = "consent_record"
    __table_args__ = (
        # A panellist's latest decision (highest id) is read by every save: with the id in the index, that is one
        # step down the index, whatever the planner knows. With panellist_id alone, PostgreSQL without statistics
        # (a panel just imported, before autovacuum has analysed it) walked the primary key backwards through every
        # other panellist's records instead.
        sa.Index("ix_consent_record_panellist_latest", "panellist_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panellist_id: Mapped[int] = mapped_column(sa.ForeignKey("panellist.id", ondelete="CASCADE"))
    decision: Mapped[ConsentDecision] = mapped_column(enum_type(ConsentDecision, 10))
    consent_version: Mapped[int]
    # The consent statements ticked, as shown (so the record stands even if the text changes later).
    statements: Mapped[list] = mapped_column(sa.JSON, default=list)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # On the consent page ("web"), or recorded by staff on proxy entry (read to them by phone, a signed paper form).
    mode: Mapped[EntryMode] = mode_column()

    panellist: Mapped[Panellist] = relationship(back_populates="consents")
