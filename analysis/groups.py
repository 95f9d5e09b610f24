"""Differences between stakeholder groups: Kruskal-Wallis with effect sizes, pairwise Mann-Whitney with Holm's
correction."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

from ._exact import normal_p, ranksum_exact_p
from ._tally import code_counts, column_codes, group_index, midranks, safe_divide
from .scale import check_ratings

__all__ = ["GroupDifference", "MannWhitneyRow", "kruskal_wallis", "pairwise_mann_whitney", "holm",
           "kruskal_from_counts", "mann_whitney_from_counts"]


@dataclass(frozen=True, eq=False)
class GroupDifference:
    """Kruskal-Wallis per statement (1-D arrays); ``n`` valid ratings and ``k`` groups with a rating."""

    h: np.ndarray
    df: np.ndarray
    pvalue: np.ndarray
    epsilon_squared: np.ndarray
    eta_squared_h: np.ndarray
    n: np.ndarray
    k: np.ndarray


@dataclass(frozen=True)
class MannWhitneyRow:
    """One pair of groups on one statement. ``u`` is the Mann-Whitney U (R's W) of ``group_a``; ``rank_biserial`` is
    positive when ``group_a`` tends to rate higher."""

    statement: int
    group_a: object
    group_b: object
    n_a: int
    n_b: int
    u: float
    pvalue: float
    pvalue_holm: float
    rank_biserial: float


def kruskal_from_counts(counts: np.ndarray) -> GroupDifference:
    """Kruskal-Wallis from tallies ``counts[g, u, s]`` of increasing value codes ``u`` per group and statement."""
    totals = counts.sum(axis=0)
    n = totals.sum(axis=0).astype(float)
    ranks, tie_term = midranks(totals)
    rank_sums = (counts * ranks[None]).sum(axis=1)
    n_g = counts.sum(axis=1)
    k = (n_g > 0).sum(axis=0)
    spread = safe_divide(rank_sums ** 2, n_g)
    h_raw = 12 * safe_divide(np.where(n_g > 0, spread, 0).sum(axis=0), n * (n + 1)) - 3 * (n + 1)
    correction = 1 - safe_divide(tie_term, n ** 3 - n)
    h = np.where((k >= 2) & (correction > 0), safe_divide(h_raw, correction), np.nan)
    df = np.maximum(k - 1, 0)
    with np.errstate(invalid="ignore"):
        pvalue = np.where(np.isnan(h), np.nan, stats.chi2.sf(np.where(np.isnan(h), 0, h), np.maximum(df, 1)))
    return GroupDifference(h=h, df=df.astype(np.int64), pvalue=pvalue, epsilon_squared=safe_divide(h, n - 1),
                           eta_squared_h=safe_divide(h - k + 1, n - k), n=n.astype(np.int64), k=k.astype(np.int64))


def kruskal_wallis(ratings, groups, group_keys=None) -> GroupDifference:
    r"""Kruskal-Wallis H test of differences between groups, per statement, with effect sizes.

    With :math:`N` valid ratings, :math:`k` groups having a rating, :math:`R_g` the mid-rank sums,

    .. math::

        H = \frac{\frac{12}{N(N+1)}\sum_g \frac{R_g^2}{n_g} - 3(N+1)}{1 - \frac{\sum(t^3 - t)}{N^3 - N}}, \quad
        \varepsilon^2 = \frac{H}{N-1}, \quad \eta^2_H = \frac{H - k + 1}{N - k}

    p from :math:`\chi^2_{k-1}`. Groups without a rating on a statement are left out of it; ``df = k - 1`` always,
    while H, p and the effect sizes are NaN when all ratings tie or fewer than two groups rated.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Any finite numbers; NaN for no rating.
    groups : array_like, shape (panellists,)
        Group label of each row.
    group_keys : sequence, optional
        The groups in order (default: sorted labels); a label outside it is a ``ValueError``.

    References
    ----------
    Kruskal WH, Wallis WA (1952). Use of ranks in one-criterion variance analysis. JASA 47:583-621.
    Tomczak M, Tomczak E (2014). The need to report effect size estimates revisited. Trends in Sport Sciences 21:19-25.

    Examples
    --------
    >>> r = kruskal_wallis([[9], [8], [7], [3], [2], [1]], ["a", "a", "a", "b", "b", "b"])
    >>> round(float(r.h[0]), 4), int(r.df[0]), round(float(r.pvalue[0]), 4)
    (3.8571, 1, 0.0495)
    """
    x = check_ratings(ratings)
    g, keys = group_index(groups, x.shape[0], group_keys)
    codes, n_codes = column_codes(x)
    return kruskal_from_counts(code_counts(codes, n_codes, g, len(keys)))


def holm(pvalues: np.ndarray) -> np.ndarray:
    r"""Holm's step-down adjustment within each column of ``pvalues`` (tests x families); NaN entries are not tests.

    .. math::

        \tilde p_{(i)} = \min\left(1, \max_{j \leq i} (m - j + 1)\,p_{(j)}\right)

    References
    ----------
    Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J Statist 6:65-70.

    Examples
    --------
    >>> holm(np.array([[0.01], [0.04], [0.03]]))[:, 0].round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim == 1:
        return holm(p[:, None])[:, 0]
    m = (~np.isnan(p)).sum(axis=0)
    order = np.argsort(p, axis=0)  # NaN last
    ordered = np.take_along_axis(p, order, axis=0)
    factor = m[None, :] - np.arange(p.shape[0])[:, None]
    adjusted = np.minimum(np.fmax.accumulate(ordered * factor, axis=0), 1.0)
    adjusted[np.isnan(ordered)] = np.nan
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted, axis=0)
    return out


