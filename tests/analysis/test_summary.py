"""summarise and summarise_equal_groups against numpy (the Hyndman & Fan types as numpy implements them) and by hand."""
import numpy as np
import pytest

from analysis import Scale, summarise, summarise_equal_groups
from analysis._tally import QUANTILE_METHODS


def columns(x):
    return [c[~np.isnan(c)] for c in x.T]


@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_quartiles_equal_numpy_quantile_for_every_method(method, make_panel):
    # Independent implementation: np.quantile(..., method=...) on each column's valid ratings (numpy docs; Hyndman &
    # Fan 1996). Includes n = 1, 2, 3, 4 (even n) and larger.
    x = make_panel(1, panellists=41, statements=30)
    for n in (1, 2, 3, 4, 5, 7):
        x[n:, 5 + n] = np.nan
    s = summarise(x, Scale(), quantile_method=method)
    for j, c in enumerate(columns(x)):
        if c.size == 0:
            assert np.isnan(s.q1[j]) and np.isnan(s.q3[j]) and np.isnan(s.median[j])
            continue
        assert s.q1[j] == np.quantile(c, 0.25, method=method)
        assert s.q3[j] == np.quantile(c, 0.75, method=method)
        assert s.median[j] == np.median(c)


def test_moments_and_percentages_equal_numpy(panel):
    s = summarise(panel, Scale())
    for j, c in enumerate(columns(panel)):
        assert s.n[j] == c.size and s.n_missing[j] == panel.shape[0] - c.size
        if c.size == 0:
            assert np.isnan([s.mean[j], s.sd[j], s.cv[j], s.pct_agree[j], s.agree_ci_low[j]]).all()
            continue
        np.testing.assert_allclose(s.mean[j], c.mean(), rtol=0, atol=1e-12)
        if c.size > 1:
            np.testing.assert_allclose(s.sd[j], c.std(ddof=1), rtol=0, atol=1e-12)
            np.testing.assert_allclose(s.cv[j], c.std(ddof=1) / c.mean(), rtol=0, atol=1e-12)
        else:
            assert np.isnan(s.sd[j]) and np.isnan(s.cv[j])
        assert s.pct_agree[j] == pytest.approx(100 * np.mean(c >= 7), abs=1e-12)
        assert s.pct_disagree[j] == pytest.approx(100 * np.mean(c <= 3), abs=1e-12)
        assert s.pct_neutral[j] == pytest.approx(100 * np.mean((c >= 4) & (c <= 6)), abs=1e-12)
        assert s.iqr[j] == s.q3[j] - s.q1[j]


def test_edge_cases_one_rating_identical_missing_even_n():
    x = np.array([[7, 5, np.nan, 3], [np.nan, 5, np.nan, 4], [np.nan, 5, np.nan, 6], [np.nan, 5, np.nan, 7]])
    s = summarise(x, Scale())
    assert s.n.tolist() == [1, 4, 0, 4]
    assert s.median[0] == 7 and s.iqr[0] == 0 and np.isnan(s.sd[0])  # one rating
    assert s.median[1] == 5 and s.iqr[1] == 0 and s.sd[1] == 0 and s.pct_neutral[1] == 100  # all identical
    assert np.isnan([s.median[2], s.iqr[2], s.mean[2], s.pct_agree[2]]).all()  # all missing: NaN, never 0
    assert s.median[3] == 5.0 and s.q1[3] == 3.75 and s.q3[3] == 6.25  # even n, half-integer median (type 7)


def test_weibull_quartiles_as_spss():
    # SPSS (type 6) on 3, 4, 6, 7: Q1 = x(1.25) = 3.25, Q3 = x(3.75) = 6.75 -- by hand from Hyndman & Fan's definition.
    s = summarise([[3], [4], [6], [7]], Scale(), quantile_method="weibull")
    assert (s.q1[0], s.q3[0]) == (3.25, 6.75)


def test_wilson_interval_of_pct_agree():
    # 8 of 10 agree: Wilson 95% interval 0.4902-0.9433 (Newcombe 1998 method 3 formula, computed by hand)
    s = summarise(np.array([[9]] * 8 + [[1]] * 2, dtype=float), Scale())
    assert s.agree_ci_low[0] == pytest.approx(49.016, abs=1e-3)
    assert s.agree_ci_high[0] == pytest.approx(94.332, abs=1e-3)


def test_other_scale_and_touching_bands():
    scale = Scale(min=1, max=5, agree=(4, 5), disagree=(1, 3))
    s = summarise([[1], [3], [4], [5]], scale)
    assert s.pct_agree[0] == 50 and s.pct_disagree[0] == 50 and s.pct_neutral[0] == 0


def test_equal_groups_weighs_each_group_once():
    x = np.array([[9, 1], [9, 1], [9, np.nan], [1, np.nan], [np.nan, np.nan]])
    groups = np.array(["staff", "staff", "staff", "user", "user"])
    s = summarise_equal_groups(x, groups, Scale())
    assert s.n.tolist() == [4, 2] and s.n_missing.tolist() == [1, 3]
    assert s.pct_agree[0] == 50.0 and s.pct_disagree[0] == 50.0 and s.mean[0] == 5.0
    # statement 2: only staff rated, so only staff count
    assert s.pct_disagree[1] == 100.0 and s.mean[1] == 1.0
    assert np.isnan(s.median).all() and np.isnan(s.iqr).all() and np.isnan(s.sd).all()


def test_equal_groups_matches_per_group_summaries(panel, groups4):
    s = summarise_equal_groups(panel, groups4, Scale())
    per_group = [summarise(panel[groups4 == g], Scale()) for g in np.unique(groups4)]
    for j in range(panel.shape[1]):
        rated = [g for g in per_group if g.n[j] > 0]
        if not rated:
            assert np.isnan(s.pct_agree[j]) and np.isnan(s.mean[j])
            continue
        assert s.pct_agree[j] == pytest.approx(np.mean([g.pct_agree[j] for g in rated]), abs=1e-12)
        assert s.mean[j] == pytest.approx(np.mean([g.mean[j] for g in rated]), abs=1e-12)


@pytest.mark.parametrize("ratings, message", [
    ([1, 2, 3], "2-D array"),
    ([[1, 10]], "off the scale 1-9"),
    ([[0, 5]], "off the scale 1-9"),
    ([[7.5]], "not a whole number"),
    ([[np.inf]], "infinite"),
    ([["a"]], "must be numbers"),
])
def test_bad_ratings_are_refused(ratings, message):
    with pytest.raises(ValueError, match=message):
        summarise(ratings, Scale())


def test_unknown_quantile_method_is_refused():
    with pytest.raises(ValueError, match="quantile_method: 'spss' is not one of"):
        summarise([[1]], Scale(), quantile_method="spss")


@pytest.mark.parametrize("kwargs, message", [
    (dict(min=9, max=1), "must be smaller"),
    (dict(min=1.5), "whole numbers"),
    (dict(agree=(7, 10)), "must lie on the scale"),
    (dict(agree=(9, 7)), "low end above"),
    (dict(agree=(3, 9)), "overlap"),
    (dict(disagree=(1,)), "two whole numbers"),
])
def test_bad_scale_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Scale(**kwargs)


def test_groups_must_match_rows():
    with pytest.raises(ValueError, match="one label per panellist row"):
        summarise_equal_groups([[1], [2]], ["a"], Scale())
