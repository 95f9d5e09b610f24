"""A study, its stakeholder groups, and who on the staff may do what in it."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from delphi.models.base import Base, DomainError, utcnow, enum_type
# The settings' choices and defaults are the protocol's (one definition); the columns store them.
from delphi.protocol import (
    ConsensusScope, ConsensusSpec, Protocol, ScaleSpec, StoppingRule, SupportSpec, WithdrawalPolicy,
)

if TYPE_CHECKING:
    from delphi.models.open_round import OpenQuestion
    from delphi.models.panellist import Panellist
    from delphi.models.round import Round
    from delphi.models.staff import StudyMember
    from delphi.models.statement import Statement


class StudyStatus(enum.Enum):
    draft = "draft"  # being set up; the protocol can still change
    running = "running"  # round 1 has opened; the consensus definition is locked
    closed = "closed"  # the owner has ended the study
    deleting = "deleting"  # the owner deleted it: hidden from everyone, its rows removed by a job


class Study(Base):
    __tablename__ = "study"
    __table_args__ = (
        sa.CheckConstraint("scale_min < scale_max", name="scale_order"),
        sa.CheckConstraint("max_rounds >= 1", name="max_rounds_positive"),
        sa.CheckConstraint("min_group_feedback >= 1", name="min_group_feedback_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    language: Mapped[str] = mapped_column(sa.String(8), default=Protocol.language)
    status: Mapped[StudyStatus] = mapped_column(
        enum_type(StudyStatus, 20), default=StudyStatus.draft
    )
    information_text: Mapped[str] = mapped_column(sa.Text, default=Protocol.information)
    consent_text: Mapped[str] = mapped_column(sa.Text, default=Protocol.consent)
    consent_version: Mapped[int] = mapped_column(default=1)
    max_rounds: Mapped[int] = mapped_column(default=Protocol.max_rounds)
    min_group_feedback: Mapped[int] = mapped_column(default=Protocol.min_group_feedback)
    scale_min: Mapped[int] = mapped_column(default=ScaleSpec.min)
    scale_max: Mapped[int] = mapped_column(default=ScaleSpec.max)
    scale_labels: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    unable_to_rate: Mapped[bool] = mapped_column(default=ScaleSpec.unable_to_rate)
    prefer_not_to_answer: Mapped[bool] = mapped_column(default=ScaleSpec.prefer_not_to_answer,
                                                       server_default=sa.false())
    agree_low: Mapped[int] = mapped_column(default=ConsensusSpec.agree[0])
    agree_high: Mapped[int] = mapped_column(default=ConsensusSpec.agree[1])
    disagree_low: Mapped[int] = mapped_column(default=ConsensusSpec.disagree[0])
    disagree_high: Mapped[int] = mapped_column(default=ConsensusSpec.disagree[1])
    consensus_scope: Mapped[ConsensusScope] = mapped_column(
        enum_type(ConsensusScope, 20), default=ConsensusScope(ConsensusSpec.scope)
    )
    include_rule: Mapped[str] = mapped_column(sa.String(500), default=ConsensusSpec.include)
    exclude_rule: Mapped[str] = mapped_column(sa.String(500), default=ConsensusSpec.exclude)
    stable_change: Mapped[float] = mapped_column(default=ConsensusSpec.stable_change)
    quantile_method: Mapped[str] = mapped_column(sa.String(30), default=ConsensusSpec.quantile_method)
    unable_in_denominator: Mapped[bool] = mapped_column(default=ConsensusSpec.unable_in_denominator)
    stopping_rule: Mapped[StoppingRule] = mapped_column(
        enum_type(StoppingRule, 40), default=StoppingRule(Protocol.stopping)
    )
    withdrawal_policy: Mapped[WithdrawalPolicy] = mapped_column(
        enum_type(WithdrawalPolicy, 20), default=WithdrawalPolicy(Protocol.withdrawal)
    )
    allow_group_choice: Mapped[bool] = mapped_column(default=Protocol.allow_group_choice)
    allow_suggestions: Mapped[bool] = mapped_column(default=Protocol.allow_suggestions)
    starts_with_open_round: Mapped[bool] = mapped_column(default=False)
    # Safeguarding ([support] and minutes in the protocol): the help panel on every panellist page, the start page's
    # time estimate. They never lock: a crisis line's number may change while a round is open.
    minutes: Mapped[int] = mapped_column(default=Protocol.minutes, server_default="0")
    support_contact_name: Mapped[str] = mapped_column(sa.String(200), default=SupportSpec.contact_name,
                                                      server_default="")
    support_contact_email: Mapped[str] = mapped_column(sa.String(254), default=SupportSpec.contact_email,
                                                       server_default="")
    support_contact_phone: Mapped[str] = mapped_column(sa.String(40), default=SupportSpec.contact_phone,
                                                       server_default="")
    support_services: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Contact details (e-mail, phone, name; never answers) are erased this many days after the study closes, by the
    # retention job (services/retention.py); None keeps them until staff erase them.
    contacts_retention_days: Mapped[int | None]
    # The protocol as TOML, written when round 1 opens; reports export this, never the live settings. Tens of
    # kilobytes for a large study and read only by reports, so not loaded with the study (every panellist request
    # reads the study).
    # Issue 21 (delphi/localised.py): the languages the study offers beyond ``language`` ([]: only it), and the
    # other languages of its title, information, consent and scale labels ({"title": {"en": "..."}, "labels.9": ...});
    # the columns above keep the study language's text, which every report and statistic reads.
    languages: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    locked_protocol: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    locked_at: Mapped[datetime | None]
    # A study within the study (issue 23; docs/experiments.md): the ``[experiment]`` table as the protocol writes it
    # (``services.experiment.experiment_spec`` reads it back), None without one. The allocation seed is drawn when
    # round 1 opens (64 bits, kept as text: PostgreSQL's bigint is signed) and the arms are allocated when round 2
    # opens (``arms_allocated_at``).
    experiment: Mapped[dict | None] = mapped_column(sa.JSON)
    allocation_seed: Mapped[str | None] = mapped_column(sa.String(20))
    allocation_seed_drawn_at: Mapped[datetime | None]
    arms_allocated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    groups: Mapped[list[StakeholderGroup]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="StakeholderGroup.position"
    )
    statements: Mapped[list[Statement]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="Statement.position"
    )
    rounds: Mapped[list[Round]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="Round.number"
    )
    panellists: Mapped[list[Panellist]] = relationship(back_populates="study", cascade="all, delete-orphan")
    members: Mapped[list[StudyMember]] = relationship(back_populates="study", cascade="all, delete-orphan")
    open_questions: Mapped[list[OpenQuestion]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="OpenQuestion.position"
    )

    # The columns of the definition that locks when round 1 opens (protocol.md, "Locked at round 1"): [scale],
    # [consensus], min_group_feedback, the stopping rule, the number of rounds and [experiment] (with its seed, drawn
    # as round 1 opens, just before the lock).
    LOCKED_COLUMNS = ("scale_min", "scale_max", "scale_labels", "unable_to_rate", "prefer_not_to_answer",
                      "agree_low", "agree_high",
                      "disagree_low", "disagree_high", "consensus_scope", "include_rule", "exclude_rule",
                      "stable_change", "quantile_method", "unable_in_denominator", "min_group_feedback",
                      "stopping_rule", "max_rounds", "withdrawal_policy", "experiment", "allocation_seed")

    def __repr__(self) -> str:
        return f"<Study {self.id} {self.title!r}>"

    @validates(*LOCKED_COLUMNS)
    def _refuse_change_once_locked(self, key: str, value):
        """Whatever the path (a form, a file, a script), a locked setting keeps its value."""
        if self.is_locked and getattr(self, key) != value:
            raise DomainError(_("Round 1 has opened, so %(key)s is locked and can no longer change.", key=key))
        return value

    @property
    def is_locked(self) -> bool:
        """Whether the consensus definition and stopping rule are fixed (round 1 has opened)."""
        return self.locked_at is not None

    def lock(self, protocol_toml: str) -> None:
        if self.is_locked:
            return
        self.locked_protocol = protocol_toml
        self.locked_at = utcnow()
        self.status = StudyStatus.running

    def close(self) -> None:
        if self.status is StudyStatus.closed:
            raise DomainError(_("This study is already closed."))
        if any(r.status.value == "open" for r in self.rounds):
            raise DomainError(_("Close the open round before closing the study."))
        self.status = StudyStatus.closed
        self.closed_at = utcnow()

    @property
    def labelled_points(self) -> list[tuple[int, str]]:
        """The scale points that have a label, in order."""
        return sorted((int(point), label) for point, label in (self.scale_labels or {}).items())

    def round_minutes(self, items: int) -> int:
        """About how many minutes a round of ``items`` questions takes: the protocol's ``minutes``, or else half a
        minute a question plus two to read the page, rounded up to 5 (34 statements: 20 minutes)."""
        if self.minutes:
            return self.minutes
        return max(5, -(-(items + 4) // 10) * 5)

    @property
    def has_support(self) -> bool:
        return bool(self.support_contact_name or self.support_contact_email or self.support_contact_phone
                    or self.support_services)

    def group_by_key(self, key: str) -> StakeholderGroup | None:
        return next((g for g in self.groups if g.key == key), None)

    @property
    def current_round(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None


class StakeholderGroup(Base):
    __tablename__ = "stakeholder_group"
    __table_args__ = (sa.UniqueConstraint("study_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("study.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    # How the group is described to a panellist choosing their own group ("I use or have used services").
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Its other languages, {"name": {"en": "..."}}: delphi/localised.py
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")

    study: Mapped[Study] = relationship(back_populates="groups")

    def __repr__(self) -> str:
        return f"<StakeholderGroup {self.key}>"
