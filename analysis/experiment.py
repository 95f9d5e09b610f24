"""Studies within the study: a panel randomised between feedback formats, and the figures of that comparison.

Stratified permuted-block allocation of panellists to arms (fixed by a seed when round 1 opens), retention per arm and
group for the CONSORT flow, rating change between rounds (movement towards the median fed back, change of band), the
arm effect on that change (a permutation test stratified by group, with a stratified bootstrap interval), and the
agreement of the arms' final verdicts (Cohen's kappa, percentage of discordant statements; Brookes et al. 2016).

Everything here returns counts, never withheld cells: small-cell suppression is the app's single rule.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._tally import group_index
from .scale import Scale, check_ratings
from .verdict_change import VERDICTS, _as_verdicts

__all__ = [
    "ALLOCATION_SEED_BITS", "ESTIMATORS", "allocate", "Retention", "retention", "RatingChange", "rating_change", "ArmEffect",
    "arm_effect", "VerdictAgreement", "verdict_agreement",
]

# The app draws the allocation seed with this many random bits when round 1 opens (PCG64 takes up to 128).
ALLOCATION_SEED_BITS = 64
# Rows of the permutation and bootstrap draws held at once (times the number of panellists, in float64 values).
_BLOCK_VALUES = 2 ** 22
ESTIMATORS = ("pooled", "stratified")


def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def _arm_codes(arm, n_rows: int, arm_keys=None) -> tuple[np.ndarray, list]:
    labels = np.asarray(arm)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise ValueError(f"arm: must be a 1-D array with one arm per panellist ({n_rows}), got shape {labels.shape}")
    if arm_keys is None:
        arm_keys = sorted(set(labels.tolist()), key=lambda k: (str(type(k)), k))
    lookup = {key: i for i, key in enumerate(arm_keys)}
    return np.fromiter((lookup.get(v, -1) for v in labels.tolist()), dtype=np.intp, count=n_rows), list(arm_keys)


def allocate(groups, arms, seed: int, block_size: int | None = None, group_keys=None) -> np.ndarray:
    r"""Allocate panellists to arms in permuted blocks within each stakeholder group.

    Each group's panellists, in the order given, fill consecutive blocks of ``block_size`` places; each block holds
    every arm ``block_size / k`` times (:math:`k` arms) in a random order. The draw is exactly

    .. code-block:: python

        rng = numpy.random.Generator(numpy.random.PCG64(seed))
        for g in group_keys:                       # default: the sorted group labels
            n_blocks = ceil(n_g / block_size)
            blocks = numpy.tile(numpy.repeat(numpy.arange(k), block_size // k), (n_blocks, 1))
            arm_of_group_g = rng.permuted(blocks, axis=1).ravel()[:n_g]

    so the allocation follows from the seed and the panellists' order alone: the caller passes them sorted by a key
    that never changes (such as the pseudonym), and the report states the seed, the block size and that key.

    Guarantee: within each group of :math:`n_g` panellists, every arm gets between
    :math:`\lfloor n_g / b \rfloor\, b/k` and :math:`\lceil n_g / b \rceil\, b/k` of them (:math:`b` the block
    size), so the counts of two arms in a group differ by at most :math:`b/k`; with :math:`n_g` a multiple of
    :math:`b` they are equal. The same holds for every leading run of a group's panellists.

    Parameters
    ----------
    groups : array_like, shape (panellists,)
        Each panellist's stakeholder group.
    arms : int or sequence
        The number of arms, or the arms themselves (their keys); at least 2.
    seed : int
        At least 0; fixed when round 1 opens (the app draws :data:`ALLOCATION_SEED_BITS` random bits).
    block_size : int, optional
        A positive multiple of the number of arms; default twice the number of arms.
    group_keys : sequence, optional
        The groups in the order they are allocated (default: sorted labels); a label not listed is an error.

    Returns
    -------
    ndarray of int, shape (panellists,)
        Each panellist's arm, as an index into ``arms``.

    References
    ----------
    Schulz KF, Grimes DA (2002). Generation of allocation sequences in randomised trials: chance, not choice. Lancet
    359:515-519. Moher D et al. (2010). CONSORT 2010 explanation and elaboration, item 8b. BMJ 340:c869.

    Examples
    --------
    >>> allocate(["a", "a", "a", "a", "b", "b"], ["full", "own"], seed=7).tolist()
    [0, 1, 0, 1, 1, 0]
    """
    if isinstance(arms, str):
        raise ValueError(f"arms: give the number of arms or a sequence of arm keys, got the text {arms!r}")
    n_arms = _whole(arms, "arms", 0) if isinstance(arms, (int, np.integer)) else len(list(arms))
    if n_arms < 2:
        raise ValueError(f"arms: a comparison needs at least 2 arms, got {n_arms}")
    size = 2 * n_arms if block_size is None else _whole(block_size, "block_size", 1)
    if size % n_arms:
        raise ValueError(f"block_size: must be a multiple of the number of arms ({n_arms}), got {size}")
    seed = _whole(seed, "seed", 0)
    labels = np.asarray(groups)
    codes, keys = group_index(labels, labels.shape[0] if labels.ndim == 1 else 0, group_keys)
    rng = np.random.Generator(np.random.PCG64(seed))
    base = np.repeat(np.arange(n_arms), size // n_arms)
    allocation = np.empty(codes.shape[0], dtype=np.intp)
    for g in range(len(keys)):  # one draw per group: the loop is over a handful of groups
        members = np.flatnonzero(codes == g)
        n_blocks = -(-members.size // size)
        allocation[members] = rng.permuted(np.tile(base, (n_blocks, 1)), axis=1).ravel()[:members.size]
    return allocation


@dataclass(frozen=True, eq=False)
class Retention:
    """Counts for the CONSORT flow, by arm and group: arrays indexed ``[arm, group]`` or ``[arm, group, round]``.

    ``allocated[a, g]`` panellists were allocated; ``responded[a, g, r]`` answered round ``r + 1``;
    ``retained[a, g, r]`` answered every round from the first to round ``r + 1``. Counts only: the app withholds
    small cells by its own rule.
    """

    arm_keys: tuple
    group_keys: tuple
    allocated: np.ndarray
    responded: np.ndarray
    retained: np.ndarray


def retention(arm, group, responded_by_round, arm_keys=None, group_keys=None) -> Retention:
    r"""Count, per arm and stakeholder group, who was allocated and who answered each round.

    .. math::

        \mathrm{responded}_{agr} = \#\{i \in (a, g) : R_{ir}\}, \quad
        \mathrm{retained}_{agr} = \#\{i \in (a, g) : R_{i1} \wedge \dots \wedge R_{ir}\}

    with :math:`R_{ir}` true when panellist :math:`i` answered round :math:`r` (as the app counts a response: at
    least one rating or "unable to rate" submitted in that round).

    Parameters
    ----------
    arm, group : array_like, shape (panellists,)
        Each panellist's arm and group.
    responded_by_round : array_like of bool, shape (panellists, rounds)
    arm_keys, group_keys : sequence, optional
        The order of the arms and groups in the result (default sorted labels); keys without panellists count 0.

    Returns
    -------
    Retention

    Examples
    --------
    >>> r = retention([0, 0, 1, 1], ["x", "y", "x", "x"], [[1, 1], [1, 0], [1, 1], [0, 1]])
    >>> r.allocated.tolist(), r.responded[:, :, 1].tolist(), r.retained[:, :, 1].tolist()
    ([[1, 1], [2, 0]], [[1, 0], [2, 0]], [[1, 0], [1, 0]])
    """
    answered = np.asarray(responded_by_round)
    if answered.ndim != 2:
        raise ValueError("responded_by_round: must be a 2-D array of shape (panellists, rounds)")
    if answered.dtype != bool:
        if not np.isin(answered, (0, 1)).all():
            raise ValueError("responded_by_round: must hold True/False (or 1/0) only")
        answered = answered.astype(bool)
    n_rows, n_rounds = answered.shape
    a, arm_keys = _arm_codes(arm, n_rows, arm_keys)
    if (a < 0).any():
        raise ValueError(f"arm: unknown arm(s) {sorted({str(v) for v in np.asarray(arm)[a < 0].tolist()})}")
    g, group_keys = group_index(group, n_rows, group_keys)
    n_arms, n_groups = len(arm_keys), len(group_keys)
    cell = a * n_groups + g
    allocated = np.bincount(cell, minlength=n_arms * n_groups).reshape(n_arms, n_groups)
    retained_rows = np.logical_and.accumulate(answered, axis=1)
    # one bincount per table: cell of the panellist times the rounds, plus the round
    slots = (cell[:, None] * n_rounds + np.arange(n_rounds)).ravel()
    size = n_arms * n_groups * n_rounds
    responded = np.bincount(slots, weights=answered.ravel(), minlength=size).astype(np.int64)
    retained = np.bincount(slots, weights=retained_rows.ravel(), minlength=size).astype(np.int64)
    shape = (n_arms, n_groups, n_rounds)
    return Retention(arm_keys=tuple(arm_keys), group_keys=tuple(group_keys), allocated=allocated.astype(np.int64),
                     responded=responded.reshape(shape), retained=retained.reshape(shape))


@dataclass(frozen=True, eq=False)
class RatingChange:
    """Change between two rounds, per panellist and statement (2-D arrays), and per panellist (1-D arrays).

    ``compared`` is True where the panellist rated the statement in both rounds and the median fed back is defined;
    ``movement`` (NaN elsewhere) is how much nearer that median the second rating lies; ``changed_band`` whether the
    rating moved between the disagree, neutral and agree bands (False where not compared). Per panellist: ``n_pairs``
    compared statements, ``mean_movement`` (NaN without a pair) and ``pct_changed_band`` (0-100, NaN without a pair).
    """

    movement: np.ndarray
    changed_band: np.ndarray
    compared: np.ndarray
    n_pairs: np.ndarray
    mean_movement: np.ndarray
    pct_changed_band: np.ndarray


def _band(x: np.ndarray, scale: Scale) -> np.ndarray:
    """0 disagree, 1 neutral, 2 agree (NaN rates as neutral; callers mask it)."""
    with np.errstate(invalid="ignore"):
        agree = (x >= scale.agree[0]) & (x <= scale.agree[1])
        disagree = (x >= scale.disagree[0]) & (x <= scale.disagree[1])
    return np.where(agree, 2, np.where(disagree, 0, 1))


def rating_change(previous, current, previous_median, scale: Scale) -> RatingChange:
    r"""How each panellist's ratings moved between two rounds, relative to the median fed back after the first.

    For panellist :math:`i` and statement :math:`s` rated in both rounds (:math:`x_{is}` before, :math:`y_{is}`
    after) with the median fed back :math:`m_s` (or :math:`m_{is}`, when panellists saw different medians),

    .. math::

        \Delta_{is} = |x_{is} - m_{is}| - |y_{is} - m_{is}|

    in scale points: positive when the second rating lies nearer the median (convergence), negative when farther,
    0 when equally far (including a move to the other side at the same distance). The band change is
    :math:`\mathrm{band}(x_{is}) \ne \mathrm{band}(y_{is})` over the scale's disagree, neutral and agree bands. Per
    panellist, over the :math:`n_i` compared statements,

    .. math::

        \bar\Delta_i = \frac{1}{n_i}\sum_s \Delta_{is}, \quad
        \mathrm{pct\_changed\_band}_i = \frac{100}{n_i} \sum_s [\mathrm{band}(x_{is}) \ne \mathrm{band}(y_{is})]

    Movement towards the median is the outcome of feedback experiments in Delphi studies (Brookes et al. 2016,
    MacLennan et al. 2018 measure the change of score and of category after feedback).

    Parameters
    ----------
    previous, current : array_like, shape (panellists, statements)
        The same panellists' ratings in two rounds, aligned; NaN for no rating.
    previous_median : array_like, shape (statements,) or (panellists, statements)
        The median each panellist was shown after the first round: the panel's (1-D) or, per row, their own group's;
        NaN where none was shown.
    scale : Scale

    Returns
    -------
    RatingChange

    References
    ----------
    Brookes ST, Macefield RC, Williamson PR et al. (2016). Three nested randomized controlled trials of peer-only or
    multiple stakeholder group feedback within Delphi surveys during core outcome and information set development.
    Trials 17:409.
    MacLennan S, Kirkham J, Lam TBL, Williamson PR (2018). A randomized trial comparing three Delphi feedback
    strategies found no evidence of a difference in a setting with high initial agreement. J Clin Epidemiol 93:1-8.

    Examples
    --------
    >>> c = rating_change([[9, 2], [4, 5]], [[8, 5], [4, np.nan]], [7, 5], Scale())
    >>> c.movement.tolist()
    [[1.0, 3.0], [0.0, nan]]
    >>> c.changed_band.tolist(), c.mean_movement.tolist(), c.pct_changed_band.tolist()
    ([[False, True], [False, False]], [2.0, 0.0], [50.0, 0.0])
    """
    x = check_ratings(previous, scale, "previous")
    y = check_ratings(current, scale, "current")
    if x.shape != y.shape:
        raise ValueError(f"previous and current must have the same shape, got {x.shape} and {y.shape}")
    try:
        m = np.asarray(previous_median, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("previous_median: must be numbers (NaN where no median was shown)") from None
    if m.shape not in ((x.shape[1],), x.shape):
        raise ValueError(f"previous_median: must have shape ({x.shape[1]},) or {x.shape}, got {m.shape}")
    if np.isinf(m).any():
        raise ValueError("previous_median: must be finite or NaN")
    m = np.broadcast_to(m, x.shape)
    compared = ~np.isnan(x) & ~np.isnan(y) & ~np.isnan(m)
    movement = np.where(compared, np.abs(x - m) - np.abs(y - m), np.nan)
    changed_band = compared & (_band(x, scale) != _band(y, scale))
    n_pairs = compared.sum(axis=1)
    mean_movement = np.full(x.shape[0], np.nan)
    pct_changed_band = np.full(x.shape[0], np.nan)
    np.divide(np.where(compared, movement, 0).sum(axis=1), n_pairs, out=mean_movement, where=n_pairs > 0)
    np.divide(100 * changed_band.sum(axis=1), n_pairs, out=pct_changed_band, where=n_pairs > 0)
    return RatingChange(movement=movement, changed_band=changed_band, compared=compared, n_pairs=n_pairs,
                        mean_movement=mean_movement, pct_changed_band=pct_changed_band)


@dataclass(frozen=True, eq=False)
class ArmEffect:
    """The difference between two arms in the mean of a per-panellist outcome, its test and its interval.

    ``arm_keys`` = (A, B); ``difference`` = ``mean[1] - mean[0]``, where ``mean`` holds each arm's mean (with the
    ``"stratified"`` estimator, the group-weighted mean of that arm's group means). ``n`` counts the panellists
    analysed per arm; ``n_excluded`` panellists of the two arms had no outcome (NaN: no statement rated in both
    rounds) and are left out of everything. ``null_distribution`` holds the statistic under each permutation, in the
    order drawn.
    """

    arm_keys: tuple
    n: tuple
    mean: tuple
    difference: float
    pvalue: float
    ci_low: float
    ci_high: float
    confidence: float
    n_permutations: int
    n_resamples: int
    seed: int
    n_excluded: int
    null_distribution: np.ndarray
    estimator: str = "pooled"


def _strata_draw(rng, n_rows: int, n_draws: int):
    """Uniform keys ``rng.random((rows, n_rows))``, drawn in blocks of rows (the same stream as one call)."""
    rows = max(1, _BLOCK_VALUES // max(n_rows, 1))
    for start in range(0, n_draws, rows):
        yield rng.random((min(rows, n_draws - start), n_rows))


def arm_effect(change, arm, group, n_permutations: int = 10_000, seed: int = 23, confidence: float = 0.95,
               n_resamples: int | None = None, arm_keys=None, group_keys=None, estimator: str = "pooled"
               ) -> ArmEffect:
    r"""The arm effect on a per-panellist outcome: difference in means, stratified permutation test, bootstrap interval.

    With :math:`y_i` the outcome of panellist :math:`i` (by default the mean movement towards the median,
    :attr:`RatingChange.mean_movement`; a 2-D ``change`` is averaged over each row's defined values) and arms
    :math:`A` (``arm_keys[0]``) and :math:`B`,

    .. math::

        D_{\mathrm{pooled}} = \bar y_B - \bar y_A, \qquad
        D_{\mathrm{stratified}} = \sum_{g \in S} w_g\,(\bar y_{Bg} - \bar y_{Ag}), \quad
        w_g = \frac{n_g}{\sum_{h \in S} n_h}

    with :math:`S` the groups with panellists in both arms (a group with one arm only is left out of the stratified
    estimate). ``"pooled"`` (the default) is the plain difference in means that Brookes et al. report;
    ``"stratified"`` compares panellists within their own group, so that groups answering in different proportions in
    the two arms (differential attrition) cannot masquerade as an arm effect (Kahan & Morris 2012 recommend analyses
    that account for the stratification). Both are tested the same way.

    **Test.** Under the null hypothesis that the arm changes nobody's outcome, the arm labels are exchangeable within
    each stakeholder group (the stratum of the allocation). Each permutation reassigns the observed labels at random
    within every group, keeping each group's arm counts; the two-sided p-value counts permutations at least as
    extreme as observed, plus the observed one (Phipson & Smyth 2010, so never 0):

    .. math::

        p = \frac{1 + \#\{b : |D^*_b| \ge |D|\}}{1 + B}

    with a tolerance of :math:`10^{-9}\max(1, |D|)` so that float rounding cannot split ties. The draw: keys
    ``u = Generator(PCG64(seed)).random((B, n))`` over the :math:`n` panellists kept (in the order given); within a
    group, the member at the :math:`j`-th smallest key of the group hands its label to the group's :math:`j`-th member.

    **Interval.** A stratified percentile bootstrap (Davison & Hinkley 1997, chapter 3): each resample redraws
    every (group, arm) cell's panellists with replacement, keeping the cell sizes; the interval is the linear
    (type 7) quantiles at :math:`(1 \mp c)/2` of the resampled :math:`D`. The draw continues the same generator after
    the permutations: ``v = rng.random((R, n))``, and the panellist at position :math:`j` of the cell-sorted order
    (cells by group then arm, members in the order given) is replaced by cell member
    :math:`\lfloor v_{bj}\,n_c \rfloor`.

    Parameters
    ----------
    change : array_like, shape (panellists,) or (panellists, statements)
        The outcome; NaN where undefined (those panellists are left out).
    arm, group : array_like, shape (panellists,)
        Each panellist's arm and stakeholder group. Panellists of other arms than ``arm_keys`` are left out.
    n_permutations : int
        :math:`B`, at least 1 (10,000 by default: the Monte Carlo error of p = 0.05 is then 0.002).
    seed : int
    confidence : float
        Of the interval, strictly between 0 and 1.
    n_resamples : int, optional
        :math:`R`, bootstrap resamples (default ``n_permutations``).
    arm_keys : sequence of two, optional
        (A, B); by default the two arm labels present, sorted (more than two is then an error).
    group_keys : sequence, optional
    estimator : {"pooled", "stratified"}

    Returns
    -------
    ArmEffect

    References
    ----------
    Good P (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses, 3rd ed. Springer (blocked designs).
    Phipson B, Smyth GK (2010). Permutation p-values should never be zero. Stat Appl Genet Mol Biol 9:39.
    Davison AC, Hinkley DV (1997). Bootstrap Methods and their Application. Cambridge University Press.
    Kahan BC, Morris TP (2012). Improper analysis of trials randomised using stratified blocks or minimisation.
    Statistics in Medicine 31:328-340.

    Examples
    --------
    >>> e = arm_effect([0.1, 0.4, 0.0, 0.9, 0.2, 0.7, 0.3, 1.1], [0, 1, 0, 1, 0, 1, 0, 1],
    ...                ["x", "x", "x", "x", "y", "y", "y", "y"], n_permutations=999, seed=1)
    >>> round(e.difference, 3), e.n, round(e.pvalue, 3)  # exact: 2 of 36 arrangements, 0.056
    (0.625, (4, 4), 0.057)
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator: must be one of {', '.join(map(repr, ESTIMATORS))}, got {estimator!r}")
    n_permutations = _whole(n_permutations, "n_permutations", 1)
    n_resamples = n_permutations if n_resamples is None else _whole(n_resamples, "n_resamples", 1)
    seed = _whole(seed, "seed", 0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence: must lie strictly between 0 and 1, got {confidence!r}")
    try:
        y = np.asarray(change, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("change: must be numbers (NaN where undefined)") from None
    if y.ndim == 2:
        defined = ~np.isnan(y)
        counts = defined.sum(axis=1)
        y2 = np.full(y.shape[0], np.nan)
        np.divide(np.where(defined, y, 0).sum(axis=1), counts, out=y2, where=counts > 0)
        y = y2
    elif y.ndim != 1:
        raise ValueError(f"change: must be 1-D (panellists) or 2-D (panellists, statements), got {y.ndim}-D")
    if np.isinf(y).any():
        raise ValueError("change: must be finite or NaN")
    n_rows = y.shape[0]
    a, keys = _arm_codes(arm, n_rows, arm_keys)
    if len(keys) != 2:
        raise ValueError(f"arm_keys: the comparison is between exactly 2 arms, got {len(keys)} ({keys}); "
                         "pass arm_keys=(A, B) to compare two of them")
    g, _ = group_index(group, n_rows, group_keys)
    in_arms = a >= 0
    keep = in_arms & ~np.isnan(y)
    n_excluded = int((in_arms & ~keep).sum())
    y, a, g = y[keep], a[keep], g[keep]
    n_a, n_b = int((a == 0).sum()), int((a == 1).sum())
    nan = float("nan")
    if n_a == 0 or n_b == 0:
        return ArmEffect(tuple(keys), (n_a, n_b), (float(y[a == 0].mean()) if n_a else nan,
                                                   float(y[a == 1].mean()) if n_b else nan),
                         nan, nan, nan, nan, float(confidence), n_permutations, n_resamples, seed, n_excluded,
                         np.empty(0), estimator)
    # D = sum_i coef_b[i] y_i [i in B] - coef_a[i] y_i [i in A]; the coefficients depend on the stratum only, and
    # permuting within strata keeps every stratum's arm counts, so each permutation and resample keeps them too.
    n_groups = int(g.max()) + 1
    n_ga = np.bincount(g[a == 0], minlength=n_groups)
    n_gb = np.bincount(g[a == 1], minlength=n_groups)
    if estimator == "pooled":
        coef_a, coef_b = np.full(n_groups, 1 / n_a), np.full(n_groups, 1 / n_b)
    else:
        both = (n_ga > 0) & (n_gb > 0)
        if not both.any():
            return ArmEffect(tuple(keys), (n_a, n_b), (nan, nan), nan, nan, nan, nan, float(confidence),
                             n_permutations, n_resamples, seed, n_excluded, np.empty(0), estimator)
        weight = np.where(both, n_ga + n_gb, 0) / np.where(both, n_ga + n_gb, 0).sum()
        coef_a = np.divide(weight, n_ga, out=np.zeros(n_groups), where=both)
        coef_b = np.divide(weight, n_gb, out=np.zeros(n_groups), where=both)
    ca, cb = coef_a[g], coef_b[g]
    mean_a, mean_b = float(ca[a == 0] @ y[a == 0]), float(cb[a == 1] @ y[a == 1])
    difference = mean_b - mean_a
    n = y.shape[0]
    rng = np.random.Generator(np.random.PCG64(seed))

    # Permutations: sorting the keys shifted by twice the stratum keeps each stratum's rows in its own slots.
    slots = np.argsort(g, kind="stable")  # the group's j-th member sits at slot j of that group
    stratum = (2.0 * g)[None, :]
    is_b = (a == 1).astype(float)
    to_b = ((ca + cb) * y)[slots]  # D* = sum_j L_j (c_a + c_b) y_j - sum_j c_a y_j
    offset = float(ca @ y)
    null = np.empty(n_permutations)
    done = 0
    for u in _strata_draw(rng, n, n_permutations):
        donor = np.argsort(u + stratum, axis=1, kind="stable")  # slot j takes the label of row donor[:, j]
        null[done:done + u.shape[0]] = is_b[donor] @ to_b - offset
        done += u.shape[0]
    tolerance = 1e-9 * max(1.0, abs(difference))
    pvalue = (1 + np.count_nonzero(np.abs(null) >= abs(difference) - tolerance)) / (1 + n_permutations)

    # Stratified bootstrap: cells by group then arm; each slot draws a member of its own cell.
    cell = g * 2 + a
    order = np.argsort(cell, kind="stable")
    cell_sorted = cell[order]
    size = np.bincount(cell, minlength=2 * n_groups)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    slot_start, slot_size = start[cell_sorted], size[cell_sorted]
    signed = np.where(a == 1, cb, -ca)[order]
    y_sorted = y[order]
    theta = np.empty(n_resamples)
    done = 0
    for v in _strata_draw(rng, n, n_resamples):
        pick = slot_start + np.floor(v * slot_size).astype(np.intp)
        theta[done:done + v.shape[0]] = y_sorted[pick] @ signed
        done += v.shape[0]
    low, high = np.quantile(theta, [(1 - confidence) / 2, (1 + confidence) / 2], method="linear")
    return ArmEffect(arm_keys=tuple(keys), n=(n_a, n_b), mean=(mean_a, mean_b), difference=difference,
                     pvalue=float(pvalue), ci_low=float(low), ci_high=float(high), confidence=float(confidence),
                     n_permutations=n_permutations, n_resamples=n_resamples, seed=seed, n_excluded=n_excluded,
                     null_distribution=null, estimator=estimator)


@dataclass(frozen=True, eq=False)
class VerdictAgreement:
    """How the verdicts of two arms agree over the statements both classified.

    ``table[i, j]`` counts statements with verdict ``VERDICTS[i]`` in arm A and ``VERDICTS[j]`` in arm B (in, out,
    none). ``kappa`` is Cohen's unweighted kappa (NaN when chance agreement is 1, i.e. both arms gave every statement
    the same single verdict, or nothing is compared); ``pct_discordant`` = 100 x (1 - ``p_observed``).
    """

    table: np.ndarray
    n_compared: int
    p_observed: float
    p_expected: float
    kappa: float
    n_discordant: int
    pct_discordant: float


def verdict_agreement(verdicts_a, verdicts_b) -> VerdictAgreement:
    r"""Agreement of two arms' final verdicts per statement: Cohen's kappa and the share of discordant statements.

    Over the :math:`n` statements classified by both arms (``""`` or None marks a statement an arm did not classify),
    with :math:`n_{ij}` the statements given verdict :math:`i` by arm A and :math:`j` by arm B (categories ``in``,
    ``out``, ``none``),

    .. math::

        p_o = \frac{1}{n}\sum_i n_{ii}, \quad p_e = \frac{1}{n^2}\sum_i n_{i+}\, n_{+i}, \quad
        \kappa = \frac{p_o - p_e}{1 - p_e}, \quad \mathrm{pct\_discordant} = 100\,(1 - p_o)

    (Cohen 1960). Brookes et al. (2016) report both figures for the arms of their feedback trials.

    Parameters
    ----------
    verdicts_a, verdicts_b : sequence of str, shape (statements,)
        Verdicts as :func:`analysis.rules.classify` returns them, aligned by statement.

    Returns
    -------
    VerdictAgreement

    References
    ----------
    Cohen J (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement 20:37-46.
    Brookes ST et al. (2016). Trials 17:409.

    Examples
    --------
    >>> v = verdict_agreement(["in", "in", "out", "none", "in", ""], ["in", "none", "out", "none", "in", "out"])
    >>> v.n_compared, v.n_discordant, round(v.kappa, 4), v.pct_discordant
    (5, 1, 0.6875, 20.0)
    """
    va = _as_verdicts(verdicts_a, "verdicts_a")
    vb = _as_verdicts(verdicts_b, "verdicts_b")
    if va.shape != vb.shape:
        raise ValueError(f"verdicts_a and verdicts_b must have one verdict per statement each; got {va.size} and "
                         f"{vb.size}")
    code = {v: i for i, v in enumerate(VERDICTS)}
    ca = np.array([code.get(v, -1) for v in va.tolist()], dtype=np.intp)
    cb = np.array([code.get(v, -1) for v in vb.tolist()], dtype=np.intp)
    both = (ca >= 0) & (cb >= 0)
    k = len(VERDICTS)
    table = np.bincount(ca[both] * k + cb[both], minlength=k * k).reshape(k, k)
    n = int(table.sum())
    nan = float("nan")
    if n == 0:
        return VerdictAgreement(table, 0, nan, nan, nan, 0, nan)
    p_o = float(np.trace(table) / n)
    p_e = float(table.sum(axis=1) @ table.sum(axis=0) / n ** 2)
    kappa = (p_o - p_e) / (1 - p_e) if p_e < 1 else nan
    n_discordant = n - int(np.trace(table))
    return VerdictAgreement(table=table, n_compared=n, p_observed=p_o, p_expected=p_e, kappa=float(kappa),
                            n_discordant=n_discordant, pct_discordant=100 * n_discordant / n)
