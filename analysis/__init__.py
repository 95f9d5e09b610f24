"""Consensus statistics for Delphi studies: pure functions on numpy arrays (no web framework, no database).

``ratings`` is always a float array of shape (panellists, statements) with NaN for no rating; per-statement results
are 1-D arrays inside frozen dataclasses. See ``statistics.md`` for the conventions.
"""
from .agreement import FleissKappa, KendallW, average_deviation, fleiss_kappa, kendalls_w, rwg, rwg_j
from .bootstrap import BootstrapIntervals, bootstrap_intervals
from .experiment import (
    ArmEffect, RatingChange, Retention, VerdictAgreement, allocate, arm_effect, rating_change, retention,
    verdict_agreement,
)
from .groups import GroupDifference, MannWhitneyRow, holm, kruskal_wallis, pairwise_mann_whitney
from .intervals import wilson_interval
from .krippendorff import krippendorff_alpha
from .multiplicity import GroupTestCorrections, adjust_pvalues, benjamini_hochberg, correct_group_tests
from .rand_ucla import RandUcla, rand_ucla
from .round import RoundFigures, compute_round
from .rules import Rule, RuleError, check_rule_scope, classify, classify_summaries, parse_rule, verdicts
from .scale import Scale, check_ratings
from .stability import Stability, stability, stability_by_group
from .summary import Summary, summarise, summarise_equal_groups
from .verdict_change import VerdictChange, verdict_changes

__all__ = [
    "Scale", "check_ratings",
    "Summary", "summarise", "summarise_equal_groups",
    "RandUcla", "rand_ucla",
    "KendallW", "kendalls_w", "FleissKappa", "fleiss_kappa", "krippendorff_alpha",
    "rwg", "rwg_j", "average_deviation",
    "Stability", "stability", "stability_by_group", "VerdictChange", "verdict_changes",
    "GroupDifference", "MannWhitneyRow", "kruskal_wallis", "pairwise_mann_whitney", "holm",
    "GroupTestCorrections", "adjust_pvalues", "benjamini_hochberg", "correct_group_tests",
    "BootstrapIntervals", "bootstrap_intervals",
    "wilson_interval",
    "Rule", "RuleError", "parse_rule", "verdicts", "classify", "classify_summaries", "check_rule_scope",
    "RoundFigures", "compute_round",
    "allocate", "Retention", "retention", "RatingChange", "rating_change", "ArmEffect", "arm_effect",
    "VerdictAgreement", "verdict_agreement",
]
