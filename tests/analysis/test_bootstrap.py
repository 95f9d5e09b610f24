"""Percentile bootstrap intervals of the median and pct_agree: checked against R given the same resamples, against
scipy.stats.bootstrap(method="percentile") drawing from the same seed, against a slow per-resample loop, for
reproducibility from the documented seed, and for coverage on simulated panels."""
import numpy as np
import pytest
from scipy import stats

from analysis import Scale, bootstrap_intervals, summarise
from analysis.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, resample_indices

# 15 panellists x 3 statements; column 3 has three holes, two of them "unable to rate" (rows 2 and 14).
PANEL = np.array([
    [9, 5, 7], [8, 6, np.nan], [9, 4, 6], [7, 5, 8], [3, 5, 2], [4, 6, 3], [2, 4, np.nan], [3, 7, 1],
    [6, 5, 9], [5, 4, 8], [6, 6, 9], [7, 5, 8], [8, 8, 7], [9, 2, np.nan], [7, 7, 7]])
UNABLE = np.zeros(PANEL.shape, dtype=bool)
UNABLE[1, 2] = UNABLE[13, 2] = True


def test_the_draw_is_default_rng_of_the_seed():
    # The documented draw: np.random.default_rng(seed).integers(0, n, (n_resamples, n)). Pinned so that a change of
    # generator or call (which would silently change every published interval) fails here.
    first = resample_indices(15, 500, 20)[0]
    assert first.tolist() == [13, 4, 3, 6, 13, 1, 3, 7, 3, 6, 5, 1, 0, 1, 9]
    assert np.array_equal(resample_indices(15, 500, 20), np.random.default_rng(20).integers(0, 15, (500, 15)))
    assert (DEFAULT_SEED, DEFAULT_RESAMPLES) == (20, 2000)


