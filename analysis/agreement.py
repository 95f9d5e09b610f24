"""Agreement among panellists: Kendall's W, Fleiss' kappa, rwg and rwg(J), and the average deviation index.

Krippendorff's alpha has its own module, :mod:`analysis.krippendorff`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._tally import code_counts, column_codes, midranks, safe_divide
from .scale import Scale, check_ratings

__all__ = ["KendallW", "FleissKappa", "kendalls_w", "fleiss_kappa", "rwg", "rwg_j", "average_deviation"]


@dataclass(frozen=True)
class KendallW:
    """Kendall's coefficient of concordance over the whole panel."""

    w: float
    w_uncorrected: float
    chi2: float
    df: int
    pvalue: float
    n_panellists: int
    n_statements: int


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa with the null-hypothesis z test of Fleiss, Nee & Landis (1979)."""

    kappa: float
    z: float
    pvalue: float
    p_bar: float
    p_e: float
    n_subjects: int
    n_raters: int


def kendalls_w(ratings) -> KendallW:
    r"""Kendall's W: how far the panellists rank the statements alike.

    Each panellist's ratings are ranked across statements with mid-ranks; with :math:`m` panellists, :math:`n`
    statements, :math:`R_j` the rank sum of statement :math:`j` and :math:`T_i = \sum (t^3 - t)` over panellist
    :math:`i`'s groups of tied ratings,

    .. math::

        S = \sum_j \left(R_j - \frac{m(n+1)}{2}\right)^2, \quad
        W = \frac{12 S}{m^2(n^3 - n) - m \sum_i T_i}, \quad \chi^2 = m(n-1)W, \ df = n - 1

    ``w_uncorrected`` drops the tie term. :math:`\chi^2` equals the tie-corrected Friedman statistic. Panellists with
    any missing rating are left out (listwise, as SPSS does). Fewer than 2 panellists or statements, or every
    panellist rating everything alike, gives NaN.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Any finite numbers; NaN for no rating.

    Returns
    -------
    KendallW

    References
    ----------
    Kendall MG, Babington Smith B (1939). The problem of m rankings. Annals of Mathematical Statistics 10:275-287.
    Siegel S, Castellan NJ (1988). Nonparametric Statistics for the Behavioral Sciences, 2nd ed., section 9.4.

    Examples
    --------
    >>> r = kendalls_w([[1, 2, 3], [1, 3, 2], [2, 1, 3], [1, 2, 3]])
    >>> round(r.w, 4), round(r.chi2, 4), r.df
    (0.5625, 4.5, 2)
    """
    x = check_ratings(ratings)
    complete = x[~np.isnan(x).any(axis=1)]
    m, n = complete.shape
    nan = float("nan")
    if m < 2 or n < 2:
        return KendallW(nan, nan, nan, max(n - 1, 0), nan, m, n)
    codes, n_codes = column_codes(complete.T)  # (statements, panellists): rank within each panellist
    ranks_by_code, ties = midranks(code_counts(codes, n_codes)[0])
    rank_sums = np.take_along_axis(ranks_by_code, codes, axis=0).sum(axis=1)
    s = float(((rank_sums - m * (n + 1) / 2) ** 2).sum())
    full = m ** 2 * (n ** 3 - n)
    corrected = full - m * float(ties.sum())
    w = 12 * s / corrected if corrected > 0 else nan
    chi2 = m * (n - 1) * w
    return KendallW(w=w, w_uncorrected=12 * s / full, chi2=chi2, df=n - 1,
                    pvalue=float(stats.chi2.sf(chi2, n - 1)) if w == w else nan, n_panellists=m, n_statements=n)


def _band_codes(x: np.ndarray, bands) -> np.ndarray:
    try:
        pairs = [(float(low), float(high)) for low, high in bands]
    except (TypeError, ValueError):
        raise ValueError("bands: must be a list of (low, high) pairs, e.g. [(1, 3), (4, 6), (7, 9)]") from None
    ordered = sorted(pairs)
    if any(low > high for low, high in pairs) or any(a[1] >= b[0] for a, b in zip(ordered, ordered[1:])):
        raise ValueError(f"bands: {bands!r} must be (low, high) pairs with low <= high that do not overlap")
    codes = np.full(x.shape, np.nan)
    for i, (low, high) in enumerate(pairs):
        codes[(x >= low) & (x <= high)] = i
    stray = ~np.isnan(x) & np.isnan(codes)
    if stray.any():
        raise ValueError(f"bands: the rating {x[stray][0]:g} lies in none of the bands {bands!r}")
    return codes


def fleiss_kappa(ratings, categories=None, bands=None) -> FleissKappa:
    r"""Fleiss' kappa for many raters: statements are the subjects, panellists the raters.

    With :math:`N` subjects, :math:`n` raters and :math:`n_{ij}` the raters putting subject :math:`i` in category
    :math:`j`:

    .. math::

        P_i = \frac{\sum_j n_{ij}^2 - n}{n(n-1)}, \quad p_j = \frac{\sum_i n_{ij}}{Nn}, \quad
        \kappa = \frac{\bar P - P_e}{1 - P_e}, \quad P_e = \sum_j p_j^2

    and under the null hypothesis of chance agreement (Fleiss, Nee & Landis 1979)

    .. math::

        SE_0 = \frac{\sqrt{2}}{\sum_j p_j q_j \sqrt{Nn(n-1)}}
        \sqrt{\left(\sum_j p_j q_j\right)^2 - \sum_j p_j q_j (q_j - p_j)}, \quad z = \kappa / SE_0

    with a two-sided p. Each distinct value is a nominal category; ``bands`` such as ``[(1, 3), (4, 6), (7, 9)]``
    collapse values into bands first. Statements with any missing rating are left out. Kappa is NaN when every rating
    falls in one category (:math:`P_e = 1`), with fewer than two raters, or with no complete statement.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
    categories : sequence of float, optional
        The categories (default: the values present). A rating outside them is a ``ValueError``.
    bands : sequence of (low, high), optional
        Inclusive, non-overlapping bands; every rating must fall in one.

    Returns
    -------
    FleissKappa

    References
    ----------
    Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76:378-382.
    Fleiss JL, Nee JCM, Landis JR (1979). Large sample variance of kappa in the case of different sets of raters.
    Psychological Bulletin 86:974-977.

    Examples
    --------
    >>> r = fleiss_kappa([[1, 1, 9], [1, 2, 9], [1, 1, 8]], bands=[(1, 3), (4, 6), (7, 9)])
    >>> round(r.kappa, 4)
    1.0
    """
    x = check_ratings(ratings)
    if bands is not None and categories is not None:
        raise ValueError("fleiss_kappa: give categories or bands, not both")
    if bands is not None:
        x = _band_codes(x, bands)
        categories = range(len(bands))
    subjects = x[:, ~np.isnan(x).any(axis=0)]
    n_raters, n_subjects = subjects.shape
    if categories is None:
        categories = np.unique(subjects)
    else:
        categories = np.asarray(list(categories), dtype=float)
        stray = ~np.isin(subjects, categories)
        if stray.any():
            raise ValueError(f"categories: the rating {subjects[stray][0]:g} is not one of the categories")
    nan = float("nan")
    if n_raters < 2 or n_subjects == 0:
        return FleissKappa(nan, nan, nan, nan, nan, n_subjects, n_raters)
    counts = np.stack([(subjects == c).sum(axis=0) for c in categories], axis=1).astype(float)  # (N, k)
    p_i = ((counts ** 2).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_bar = float(p_i.mean())
    p_j = counts.sum(axis=0) / (n_subjects * n_raters)
    p_e = float((p_j ** 2).sum())
    if p_e >= 1.0:
        return FleissKappa(nan, nan, nan, p_bar, p_e, n_subjects, n_raters)
    kappa = (p_bar - p_e) / (1 - p_e)
    pq = p_j * (1 - p_j)
    spq = float(pq.sum())
    var = 2 / (spq ** 2 * n_subjects * n_raters * (n_raters - 1)) * (spq ** 2 - float((pq * (1 - 2 * p_j)).sum()))
    z = kappa / np.sqrt(var) if var > 0 else nan
    return FleissKappa(kappa=float(kappa), z=float(z), pvalue=float(2 * stats.norm.sf(abs(z))), p_bar=p_bar,
                       p_e=p_e, n_subjects=n_subjects, n_raters=n_raters)


def _column_moments(x: np.ndarray):
    """n, mean and variance (n - 1) of each column's valid values, without NaN warnings."""
    valid = ~np.isnan(x)
    n = valid.sum(axis=0)
    filled = np.where(valid, x, 0.0)
    mean = safe_divide(filled.sum(axis=0), n)
    dev = np.where(valid, x - np.where(n > 0, mean, 0.0), 0.0)
    var = safe_divide((dev ** 2).sum(axis=0), np.where(n > 1, n - 1, 0))
    return n, mean, var


