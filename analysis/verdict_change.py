"""Stability of the classification between rounds: which statements changed verdict (consensus in, out, none)."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ._tally import safe_divide

__all__ = ["VERDICTS", "VerdictChange", "verdict_changes"]

VERDICTS = ("in", "out", "none")


@dataclass(frozen=True, eq=False)
class VerdictChange:
    """Per-statement verdict change between two rounds (1-D arrays), and the totals.

    ``compared`` is True where the statement has a verdict in both rounds; ``changed`` where those verdicts differ.
    ``transitions[(before, after)]`` counts the compared statements going from one verdict to the other (all nine
    pairs, zeros included, in the order of :data:`VERDICTS`).
    """

    before: np.ndarray
    after: np.ndarray
    compared: np.ndarray
    changed: np.ndarray
    n_compared: int
    n_changed: int
    pct_changed: float
    transitions: MappingProxyType


def _as_verdicts(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=object)
    if v.ndim != 1:
        raise ValueError(f"{name}: must be a 1-D sequence of verdicts, one per statement, got {v.ndim} dimension(s)")
    v = np.array(["" if item is None else str(item) for item in v.tolist()], dtype=object)
    stray = sorted(set(v.tolist()) - set(VERDICTS) - {""})
    if stray:
        raise ValueError(f"{name}: unknown verdict(s) {', '.join(map(repr, stray))}; known: "
                         f"{', '.join(map(repr, VERDICTS))}, or '' for a statement not classified in that round")
    return v


def verdict_changes(before, after) -> VerdictChange:
    r"""Compare each statement's verdict in two rounds.

    A statement is *compared* when it was classified in both rounds (``""`` or None marks a statement not classified
    in a round, such as one added or dropped); with :math:`C` the compared statements,

    .. math::

        \mathrm{pct\_changed} = 100\,\frac{\#\{s \in C : v_s^{before} \ne v_s^{after}\}}{|C|}

    NaN when nothing is compared. A high share of changed verdicts means the classification has not settled, which
    is what stopping rules based on stability of the results look at (Dajani et al. 1979; von der Gracht 2012).

    Parameters
    ----------
    before, after : sequence of str, shape (statements,)
        Verdicts ``"in"``, ``"out"``, ``"none"`` (as :func:`analysis.rules.classify` returns), aligned by statement;
        ``""`` for a statement not classified in that round.

    Returns
    -------
    VerdictChange

    References
    ----------
    Dajani JS, Sincoff MZ, Talley WK (1979). Stability and agreement criteria for the termination of Delphi studies.
    Technological Forecasting and Social Change 13:83-90.
    von der Gracht HA (2012). Consensus measurement in Delphi studies: review and implications for future quality
    assurance. Technological Forecasting and Social Change 79:1525-1536.

    Examples
    --------
    >>> c = verdict_changes(["in", "none", "none", "out", ""], ["in", "in", "none", "none", "in"])
    >>> c.changed.tolist(), c.n_compared, c.n_changed, c.pct_changed
    ([False, True, False, True, False], 4, 2, 50.0)
    >>> c.transitions[("none", "in")], c.transitions[("out", "none")]
    (1, 1)
    """
    b = _as_verdicts(before, "before")
    a = _as_verdicts(after, "after")
    if a.shape != b.shape:
        raise ValueError(f"before and after must have one verdict per statement each; got {b.size} and {a.size}")
    code = {v: i for i, v in enumerate(VERDICTS)}
    b_code = np.array([code.get(v, -1) for v in b.tolist()], dtype=np.intp)
    a_code = np.array([code.get(v, -1) for v in a.tolist()], dtype=np.intp)
    compared = (b_code >= 0) & (a_code >= 0)
    changed = compared & (b_code != a_code)
    k = len(VERDICTS)
    counts = np.bincount(b_code[compared] * k + a_code[compared], minlength=k * k).reshape(k, k)
    transitions = {(VERDICTS[i], VERDICTS[j]): int(counts[i, j]) for i in range(k) for j in range(k)}
    n_compared, n_changed = int(compared.sum()), int(changed.sum())
    return VerdictChange(before=b.astype(str), after=a.astype(str), compared=compared, changed=changed,
                         n_compared=n_compared, n_changed=n_changed,
                         pct_changed=float(100 * safe_divide(n_changed, n_compared)),
                         transitions=MappingProxyType(transitions))
