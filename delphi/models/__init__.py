"""The data model of a whole multi-round, multi-stakeholder Delphi study."""
from delphi.models.audit import AuditEvent
from delphi.models.base import Base, DomainError, utcnow
from delphi.models.outbox import MailKind, MailStatus, MailText, OutboxMail
from delphi.models.open_round import OpenAnswer, OpenQuestion, Suggestion, SuggestionStatus
from delphi.models.panellist import (
    ConsentDecision, ConsentRecord, Contact, DeletionRequest, DeletionScope, Panellist,
)
from delphi.models.rating import EntryMode, Rating, Submission
from delphi.models.report_build import BuildStatus, ReportBuild, ReportChunk, ReportFile
from delphi.models.round import Classification, Round, RoundKind, RoundResult, RoundStatement, RoundStatus
from delphi.models.staff import StaffInvitation, StaffUser, StudyMember, StudyRole
from delphi.models.statement import RevisionKind, Statement, StatementRevision, StatementStatus, statement_source
from delphi.models.study import (
    ConsensusScope,
    StakeholderGroup,
    StoppingRule,
    Study,
    StudyStatus,
    WithdrawalPolicy,
)

__all__ = [
    "AuditEvent", "Base", "BuildStatus", "Classification", "ConsensusScope", "ConsentDecision", "ConsentRecord", "Contact",
    "DeletionRequest", "DeletionScope",
    "DomainError", "EntryMode", "MailKind", "MailStatus", "MailText", "OpenAnswer", "OutboxMail", "OpenQuestion", "Panellist", "Rating", "RevisionKind", "Round", "RoundKind",
    "ReportBuild", "ReportChunk", "ReportFile", "RoundResult", "RoundStatement", "RoundStatus", "StaffInvitation", "StaffUser", "StakeholderGroup", "Statement",
    "StatementRevision", "StatementStatus", "StoppingRule", "Study", "StudyMember", "StudyRole", "StudyStatus",
    "Submission", "Suggestion", "SuggestionStatus", "WithdrawalPolicy", "statement_source", "utcnow",
]
