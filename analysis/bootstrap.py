"""Percentile bootstrap intervals for each statement's median and percentage agreement, seeded and reproducible."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scale import Scale, check_ratings

__all__ = ["BootstrapIntervals", "bootstrap_intervals", "resample_indices", "DEFAULT_SEED", "DEFAULT_RESAMPLES"]

DEFAULT_SEED = 20
DEFAULT_RESAMPLES = 2000
# Bytes of resampled tallies held at once; statements are processed in blocks of this size.
_BLOCK_BYTES = 64 * 2 ** 20
# float32 adds whole numbers exactly up to 2**24, so the tallies below are exact for any panel up to that size.
_FLOAT32_EXACT = 2 ** 24


@dataclass(frozen=True, eq=False)
class BootstrapIntervals:
    """Percentile bootstrap intervals per statement (1-D arrays), and what it takes to reproduce them."""

    median_low: np.ndarray
    median_high: np.ndarray
    pct_agree_low: np.ndarray
    pct_agree_high: np.ndarray
    confidence: float
    n_resamples: int
    seed: int
    unable_in_denominator: bool


def resample_indices(n_panellists: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The panellist rows drawn by each resample, shape (n_resamples, n_panellists).

    Exactly ``np.random.default_rng(seed).integers(0, n_panellists, (n_resamples, n_panellists))``: the same draw
    ``scipy.stats.bootstrap`` makes with ``rng=np.random.default_rng(seed)``, so that it can be replayed anywhere.
    """
    return np.random.default_rng(seed).integers(0, n_panellists, (n_resamples, n_panellists))


