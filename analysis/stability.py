"""Stability of each statement's ratings between two rounds."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ._exact import normal_p, signrank_exact_p
from ._tally import group_index, midranks, safe_divide, value_counts
from .scale import Scale, check_ratings

__all__ = ["Stability", "stability", "stability_by_group", "TOLERANCE"]

TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class Stability:
    """Per-statement stability between two rounds (1-D arrays)."""

    n_pairs: np.ndarray
    pct_changed: np.ndarray
    pct_change: np.ndarray
    stable: np.ndarray
    delta_pct_agree: np.ndarray
    wilcoxon_v: np.ndarray
    wilcoxon_p: np.ndarray


def _signed_rank(diff: np.ndarray, pair: np.ndarray, n_points: int):
    """V and R's default two-sided p of the Wilcoxon signed-rank test of each column's differences."""
    nonzero = pair & (diff != 0)
    magnitude = np.where(nonzero, np.abs(diff), np.nan)
    all_counts = value_counts(magnitude, 1, n_points - 1)[0]
    positive = value_counts(np.where(diff > 0, magnitude, np.nan), 1, n_points - 1)[0]
    ranks, tie_term = midranks(all_counts)
    v = (positive * ranks).sum(axis=0)
    n = nonzero.sum(axis=0).astype(float)
    zeros = (pair & (diff == 0)).any(axis=0)
    ties = (all_counts > 1).any(axis=0)
    p = normal_p(v, n * (n + 1) / 4, n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48)
    exact = (n > 0) & (n < 50) & ~ties & ~zeros
    if exact.any():
        p[exact] = signrank_exact_p(v[exact], n[exact])
    p[n == 0] = np.nan
    return v, p


def stability(before, after, scale: Scale, stable_change: float = 15) -> Stability:
    r"""How much each statement's ratings moved between two rounds, counting panellists who rated it in both.

    With :math:`f_v` the number of pairs rating :math:`v` and :math:`n` the number of pairs,

    .. math::

        \mathrm{pct\_change} = 100 \cdot \frac{\tfrac12 \sum_v |f_v^{after} - f_v^{before}|}{n}

    the net person-changes of Scheibe, Skutsch & Schofer (1975); a statement is *stable* when
    ``pct_change < stable_change`` (compared as ``pct_change < stable_change - 1e-9``, so that 15.000000000000002
    computed for 15 is not stable). ``pct_changed`` is the percentage of panellists whose own rating changed, and
    ``delta_pct_agree`` the change in ``pct_agree`` in percentage points. The Wilcoxon signed-rank test is computed
    exactly as R's ``wilcox.test(after, before, paired = TRUE)``: :math:`V` is the sum of the ranks of the positive
    differences after - before, zero differences dropped; the exact p when there are fewer than 50 non-zero pairs,
    no ties and no zeros, else the normal approximation

    .. math::

        z = \frac{V - n(n+1)/4 - \mathrm{sign}(\cdot)/2}{\sqrt{n(n+1)(2n+1)/24 - \sum(t^3 - t)/48}}

    When every difference is zero, V = 0 and p is NaN. Statements without pairs give NaN figures and ``stable`` False.

    Parameters
    ----------
    before, after : array_like, shape (panellists, statements)
        The two rounds' ratings, aligned (same panellists and statements in the same order).
    scale : Scale
    stable_change : float
        Threshold in percentage points.

    Returns
    -------
    Stability

    References
    ----------
    Scheibe M, Skutsch M, Schofer J (1975). Experiments in Delphi methodology. In Linstone HA, Turoff M (eds),
    The Delphi Method: Techniques and Applications, 262-287.
    Wilcoxon F (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1:80-83.

    Examples
    --------
    >>> before = [[5, 9], [6, 8], [7, 1], [4, 9]]
    >>> after = [[7, 9], [8, 8], [8, 1], [7, 9]]
    >>> s = stability(before, after, Scale())
    >>> s.pct_changed.tolist(), s.pct_change.tolist(), s.stable.tolist()
    ([100.0, 0.0], [75.0, 0.0], [False, True])
    >>> float(s.wilcoxon_v[0]), round(float(s.wilcoxon_p[0]), 4)
    (10.0, 0.0975)
    """
    b = check_ratings(before, scale, "before")
    a = check_ratings(after, scale, "after")
    if a.shape != b.shape:
        raise ValueError(f"before and after must have the same shape (panellists, statements); "
                         f"got {b.shape} and {a.shape}")
    try:
        threshold = float(stable_change)
    except (TypeError, ValueError):
        raise ValueError(f"stable_change: must be a number of percentage points, got {stable_change!r}") from None
    if not 0 <= threshold <= 100:
        raise ValueError(f"stable_change: must lie between 0 and 100 percentage points, got {stable_change!r}")
    pair = ~np.isnan(a) & ~np.isnan(b)
    n_pairs = pair.sum(axis=0)
    a_paired, b_paired = np.where(pair, a, np.nan), np.where(pair, b, np.nan)
    t_after = value_counts(a_paired, scale.min, scale.n_points)[0]
    t_before = value_counts(b_paired, scale.min, scale.n_points)[0]
    pct_change = 100 * safe_divide(np.abs(t_after - t_before).sum(axis=0) / 2, n_pairs)
    diff = a_paired - b_paired
    agree = slice(scale.agree[0] - scale.min, scale.agree[1] - scale.min + 1)
    with np.errstate(invalid="ignore"):
        stable = pct_change < threshold - TOLERANCE
    v, p = _signed_rank(diff, pair, scale.n_points)
    return Stability(
        n_pairs=n_pairs.astype(np.int64),
        pct_changed=100 * safe_divide((pair & (a != b)).sum(axis=0), n_pairs),
        pct_change=pct_change, stable=stable,
        delta_pct_agree=100 * safe_divide(t_after[agree].sum(axis=0) - t_before[agree].sum(axis=0), n_pairs),
        wilcoxon_v=v, wilcoxon_p=p,
    )


def stability_by_group(before, after, groups, scale: Scale, stable_change: float = 15,
                       group_keys=None) -> MappingProxyType:
    r""":func:`stability` within each stakeholder group: the same figures and Wilcoxon signed-rank test (as R's
    ``wilcox.test(after, before, paired = TRUE)`` on that group's pairs), one :class:`Stability` per group.

    For group :math:`g`, with :math:`f^{g}_v` its pairs rating :math:`v` and :math:`n_g` its pairs,

    .. math::

        \mathrm{pct\_change}_g = 100 \cdot \frac{\tfrac12 \sum_v |f_v^{g,after} - f_v^{g,before}|}{n_g}

    and a statement is stable for the group when ``pct_change_g < stable_change``. A group's statement without pairs
    gives NaN figures and ``stable`` False. Groups are computed one after the other, each vectorised over
    statements.

    Parameters
    ----------
    before, after : array_like, shape (panellists, statements)
        Aligned rounds (same panellists and statements in the same order).
    groups : array_like, shape (panellists,)
        Each row's group key.
    scale : Scale
    stable_change : float
    group_keys : sequence, optional
        The groups in report order (default: sorted labels); a label outside it is a ``ValueError``. A key without
        panellists gets a :class:`Stability` of NaN figures.

    Returns
    -------
    mapping of group key to Stability (read-only, in the order of ``group_keys``)

    References
    ----------
    Scheibe M, Skutsch M, Schofer J (1975). In Linstone HA, Turoff M (eds), The Delphi Method, 262-287.
    Wilcoxon F (1945). Biometrics Bulletin 1:80-83.

    Examples
    --------
    >>> before = [[5, 9], [6, 8], [7, 1], [4, 9]]
    >>> after = [[7, 9], [8, 8], [7, 1], [4, 9]]
    >>> by_group = stability_by_group(before, after, ["a", "a", "b", "b"], Scale())
    >>> by_group["a"].pct_change.tolist(), by_group["b"].pct_change.tolist()
    ([100.0, 0.0], [0.0, 0.0])
    """
    b = check_ratings(before, scale, "before")
    a = check_ratings(after, scale, "after")
    if a.shape != b.shape:
        raise ValueError(f"before and after must have the same shape (panellists, statements); "
                         f"got {b.shape} and {a.shape}")
    g, keys = group_index(groups, a.shape[0], group_keys)
    return MappingProxyType({key: stability(b[g == i], a[g == i], scale, stable_change)
                             for i, key in enumerate(keys)})
