"""Everything computed when a round closes, in one call: the figures the app stores and ``delphi analyse`` writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._tally import group_index, safe_divide, value_counts
from .agreement import KendallW, kendalls_w
from .groups import GroupDifference, kruskal_from_counts, mann_whitney_from_counts
from .krippendorff import alpha_from_counts
from .rand_ucla import RandUcla, rand_ucla_from_counts
from .rules import check_rule_scope, classify_summaries, parse_rule, verdicts
from .scale import Scale, check_ratings
from .stability import Stability, stability
from .summary import check_unable, equal_groups_from_counts, summary_from_counts

__all__ = ["RoundFigures", "compute_round"]


@dataclass(frozen=True, eq=False)
class RoundFigures:
    """A round's figures. Per-scope mappings are keyed by ``"overall"``, each group key and ``"equal_groups"`` (in the
    order of ``scopes``); per-statement arrays follow the columns of the ratings matrix."""

    scopes: tuple
    summaries: MappingProxyType  # scope -> Summary
    n_unable: MappingProxyType  # scope -> int array: "unable to rate" answers
    verdicts: MappingProxyType  # scope -> str array: the rules applied to that scope's figures alone
    classification: np.ndarray  # str array: the study's verdict under the protocol's scope
    rand_ucla: RandUcla | None  # only on a 1-9 scale
    rwg: np.ndarray
    average_deviation: np.ndarray
    kruskal_wallis: GroupDifference
    mann_whitney: tuple  # of MannWhitneyRow
    kendalls_w: KendallW
    krippendorff_alpha: float  # ordinal
    rwg_j: float
    stability: Stability | None  # against ``previous``
    # scope -> int array: "prefer not to answer" answers (empty when the caller gave no ``declined``)
    n_declined: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))


def compute_round(ratings, groups, group_keys, scale: Scale, include, exclude, scope: str, previous=None,
                  stable_change: float = 15, quantile_method: str = "linear", unable=None,
                  unable_in_denominator: bool = False, declined=None) -> RoundFigures:
    r"""Compute a round's figures: summaries overall, per group and with equal group weights, the rules' verdict
    for each, the study classification under ``scope``, RAND/UCLA (1-9 scale), rwg, average deviation,
    Kruskal-Wallis, pairwise Mann-Whitney, Kendall's W, Krippendorff's alpha (ordinal), rwg(J), and stability
    against the previous round.

    The ratings are checked and tallied once (``counts[group, value, statement]``, one ``np.bincount``), and every
    per-statement figure is read off that tally; each function's formula and reference are in its own docstring
    (:func:`~analysis.summary.summarise`, :func:`~analysis.rand_ucla.rand_ucla`, ...). The results equal those
    functions' (see the tests).

    .. math::

        \mathrm{counts}_{g,v,s} = \#\{i : \mathrm{group}_i = g,\ x_{is} = v\}

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
    groups : array_like, shape (panellists,)
        Each row's group key; every key must be in ``group_keys``.
    group_keys : sequence of str
        The study's groups, in report order.
    scale : Scale
    include, exclude : str or Rule
    scope : {"overall", "each_group", "equal_groups"}
    previous : array_like, optional
        The previous round's ratings aligned to the same rows and columns (NaN where absent).
    stable_change : float
    quantile_method : str
    unable : array_like of bool, optional
        Where a panellist answered "unable to rate" (the matrix alone cannot tell it from a missing answer).
    unable_in_denominator : bool
        The protocol's ``consensus.unable_in_denominator``: count those answers in the denominator of ``pct_agree``,
        ``pct_neutral``, ``pct_disagree`` and the Wilson interval of every scope (see :func:`~analysis.summary.summarise`),
        and so in the rules and the classification.
    declined : array_like of bool, optional
        Where a panellist answered "prefer not to answer": counted per scope (``n_declined``) and in no statistic,
        never in a denominator, whatever ``unable_in_denominator`` says (not answering is the panellist's right, not
        a judgement on the statement). A cell cannot be both declined and rated or "unable to rate".

    Returns
    -------
    RoundFigures

    References
    ----------
    See the individual functions; the scopes are those of the protocol (``protocol.md``).

    Examples
    --------
    >>> from analysis import Scale
    >>> ratings = [[9, 1], [8, 2], [7, 9], [9, 1]]
    >>> f = compute_round(ratings, ["a", "a", "b", "b"], ["a", "b"], Scale(), "pct_agree >= 70",
    ...                   "pct_disagree >= 70", "each_group")
    >>> f.scopes, f.classification.tolist(), f.verdicts["overall"].tolist()
    (('overall', 'a', 'b', 'equal_groups'), ['in', 'none'], ['in', 'out'])
    """
    x = check_ratings(ratings, scale)
    keys = list(group_keys)
    g, keys = group_index(groups, x.shape[0], keys)
    include = include if not isinstance(include, str) else parse_rule(include)
    exclude = exclude if not isinstance(exclude, str) else parse_rule(exclude)
    check_rule_scope(include, scope)
    check_rule_scope(exclude, scope)
    if previous is not None:
        previous = check_ratings(previous, scale, "previous")
        if previous.shape != x.shape:
            raise ValueError(f"previous: must have the same shape as ratings {x.shape}, got {previous.shape}")
    unable = check_unable(unable, x)
    declined = check_unable(declined, x, "declined")
    if declined is not None and unable is not None and (declined & unable).any():
        row, col = np.argwhere(declined & unable)[0]
        raise ValueError(f"declined: panellist row {row + 1}, statement column {col + 1} is marked both \"prefer not "
                         "to answer\" and \"unable to rate\"")

    counts = value_counts(x, scale.min, scale.n_points, g, len(keys))
    overall = counts.sum(axis=0)
    rows_per_group = np.bincount(g, minlength=len(keys))
    unable_counts = (np.zeros((len(keys), x.shape[1]), dtype=np.int64) if unable is None
                     else value_counts(np.where(unable, 0.0, np.nan), 0, 1, g, len(keys))[:, 0, :])
    in_denominator = bool(unable_in_denominator)
    summaries = {"overall": summary_from_counts(overall, x.shape[0], scale, quantile_method,
                                                unable_counts.sum(axis=0) if in_denominator else None)}
    for i, key in enumerate(keys):
        summaries[key] = summary_from_counts(counts[i], int(rows_per_group[i]), scale, quantile_method,
                                             unable_counts[i] if in_denominator else None)
    summaries["equal_groups"] = equal_groups_from_counts(counts, x.shape[0], scale,
                                                         unable_counts if in_denominator else None)
    scopes = tuple(summaries)
    per_scope_verdicts = {name: verdicts(include, exclude, s) for name, s in summaries.items()}
    classification = classify_summaries(include, exclude, scope, overall=summaries["overall"],
                                        by_group={key: summaries[key] for key in keys},
                                        equal_groups=summaries["equal_groups"])
    n_unable = {"overall": unable_counts.sum(axis=0).astype(np.int64)}
    n_unable.update({key: unable_counts[i].astype(np.int64) for i, key in enumerate(keys)})
    n_unable["equal_groups"] = n_unable["overall"]
    n_declined = {}
    if declined is not None:
        declined_counts = value_counts(np.where(declined, 0.0, np.nan), 0, 1, g, len(keys))[:, 0, :]
        n_declined = {"overall": declined_counts.sum(axis=0).astype(np.int64)}
        n_declined.update({key: declined_counts[i].astype(np.int64) for i, key in enumerate(keys)})
        n_declined["equal_groups"] = n_declined["overall"]

    s = summaries["overall"]
    variance = s.sd ** 2
    uniform = (scale.n_points ** 2 - 1) / 12
    rwg = np.where(s.n > 1, np.maximum(1 - variance / np.where(s.n > 1, uniform, 1), 0.0), np.nan)
    spread = np.abs(scale.points[:, None] - np.where(np.isnan(s.mean), 0, s.mean)[None, :])
    average_deviation = np.where(s.n > 1, safe_divide((overall * spread).sum(axis=0), s.n), np.nan)
    defined = variance[s.n > 1]
    if defined.size:
        ratio = float(defined.mean()) / uniform
        rwg_j = 0.0 if ratio >= 1 else defined.size * (1 - ratio) / (defined.size * (1 - ratio) + ratio)
    else:
        rwg_j = float("nan")
    return RoundFigures(
        scopes=scopes, summaries=MappingProxyType(summaries), n_unable=MappingProxyType(n_unable),
        verdicts=MappingProxyType(per_scope_verdicts), classification=classification,
        rand_ucla=rand_ucla_from_counts(overall, quantile_method) if (scale.min, scale.max) == (1, 9) else None,
        rwg=rwg, average_deviation=average_deviation,
        kruskal_wallis=kruskal_from_counts(counts),
        mann_whitney=tuple(mann_whitney_from_counts(counts, keys)),
        kendalls_w=kendalls_w(x),
        krippendorff_alpha=alpha_from_counts(scale.points, overall.T, "ordinal"),
        rwg_j=rwg_j,
        stability=None if previous is None else stability(previous, x, scale, stable_change),
        n_declined=MappingProxyType(n_declined),
    )
