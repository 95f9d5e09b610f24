"""Kendall's W, Fleiss' kappa, rwg / rwg(J) and the average deviation index."""
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from analysis import Scale, average_deviation, fleiss_kappa, kendalls_w, rwg, rwg_j

# Wikipedia, "Fleiss' kappa", worked example (10 subjects, 14 raters, 5 categories): P-bar = 0.378, P_e = 0.213,
# kappa = 0.210.
WIKIPEDIA_TABLE = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def table_to_ratings(table):
    """Subjects x categories counts -> raters x subjects ratings (category numbers 1..k)."""
    return np.array([np.repeat(np.arange(1, table.shape[1] + 1), row) for row in table], dtype=float).T


def test_fleiss_wikipedia_example():
    r = fleiss_kappa(table_to_ratings(WIKIPEDIA_TABLE))
    assert round(r.kappa, 3) == 0.210 and round(r.p_bar, 3) == 0.378 and round(r.p_e, 3) == 0.213
    assert r.n_subjects == 10 and r.n_raters == 14


def test_fleiss_equals_statsmodels(make_panel):
    x = make_panel(5, panellists=12, statements=40, missing=0.0)[:, 5:]  # the first five columns have holes
    r = fleiss_kappa(x)
    table = np.stack([(x == v).sum(axis=0) for v in range(1, 10)], axis=1)
    assert r.kappa == pytest.approx(sm_fleiss_kappa(table, method="fleiss"), abs=1e-12)


def test_fleiss_null_standard_error_by_hand():
    # Fleiss, Nee & Landis (1979): var0 = 2 / (N n (n-1)) * [(sum pq)^2 - sum pq(q - p)] / (sum pq)^2
    r = fleiss_kappa(table_to_ratings(WIKIPEDIA_TABLE))
    p = WIKIPEDIA_TABLE.sum(axis=0) / WIKIPEDIA_TABLE.sum()
    pq = p * (1 - p)
    var = 2 / (10 * 14 * 13) * (pq.sum() ** 2 - (pq * (1 - 2 * p)).sum()) / pq.sum() ** 2
    assert r.z == pytest.approx(r.kappa / np.sqrt(var), abs=1e-12)
    assert r.pvalue == pytest.approx(2 * stats.norm.sf(abs(r.z)), abs=1e-15)


def test_fleiss_bands_and_missing_statements():
    x = np.array([[1, 7, 4, np.nan], [2, 8, 5, 1], [3, 9, 6, 1]])
    r = fleiss_kappa(x, bands=[(1, 3), (4, 6), (7, 9)])
    assert r.kappa == 1.0 and r.n_subjects == 3  # the statement with a missing rating is left out


def test_fleiss_all_identical_is_nan():
    r = fleiss_kappa(np.full((5, 4), 7.0))
    assert np.isnan(r.kappa) and r.p_e == 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(bands=[(1, 3), (3, 9)]), "do not overlap"),
    (dict(bands=[(1, 3), (7, 9)]), "lies in none of the bands"),
    (dict(categories=[1, 2]), "not one of the categories"),
    (dict(categories=[1], bands=[(1, 9)]), "not both"),
])
def test_fleiss_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fleiss_kappa([[1, 5], [2, 9]], **kwargs)


def test_kendall_equals_tie_corrected_friedman(make_panel):
    # scipy.stats.friedmanchisquare is the tie-corrected Friedman chi2; W = chi2 / (m (n - 1)).
    x = make_panel(9, panellists=15, statements=8, missing=0.0)[:, 5:]
    x = np.column_stack([x, np.arange(15) % 9 + 1, (np.arange(15) * 7) % 9 + 1])
    r = kendalls_w(x)
    chi2 = stats.friedmanchisquare(*x.T).statistic
    m, n = x.shape
    assert r.chi2 == pytest.approx(chi2, abs=1e-9) and r.w == pytest.approx(chi2 / (m * (n - 1)), abs=1e-12)
    assert r.pvalue == pytest.approx(stats.chi2.sf(chi2, n - 1), abs=1e-12)
    assert r.df == n - 1 and r.n_panellists == m and r.n_statements == n
    assert r.w_uncorrected <= r.w


def test_kendall_without_ties_and_perfect_agreement():
    # Kendall & Babington Smith: identical rankings give W = 1; with no ties the correction changes nothing.
    x = np.tile([1.0, 2, 3, 4], (5, 1))
    r = kendalls_w(x)
    assert r.w == 1.0 and r.w_uncorrected == 1.0 and r.chi2 == pytest.approx(15.0)


def test_kendall_listwise_deletion_and_degenerate():
    x = np.array([[1, 2, 3], [1, 2, np.nan], [3, 2, 1]])
    assert kendalls_w(x).n_panellists == 2
    assert np.isnan(kendalls_w([[1, 2, 3]]).w)  # one panellist
    assert np.isnan(kendalls_w(np.full((4, 3), 5.0)).w)  # everybody ties everything


def test_rwg_by_hand_and_truncation():
    # James, Demaree & Wolf (1984): rwg = 1 - s^2 / ((A^2 - 1) / 12); 9 points: sigma^2 = 80 / 12
    x = np.array([[7, 1, 5, 3], [8, 9, np.nan, 3], [9, 1, np.nan, 3], [8, 9, np.nan, 3]])
    r = rwg(x, Scale())
    assert r[0] == pytest.approx(1 - np.var([7, 8, 9, 8], ddof=1) / (80 / 12), abs=1e-12)
    assert r[1] == 0.0  # more spread than uniform: truncated
    assert np.isnan(r[2])  # one rating
    assert r[3] == 1.0  # all identical


def test_rwg_j_by_hand():
    x = np.array([[7, 8, 1], [8, 9, np.nan], [9, 8, np.nan]])
    m = np.mean([1.0, 1 / 3])
    ratio = m / (80 / 12)
    assert rwg_j(x, Scale()) == pytest.approx(2 * (1 - ratio) / (2 * (1 - ratio) + ratio), abs=1e-12)
    assert rwg_j(np.array([[1, 9], [9, 1], [1, 9], [9, 1]]), Scale()) == 0.0
    assert np.isnan(rwg_j(np.array([[1, np.nan]]), Scale()))


def test_average_deviation(make_panel):
    # Burke, Finkelstein & Dusig (1999): AD = mean |x - mean| (or median), divisor n.
    x = make_panel(11)
    for around, centre in (("mean", np.mean), ("median", np.median)):
        ad = average_deviation(x, around=around)
        for j, c in enumerate(x.T):
            c = c[~np.isnan(c)]
            if c.size < 2:
                assert np.isnan(ad[j])
            else:
                assert ad[j] == pytest.approx(np.mean(np.abs(c - centre(c))), abs=1e-12)


def test_average_deviation_bad_centre():
    with pytest.raises(ValueError, match="'mean' or 'median'"):
        average_deviation([[1]], around="mode")