def rwg(ratings, scale: Scale) -> np.ndarray:
    r"""Within-group agreement :math:`r_{wg}` of each statement against a uniform (no agreement) null.

    .. math::

        r_{wg} = 1 - \frac{s^2}{\sigma_{EU}^2}, \quad \sigma_{EU}^2 = \frac{A^2 - 1}{12}

    with :math:`s^2` the variance (divisor n - 1) and :math:`A` the number of scale points; negative values (more
    spread than the uniform null) are truncated to 0. Fewer than 2 ratings gives NaN.

    References
    ----------
    James LR, Demaree RG, Wolf G (1984). Estimating within-group interrater reliability with and without response
    bias. Journal of Applied Psychology 69:85-98.

    Examples
    --------
    >>> [round(float(v), 4) for v in rwg([[7, 1], [8, 9], [9, 5]], Scale())]
    [0.85, 0.0]
    """
    x = check_ratings(ratings, scale)
    n, _, var = _column_moments(x)
    expected = (scale.n_points ** 2 - 1) / 12
    return np.where(n > 1, np.maximum(1 - var / expected, 0.0), np.nan)


def rwg_j(ratings, scale: Scale) -> float:
    r"""Multi-item agreement :math:`r_{wg(J)}` over the statements.

    .. math::

        r_{wg(J)} = \frac{J(1 - \bar s^2/\sigma_{EU}^2)}{J(1 - \bar s^2/\sigma_{EU}^2) + \bar s^2/\sigma_{EU}^2}

    with :math:`\bar s^2` the mean of the :math:`J` statements' variances (those with at least 2 ratings). When
    :math:`\bar s^2 \geq \sigma_{EU}^2` the formula leaves [0, 1] and the index is set to 0 (LeBreton & Senter 2008).
    No statement with 2 ratings gives NaN.

    References
    ----------
    James LR, Demaree RG, Wolf G (1984). Journal of Applied Psychology 69:85-98.
    LeBreton JM, Senter JL (2008). Answers to 20 questions about interrater reliability and interrater agreement.
    Organizational Research Methods 11:815-852.

    Examples
    --------
    >>> round(rwg_j([[7, 8], [8, 9], [9, 8]], Scale()), 4)
    0.9474
    """
    x = check_ratings(ratings, scale)
    n, _, var = _column_moments(x)
    var = var[n > 1]
    if var.size == 0:
        return float("nan")
    ratio = float(var.mean()) / ((scale.n_points ** 2 - 1) / 12)
    j = var.size
    if ratio >= 1:
        return 0.0
    return j * (1 - ratio) / (j * (1 - ratio) + ratio)


