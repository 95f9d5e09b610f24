"""Two-sided p-values of the Wilcoxon signed-rank and rank-sum statistics as R's ``wilcox.test`` computes them by
default: the exact null distribution (R's ``psignrank`` / ``pwilcox``) or the normal approximation with continuity
correction."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats


@lru_cache(maxsize=64)
def _signrank_cdf(n: int) -> np.ndarray:
    """P(V <= v) for v = 0..n(n+1)/2: V is the sum of a random subset of the ranks 1..n."""
    ways = np.zeros(n * (n + 1) // 2 + 1)
    ways[0] = 1.0
    for rank in range(1, n + 1):
        ways[rank:] = ways[rank:] + ways[:-rank]
    return np.cumsum(ways) / 2.0 ** n


@lru_cache(maxsize=64)
def _ranksum_cdf(m: int, n: int) -> np.ndarray:
    """P(W <= w) for w = 0..mn, W = (sum of the first sample's ranks) - m(m+1)/2 with no ties."""
    total = m + n
    top = sum(range(n + 1, total + 1))
    ways = np.zeros((m + 1, top + 1))  # ways[j, s]: subsets of size j of the ranks so far summing to s
    ways[0, 0] = 1.0
    for rank in range(1, total + 1):
        ways[1:, rank:] = ways[1:, rank:] + ways[:-1, :-rank]
    counts = ways[m, m * (m + 1) // 2: m * (m + 1) // 2 + m * n + 1]
    return np.cumsum(counts) / counts.sum()


def _two_sided(cdf: np.ndarray, statistic: float, centre: float) -> float:
    # R: p <- if (STATISTIC > centre) P(X >= STATISTIC) else P(X <= STATISTIC); min(2p, 1)
    s = int(round(statistic))
    if statistic > centre:
        p = 1.0 - (cdf[s - 1] if s >= 1 else 0.0)
    else:
        p = cdf[s]
    return min(2.0 * p, 1.0)


def signrank_exact_p(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Exact two-sided p of the signed-rank statistic ``v`` with ``n`` non-zero untied differences (elementwise).

    Loops over the statements that need it (at most those with fewer than 50 pairs and no ties), never over a panel.
    """
    out = np.empty(len(v))
    for i, (vi, ni) in enumerate(zip(v.tolist(), n.tolist())):
        out[i] = _two_sided(_signrank_cdf(int(ni)), vi, ni * (ni + 1) / 4)
    return out


def ranksum_exact_p(w: np.ndarray, m: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Exact two-sided p of the rank-sum statistic ``w`` (U of the first sample) for sizes ``m``, ``n``."""
    out = np.empty(len(w))
    for i, (wi, mi, ni) in enumerate(zip(w.tolist(), m.tolist(), n.tolist())):
        out[i] = _two_sided(_ranksum_cdf(int(mi), int(ni)), wi, mi * ni / 2)
    return out


def normal_p(statistic: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Two-sided normal p with continuity correction ``sign(z) / 2``; NaN where the variance is not positive."""
    diff = statistic - mean
    sd = np.sqrt(np.where(variance > 0, variance, np.nan))
    with np.errstate(invalid="ignore"):
        z = (diff - np.sign(diff) * 0.5) / sd
    return 2 * stats.norm.sf(np.abs(z))
