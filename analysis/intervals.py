"""Confidence intervals for a proportion."""
from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["wilson_interval"]


def wilson_interval(k, n, confidence: float = 0.95, correction: bool = False):
    r"""Wilson score interval for the proportion ``k / n``, optionally with continuity correction.

    .. math::

        \frac{2np + z^2 \mp z\sqrt{z^2 + 4np(1-p)}}{2(n + z^2)}

    and, with ``correction=True`` (Newcombe 1998, method 4),

    .. math::

        L = \frac{2np + z^2 - 1 - z\sqrt{z^2 - 2 - 1/n + 4p(n(1-p) + 1)}}{2(n + z^2)}, \quad
        U = \frac{2np + z^2 + 1 + z\sqrt{z^2 + 2 - 1/n + 4p(n(1-p) - 1)}}{2(n + z^2)}

    with :math:`L = 0` when :math:`k = 0` and :math:`U = 1` when :math:`k = n`. Unlike R's ``prop.test``, the
    correction is applied at :math:`k = n/2` too, as in Newcombe's paper.

    Parameters
    ----------
    k, n : int or array_like of int
        Successes and trials (vectorised, broadcast together). ``n == 0`` gives NaN.
    confidence : float
        Confidence level, strictly between 0 and 1.
    correction : bool
        Apply Newcombe's continuity correction.

    Returns
    -------
    (low, high) : tuple of float or of ndarray
        The bounds as proportions, clipped to [0, 1].

    References
    ----------
    Wilson EB (1927). Probable inference, the law of succession, and statistical inference. JASA 22:209-212.
    Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of seven methods.
    Statistics in Medicine 17:857-872.

    Examples
    --------
    >>> low, high = wilson_interval(81, 263)
    >>> round(low, 4), round(high, 4)
    (0.2553, 0.3662)
    >>> low, high = wilson_interval(81, 263, correction=True)
    >>> round(low, 4), round(high, 4)
    (0.2535, 0.3682)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must lie strictly between 0 and 1, got {confidence!r}")
    scalar = np.ndim(k) == 0 and np.ndim(n) == 0
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
    if np.isnan(k_arr).any() or np.isnan(n_arr).any():
        raise ValueError("wilson_interval: k and n must be numbers, not NaN")
    if (k_arr != np.round(k_arr)).any() or (n_arr != np.round(n_arr)).any():
        raise ValueError("wilson_interval: k and n must be whole numbers (counts)")
    if (k_arr < 0).any() or (k_arr > n_arr).any():
        raise ValueError("wilson_interval: k must lie between 0 and n")
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    z2 = z * z
    defined = n_arr > 0
    nn = np.where(defined, n_arr, 1.0)
    p = k_arr / nn
    denominator = 2 * (nn + z2)
    if not correction:
        centre = 2 * nn * p + z2
        half = z * np.sqrt(z2 + 4 * nn * p * (1 - p))
        low, high = (centre - half) / denominator, (centre + half) / denominator
    else:
        centre = 2 * nn * p + z2
        low_root = np.maximum(z2 - 2 - 1 / nn + 4 * p * (nn * (1 - p) + 1), 0)
        high_root = np.maximum(z2 + 2 - 1 / nn + 4 * p * (nn * (1 - p) - 1), 0)
        low = (centre - 1 - z * np.sqrt(low_root)) / denominator
        high = (centre + 1 + z * np.sqrt(high_root)) / denominator
        low = np.where(k_arr == 0, 0.0, low)
        high = np.where(k_arr == nn, 1.0, high)
    low = np.where(defined, np.clip(low, 0, 1), np.nan)
    high = np.where(defined, np.clip(high, 0, 1), np.nan)
    if scalar:
        return float(low), float(high)
    return low, high
