"""Counting machinery shared by the statistics: tallies of each value per statement (and per group), order statistics
and mid-ranks read off those tallies, and dense per-column value codes for data that is not on a known scale.

Every per-statement statistic in this package is computed from a tally ``counts[group, value, statement]`` built with
one ``np.bincount`` over the whole matrix, so nothing loops over statements and nothing sorts a rating matrix whose
values are known to lie on a scale.
"""
from __future__ import annotations

import numpy as np

QUANTILE_METHODS = (
    "linear", "weibull", "hazen", "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf",
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation",
)
# numpy's (alpha, beta) plotting positions for the continuous Hyndman-Fan types 4, 5, 6, 8 and 9.
_ALPHA_BETA = {
    "interpolated_inverted_cdf": (0.0, 1.0), "hazen": (0.5, 0.5), "weibull": (0.0, 0.0),
    "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0),
}


def check_quantile_method(method: str) -> None:
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantile_method: {method!r} is not one of {', '.join(QUANTILE_METHODS)} "
                         "(numpy's names for Hyndman & Fan's types 1-9)")


def group_index(groups, n_rows: int, keys=None) -> tuple[np.ndarray, list]:
    """Map a 1-D array of group labels to integer codes ``0..G-1`` (in the order of ``keys``, default sorted labels)."""
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise ValueError(f"groups: must be a 1-D array with one label per panellist row ({n_rows}), "
                         f"got shape {labels.shape}")
    if keys is None:
        keys = sorted(set(labels.tolist()), key=lambda k: (str(type(k)), k))
    lookup = {key: i for i, key in enumerate(keys)}
    unknown = sorted({str(v) for v in labels.tolist() if v not in lookup})
    if unknown:
        raise ValueError(f"groups: unknown group label(s) {', '.join(unknown)}; known: {', '.join(map(str, keys))}")
    return np.fromiter((lookup[v] for v in labels.tolist()), dtype=np.intp, count=n_rows), list(keys)


def code_counts(codes: np.ndarray, n_codes: int, groups: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
    """``counts[g, u, s]``: how many rows of group ``g`` have code ``u`` in column ``s``; code ``-1`` is not counted."""
    n_rows, n_cols = codes.shape
    slot = np.where(codes < 0, n_codes, codes)  # one extra slot collects the missing values, dropped below
    if groups is not None:
        slot = slot + (groups * (n_codes + 1))[:, None]
    flat = slot * n_cols + np.arange(n_cols)
    counts = np.bincount(flat.ravel(), minlength=n_groups * (n_codes + 1) * n_cols)
    return counts.reshape(n_groups, n_codes + 1, n_cols)[:, :n_codes, :]


def value_counts(x: np.ndarray, low: float, n_codes: int, groups: np.ndarray | None = None,
                 n_groups: int = 1) -> np.ndarray:
    """``counts[g, u, s]``: how many rows of group ``g`` have the value ``low + u`` in column ``s``, for whole-number
    data already checked to lie in ``low .. low + n_codes - 1``; NaN is not counted. One ``np.bincount``."""
    n_rows, n_cols = x.shape
    index = x - low
    if groups is not None:
        index += (groups * n_codes)[:, None]
    index *= n_cols
    index += np.arange(n_cols)
    total = n_groups * n_codes * n_cols
    np.nan_to_num(index, copy=False, nan=total)  # NaN goes to one extra bin, dropped below
    counts = np.bincount(index.astype(np.intp).ravel(), minlength=total + 1)
    return counts[:total].reshape(n_groups, n_codes, n_cols)


def scale_codes(x: np.ndarray, vmin: int, n_points: int) -> np.ndarray:
    """Codes ``rating - min`` of ratings already checked to lie on the scale; -1 for NaN."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(x), -1, x - vmin).astype(np.intp)


def column_codes(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of each column's distinct values in increasing order (-1 for NaN), and the largest count of
    distinct values in a column. One stable sort of the matrix; NaN sorts last."""
    n_rows, n_cols = x.shape
    if x.size == 0:
        return np.full(x.shape, -1, dtype=np.intp), 0
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    new = np.ones(xs.shape, dtype=bool)
    new[1:] = xs[1:] != xs[:-1]
    dense = np.cumsum(new, axis=0) - 1
    dense[np.isnan(xs)] = -1
    codes = np.empty_like(dense)
    np.put_along_axis(codes, order, dense, axis=0)
    return codes, int(dense.max()) + 1


def midranks(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks (1-based) of each value from tallies ``t[u, s]`` of increasing values, and the tie term
    ``sum(t**3 - t)`` per column."""
    t = t.astype(float)
    below = np.cumsum(t, axis=0) - t
    return below + (t + 1) / 2, (t ** 3 - t).sum(axis=0)


def order_statistic(cum: np.ndarray, k: np.ndarray, vmin: float) -> np.ndarray:
    """The ``k``-th smallest value (0-based) of each column, from inclusive cumulative tallies ``cum[u, s]`` of the
    values ``vmin, vmin + 1, ...``."""
    return vmin + (cum <= k).sum(axis=0)


def _lerp(a, b, t):
    # numpy's own interpolation, so that results agree with np.quantile to the last bit
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def quantile_from_counts(cum: np.ndarray, n: np.ndarray, q: float, method: str, vmin: float) -> np.ndarray:
    """``np.quantile(column, q, method=method)`` of every column, read off cumulative tallies; NaN where ``n == 0``.

    Replicates numpy's virtual index, clipping and interpolation for Hyndman & Fan's nine types.
    """
    nf = n.astype(float)
    last = np.maximum(n - 1, 0)
    if method in ("inverted_cdf", "closest_observation"):
        index = nf * q - 1 if method == "inverted_cdf" else nf * q - 1 - 0.5
        previous = np.floor(index)
        gamma = index - previous
        take_previous = gamma == 0
        if method == "closest_observation":
            take_previous &= previous % 2 == 1
        k = np.clip(np.where(take_previous, previous, previous + 1), 0, last).astype(np.intp)
        value = order_statistic(cum, k, vmin).astype(float)
    else:
        if method == "linear":
            h = (nf - 1) * q
        elif method == "averaged_inverted_cdf":
            h = nf * q - 1
        else:
            alpha, beta = _ALPHA_BETA[method]
            h = nf * q + (alpha + q * (1 - alpha - beta)) - 1
        previous = np.floor(h)
        above, below_zero = h >= nf - 1, h < 0
        prev_k = np.where(above, last, np.where(below_zero, 0, previous))
        next_k = np.where(above, last, np.where(below_zero, 0, previous + 1))
        prev_k = np.clip(prev_k, 0, last).astype(np.intp)
        next_k = np.clip(next_k, 0, last).astype(np.intp)
        gamma = h - np.where(above, -1, np.where(below_zero, 0, previous))
        if method == "averaged_inverted_cdf":
            gamma = np.where(gamma == 0, 0.5, 1.0)
        a = order_statistic(cum, prev_k, vmin).astype(float)
        b = order_statistic(cum, next_k, vmin).astype(float)
        value = _lerp(a, b, gamma)
    return np.where(n > 0, value, np.nan)


def median_from_counts(cum: np.ndarray, n: np.ndarray, vmin: float) -> np.ndarray:
    """The usual median (mean of the two middle ratings when n is even); NaN where ``n == 0``."""
    return quantile_from_counts(cum, n, 0.5, "linear", vmin)


def safe_divide(num, den) -> np.ndarray:
    """``num / den`` with NaN wherever ``den == 0`` (no warning)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out