def _check(n_resamples, confidence, seed) -> tuple[int, float, int]:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples: must be a whole number of at least 1, got {n_resamples!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence: must lie strictly between 0 and 1, got {confidence!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a whole number of at least 0, got {seed!r}")
    return int(n_resamples), float(confidence), int(seed)


def _percentile_interval(theta: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """``np.quantile(..., method="linear")`` at (1 - c)/2 and (1 + c)/2 of each column's defined values; NaN if none."""
    ordered = np.sort(theta, axis=0)  # NaN (an undefined resample statistic) sorts last
    m = (~np.isnan(theta)).sum(axis=0)
    last = np.maximum(m - 1, 0)
    bounds = []
    for q in ((1 - confidence) / 2, (1 + confidence) / 2):
        h = last * q
        below = np.floor(h).astype(np.intp)
        above = np.minimum(below + 1, last)
        a = np.take_along_axis(ordered, below[None, :], axis=0)[0]
        b = np.take_along_axis(ordered, above[None, :], axis=0)[0]
        t = h - below
        value = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)  # numpy's own interpolation
        bounds.append(np.where(m > 0, value, np.nan))
    return bounds[0], bounds[1]


def bootstrap_intervals(ratings, scale: Scale, n_resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95,
                        seed: int = DEFAULT_SEED, unable=None, unable_in_denominator: bool = False
                        ) -> BootstrapIntervals:
    r"""Percentile bootstrap confidence intervals for each statement's median and ``pct_agree``.

    Panellists (rows) are resampled with replacement, the same rows for every statement, so that the intervals of a
    round come from one set of resamples. For resample :math:`b` with :math:`w_{bi}` the number of times panellist
    :math:`i` is drawn, each statement's tallies are

    .. math::

        C_{bvs} = \sum_i w_{bi}\,[x_{is} \le v], \quad
        \hat\theta_{bs} = \mathrm{median}_b,\ 100\,\frac{C_{b,a_2,s} - C_{b,a_1 - 1,s}}{C_{b,\max,s} + U_{bs}}

    with :math:`[a_1, a_2]` the agree band and :math:`U_{bs} = \sum_i w_{bi}\,\mathrm{unable}_{is}` when
    ``unable_in_denominator`` is set (else 0). The interval is the percentile interval (Efron & Tibshirani 1993,
    ch. 13)

    .. math::

        \left[\hat\theta^{*}_{(\alpha/2)},\ \hat\theta^{*}_{(1-\alpha/2)}\right], \quad \alpha = 1 - \mathrm{confidence}

    with quantiles by linear interpolation (Hyndman & Fan type 7, as ``np.quantile`` and ``scipy.stats.bootstrap``).
    A resample in which nobody rated the statement has no median or percentage; it is left out of that statement's
    quantiles (``nan_policy="omit"``), and a statement without any rating gives NaN.

    The draw is ``np.random.default_rng(seed).integers(0, n, (n_resamples, n))`` (:func:`resample_indices`), which is
    what ``scipy.stats.bootstrap(..., method="percentile", rng=np.random.default_rng(seed))`` draws: the same seed
    gives the same intervals here and there. The result records the seed and the number of resamples for the report.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Whole-number ratings on ``scale``; NaN for no rating.
    scale : Scale
    n_resamples : int
        Number of bootstrap resamples (default 2,000).
    confidence : float
        Confidence level, strictly between 0 and 1.
    seed : int
        Seed of ``numpy.random.default_rng`` (default :data:`DEFAULT_SEED` = 20).
    unable : array_like of bool, optional
        Where a panellist answered "unable to rate" (those cells must be NaN in ``ratings``); None means none did.
    unable_in_denominator : bool
        Count "unable to rate" answers in the denominator of ``pct_agree`` (the protocol's
        ``consensus.unable_in_denominator``).

    Returns
    -------
    BootstrapIntervals
        ``median_low``/``median_high`` on the scale, ``pct_agree_low``/``pct_agree_high`` in percent.

    References
    ----------
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, chapter 13.
    Davison AC, Hinkley DV (1997). Bootstrap Methods and their Application. Cambridge University Press, section 5.3.1.

    Examples
    --------
    >>> ratings = [[9, 1], [8, 2], [7, 9], [9, 1], [3, 5], [8, 8]]
    >>> b = bootstrap_intervals(ratings, Scale(), n_resamples=200, seed=1)
    >>> b.median_low.tolist(), b.median_high.tolist()
    ([5.0, 1.0], [9.0, 8.5])
    >>> b.pct_agree_low.round(1).tolist(), b.pct_agree_high.round(1).tolist()
    ([50.0, 0.0], [100.0, 66.7])
    """
    x = check_ratings(ratings, scale)
    n_resamples, confidence, seed = _check(n_resamples, confidence, seed)
    n_rows, n_statements = x.shape
    if unable is not None:
        unable = np.asarray(unable, dtype=bool)
        if unable.shape != x.shape:
            raise ValueError(f"unable: must have the same shape as ratings {x.shape}, got {unable.shape}")
        if (unable & ~np.isnan(x)).any():
            row, col = np.argwhere(unable & ~np.isnan(x))[0]
            raise ValueError(f"unable: panellist row {row + 1}, statement column {col + 1} is marked unable to rate "
                             "but has a rating")
    with_unable = bool(unable_in_denominator) and unable is not None
    nan = np.full(n_statements, np.nan)
    if n_rows == 0 or n_statements == 0:
        return BootstrapIntervals(nan, nan.copy(), nan.copy(), nan.copy(), confidence, n_resamples, seed,
                                  bool(unable_in_denominator))

    # w[b, i]: how often resample b draws panellist i. One bincount for all resamples.
    draws = resample_indices(n_rows, n_resamples, seed)
    draws += (np.arange(n_resamples) * n_rows)[:, None]
    dtype = np.float32 if n_rows < _FLOAT32_EXACT else np.float64
    w = np.bincount(draws.ravel(), minlength=n_resamples * n_rows).reshape(n_resamples, n_rows).astype(dtype)
    del draws

    # Per statement, one indicator column per scale point v ("rated at most v"), the last one "rated at all", and
    # one for "unable to rate"; a single matrix product gives every resample's cumulative tallies.
    thresholds = scale.points
    n_cols = scale.n_points + (1 if with_unable else 0)
    block = max(1, _BLOCK_BYTES // (n_resamples * n_cols * 8))
    median, pct_agree = np.empty((n_resamples, n_statements)), np.empty((n_resamples, n_statements))
    a_low, a_high = scale.agree[0] - scale.min, scale.agree[1] - scale.min
    for start in range(0, n_statements, block):  # blocks of statements bound the memory; each block is vectorised
        xs = x[:, start:start + block]
        k = xs.shape[1]
        with np.errstate(invalid="ignore"):
            indicators = xs[:, :, None] <= thresholds[None, None, :]  # (rows, statements, points); NaN is False
        if with_unable:
            indicators = np.concatenate([indicators, unable[:, start:start + block, None]], axis=2)
        products = w @ indicators.reshape(n_rows, k * n_cols).astype(dtype)
        cum = products.astype(np.float64).reshape(n_resamples, k, n_cols)  # whole numbers, exact in float32
        rated = cum[:, :, scale.n_points - 1]
        order = cum[:, :, :scale.n_points]
        # the two middle order statistics (0-based ranks floor((n-1)/2) and floor(n/2)): a value's position is the
        # number of scale points whose cumulative tally does not exceed the rank
        low_rank = np.floor((rated - 1) / 2)[:, :, None]
        high_rank = np.floor(rated / 2)[:, :, None]
        middle = ((order <= low_rank).sum(axis=2) + (order <= high_rank).sum(axis=2)) / 2 + scale.min
        median[:, start:start + k] = np.where(rated > 0, middle, np.nan)
        agree = order[:, :, a_high] - (order[:, :, a_low - 1] if a_low > 0 else 0)
        denominator = rated + (cum[:, :, scale.n_points] if with_unable else 0)
        share = np.full(agree.shape, np.nan)
        np.divide(agree, denominator, out=share, where=denominator > 0)
        pct_agree[:, start:start + k] = 100 * share
    median_low, median_high = _percentile_interval(median, confidence)
    agree_low, agree_high = _percentile_interval(pct_agree, confidence)
    return BootstrapIntervals(median_low=median_low, median_high=median_high, pct_agree_low=agree_low,
                              pct_agree_high=agree_high, confidence=confidence, n_resamples=n_resamples, seed=seed,
                              unable_in_denominator=bool(unable_in_denominator))