def mann_whitney_from_counts(counts: np.ndarray, keys: list) -> list[MannWhitneyRow]:
    """Pairwise Mann-Whitney rows from tallies ``counts[g, u, s]`` (groups in the order of ``keys``)."""
    pairs = list(combinations(range(len(keys)), 2))
    n_statements = counts.shape[2]
    shape = (len(pairs), n_statements)
    u, p, rbc = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    n_a, n_b = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for i, (a, b) in enumerate(pairs):  # a loop over pairs of groups, vectorised over statements
        both = counts[a] + counts[b]
        ranks, tie_term = midranks(both)
        na, nb = counts[a].sum(axis=0).astype(float), counts[b].sum(axis=0).astype(float)
        w = (counts[a] * ranks).sum(axis=0) - na * (na + 1) / 2
        total = na + nb
        variance = na * nb / 12 * ((total + 1) - safe_divide(tie_term, total * (total - 1)))
        p_pair = normal_p(w, na * nb / 2, np.where(np.isnan(variance), 0, variance))
        exact = (na > 0) & (nb > 0) & (na < 50) & (nb < 50) & ~(both > 1).any(axis=0)
        if exact.any():
            p_pair[exact] = ranksum_exact_p(w[exact], na[exact], nb[exact])
        u[i], p[i], rbc[i] = w, p_pair, 2 * safe_divide(w, na * nb) - 1
        n_a[i], n_b[i] = na, nb
    defined = (n_a > 0) & (n_b > 0)
    p[~defined] = np.nan
    adjusted = holm(p)
    rows = []
    for j, i in zip(*np.nonzero(defined.T)):
        a, b = pairs[i]
        rows.append(MannWhitneyRow(statement=int(j), group_a=keys[a], group_b=keys[b], n_a=int(n_a[i, j]),
                                   n_b=int(n_b[i, j]), u=float(u[i, j]), pvalue=float(p[i, j]),
                                   pvalue_holm=float(adjusted[i, j]), rank_biserial=float(rbc[i, j])))
    return rows


def pairwise_mann_whitney(ratings, groups, group_keys=None) -> list[MannWhitneyRow]:
    r"""Mann-Whitney U test for every pair of groups on every statement, Holm-corrected within each statement.

    .. math::

        U_a = R_a - \frac{n_a(n_a+1)}{2}, \quad r_{rb} = \frac{2U_a}{n_a n_b} - 1

    p as R's ``wilcox.test(a, b)`` defaults: exact when both groups have fewer than 50 ratings and no value ties,
    else the normal approximation with tie and continuity correction,

    .. math::

        z = \frac{U_a - n_a n_b/2 - \mathrm{sign}(\cdot)/2}
        {\sqrt{\frac{n_a n_b}{12}\left(n_a + n_b + 1 - \frac{\sum (t^3 - t)}{(n_a+n_b)(n_a+n_b-1)}\right)}}

    Holm's correction runs over the pairs of each statement that have a p-value. Rows are ordered by statement, then
    pair (groups in the order of ``group_keys``, default sorted labels); a pair in which a group has no rating on the
    statement gives no row. All ratings tied gives p NaN, as in R.

    References
    ----------
    Mann HB, Whitney DR (1947). On a test of whether one of two random variables is stochastically larger than the
    other. Annals of Mathematical Statistics 18:50-60.
    Kerby DS (2014). The simple difference formula: an approach to teaching nonparametric correlation.
    Comprehensive Psychology 3:11.IT.3.1.

    Examples
    --------
    >>> rows = pairwise_mann_whitney([[9], [8], [7], [3], [2], [1]], ["a", "a", "a", "b", "b", "b"])
    >>> r = rows[0]
    >>> (r.group_a, r.group_b, r.u, round(r.pvalue, 4), r.rank_biserial)
    ('a', 'b', 9.0, 0.1, 1.0)
    """
    x = check_ratings(ratings)
    g, keys = group_index(groups, x.shape[0], group_keys)
    codes, n_codes = column_codes(x)
    return mann_whitney_from_counts(code_counts(codes, n_codes, g, len(keys)), keys)