def average_deviation(ratings, around: str = "mean") -> np.ndarray:
    r"""Average deviation index :math:`AD` of each statement.

    .. math::

        AD_{M} = \frac{1}{n} \sum_i |x_i - \bar x| \quad \text{or} \quad AD_{Md} = \frac{1}{n}\sum_i |x_i - Md|

    (divisor n). Fewer than 2 ratings gives NaN.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
    around : {"mean", "median"}

    References
    ----------
    Burke MJ, Finkelstein LM, Dusig MS (1999). On average deviation indices for estimating interrater agreement.
    Organizational Research Methods 2:49-68.

    Examples
    --------
    >>> [round(float(v), 4) for v in average_deviation([[7, 1], [8, 9], [9, 5]])]
    [0.6667, 2.6667]
    >>> [round(float(v), 4) for v in average_deviation([[7, 1], [8, 9], [9, 5]], around="median")]
    [0.6667, 2.6667]
    """
    if around not in ("mean", "median"):
        raise ValueError(f"around: must be 'mean' or 'median', got {around!r}")
    x = check_ratings(ratings)
    if x.shape[0] == 0:
        return np.full(x.shape[1], np.nan)
    n, mean, _ = _column_moments(x)
    if around == "median":
        ordered = np.sort(x, axis=0)  # NaN sorts last
        last = np.maximum(n - 1, 0)
        low = np.take_along_axis(ordered, (last // 2)[None, :], axis=0)[0]
        high = np.take_along_axis(ordered, ((last + 1) // 2)[None, :], axis=0)[0]
        mean = (low + high) / 2
    valid = ~np.isnan(x)
    total = np.where(valid, np.abs(x - np.where(np.isnan(mean), 0.0, mean)), 0.0).sum(axis=0)
    return np.where(n > 1, safe_divide(total, n), np.nan)
