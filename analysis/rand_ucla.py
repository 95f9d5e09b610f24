"""The RAND/UCLA Appropriateness Method: appropriateness and disagreement by the IPRAS rule."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._tally import check_quantile_method, median_from_counts, quantile_from_counts, value_counts
from .scale import Scale, check_ratings

__all__ = ["RandUcla", "rand_ucla", "rand_ucla_from_counts", "TOLERANCE"]

TOLERANCE = 1e-9
NINE_POINT = Scale(min=1, max=9, agree=(7, 9), disagree=(1, 3))


@dataclass(frozen=True, eq=False)
class RandUcla:
    """RAND/UCLA figures per statement (1-D arrays). ``appropriateness`` holds ``"appropriate"``, ``"uncertain"``,
    ``"inappropriate"``, or ``""`` for a statement with no ratings."""

    median: np.ndarray
    p30: np.ndarray
    p70: np.ndarray
    ipr: np.ndarray
    iprcp: np.ndarray
    asymmetry: np.ndarray
    ipras: np.ndarray
    disagreement: np.ndarray
    appropriateness: np.ndarray


def rand_ucla_from_counts(t: np.ndarray, quantile_method: str = "linear") -> RandUcla:
    """:func:`rand_ucla` from a tally ``t[v, s]`` of the ratings ``1 + v`` (v = 0..8) per statement."""
    check_quantile_method(quantile_method)
    n = t.sum(axis=0)
    cum = np.cumsum(t, axis=0)
    median = median_from_counts(cum, n, 1)
    p30 = quantile_from_counts(cum, n, 0.30, quantile_method, 1)
    p70 = quantile_from_counts(cum, n, 0.70, quantile_method, 1)
    ipr = p70 - p30
    iprcp = (p30 + p70) / 2
    asymmetry = np.abs(5 - iprcp)
    ipras = 2.35 + 1.5 * asymmetry
    with np.errstate(invalid="ignore"):
        disagreement = ipr > ipras + TOLERANCE
        appropriate = (median >= 7) & ~disagreement
        inappropriate = (median <= 3) & ~disagreement
    verdict = np.where(appropriate, "appropriate", np.where(inappropriate, "inappropriate", "uncertain"))
    verdict = np.where(n > 0, verdict, "")
    return RandUcla(median=median, p30=p30, p70=p70, ipr=ipr, iprcp=iprcp, asymmetry=asymmetry, ipras=ipras,
                    disagreement=disagreement, appropriateness=verdict.astype("<U13"))


def rand_ucla(ratings, quantile_method: str = "linear") -> RandUcla:
    r"""Appropriateness and disagreement of each statement by the RAND/UCLA method (1-9 scale only).

    .. math::

        IPR = P_{70} - P_{30}, \quad IPRCP = \frac{P_{30} + P_{70}}{2}, \quad AI = |5 - IPRCP|, \quad
        IPRAS = 2.35 + 1.5\,AI

    A statement shows *disagreement* when :math:`IPR > IPRAS`. Exact ties :math:`IPR = IPRAS` occur with whole-number
    ratings and interpolated percentiles, and floating point may put either side ahead, so the comparison is
    ``IPR > IPRAS + 1e-9``: a tie is *not* disagreement. A statement is *appropriate* when its median
    is at least 7 without disagreement, *inappropriate* when its median is at most 3 without disagreement, and
    *uncertain* otherwise (so medians 3.5 and 6.5 are uncertain). Percentiles use numpy's ``quantile_method``.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
        Whole numbers from 1 to 9; NaN for no rating.
    quantile_method : str

    Returns
    -------
    RandUcla

    References
    ----------
    Fitch K, Bernstein SJ, Aguilar MD, et al. (2001). The RAND/UCLA Appropriateness Method User's Manual. RAND,
    Santa Monica, chapter 7.

    Examples
    --------
    >>> r = rand_ucla([[9, 1], [8, 9], [7, 1], [8, 9], [9, 5]])
    >>> r.appropriateness.tolist(), r.disagreement.tolist()
    (['appropriate', 'uncertain'], [False, True])
    >>> round(float(r.ipr[1]), 4), round(float(r.ipras[1]), 4)
    (6.4, 2.35)
    """
    x = check_ratings(ratings, NINE_POINT)
    check_quantile_method(quantile_method)
    t = value_counts(x, 1, 9)[0]
    return rand_ucla_from_counts(t, quantile_method)
