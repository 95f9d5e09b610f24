"""Corrections for testing many statements: Holm's step-down and Benjamini-Hochberg's false discovery rate, across
statements, for the group tests (Kruskal-Wallis, and each pair of groups' Mann-Whitney test)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .groups import GroupDifference, MannWhitneyRow, holm

__all__ = ["ADJUSTMENTS", "adjust_pvalues", "benjamini_hochberg", "GroupTestCorrections", "correct_group_tests"]

ADJUSTMENTS = ("holm", "BH")


def benjamini_hochberg(pvalues) -> np.ndarray:
    r"""Benjamini-Hochberg adjusted p-values within each column of ``pvalues`` (tests x families); NaN entries are
    not tests and stay NaN.

    With the :math:`m` p-values of a family in increasing order :math:`p_{(1)} \le \dots \le p_{(m)}`,

    .. math::

        \tilde p_{(i)} = \min\left(1, \min_{j \geq i} \frac{m}{j}\, p_{(j)}\right)

    equal to R's ``p.adjust(p, method = "BH")`` (which also leaves NA out of :math:`m`).

    References
    ----------
    Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical and powerful approach to
    multiple testing. Journal of the Royal Statistical Society B 57:289-300.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan])).round(4).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim == 1:
        return benjamini_hochberg(p[:, None])[:, 0]
    m = (~np.isnan(p)).sum(axis=0)
    order = np.argsort(p, axis=0)  # NaN last
    ordered = np.take_along_axis(p, order, axis=0)
    rank = np.arange(1, p.shape[0] + 1)[:, None]
    scaled = ordered * m[None, :] / rank
    scaled = np.where(np.isnan(scaled), np.inf, scaled)  # NaN sits at the end and must not mask the minimum
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1], axis=0)[::-1], 1.0)
    adjusted[np.isnan(ordered)] = np.nan
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted, axis=0)
    return out


def adjust_pvalues(pvalues, method: str = "holm") -> np.ndarray:
    r"""Adjust p-values for multiple testing, as R's ``p.adjust`` does.

    ``pvalues`` is 1-D (one family, such as one p-value per statement) or 2-D (each column a family). NaN entries are
    not tests: they stay NaN and do not count in :math:`m` (R's handling of NA). ``method`` is ``"holm"`` (Holm
    1979, family-wise error rate; see :func:`analysis.groups.holm`) or ``"BH"`` (Benjamini & Hochberg 1995, false
    discovery rate; see :func:`benjamini_hochberg`):

    .. math::

        \tilde p^{\mathrm{Holm}}_{(i)} = \min\left(1, \max_{j \le i} (m - j + 1)\,p_{(j)}\right), \quad
        \tilde p^{\mathrm{BH}}_{(i)} = \min\left(1, \min_{j \ge i} \tfrac{m}{j}\, p_{(j)}\right)

    Parameters
    ----------
    pvalues : array_like, 1-D or 2-D
        Values in [0, 1] or NaN.
    method : {"holm", "BH"}

    Returns
    -------
    ndarray of the same shape

    References
    ----------
    Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J Statist 6:65-70.
    Benjamini Y, Hochberg Y (1995). J R Statist Soc B 57:289-300.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "holm").round(4).tolist()
    [0.05, 0.08, 0.09, 0.09, 0.09]
    >>> adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "BH").round(4).tolist()
    [0.05, 0.05, 0.05, 0.05, 0.05]
    """
    if method not in ADJUSTMENTS:
        raise ValueError(f"method: must be one of {', '.join(repr(m) for m in ADJUSTMENTS)}, got {method!r}")
    try:
        p = np.asarray(pvalues, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("pvalues: must be numbers (NaN where there is no test)") from None
    if p.ndim not in (1, 2):
        raise ValueError(f"pvalues: must be 1-D or 2-D, got {p.ndim} dimension(s)")
    with np.errstate(invalid="ignore"):
        if ((p < 0) | (p > 1)).any():
            raise ValueError("pvalues: every p-value must lie between 0 and 1")
    return holm(p) if method == "holm" else benjamini_hochberg(p)


@dataclass(frozen=True, eq=False)
class GroupTestCorrections:
    """The group tests' p-values adjusted across statements.

    ``kruskal_wallis_*`` follow the statements; ``mann_whitney_*`` follow the rows of the pairwise Mann-Whitney
    list, each row adjusted with the other statements of the same pair of groups.
    """

    kruskal_wallis_holm: np.ndarray
    kruskal_wallis_bh: np.ndarray
    mann_whitney_holm: np.ndarray
    mann_whitney_bh: np.ndarray


def correct_group_tests(kruskal_wallis: GroupDifference, mann_whitney=()) -> GroupTestCorrections:
    r"""Holm and Benjamini-Hochberg corrections across statements for the group tests of a round.

    The family of the Kruskal-Wallis test is every statement with a p-value; the family of a pair of groups'
    Mann-Whitney test is every statement on which that pair has a p-value (its raw ``pvalue``; the rows'
    ``pvalue_holm`` corrects across pairs within one statement instead). Formulas in :func:`adjust_pvalues`.

    Parameters
    ----------
    kruskal_wallis : GroupDifference
        From :func:`analysis.groups.kruskal_wallis` or ``RoundFigures.kruskal_wallis``.
    mann_whitney : sequence of MannWhitneyRow
        From :func:`analysis.groups.pairwise_mann_whitney` or ``RoundFigures.mann_whitney``.

    Returns
    -------
    GroupTestCorrections

    References
    ----------
    Holm S (1979). Scand J Statist 6:65-70. Benjamini Y, Hochberg Y (1995). J R Statist Soc B 57:289-300.

    Examples
    --------
    >>> from analysis import kruskal_wallis
    >>> kw = kruskal_wallis([[9, 5], [8, 5], [7, 4], [3, 6], [2, 5], [1, 4]], ["a", "a", "a", "b", "b", "b"])
    >>> c = correct_group_tests(kw)
    >>> kw.pvalue.round(4).tolist(), c.kruskal_wallis_holm.round(4).tolist(), c.kruskal_wallis_bh.round(4).tolist()
    ([0.0495, 0.6374], [0.0991, 0.6374], [0.0991, 0.6374])
    """
    if not isinstance(kruskal_wallis, GroupDifference):
        raise ValueError(f"kruskal_wallis: expected a GroupDifference, got {type(kruskal_wallis).__name__}")
    rows = list(mann_whitney)
    if any(not isinstance(row, MannWhitneyRow) for row in rows):
        raise ValueError("mann_whitney: expected MannWhitneyRow rows (from pairwise_mann_whitney)")
    n_statements = len(kruskal_wallis.pvalue)
    pairs = {}
    pair_of = np.array([pairs.setdefault((row.group_a, row.group_b), len(pairs)) for row in rows], dtype=np.intp)
    statement = np.array([row.statement for row in rows], dtype=np.intp)
    if rows and (statement.max() >= n_statements):
        raise ValueError("mann_whitney: a row's statement lies beyond the Kruskal-Wallis statements")
    table = np.full((n_statements, len(pairs)), np.nan)  # statements x pairs: each pair's column is a family
    table[statement, pair_of] = [row.pvalue for row in rows]
    holm_table, bh_table = holm(table), benjamini_hochberg(table)
    return GroupTestCorrections(
        kruskal_wallis_holm=holm(kruskal_wallis.pvalue), kruskal_wallis_bh=benjamini_hochberg(kruskal_wallis.pvalue),
        mann_whitney_holm=holm_table[statement, pair_of], mann_whitney_bh=bh_table[statement, pair_of],
    )
