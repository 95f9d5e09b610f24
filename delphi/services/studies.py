"""Creating a study from a protocol, and writing a study's settings back as a protocol.

``SETTINGS`` is the one table of which protocol key is kept in which Study column; creating a study, changing its
settings and writing them back as a protocol all go through it (``tests/test_settings_agree.py`` checks that every
protocol key, Study column and settings form field is accounted for).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from delphi.extensions import db
from delphi.models import (
    ConsensusScope,
    OpenQuestion,
    RevisionKind,
    StaffUser,
    StakeholderGroup,
    Statement,
    StatementRevision,
    StoppingRule,
    Study,
    StudyMember,
    StudyRole,
    WithdrawalPolicy,
)
from delphi.protocol import (
    ConsensusSpec, GroupSpec, Protocol, ScaleSpec, StatementSpec, SupportService, SupportSpec, service_table,
)
from delphi.localised import protocol_translations, row_translations, study_translations
from delphi.services import audit
from delphi.services.experiment import experiment_column, experiment_from_column, with_seed


def _same(value: Any) -> Any:
    return value


def _enum_value(member) -> str:
    return member.value


@dataclass(frozen=True)
class Setting:
    """A protocol key (dotted: ``consensus.stable_change``) kept in a Study column, or in two for a band."""

    key: str
    column: str | tuple[str, str]
    to_column: Callable[[Any], Any] = _same
    from_column: Callable[[Any], Any] = _same

    def write(self, study: Study, protocol: Protocol) -> None:
        value = self.to_column(_read(protocol, self.key))
        if isinstance(self.column, tuple):
            for column, part in zip(self.column, value):
                setattr(study, column, part)
        else:
            setattr(study, self.column, value)

    def read(self, study: Study) -> Any:
        if isinstance(self.column, tuple):
            return tuple(getattr(study, column) for column in self.column)
        return self.from_column(getattr(study, self.column))


def _read(protocol: Protocol, key: str) -> Any:
    value = protocol
    for part in key.split("."):
        value = getattr(value, part)
    return value


SETTINGS = (
    Setting("title", "title"),
    Setting("language", "language"),
    Setting("information", "information_text"),
    Setting("consent", "consent_text"),
    Setting("max_rounds", "max_rounds"),
    Setting("min_group_feedback", "min_group_feedback"),
    Setting("stopping", "stopping_rule", StoppingRule, _enum_value),
    Setting("withdrawal", "withdrawal_policy", WithdrawalPolicy, _enum_value),
    Setting("allow_group_choice", "allow_group_choice"),
    Setting("allow_suggestions", "allow_suggestions"),
    Setting("scale.min", "scale_min"),
    Setting("scale.max", "scale_max"),
    Setting("scale.unable_to_rate", "unable_to_rate"),
    Setting("scale.prefer_not_to_answer", "prefer_not_to_answer"),
    # JSON object keys are text; the protocol's points are whole numbers, in order.
    Setting("scale.labels", "scale_labels", lambda labels: {str(k): v for k, v in labels.items()},
            lambda labels: {int(k): v for k, v in sorted(labels.items(), key=lambda kv: int(kv[0]))}),
    Setting("consensus.agree", ("agree_low", "agree_high")),
    Setting("consensus.disagree", ("disagree_low", "disagree_high")),
    Setting("consensus.scope", "consensus_scope", ConsensusScope, _enum_value),
    Setting("consensus.include", "include_rule"),
    Setting("consensus.exclude", "exclude_rule"),
    Setting("consensus.stable_change", "stable_change"),
    Setting("consensus.quantile_method", "quantile_method"),
    Setting("consensus.unable_in_denominator", "unable_in_denominator"),
    Setting("minutes", "minutes"),
    Setting("support.contact_name", "support_contact_name"),
    Setting("support.contact_email", "support_contact_email"),
    Setting("support.contact_phone", "support_contact_phone"),
    # Issue 21: the study row keeps its own texts' other languages; groups', statements' and questions' are theirs.
    Setting("languages", "languages", list, tuple),
    Setting("translations", "translations", study_translations, protocol_translations),
    # The seed is never taken from a file: a new study draws its own when round 1 opens (services/experiment.py).
    Setting("experiment", "experiment", experiment_column, experiment_from_column),
    Setting("support.services", "support_services", lambda services: [service_table(s) for s in services],
            lambda rows: tuple(SupportService(**row) for row in rows or ())),
)


def write_settings(study: Study, protocol: Protocol) -> None:
    """Set every Study column that keeps a protocol setting (groups, statements and open questions are rows)."""
    for setting in SETTINGS:
        setting.write(study, protocol)


def create_study(protocol: Protocol, owner: StaffUser | None = None) -> Study:
    """Build a draft study with its groups, statements and open questions from a validated protocol."""
    study = Study(starts_with_open_round=bool(protocol.open_questions))
    write_settings(study, protocol)
    study.groups = [
        StakeholderGroup(key=g.key, name=g.name, description=g.description, position=i,
                         translations=row_translations(protocol.translations, f"groups[{i + 1}].name"))
        for i, g in enumerate(protocol.groups)
    ]
    for i, spec in enumerate(protocol.statements):
        statement = Statement(code=spec.code, domain=spec.domain, text=spec.text, position=i,
                              translations=row_translations(protocol.translations, f"statements[{i + 1}].text"))
        statement.revisions.append(StatementRevision(kind=RevisionKind.created, text=spec.text, round_number=None))
        study.statements.append(statement)
    study.open_questions = [
        OpenQuestion(text=q, position=i, translations=row_translations(protocol.translations, f"open_questions[{i + 1}]"))
        for i, q in enumerate(protocol.open_questions)
    ]
    if owner is not None:
        study.members.append(StudyMember(user=owner, role=StudyRole.owner))
    db.session.add(study)
    db.session.flush()
    audit.record("study.create", study=study, actor=owner, target=f"study {study.id}")
    return study


def _row_translations(study: Study) -> dict[str, dict[str, str]]:
    """The other languages of the study's group names, statements and open questions, by protocol key."""
    found: dict[str, dict[str, str]] = {}
    for rows, key, field in ((study.groups, "groups[{}].name", "name"), (study.statements, "statements[{}].text", "text"),
                             (study.open_questions, "open_questions[{}]", "text")):
        for i, row in enumerate(rows, start=1):
            if (row.translations or {}).get(field):
                found[key.format(i)] = dict(row.translations[field])
    return found


def study_protocol(study: Study) -> Protocol:
    """The study's current settings as a protocol (what the TOML export and the lock write)."""
    tables: dict[str, dict[str, Any]] = {"": {}, "scale": {}, "consensus": {}, "support": {}}
    for setting in SETTINGS:
        table, _, key = setting.key.rpartition(".")
        tables[table][key] = setting.read(study)
    tables[""]["translations"].update(_row_translations(study))
    return Protocol(
        **{**tables[""], "experiment": with_seed(tables[""]["experiment"], study)},
        scale=ScaleSpec(**tables["scale"]),
        consensus=ConsensusSpec(**tables["consensus"]),
        support=SupportSpec(**tables["support"]),
        groups=tuple(GroupSpec(g.key, g.name, g.description) for g in study.groups),
        statements=tuple(StatementSpec(s.code, s.domain, s.text) for s in study.statements),
        open_questions=tuple(q.text for q in study.open_questions),
    )
