"""Stability between rounds: net person-changes (Scheibe, Skutsch & Schofer 1975) and the Wilcoxon signed-rank test
as R's wilcox.test(after, before, paired = TRUE) computes it, checked against scipy.stats.wilcoxon run with the
method R would choose."""
import numpy as np
import pytest
from scipy import stats

from analysis import Scale, stability


def r_wilcoxon(after, before):
    """R's default choice, replayed with scipy: exact iff n < 50 non-zero pairs, no ties, no zeros."""
    d = after - before
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    v = ranks[nonzero > 0].sum()
    if nonzero.size == 0:
        return 0.0, np.nan
    exact = nonzero.size < 50 and np.unique(np.abs(nonzero)).size == nonzero.size and nonzero.size == d.size
    method = "exact" if exact else "approx"
    p = stats.wilcoxon(after, before, zero_method="wilcox", correction=True, method=method).pvalue
    return v, p


def paired_panel(seed, panellists, statements, shift=1):
    rng = np.random.default_rng(seed)
    before = rng.integers(1, 10, size=(panellists, statements)).astype(float)
    after = np.clip(before + rng.integers(-1, shift + 1, size=before.shape), 1, 9)
    before[rng.random(before.shape) < 0.1] = np.nan
    after[rng.random(after.shape) < 0.1] = np.nan
    return before, after


@pytest.mark.parametrize("panellists", [8, 30, 120])
def test_wilcoxon_equals_scipy_with_r_rules(panellists):
    before, after = paired_panel(panellists, panellists, 30)
    s = stability(before, after, Scale())
    for j in range(before.shape[1]):
        pair = ~np.isnan(before[:, j]) & ~np.isnan(after[:, j])
        v, p = r_wilcoxon(after[pair, j], before[pair, j])
        assert s.wilcoxon_v[j] == v
        if np.isnan(p):
            assert np.isnan(s.wilcoxon_p[j])
        else:
            assert s.wilcoxon_p[j] == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_exact_p_without_ties_or_zeros():
    # differences 1, -2, 3, 4, 5, 6 (no ties, no zeros, n < 50): R uses psignrank. V = 1 + 3 + 4 + 5 + 6 = 19.
    before = np.array([[5], [5], [1], [1], [1], [1]], dtype=float)
    after = np.array([[6], [3], [4], [5], [6], [7]], dtype=float)
    s = stability(before, after, Scale())
    assert s.wilcoxon_v[0] == 19
    assert s.wilcoxon_p[0] == pytest.approx(stats.wilcoxon(after[:, 0], before[:, 0], method="exact").pvalue,
                                            abs=1e-15)
    assert s.wilcoxon_p[0] == pytest.approx(0.09375, abs=1e-15)  # 2 * P(V >= 19) = 2 * 3/64


def test_exact_p_with_49_and_normal_with_50_pairs():
    rng = np.random.default_rng(0)
    for n, method in ((49, "exact"), (50, "approx")):
        d = rng.permutation(np.arange(1, n + 1)) * rng.choice([-1, 1], size=n)
        # differences up to 50 do not fit a 1-9 scale, so check the internal routine through its public use:
        before = np.zeros(n)
        after = d.astype(float)
        expected = stats.wilcoxon(after, before, method=method, correction=True).pvalue
        from analysis.stability import _signed_rank
        v, p = _signed_rank(after[:, None], np.ones((n, 1), dtype=bool), 51)
        assert v[0] == stats.rankdata(np.abs(d))[d > 0].sum()
        assert p[0] == pytest.approx(expected, rel=1e-9)


def test_net_change_individual_change_and_agreement():
    before = np.array([[5, 9, 1], [6, 8, np.nan], [7, 1, 2], [4, 9, 3]])
    after = np.array([[7, 9, 9], [8, 8, 2], [8, 1, np.nan], [7, 9, 3]])
    s = stability(before, after, Scale(), stable_change=15)
    assert s.n_pairs.tolist() == [4, 4, 2]
    # statement 1: before {4,5,6,7}, after {7,7,8,8}: sum |f_a - f_b| / 2 = 3 -> 75%
    assert s.pct_change[0] == 75.0 and s.pct_changed[0] == 100.0 and s.delta_pct_agree[0] == 75.0
    assert s.pct_change[1] == 0.0 and s.stable[1] and s.wilcoxon_v[1] == 0 and np.isnan(s.wilcoxon_p[1])
    # statement 3 counts only the two pairs rated in both rounds (1 -> 9 and 3 -> 3)
    assert s.pct_change[2] == 50.0 and s.pct_changed[2] == 50.0 and s.delta_pct_agree[2] == 50.0


def test_stable_threshold_is_strict_and_tolerant():
    # 1 of 7 moves: 100/7 = 14.29 < 15 -> stable; 3 of 20 move: exactly 15 -> not stable
    before = np.full((20, 1), 5.0)
    after = before.copy()
    after[:3] = 6
    assert not stability(before, after, Scale(), stable_change=15).stable[0]
    assert stability(before[:7], np.vstack([after[:1], before[1:7]]), Scale(), stable_change=15).stable[0]


def test_no_pairs():
    s = stability(np.array([[5.0, np.nan]]), np.array([[np.nan, 5.0]]), Scale())
    assert s.n_pairs.tolist() == [0, 0] and np.isnan(s.pct_change).all() and not s.stable.any()
    assert np.isnan(s.wilcoxon_p).all()


@pytest.mark.parametrize("before, after, kwargs, message", [
    ([[1, 2]], [[1]], {}, "same shape"),
    ([[1]], [[10]], {}, "after: 10 .* off the scale"),
    ([[0]], [[1]], {}, "before: 0 .* off the scale"),
    ([[1]], [[1]], {"stable_change": -1}, "between 0 and 100"),
    ([[1]], [[1]], {"stable_change": "x"}, "number of percentage points"),
])
def test_bad_input(before, after, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stability(before, after, Scale(), **kwargs)