def test_equals_r_quantiles_of_the_same_resamples():
    # R 4.2.2, base stats::median and stats::quantile(type = 7) over the resamples numpy drew (written to idx.csv as
    # resample_indices(15, 500, 20) + 1):
    #   med <- apply(idx, 1, function(i) median(x[i, j], na.rm = TRUE))
    #   agr <- apply(idx, 1, function(i) 100 * sum(x[i, j] >= 7, na.rm = TRUE) / sum(!is.na(x[i, j])))
    #   agu <- apply(idx, 1, function(i) 100 * sum(x[i, j] >= 7, na.rm = TRUE) /
    #                                      (sum(!is.na(x[i, j])) + sum(unable[i, j])))
    #   quantile(med, c(0.025, 0.975), type = 7)  # and likewise agr, agu
    b = bootstrap_intervals(PANEL, Scale(), n_resamples=500, seed=20)
    np.testing.assert_allclose(b.median_low, [4, 4, 4.5], rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.median_high, [8, 6, 8], rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.pct_agree_low, [26.666666666666668, 0, 40], rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.pct_agree_high, [80, 40, 92.307692307692307], rtol=0, atol=1e-9)
    u = bootstrap_intervals(PANEL, Scale(), n_resamples=500, seed=20, unable=UNABLE, unable_in_denominator=True)
    np.testing.assert_allclose(u.pct_agree_low, [26.666666666666668, 0, 33.333333333333336], rtol=0, atol=1e-9)
    np.testing.assert_allclose(u.pct_agree_high, [80, 40, 84.00641025641022], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(u.median_low, b.median_low)  # the median never counts "unable to rate"
    assert u.unable_in_denominator and not b.unable_in_denominator


def _agree(a, axis=-1):
    return 100 * np.sum(a >= 7, axis=axis) / np.sum(~np.isnan(a), axis=axis)


@pytest.mark.parametrize("seed", [0, 20, 12345])
def test_equals_scipy_bootstrap_with_the_same_seed(seed, make_panel):
    x = make_panel(seed + 1, panellists=40, statements=12, missing=0.1)[:, 5:]  # columns every resample rates
    b = bootstrap_intervals(x, Scale(), n_resamples=999, seed=seed, confidence=0.9)
    for statistic, low, high in ((np.nanmedian, b.median_low, b.median_high), (_agree, b.pct_agree_low,
                                                                                  b.pct_agree_high)):
        ref = stats.bootstrap((x.T,), statistic, vectorized=True, axis=-1, n_resamples=999, confidence_level=0.9,
                              method="percentile", rng=np.random.default_rng(seed))
        np.testing.assert_allclose(low, ref.confidence_interval.low, rtol=0, atol=1e-9)
        np.testing.assert_allclose(high, ref.confidence_interval.high, rtol=0, atol=1e-9)


def test_equals_a_slow_loop_with_holes_and_unable(make_panel):
    x = make_panel(3, panellists=25, statements=10, missing=0.3)
    rng = np.random.default_rng(9)
    unable = np.isnan(x) & (rng.random(x.shape) < 0.5)
    scale = Scale(min=1, max=9, agree=(6, 8), disagree=(1, 3))
    b = bootstrap_intervals(x, scale, n_resamples=300, seed=4, unable=unable, unable_in_denominator=True)
    draws = np.random.default_rng(4).integers(0, x.shape[0], (300, x.shape[0]))
    for j in range(x.shape[1]):
        medians, shares = [], []
        for rows in draws:
            column = x[rows, j]
            valid = column[~np.isnan(column)]
            denominator = valid.size + unable[rows, j].sum()
            medians.append(np.median(valid) if valid.size else np.nan)
            shares.append(100 * ((valid >= 6) & (valid <= 8)).sum() / denominator if denominator else np.nan)
        medians, shares = np.array(medians), np.array(shares)
        for values, low, high in ((medians, b.median_low, b.median_high), (shares, b.pct_agree_low,
                                                                           b.pct_agree_high)):
            defined = values[~np.isnan(values)]
            if defined.size == 0:
                assert np.isnan(low[j]) and np.isnan(high[j])
            else:
                assert low[j] == pytest.approx(np.quantile(defined, 0.025), abs=1e-9)
                assert high[j] == pytest.approx(np.quantile(defined, 0.975), abs=1e-9)


def test_reproducible_from_the_seed_and_different_for_another(make_panel):
    x = make_panel(11, panellists=50, statements=20)
    one, two = bootstrap_intervals(x, Scale()), bootstrap_intervals(x, Scale())
    for name in ("median_low", "median_high", "pct_agree_low", "pct_agree_high"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    other = bootstrap_intervals(x, Scale(), seed=21)
    assert not np.array_equal(np.nan_to_num(one.pct_agree_low), np.nan_to_num(other.pct_agree_low))
    assert (one.seed, one.n_resamples, one.confidence) == (20, 2000, 0.95)


def test_coverage_on_simulated_panels():
    # 400 panels of 80 panellists (as 400 statements) from a population with 60% agreement and median 7: the 95%
    # percentile interval of pct_agree should cover 60 about 95% of the time (binomial SE 1.1 points).
    rng = np.random.default_rng(2026)
    population = np.array([2, 4, 5, 5, 7, 7, 8, 8, 9, 9], dtype=float)  # 6 of 10 agree; median 7
    x = rng.choice(population, size=(80, 400))
    b = bootstrap_intervals(x, Scale(), n_resamples=1000, seed=7)
    agree_coverage = np.mean((b.pct_agree_low <= 60) & (60 <= b.pct_agree_high))
    median_coverage = np.mean((b.median_low <= 7) & (7 <= b.median_high))
    assert 0.92 <= agree_coverage <= 0.98
    assert median_coverage >= 0.92
    width = b.pct_agree_high - b.pct_agree_low
    assert 15 < width.mean() < 27  # about 2 x 1.96 x sqrt(.6 x .4 / 80) x 100 = 21.5 points


def test_degenerate_columns():
    x = np.full((6, 4), np.nan)
    x[:, 1] = 8.0  # all identical
    x[0, 2] = 9.0  # one rating: resamples that miss it are left out
    b = bootstrap_intervals(x, Scale(), n_resamples=200)
    assert np.isnan(b.median_low[0]) and np.isnan(b.pct_agree_high[0]) and np.isnan(b.median_low[3])
    assert (b.median_low[1], b.median_high[1], b.pct_agree_low[1], b.pct_agree_high[1]) == (8, 8, 100, 100)
    assert (b.median_low[2], b.median_high[2], b.pct_agree_low[2]) == (9, 9, 100)
    empty = bootstrap_intervals(np.empty((0, 3)), Scale())
    assert np.isnan(empty.median_low).all() and empty.median_low.shape == (3,)


def test_point_estimate_lies_inside_on_a_big_panel(make_panel):
    x = make_panel(5, panellists=300, statements=30, missing=0.05)[:, 5:]
    b = bootstrap_intervals(x, Scale(), n_resamples=500)
    s = summarise(x, Scale())
    assert ((b.pct_agree_low <= s.pct_agree) & (s.pct_agree <= b.pct_agree_high)).all()
    assert ((b.median_low <= s.median) & (s.median <= b.median_high)).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"n_resamples": 0}, "n_resamples"), ({"n_resamples": 2.5}, "n_resamples"), ({"confidence": 1.0}, "confidence"),
    ({"confidence": 0}, "confidence"), ({"seed": -1}, "seed"), ({"seed": "x"}, "seed"),
    ({"unable": np.zeros((2, 3), dtype=bool)}, "unable"), ({"unable": [[True, False], [False, False]]}, "unable"),
])
def test_bad_input_is_a_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_intervals([[9, 1], [8, 2]], Scale(), **kwargs)


def test_off_scale_rating_is_a_value_error():
    with pytest.raises(ValueError, match="off the scale"):
        bootstrap_intervals([[10]], Scale())
