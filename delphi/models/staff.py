"""Staff accounts and their role in each study."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from delphi.models.base import Base, utcnow, enum_type

if TYPE_CHECKING:
    from delphi.models.study import Study


class StudyRole(enum.Enum):
    owner = "owner"  # everything, including adding colleagues and closing the study
    facilitator = "facilitator"  # runs the study: statements, panel, rounds
    researcher = "researcher"  # reads results and downloads data


class StaffUser(UserMixin, Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Bumped on sign-out, password change or reset, and deactivation; a session carries the version it was signed in
    # with (``get_id``) and ends once it no longer matches, so a copied session cookie dies with the sign-out.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[StudyMember]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<StaffUser {self.email}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the session id changes when the password does
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Sign out every session of this account, on every device."""
        self.session_version = (self.session_version or 0) + 1

    def deactivate(self) -> None:
        """No more sign-ins, reset links or sessions for this account (its studies and audit trail stay)."""
        self.active = False
        self.end_sessions()

    def role_in(self, study: Study) -> StudyRole | None:
        return next((m.role for m in self.memberships if m.study_id == study.id), None)

    @property
    def has_password(self) -> bool:
        """False for an account made by invitation whose owner has not yet followed the link and chosen a password:
        it cannot sign in (no password matches :data:`UNUSABLE_HASH`)."""
        return self.password_hash != UNUSABLE_HASH


# A hash with the method and cost of every account's (``set_password``; a test checks they stay the same) that no
# password matches: checking against it costs what checking a real account's password costs.
UNUSABLE_HASH = "scrypt:32768:8:1$uHhR4pZkqcmMPLTb$" + "0" * 128


def check_password_of_nobody(password: str) -> None:
    """The same slow hash check as :meth:`StaffUser.check_password`, against an account that does not exist, so that
    refusing an unknown address takes as long as refusing a wrong password."""
    check_password_hash(UNUSABLE_HASH, password)


class StudyMember(Base):
    __tablename__ = "study_member"
    __table_args__ = (sa.UniqueConstraint("study_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[StudyRole] = mapped_column(enum_type(StudyRole, 20))

    study: Mapped[Study] = relationship(back_populates="members")
    user: Mapped[StaffUser] = relationship(back_populates="memberships")


class StaffInvitation(Base):
    """A one-time link that lets the owner of an invited account choose its first password. Only a hash of the
    link's token is kept; the link expires (``expires_at``) and works once (``used_at``)."""

    __tablename__ = "staff_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[StaffUser] = relationship(foreign_keys=[user_id])
