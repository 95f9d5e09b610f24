"""Krippendorff's alpha for nominal, ordinal, interval and ratio data, with missing values."""
from __future__ import annotations

import numpy as np

from ._tally import code_counts, value_counts
from .scale import check_ratings

__all__ = ["krippendorff_alpha", "alpha_from_counts", "LEVELS"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
_DENSE_RANGE = 10_000  # whole-number data spanning at most this many values is tallied without sorting


def _value_tally(x: np.ndarray):
    """The candidate values and ``counts[u, c]``: how often unit (column) ``u`` has value ``c``. Whole-number data over
    a modest range is tallied with one ``np.bincount``; anything else goes through ``np.unique``."""
    low, high = float(np.nanmin(x)), float(np.nanmax(x))
    if high - low < _DENSE_RANGE and np.array_equal(x, np.round(x), equal_nan=True):
        span = int(high - low) + 1
        return low + np.arange(span, dtype=float), value_counts(x, low, span)[0].T
    valid = ~np.isnan(x)
    values, inverse = np.unique(x[valid], return_inverse=True)
    codes = np.full(x.shape, -1, dtype=np.intp)
    codes[valid] = inverse
    return values, code_counts(codes, len(values))[0].T


def _distance(level: str, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """The squared difference function delta^2 of Krippendorff (2011), section E."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ratio":
        diff, total = values[:, None] - values[None, :], values[:, None] + values[None, :]
        out = np.zeros_like(diff)
        np.divide(diff, total, out=out, where=total != 0)
        return out ** 2
    cum = np.cumsum(n_c)
    low, high = np.minimum.outer(np.arange(len(values)), np.arange(len(values))), \
        np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cum[high] - cum[low] + n_c[low]  # sum of n_g for g from c to k
    return (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2


def krippendorff_alpha(ratings, level: str = "ordinal") -> float:
    r"""Krippendorff's alpha reliability: panellists are the coders, statements the units.

    From the coincidence matrix :math:`o_{ck} = \sum_u \frac{n_{uc} n_{uk} - [c = k] n_{uc}}{m_u - 1}` over the units
    with :math:`m_u \geq 2` values (units with fewer are unpairable and left out), its marginals :math:`n_c` and
    :math:`n = \sum_c n_c`:

    .. math::

        \alpha = 1 - (n - 1)\frac{\sum_{c,k} o_{ck}\,\delta^2_{ck}}{\sum_{c,k} n_c n_k\,\delta^2_{ck}}

    with :math:`\delta^2_{ck}` = :math:`[c \neq k]` (nominal), :math:`(c - k)^2` (interval),
    :math:`((c-k)/(c+k))^2` (ratio) and :math:`(\sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2` (ordinal, from the marginal
    frequencies of the values present). NaN when no unit is pairable or only one value occurs.

    Vectorised: one tally of values per unit, then matrix products of size units x values^2.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Any finite numbers; NaN for no rating.
    level : {"nominal", "ordinal", "interval", "ratio"}

    Returns
    -------
    float

    References
    ----------
    Krippendorff K (2011). Computing Krippendorff's alpha-reliability. Annenberg School for Communication,
    University of Pennsylvania. https://repository.upenn.edu/asc_papers/43

    Examples
    --------
    >>> ratings = [[1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan],
    ...            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5],
    ...            [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5]]
    >>> round(krippendorff_alpha(ratings, "interval"), 4)
    0.8621
    """
    if level not in LEVELS:
        raise ValueError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    x = check_ratings(ratings)
    if not ((~np.isnan(x)).sum(axis=0) >= 2).any():
        return float("nan")
    values, counts = _value_tally(x)
    return alpha_from_counts(values, counts, level)


def alpha_from_counts(values: np.ndarray, counts: np.ndarray, level: str = "ordinal") -> float:
    """Krippendorff's alpha from ``counts[u, c]``, how often unit ``u`` has ``values[c]`` (increasing values)."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts.sum(axis=1) >= 2]
    used = counts.sum(axis=0) > 0
    values, counts = np.asarray(values, dtype=float)[used], counts[:, used]
    if len(values) < 2:
        return float("nan")
    m_u = counts.sum(axis=1)
    n_c = counts.sum(axis=0)
    n = n_c.sum()
    delta = _distance(level, values, n_c)
    observed = float((((counts @ delta) * counts).sum(axis=1) / (m_u - 1)).sum())
    expected = float(n_c @ delta @ n_c)
    if expected == 0:
        return float("nan")
    return float(1.0 - (n - 1) * observed / expected)
