"""Studies within the study (issue 23): allocation, retention, rating change, the arm effect and the agreement of the
arms' verdicts. Checked against R 4.2.2 (stats::t.test estimates; Cohen's kappa and an exact stratified permutation
distribution written out by hand in base R, since neither irr nor coin is installed), against the worked examples of
Wikipedia's "Cohen's kappa" article, against slow loops replaying the documented draws, and on simulated three-round
studies with and without a known effect."""
import itertools

import numpy as np
import pytest
from scipy import stats

from analysis import (
    Scale,
    allocate,
    arm_effect,
    rating_change,
    retention,
    verdict_agreement,
)

# ---------------------------------------------------------------------------------------------------- allocation


def test_the_draw_is_the_documented_recipe():
    groups = np.array(["staff", "user", "user", "staff", "user", "family", "user", "staff", "user", "family", "user"])
    got = allocate(groups, ["full", "own"], seed=20231129, block_size=4)
    # the recipe of the docstring, written out
    rng = np.random.Generator(np.random.PCG64(20231129))
    expected = np.empty(groups.size, dtype=int)
    for g in sorted(set(groups.tolist())):
        members = np.flatnonzero(groups == g)
        blocks = np.tile(np.repeat(np.arange(2), 2), (-(-members.size // 4), 1))
        expected[members] = rng.permuted(blocks, axis=1).ravel()[:members.size]
    np.testing.assert_array_equal(got, expected)
    # pinned, so that a change of generator or of the recipe (which would silently re-randomise a study) fails here
    assert got.tolist() == [1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1]


@pytest.mark.parametrize("n_arms, block_size", [(2, None), (2, 2), (2, 6), (3, None), (3, 3), (4, 8)])
def test_balance_within_each_group(n_arms, block_size):
    # The stated guarantee: in a group of n_g with block size b and k arms every arm gets between floor(n_g/b) b/k and
    # ceil(n_g/b) b/k panellists, so two arms differ by at most b/k; the same for every leading run of the group.
    rng = np.random.default_rng(5)
    groups = rng.choice(["a", "b", "c", "d"], size=157, p=[0.5, 0.3, 0.15, 0.05])
    b = 2 * n_arms if block_size is None else block_size
    for seed in range(20):
        arm = allocate(groups, n_arms, seed=seed, block_size=block_size)
        assert arm.min() >= 0 and arm.max() < n_arms
        for g in "abcd":
            mine = arm[groups == g]
            for length in range(1, mine.size + 1):
                counts = np.bincount(mine[:length], minlength=n_arms)
                assert counts.min() >= (length // b) * (b // n_arms)
                assert counts.max() <= -(-length // b) * (b // n_arms)
                assert counts.max() - counts.min() <= b // n_arms
            if mine.size % b == 0:
                assert len(set(np.bincount(mine, minlength=n_arms).tolist())) == 1


def test_reproducible_and_seed_dependent():
    groups = np.repeat(["a", "b", "c", "d"], 50)
    first = allocate(groups, ["full", "own"], seed=42)
    np.testing.assert_array_equal(first, allocate(list(groups), 2, seed=42))
    assert not np.array_equal(first, allocate(groups, 2, seed=43))
    # each group is drawn on its own: a group's allocation does not depend on the others' labels
    np.testing.assert_array_equal(allocate(groups, 2, seed=42, group_keys=["a", "b", "c", "d"]), first)
    assert not np.array_equal(allocate(groups, 2, seed=42, group_keys=["d", "c", "b", "a"]), first)


def test_each_panellist_equally_likely_in_each_arm():
    # Over 4,000 seeds the 5th member of a group of 5 (the partial last block) lands in arm 1 about half the time:
    # binomial 95% range 1,938-2,062.
    hits = sum(allocate(["g"] * 5, 2, seed=s)[4] for s in range(4000))
    assert 1938 <= hits <= 2062


@pytest.mark.parametrize("kwargs, message", [
    ({"arms": 1}, "at least 2 arms"),
    ({"arms": ["only"]}, "at least 2 arms"),
    ({"arms": "ab"}, "sequence of arm keys"),
    ({"arms": 2, "block_size": 3}, "multiple of the number of arms"),
    ({"arms": 2, "block_size": 0}, "block_size"),
    ({"arms": 2, "seed": -1}, "seed"),
    ({"arms": 2, "seed": True}, "seed"),
    ({"arms": 2, "seed": 1.5}, "seed"),
])
def test_allocate_refuses(kwargs, message):
    kwargs.setdefault("seed", 1)
    with pytest.raises(ValueError, match=message):
        allocate(["a", "b"], **kwargs)


def test_allocate_refuses_unknown_group():
    with pytest.raises(ValueError, match="unknown group"):
        allocate(["a", "b"], 2, seed=1, group_keys=["a"])


# ---------------------------------------------------------------------------------------------------- retention


def test_retention_equals_a_slow_count():
    rng = np.random.default_rng(3)
    arm = rng.integers(0, 2, 90)
    group = rng.choice(["u", "f", "s"], 90)
    answered = rng.random((90, 3)) < [0.95, 0.8, 0.7]
    r = retention(arm, group, answered, group_keys=["u", "f", "s", "empty"])
    assert r.arm_keys == (0, 1) and r.group_keys == ("u", "f", "s", "empty")
    for a in range(2):
        for gi, g in enumerate(r.group_keys):
            rows = (arm == a) & (group == g)
            assert r.allocated[a, gi] == rows.sum()
            for k in range(3):
                assert r.responded[a, gi, k] == answered[rows, k].sum()
                assert r.retained[a, gi, k] == answered[rows, :k + 1].all(axis=1).sum()
    assert (r.allocated[:, 3] == 0).all() and (r.retained[:, :, 0] == r.responded[:, :, 0]).all()
    assert (np.diff(r.retained, axis=2) <= 0).all()


def test_retention_refuses_bad_input():
    with pytest.raises(ValueError, match="unknown arm"):
        retention([0, 2], ["a", "a"], [[1], [1]], arm_keys=[0, 1])
    with pytest.raises(ValueError, match="True/False"):
        retention([0, 1], ["a", "a"], [[1], [2]])
    with pytest.raises(ValueError, match="2-D"):
        retention([0, 1], ["a", "a"], [1, 1])


# ---------------------------------------------------------------------------------------------------- rating change


def test_rating_change_by_hand():
    # 1-9 scale, disagree 1-3, agree 7-9; panel median shown after round 1: 7, 5, 2.
    previous = [[9, 2, 5], [4, 5, np.nan], [6, 8, 2]]
    current = [[7, 6, 3], [6, 5, 1], [8, 5, 4]]
    c = rating_change(previous, current, [7, 5, 2], Scale())
    # |9-7|-|7-7| = 2; |2-5|-|6-5| = 2; |5-2|-|3-2| = 2 / |4-7|-|6-7| = 2; 0; no pair / |6-7|-|8-7| = 0 (crossed the
    # median at the same distance); |8-5|-|5-5| = 3; |2-2|-|4-2| = -2
    np.testing.assert_array_equal(c.movement, [[2, 2, 2], [2, 0, np.nan], [0, 3, -2]])
    # bands: 9->7 agree->agree; 2->6 disagree->neutral; 5->3 neutral->disagree / 4->6 neutral; 5->5 / 6->8 neutral->agree;
    # 8->5 agree->neutral; 2->4 disagree->neutral
    assert c.changed_band.tolist() == [[False, True, True], [False, False, False], [True, True, True]]
    assert c.n_pairs.tolist() == [3, 2, 3]
    np.testing.assert_allclose(c.mean_movement, [2, 1, 1 / 3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.pct_changed_band, [200 / 3, 0, 100], rtol=0, atol=1e-12)


def test_rating_change_per_panellist_median_and_undefined():
    # each row saw its own group's median; a NaN median means nothing was shown: not compared
    c = rating_change([[3, 3], [3, 3]], [[4, 4], [4, np.nan]], [[5, np.nan], [1, 1]], Scale(1, 5, (4, 5), (1, 2)))
    np.testing.assert_array_equal(c.movement, [[1, np.nan], [-1, np.nan]])
    assert c.compared.tolist() == [[True, False], [True, False]]
    assert c.changed_band.tolist() == [[True, False], [True, False]]  # 3 neutral -> 4 agree on this 1-5 scale
    nobody = rating_change([[1.0]], [[np.nan]], [1], Scale())
    assert np.isnan(nobody.mean_movement[0]) and np.isnan(nobody.pct_changed_band[0]) and nobody.n_pairs[0] == 0


def test_rating_change_equals_a_slow_loop(make_panel):
    scale = Scale(1, 9, (7, 9), (1, 3))
    x, y = make_panel(1, panellists=30, statements=15), make_panel(2, panellists=30, statements=15)
    m = np.nanmedian(np.where(np.isnan(x[:, :1]), 5, x), axis=0)
    c = rating_change(x, y, m, scale)

    def band(v):
        return "agree" if 7 <= v <= 9 else "disagree" if v <= 3 else "neutral"

    for i in range(30):
        moves, changes = [], []
        for s in range(15):
            if np.isnan(x[i, s]) or np.isnan(y[i, s]):
                assert np.isnan(c.movement[i, s]) and not c.changed_band[i, s]
                continue
            moves.append(abs(x[i, s] - m[s]) - abs(y[i, s] - m[s]))
            changes.append(band(x[i, s]) != band(y[i, s]))
            assert c.movement[i, s] == moves[-1] and c.changed_band[i, s] == changes[-1]
        if moves:
            assert c.mean_movement[i] == pytest.approx(np.mean(moves), abs=1e-12)
            assert c.pct_changed_band[i] == pytest.approx(100 * np.mean(changes), abs=1e-12)


@pytest.mark.parametrize("previous, current, median, message", [
    ([[1, 10]], [[1, 2]], [1, 1], "previous: 10"),
    ([[1, 2]], [[1, 2.5]], [1, 1], "current: 2.5"),
    ([[1, 2]], [[1, 2], [3, 4]], [1, 1], "same shape"),
    ([[1, 2]], [[1, 2]], [1, 1, 1], "previous_median: must have shape"),
    ([[1, 2]], [[1, 2]], [1, np.inf], "finite"),
])
def test_rating_change_refuses(previous, current, median, message):
    with pytest.raises(ValueError, match=message):
        rating_change(previous, current, median, Scale())


# ---------------------------------------------------------------------------------------------------- arm effect

# R 4.2.2:
#   y <- c(0.25, -0.5, 1.0, 0.75, 0.0, 1.5, -0.25, 0.5, 2.0, 0.125, 0.875, 1.25, NA, 0.375)
#   arm <- c("A","B","A","B","A","B","A","B","B","A","B","A","B","A")
#   tt <- t.test(y[arm == "B"], y[arm == "A"]); sprintf("%.17g", tt$estimate)
Y = [0.25, -0.5, 1.0, 0.75, 0.0, 1.5, -0.25, 0.5, 2.0, 0.125, 0.875, 1.25, np.nan, 0.375]
ARM = ["A", "B", "A", "B", "A", "B", "A", "B", "B", "A", "B", "A", "B", "A"]
GROUP = ["u", "u", "u", "u", "f", "f", "f", "f", "s", "s", "s", "s", "s", "s"]
R_MEANS = (0.39285714285714285, 0.85416666666666663)  # A, B
R_DIFFERENCE = 0.46130952380952378
# The stratified estimator by hand in R 4.2.2, on the 13 panellists with an outcome:
#   w <- table(gg) / length(gg)
#   for (g in names(w)) { ma <- ma + w[[g]] * mean(yy[gg == g & aa == "A"]); mb <- mb + w[[g]] * mean(...B...) }
R_STRATIFIED = (0.37820512820512825, 0.89903846153846156, 0.52083333333333326)  # A, B, B - A


def test_difference_equals_r_t_test_estimates():
    e = arm_effect(Y, ARM, GROUP, n_permutations=99, seed=1)
    assert e.arm_keys == ("A", "B") and e.n == (7, 6) and e.n_excluded == 1
    np.testing.assert_allclose(e.mean, R_MEANS, rtol=0, atol=1e-12)
    assert e.difference == pytest.approx(R_DIFFERENCE, abs=1e-12)
    assert e.ci_low <= e.difference <= e.ci_high
    s = arm_effect(Y, ARM, GROUP, n_permutations=99, seed=1, estimator="stratified")
    np.testing.assert_allclose(s.mean, R_STRATIFIED[:2], rtol=0, atol=1e-12)
    assert s.difference == pytest.approx(R_STRATIFIED[2], abs=1e-12) and s.estimator == "stratified"


def test_stratified_estimator_leaves_out_a_group_with_one_arm():
    # group "t" has arm B only: it cannot inform a within-group comparison and must not move the estimate
    with_t = arm_effect(Y + [9.0, 8.0], ARM + ["B", "B"], GROUP + ["t", "t"], n_permutations=99, seed=1,
                        estimator="stratified")
    assert with_t.difference == pytest.approx(R_STRATIFIED[2], abs=1e-12) and with_t.n == (7, 8)
    pooled = arm_effect(Y + [9.0, 8.0], ARM + ["B", "B"], GROUP + ["t", "t"], n_permutations=99, seed=1)
    assert pooled.difference > 1  # the pooled mean of B takes the two high values in


def _slow_arm_effect(y, arm, group, n_permutations, n_resamples, seed, confidence, estimator="pooled"):
    """The documented draws, one permutation and one resample at a time."""
    y, arm, group = np.asarray(y, float), np.asarray(arm), np.asarray(group)
    rng = np.random.Generator(np.random.PCG64(seed))
    keys = rng.random((n_permutations, y.size))

    def statistic(values, labels):
        if estimator == "pooled":
            return values[labels == 1].mean() - values[labels == 0].mean()
        total, difference = 0, 0.0
        for g in sorted(set(group.tolist())):
            b, a = values[(group == g) & (labels == 1)], values[(group == g) & (labels == 0)]
            if b.size and a.size:
                total += b.size + a.size
                difference += (b.size + a.size) * (b.mean() - a.mean())
        return difference / total

    observed = statistic(y, arm)
    null = []
    for u in keys:
        permuted = np.empty_like(arm)
        for g in sorted(set(group.tolist())):
            members = np.flatnonzero(group == g)
            donors = members[np.argsort(u[members], kind="stable")]
            permuted[members] = arm[donors]
        null.append(statistic(y, permuted))
    null = np.array(null)
    p = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-9 * max(1, abs(observed)))) / (1 + n_permutations)
    draws = rng.random((n_resamples, y.size))
    cells = sorted({(g, a) for g, a in zip(group.tolist(), arm.tolist())})
    order = np.concatenate([np.flatnonzero((group == g) & (arm == a)) for g, a in cells])
    theta = []
    for v in draws:
        picked = []
        for j, row in enumerate(order):
            members = np.flatnonzero((group == group[row]) & (arm == arm[row]))
            picked.append(y[members[int(np.floor(v[j] * members.size))]])
        resampled_y = np.empty(y.size)
        resampled_y[order] = picked
        theta.append(statistic(resampled_y, arm))
    low, high = np.quantile(theta, [(1 - confidence) / 2, (1 + confidence) / 2])
    return observed, null, p, low, high


@pytest.mark.parametrize("estimator", ["pooled", "stratified"])
def test_equals_a_slow_loop_replaying_the_draws(estimator):
    rng = np.random.default_rng(11)
    group = rng.choice(["u", "f", "s"], 40, p=[0.6, 0.3, 0.1])
    arm = allocate(group, 2, seed=8)
    y = rng.normal(size=40) + 0.4 * arm + (group == "u")
    keep = np.ones(40, bool)
    keep[np.flatnonzero(arm == 1)[:5]] = False  # attrition in one arm: the two estimators differ
    y, arm, group = y[keep], arm[keep], group[keep]
    e = arm_effect(y, arm, group, n_permutations=300, n_resamples=200, seed=99, confidence=0.9, estimator=estimator)
    observed, null, p, low, high = _slow_arm_effect(y, arm, group, 300, 200, 99, 0.9, estimator)
    assert e.difference == pytest.approx(observed, abs=1e-12)
    np.testing.assert_allclose(e.null_distribution, null, rtol=0, atol=1e-12)
    assert e.pvalue == p
    assert (e.ci_low, e.ci_high) == pytest.approx((low, high), abs=1e-12)


# Tiny two-group data set; R 4.2.2, exact enumeration of every within-group rearrangement (10 x 10 = 100):
#   y2 <- c(0.5, 1.0, -0.5, 2.0, 1.25,  1.5, -1.0, 0.25, 0.75, 3.0); g2 <- rep(c("x", "y"), each = 5)
#   arm2 <- c(0,1,0,1,1, 1,0,0,1,0); obs <- mean(y2[arm2 == 1]) - mean(y2[arm2 == 0])
#   cx <- combn(which(g2 == "x"), 3); cy <- combn(which(g2 == "y"), 2); d <- c()
#   for (i in 1:ncol(cx)) for (j in 1:ncol(cy)) { bb <- c(cx[, i], cy[, j]); d <- c(d, mean(y2[bb]) - mean(y2[-bb])) }
#   sprintf("%.17g", c(obs, mean(abs(d) >= abs(obs) - 1e-9)))
Y2 = np.array([0.5, 1.0, -0.5, 2.0, 1.25, 1.5, -1.0, 0.25, 0.75, 3.0])
G2 = np.repeat(["x", "y"], 5)
ARM2 = np.array([0, 1, 0, 1, 1, 1, 0, 0, 1, 0])
R_OBSERVED2, R_EXACT_P2 = 0.85000000000000009, 0.33000000000000002


def _exact_distribution():
    values = []
    for bx in itertools.combinations(range(5), 3):
        for by in itertools.combinations(range(5, 10), 2):
            b = np.zeros(10, bool)
            b[list(bx + by)] = True
            values.append(Y2[b].mean() - Y2[~b].mean())
    return np.round(values, 9)


def test_permutation_distribution_matches_exact_enumeration():
    exact = _exact_distribution()
    assert exact.size == 100
    assert np.mean(np.abs(exact) >= R_OBSERVED2 - 1e-9) == pytest.approx(R_EXACT_P2, abs=1e-12)
    e = arm_effect(Y2, ARM2, G2, n_permutations=40_000, seed=2024)
    assert e.difference == pytest.approx(R_OBSERVED2, abs=1e-12)
    # every permuted statistic is one of the exact values, each with about its exact frequency (within 5 binomial SE)
    drawn = np.round(e.null_distribution, 9)
    support, probability = np.unique(exact, return_counts=True)
    assert set(np.unique(drawn).tolist()) <= set(support.tolist())
    frequency = (drawn[:, None] == support[None, :]).mean(axis=0)
    se = np.sqrt(probability / 100 * (1 - probability / 100) / drawn.size)
    assert (np.abs(frequency - probability / 100) <= 5 * se).all()
    # and the Monte Carlo p-value lies within 4 SE of the exact one
    assert abs(e.pvalue - R_EXACT_P2) <= 4 * np.sqrt(R_EXACT_P2 * (1 - R_EXACT_P2) / 40_000)


def test_pvalue_never_zero_and_symmetric_in_the_arms():
    y = np.r_[np.zeros(10), np.ones(10) * 5]
    arm = np.r_[np.zeros(10, int), np.ones(10, int)]
    e = arm_effect(y, arm, ["g"] * 20, n_permutations=99, seed=3)
    assert e.pvalue == 0.01 and e.difference == 5
    swapped = arm_effect(y, arm, ["g"] * 20, n_permutations=99, seed=3, arm_keys=[1, 0])
    assert swapped.difference == -5 and swapped.pvalue == e.pvalue


def test_two_dimensional_change_is_averaged_per_panellist():
    change = np.array([[1, np.nan, 3], [np.nan, np.nan, np.nan], [0, 0, 1], [2, 2, 2], [-1, 0, np.nan]])
    arm, group = [0, 0, 0, 1, 1], ["a"] * 5
    e2 = arm_effect(change, arm, group, n_permutations=50, seed=4)
    e1 = arm_effect([2, np.nan, 1 / 3, 2, -0.5], arm, group, n_permutations=50, seed=4)
    assert e2.difference == pytest.approx(e1.difference, abs=1e-12) and e2.n_excluded == 1
    np.testing.assert_allclose(e2.null_distribution, e1.null_distribution, rtol=0, atol=1e-12)


def test_reproducible_from_the_seed():
    first = arm_effect(Y, ARM, GROUP, n_permutations=500, seed=7)
    again = arm_effect(Y, ARM, GROUP, n_permutations=500, seed=7)
    other = arm_effect(Y, ARM, GROUP, n_permutations=500, seed=8)
    assert (first.pvalue, first.ci_low, first.ci_high) == (again.pvalue, again.ci_low, again.ci_high)
    assert not np.array_equal(first.null_distribution, other.null_distribution)
    assert (first.seed, first.n_permutations, first.n_resamples, first.confidence) == (7, 500, 500, 0.95)


def test_an_empty_arm_gives_nan():
    e = arm_effect([1.0, 2.0, np.nan], ["A", "A", "B"], ["g"] * 3, n_permutations=10, arm_keys=["A", "B"])
    assert e.n == (2, 0) and e.mean[0] == 1.5 and np.isnan(e.difference) and np.isnan(e.pvalue)


@pytest.mark.parametrize("kwargs, message", [
    ({"arm": ["A", "B", "C"]}, "exactly 2 arms"),
    ({"n_permutations": 0}, "n_permutations"),
    ({"n_resamples": 0}, "n_resamples"),
    ({"confidence": 1.0}, "confidence"),
    ({"change": [1.0, np.inf, 0.0]}, "finite"),
    ({"group": ["a", "b"]}, "groups"),
    ({"estimator": "weighted"}, "estimator"),
])
def test_arm_effect_refuses(kwargs, message):
    args = {"change": [1.0, 2.0, 0.0], "arm": ["A", "B", "A"], "group": ["a", "a", "b"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        arm_effect(**args)


# ---------------------------------------------------------------------------------------------------- verdicts

# R 4.2.2, Cohen's kappa by hand (irr is not installed):
#   lev <- c("in", "out", "none"); tab <- table(factor(a, lev), factor(b, lev)); n <- sum(tab)
#   po <- sum(diag(tab)) / n; pe <- sum(rowSums(tab) * colSums(tab)) / n^2
#   sprintf("%.17g", c(po, pe, (po - pe) / (1 - pe), 100 * (1 - po)))
VERDICTS_A = ["in", "in", "out", "none", "in", "none", "out", "out", "in", "none", "in", "in", "none", "out", "in",
              "none", "in", "out", "none", "in"]
VERDICTS_B = ["in", "none", "out", "none", "in", "in", "out", "none", "in", "none", "in", "out", "none", "out", "in",
              "in", "in", "out", "out", "in"]


def test_kappa_equals_r_by_hand():
    v = verdict_agreement(VERDICTS_A, VERDICTS_B)
    assert v.table.tolist() == [[7, 1, 1], [0, 4, 1], [2, 1, 3]]  # R's table(), rows arm A
    assert v.n_compared == 20 and v.n_discordant == 6
    assert v.p_observed == pytest.approx(0.69999999999999996, abs=1e-12)
    assert v.p_expected == pytest.approx(0.35249999999999998, abs=1e-12)
    assert v.kappa == pytest.approx(0.53667953667953672, abs=1e-12)
    assert v.pct_discordant == pytest.approx(30.000000000000004, abs=1e-12)


def _from_table(table):
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [("in", "out")[i]] * count
            b += [("in", "out")[j]] * count
    return a, b


@pytest.mark.parametrize("table, kappa", [
    # Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15:
    # p_o = 0.7, p_e = 0.5, kappa = 0.4
    ([[20, 5], [10, 15]], 0.4),
    # same article, "same percentages but different numbers": p_o = 0.6 in both, kappa 0.1304 and 0.2593
    ([[45, 15], [25, 15]], 0.06 / 0.46),
    ([[25, 35], [5, 35]], 0.14 / 0.54),
])
def test_published_worked_examples(table, kappa):
    v = verdict_agreement(*_from_table(table))
    assert v.kappa == pytest.approx(kappa, abs=1e-12)
    assert round(v.kappa, 4) in (0.4, 0.1304, 0.2593)


def test_unclassified_statements_are_left_out_and_degenerate_cases():
    v = verdict_agreement(["in", "", "out", None], ["in", "out", "", "out"])
    assert v.n_compared == 1 and v.pct_discordant == 0 and np.isnan(v.kappa)  # p_e = 1: kappa undefined
    none = verdict_agreement(["", ""], ["in", "out"])
    assert none.n_compared == 0 and np.isnan(none.kappa) and np.isnan(none.pct_discordant)
    opposite = verdict_agreement(["in", "out"], ["out", "in"])
    assert opposite.kappa == -1 and opposite.pct_discordant == 100
    with pytest.raises(ValueError, match="unknown verdict"):
        verdict_agreement(["in", "maybe"], ["in", "out"])
    with pytest.raises(ValueError, match="one verdict per statement"):
        verdict_agreement(["in"], ["in", "out"])


# ---------------------------------------------------------------------------------------------------- simulation

GROUPS = np.repeat(["service_user", "family", "staff", "peer"], 50)
SCALE = Scale()


def _simulate_study(seed, effect):
    """Three rounds, 200 panellists in 4 groups of 50, 40 statements, two arms allocated by ``allocate``.

    Groups differ in where they rate each statement. After each round a panellist moves each rating one point
    towards the median they were shown with probability 0.35, and by one point at random with probability 0.1.
    Arm 0 ("full") is shown the panel's median. Under ``effect`` arm 1 ("own") is shown its own group's median;
    under the null it behaves exactly like arm 0. About 10% miss round 3.
    """
    rng = np.random.default_rng(seed)
    arm = allocate(GROUPS, ["full", "own"], seed=seed)
    codes = np.searchsorted(np.unique(GROUPS), GROUPS)
    centre = rng.integers(3, 8, 40) + rng.integers(-2, 3, (4, 40))
    rounds = [np.clip(centre[codes] + rng.integers(-2, 3, (200, 40)), 1, 9).astype(float)]
    answered = np.ones((200, 3), bool)
    answered[:, 2] = rng.random(200) >= 0.1
    changes = []
    for r in (1, 2):
        previous = rounds[-1]
        panel = np.nanmedian(previous, axis=0)
        own = np.vstack([np.nanmedian(previous[codes == g], axis=0) for g in range(4)])[codes]
        shown = np.where((arm[:, None] == 1) & effect, own, panel[None, :])
        step = np.sign(shown - previous) * (rng.random(previous.shape) < 0.35)
        noise = rng.choice([-1, 0, 1], previous.shape, p=[0.05, 0.9, 0.05])
        current = np.clip(previous + step + noise, 1, 9)
        current[~answered[:, r]] = np.nan
        rounds.append(current)
        # the outcome: movement towards the panel's median, which is what every panellist's ratings are analysed by
        changes.append(rating_change(previous, current, panel, SCALE).movement)
    return arm, answered, np.hstack(changes), rounds


def test_simulated_effect_is_detected():
    arm, answered, movement, rounds = _simulate_study(2026, effect=True)
    flow = retention(arm, GROUPS, answered, arm_keys=[0, 1])
    # 50 per group in blocks of 4: 12 full blocks give 24 each, the last 2 places go to either arm
    assert ((flow.allocated >= 24) & (flow.allocated <= 26)).all() and (flow.allocated.sum(axis=0) == 50).all()
    assert flow.retained[:, :, 2].sum() == answered[:, 2].sum()
    # arm 1 moves towards its own group's median, so less towards the panel's (seen: D = -0.135 scale points,
    # 95% CI -0.153 to -0.120, p = 0.001, the smallest 999 permutations can give)
    for estimator in ("pooled", "stratified"):
        e = arm_effect(movement, arm, GROUPS, n_permutations=999, seed=5, estimator=estimator)
        assert e.difference < 0 and e.ci_high < 0
        assert e.pvalue < 0.01


def test_null_simulations_reject_at_the_nominal_rate_and_cover():
    # 200 seeded null studies, 999 permutations and 999 bootstrap resamples each (a Monte Carlo p-value over 999
    # permutations has exact size: P(p <= 0.05) = 50/1000 under the null). The number of rejections of a level-0.05
    # test is Binomial(200, 0.05): scipy.stats.binom.interval(0.95, 200, 0.05) = (4, 16), i.e. 2%-8% (outside it
    # with probability 0.033), so 4-16 rejections are accepted. The true difference is 0, so a 95% interval covers it
    # in Binomial(200, 0.95) of the studies: binom.interval(0.95, 200, 0.95) = (184, 196) accepted.
    # Seen when written: pooled 7 rejections and 189 covering, stratified 8 and 189.
    assert stats.binom.interval(0.95, 200, 0.05) == (4, 16)
    assert stats.binom.interval(0.95, 200, 0.95) == (184, 196)
    rejections = {"pooled": 0, "stratified": 0}
    covered = {"pooled": 0, "stratified": 0}
    for run in range(200):
        arm, _, movement, _ = _simulate_study(10_000 + run, effect=False)
        for estimator in rejections:
            e = arm_effect(movement, arm, GROUPS, n_permutations=999, n_resamples=999, seed=run, estimator=estimator)
            rejections[estimator] += e.pvalue <= 0.05
            covered[estimator] += e.ci_low <= 0 <= e.ci_high
    assert all(4 <= r <= 16 for r in rejections.values()), rejections
    assert all(184 <= c <= 196 for c in covered.values()), covered
