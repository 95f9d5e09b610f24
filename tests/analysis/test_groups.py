"""Group differences against scipy.stats.kruskal / mannwhitneyu (run with R's wilcox.test rules) and
statsmodels.stats.multitest.multipletests(method="holm")."""
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis import holm, kruskal_wallis, pairwise_mann_whitney


def test_kruskal_equals_scipy(make_panel, groups4):
    x = make_panel(13)
    r = kruskal_wallis(x, groups4)
    for j, c in enumerate(x.T):
        samples = [c[(groups4 == g) & ~np.isnan(c)] for g in sorted(set(groups4))]
        samples = [s for s in samples if s.size]
        k, n = len(samples), sum(s.size for s in samples)
        assert r.df[j] == max(k - 1, 0) and r.n[j] == n and r.k[j] == k
        if k < 2 or np.unique(np.concatenate(samples)).size < 2:
            assert np.isnan(r.h[j]) and np.isnan(r.pvalue[j]) and np.isnan(r.epsilon_squared[j])
            continue
        expected = stats.kruskal(*samples)
        assert r.h[j] == pytest.approx(expected.statistic, rel=1e-9)
        assert r.pvalue[j] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
        assert r.epsilon_squared[j] == pytest.approx(expected.statistic / (n - 1), rel=1e-9)
        if n > k:
            assert r.eta_squared_h[j] == pytest.approx((expected.statistic - k + 1) / (n - k), rel=1e-9)
        else:
            assert np.isnan(r.eta_squared_h[j])


def test_kruskal_integer_labels_and_continuous_values():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 5))
    g = np.repeat([1, 2, 3], 10)
    r = kruskal_wallis(x, g)
    for j in range(5):
        assert r.h[j] == pytest.approx(stats.kruskal(*(x[g == k, j] for k in (1, 2, 3))).statistic, rel=1e-9)


def r_mann_whitney(a, b):
    exact = a.size < 50 and b.size < 50 and np.unique(np.concatenate([a, b])).size == a.size + b.size
    return stats.mannwhitneyu(a, b, use_continuity=True, method="exact" if exact else "asymptotic")


@pytest.mark.parametrize("continuous", [False, True])
def test_pairwise_mann_whitney_equals_scipy_and_holm_equals_statsmodels(make_panel, groups4, continuous):
    x = make_panel(17)
    if continuous:  # no ties: exact p-values (a few statements: scipy's exact distribution is slow to build)
        x = x[:, :8] + np.random.default_rng(1).uniform(-0.4, 0.4, size=(x.shape[0], 8))
    rows = pairwise_mann_whitney(x, groups4)
    keys = sorted(set(groups4))
    by_statement = {}
    for row in rows:
        a = x[(groups4 == row.group_a) & ~np.isnan(x[:, row.statement]), row.statement]
        b = x[(groups4 == row.group_b) & ~np.isnan(x[:, row.statement]), row.statement]
        assert keys.index(row.group_a) < keys.index(row.group_b)
        assert (row.n_a, row.n_b) == (a.size, b.size)
        expected = r_mann_whitney(a, b)
        assert row.u == expected.statistic
        assert row.rank_biserial == pytest.approx(2 * row.u / (a.size * b.size) - 1, abs=1e-15)
        if np.unique(np.concatenate([a, b])).size == 1:  # all tied: R's z is 0/0, so p is NA (scipy says 1)
            assert np.isnan(row.pvalue)
        else:
            assert row.pvalue == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
            by_statement.setdefault(row.statement, []).append(row)
    # statsmodels' multipletests runs gc.collect() on every call (0.1 s here), so check a few statements
    for statement_rows in list(by_statement.values())[:3]:
        adjusted = multipletests([r.pvalue for r in statement_rows], method="holm")[1]
        np.testing.assert_allclose([r.pvalue_holm for r in statement_rows], adjusted, rtol=1e-12, atol=0)


def test_mann_whitney_pairs_without_ratings_give_no_row():
    x = np.array([[1.0], [2.0], [np.nan], [np.nan]])
    assert pairwise_mann_whitney(x, ["a", "a", "b", "b"]) == []


def test_holm_with_nan_entries_equals_statsmodels():
    p = np.array([[0.01, np.nan], [0.04, 0.2], [0.03, 0.01], [np.nan, 0.04]])
    out = holm(p)
    assert len(out) == 4
    np.testing.assert_allclose(out[:3, 0], multipletests(p[:3, 0], method="holm")[1])
    np.testing.assert_allclose(out[1:, 1], multipletests(p[1:, 1], method="holm")[1])
    assert np.isnan(out[3, 0]) and np.isnan(out[0, 1])


@pytest.mark.parametrize("groups, message", [(["a"], "one label per panellist row"),
                                             ([["a", "b"]], "1-D array")])
def test_bad_groups(groups, message):
    with pytest.raises(ValueError, match=message):
        kruskal_wallis([[1], [2]], groups)


def test_unknown_group_key():
    with pytest.raises(ValueError, match="unknown group label"):
        kruskal_wallis([[1], [2]], ["a", "c"], group_keys=["a", "b"])
