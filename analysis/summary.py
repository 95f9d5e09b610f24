"""Summary figures per statement: n, median, quartiles, IQR, mean, SD, CV and the percentages in each band."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._tally import (
    check_quantile_method,
    group_index,
    median_from_counts,
    quantile_from_counts,
    safe_divide,
    value_counts,
)
from .intervals import wilson_interval
from .scale import Scale, check_ratings

__all__ = ["Summary", "summarise", "summarise_equal_groups", "summary_from_counts", "equal_groups_from_counts",
           "check_unable"]


@dataclass(frozen=True, eq=False)
class Summary:
    """Per-statement summary figures; every field is a 1-D array with one entry per statement.

    ``n`` and ``n_missing`` are integers; everything else is float with NaN where undefined. Percentages are 0-100.
    """

    n: np.ndarray
    n_missing: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    iqr: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    cv: np.ndarray
    pct_agree: np.ndarray
    pct_neutral: np.ndarray
    pct_disagree: np.ndarray
    agree_ci_low: np.ndarray
    agree_ci_high: np.ndarray


def _band_count(t: np.ndarray, scale: Scale, band: tuple[int, int]) -> np.ndarray:
    low, high = band[0] - scale.min, band[1] - scale.min
    if low > high:
        return np.zeros(t.shape[1], dtype=np.int64)
    return t[low:high + 1].sum(axis=0)


def summary_from_counts(t: np.ndarray, n_rows: int, scale: Scale, quantile_method: str = "linear",
                        n_unable=None) -> Summary:
    """The :class:`Summary` of one scope from its tally ``t[v, s]`` of ratings ``scale.min + v`` per statement.

    This is what :func:`summarise` computes after tallying; the app and :func:`analysis.round.compute_round` call it to
    reuse one tally for several scopes. ``n_unable`` (per statement), when given, is added to the denominator of the
    three percentages and of the Wilson interval (the protocol's ``unable_in_denominator``).
    """
    check_quantile_method(quantile_method)
    n = t.sum(axis=0)
    denominator = n if n_unable is None else n + np.asarray(n_unable)
    cum = np.cumsum(t, axis=0)
    q1 = quantile_from_counts(cum, n, 0.25, quantile_method, scale.min)
    q3 = quantile_from_counts(cum, n, 0.75, quantile_method, scale.min)
    points = scale.points[:, None]
    mean = safe_divide((points * t).sum(axis=0), n)
    with np.errstate(invalid="ignore"):
        squares = (t * (points - mean) ** 2).sum(axis=0)
    sd = np.sqrt(safe_divide(squares, np.where(n > 1, n - 1, 0)))
    agree = _band_count(t, scale, scale.agree)
    low, high = wilson_interval(agree, denominator)
    return Summary(
        n=n.astype(np.int64), n_missing=(n_rows - n).astype(np.int64),
        median=median_from_counts(cum, n, scale.min), q1=q1, q3=q3, iqr=q3 - q1,
        mean=mean, sd=sd, cv=safe_divide(sd, mean),
        pct_agree=100 * safe_divide(agree, denominator),
        pct_neutral=100 * safe_divide(_band_count(t, scale, scale.neutral), denominator),
        pct_disagree=100 * safe_divide(_band_count(t, scale, scale.disagree), denominator),
        agree_ci_low=100 * low, agree_ci_high=100 * high,
    )


def check_unable(unable, x: np.ndarray, name: str = "unable") -> np.ndarray | None:
    """``unable`` (or another answer that is not a rating, named ``name``) as a boolean array shaped like ``x`` (None
    stays None); ``ValueError`` if it marks a rated cell."""
    if unable is None:
        return None
    u = np.asarray(unable, dtype=bool)
    if u.shape != x.shape:
        raise ValueError(f"{name}: must have the same shape as ratings {x.shape}, got {u.shape}")
    rated = u & ~np.isnan(x)
    if rated.any():
        row, col = np.argwhere(rated)[0]
        what = "unable to rate" if name == "unable" else f"\"{name}\""
        raise ValueError(f"{name}: panellist row {row + 1}, statement column {col + 1} is marked {what} "
                         "but has a rating")
    return u


def summarise(ratings, scale: Scale, quantile_method: str = "linear", unable=None,
              unable_in_denominator: bool = False) -> Summary:
    r"""Summary figures of each statement (column) from the valid ratings.

    Quartiles follow numpy's ``method`` (Hyndman & Fan 1996): ``"linear"`` (type 7, the default of R, numpy and
    Excel ``PERCENTILE.INC``), ``"weibull"`` (type 6, SPSS), and the other seven types by numpy's names. The median is
    always the usual one (the mean of the two middle ratings when n is even). With :math:`x_i` the n valid ratings:

    .. math::

        \bar x = \frac{1}{n}\sum x_i, \quad s = \sqrt{\frac{\sum (x_i - \bar x)^2}{n - 1}}, \quad
        CV = s / \bar x, \quad \mathrm{pct\_agree} = 100\,\frac{\#\{x_i \in \mathrm{agree}\}}{n}

    ``agree_ci_low`` / ``agree_ci_high`` are the 95% Wilson interval of ``pct_agree`` (in percent).

    By default "unable to rate" counts in no statistic. With ``unable_in_denominator=True`` (the protocol's
    ``consensus.unable_in_denominator``) the :math:`u` "unable to rate" answers join the denominator of the three
    percentages and of the Wilson interval, :math:`\mathrm{pct\_agree} = 100\,\#\{x_i \in \mathrm{agree}\}/(n + u)`;
    every other figure, ``n`` included, still uses the n valid ratings.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Whole-number ratings on ``scale``; NaN for no rating.
    scale : Scale
    quantile_method : str
    unable : array_like of bool, optional
        Where a panellist answered "unable to rate" (NaN in ``ratings``); None means nobody did.
    unable_in_denominator : bool
        Count those answers in the denominator of the percentages.

    Returns
    -------
    Summary

    References
    ----------
    Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages. The American Statistician 50:361-365.

    Examples
    --------
    >>> s = summarise([[9, 1], [8, np.nan], [7, 2], [3, np.nan]], Scale())
    >>> s.n.tolist(), s.median.tolist(), s.iqr.tolist(), s.pct_agree.tolist()
    ([4, 2], [7.5, 1.5], [2.25, 0.5], [75.0, 0.0])
    >>> round(float(s.sd[0]), 4)
    2.63
    >>> unable = [[False, False], [False, True], [False, False], [False, False]]
    >>> summarise([[9, 1], [8, np.nan], [7, 2], [3, np.nan]], Scale(), unable=unable,
    ...           unable_in_denominator=True).pct_disagree.round(2).tolist()
    [25.0, 66.67]
    """
    x = check_ratings(ratings, scale)
    check_quantile_method(quantile_method)
    u = check_unable(unable, x)
    t = value_counts(x, scale.min, scale.n_points)[0]
    n_unable = u.sum(axis=0) if (unable_in_denominator and u is not None) else None
    return summary_from_counts(t, x.shape[0], scale, quantile_method, n_unable)


def equal_groups_from_counts(counts: np.ndarray, n_rows: int, scale: Scale, n_unable=None) -> Summary:
    """The equal-groups :class:`Summary` from per-group tallies ``counts[g, v, s]`` (see :func:`summarise_equal_groups`).

    ``n_unable[g, s]``, when given, joins each group's denominator of the percentages."""
    n_g = counts.sum(axis=1)  # (groups, statements)
    denominator = n_g if n_unable is None else n_g + np.asarray(n_unable)
    rated = n_g > 0
    n_rated = rated.sum(axis=0)
    points = scale.points[None, :, None]
    mean_g = safe_divide((points * counts).sum(axis=1), n_g)

    def equal_mean(per_group):
        return safe_divide(np.where(rated, per_group, 0).sum(axis=0), n_rated)

    def pct(band):
        return 100 * equal_mean(safe_divide(np.stack([_band_count(c, scale, band) for c in counts]), denominator))

    n = n_g.sum(axis=0)
    nan = np.full(n.shape, np.nan)
    return Summary(
        n=n.astype(np.int64), n_missing=(n_rows - n).astype(np.int64),
        median=nan, q1=nan.copy(), q3=nan.copy(), iqr=nan.copy(), mean=equal_mean(mean_g), sd=nan.copy(),
        cv=nan.copy(), pct_agree=pct(scale.agree), pct_neutral=pct(scale.neutral),
        pct_disagree=pct(scale.disagree), agree_ci_low=nan.copy(), agree_ci_high=nan.copy(),
    )


def summarise_equal_groups(ratings, groups, scale: Scale, unable=None, unable_in_denominator: bool = False) -> Summary:
    r"""Summary figures in which every stakeholder group weighs the same, whatever its size.

    For each statement, with :math:`G` the groups having at least one valid rating on it,

    .. math::

        \mathrm{pct\_agree} = \frac{1}{|G|}\sum_{g \in G} \mathrm{pct\_agree}_g, \quad
        \mathrm{mean} = \frac{1}{|G|}\sum_{g \in G} \bar x_g

    and likewise ``pct_neutral`` and ``pct_disagree``. ``n`` is the total number of valid ratings and ``n_missing`` the
    number of rows without one. Order statistics (median, quartiles, IQR), ``sd``, ``cv`` and the Wilson interval have
    no equal-weight counterpart here and are NaN. With ``unable_in_denominator=True`` each group's "unable to rate"
    answers join that group's denominator (see :func:`summarise`); which groups count is unchanged.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
    groups : array_like, shape (panellists,)
        The group label (string or int) of each row.
    scale : Scale
    unable : array_like of bool, optional
    unable_in_denominator : bool

    Returns
    -------
    Summary

    References
    ----------
    The protocol's ``equal_groups`` scope (``protocol.md``); cf. Jünger S et al. (2017), Guidance on Conducting and
    REporting DElphi Studies (CREDES), Palliative Medicine 31:684-706, on weighting stakeholder groups.

    Examples
    --------
    >>> ratings = [[9], [9], [9], [1]]   # three staff agree, the one service user does not
    >>> s = summarise_equal_groups(ratings, ["staff", "staff", "staff", "user"], Scale())
    >>> float(s.pct_agree[0]), float(s.mean[0]), int(s.n[0])
    (50.0, 5.0, 4)
    """
    x = check_ratings(ratings, scale)
    g, keys = group_index(groups, x.shape[0])
    u = check_unable(unable, x)
    counts = value_counts(x, scale.min, scale.n_points, g, len(keys))
    n_unable = None
    if unable_in_denominator and u is not None:
        n_unable = value_counts(np.where(u, 0.0, np.nan), 0, 1, g, len(keys))[:, 0, :]
    return equal_groups_from_counts(counts, x.shape[0], scale, n_unable)
