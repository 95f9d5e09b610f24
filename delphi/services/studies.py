"""Creating a study from a protocol, and writing a study's settings back as a protocol."""
from __future__ import annotations

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
from delphi.protocol import ConsensusSpec, GroupSpec, Protocol, ScaleSpec, StatementSpec
from delphi.services import audit


def create_study(protocol: Protocol, owner: StaffUser | None = None) -> Study:
    """Build a draft study with its groups, statements and open questions from a validated protocol."""
    c = protocol.consensus
    study = Study(
        title=protocol.title,
        language=protocol.language,
        information_text=protocol.information,
        consent_text=protocol.consent,
        max_rounds=protocol.max_rounds,
        min_group_feedback=protocol.min_group_feedback,
        scale_min=protocol.scale.min,
        scale_max=protocol.scale.max,
        scale_labels={str(k): v for k, v in protocol.scale.labels.items()},
        unable_to_rate=protocol.scale.unable_to_rate,
        agree_low=c.agree[0],
        agree_high=c.agree[1],
        disagree_low=c.disagree[0],
        disagree_high=c.disagree[1],
        consensus_scope=ConsensusScope(c.scope),
        include_rule=c.include,
        exclude_rule=c.exclude,
        stable_change=c.stable_change,
        quantile_method=c.quantile_method,
        stopping_rule=StoppingRule(protocol.stopping),
        withdrawal_policy=WithdrawalPolicy(protocol.withdrawal),
        allow_group_choice=protocol.allow_group_choice,
        allow_suggestions=protocol.allow_suggestions,
        starts_with_open_round=bool(protocol.open_questions),
    )
    study.groups = [
        StakeholderGroup(key=g.key, name=g.name, description=g.description, position=i)
        for i, g in enumerate(protocol.groups)
    ]
    for i, spec in enumerate(protocol.statements):
        statement = Statement(code=spec.code, domain=spec.domain, text=spec.text, position=i)
        statement.revisions.append(StatementRevision(kind=RevisionKind.created, text=spec.text, round_number=None))
        study.statements.append(statement)
    study.open_questions = [OpenQuestion(text=q, position=i) for i, q in enumerate(protocol.open_questions)]
    if owner is not None:
        study.members.append(StudyMember(user=owner, role=StudyRole.owner))
    db.session.add(study)
    db.session.flush()
    audit.record("study.create", study=study, actor=owner, target=f"study {study.id}")
    return study


def study_protocol(study: Study) -> Protocol:
    """The study's current settings as a protocol (what the TOML export and the lock write)."""
    return Protocol(
        title=study.title,
        language=study.language,
        max_rounds=study.max_rounds,
        min_group_feedback=study.min_group_feedback,
        scale=ScaleSpec(
            min=study.scale_min,
            max=study.scale_max,
            unable_to_rate=study.unable_to_rate,
            labels={int(k): v for k, v in sorted(study.scale_labels.items(), key=lambda kv: int(kv[0]))},
        ),
        consensus=ConsensusSpec(
            agree=(study.agree_low, study.agree_high),
            disagree=(study.disagree_low, study.disagree_high),
            scope=study.consensus_scope.value,
            include=study.include_rule,
            exclude=study.exclude_rule,
            stable_change=study.stable_change,
            quantile_method=study.quantile_method,
        ),
        groups=tuple(GroupSpec(g.key, g.name, g.description) for g in study.groups),
        statements=tuple(StatementSpec(s.code, s.domain, s.text) for s in study.statements),
        information=study.information_text,
        consent=study.consent_text,
        stopping=study.stopping_rule.value,
        withdrawal=study.withdrawal_policy.value,
        allow_group_choice=study.allow_group_choice,
        allow_suggestions=study.allow_suggestions,
        open_questions=tuple(q.text for q in study.open_questions),
    )
