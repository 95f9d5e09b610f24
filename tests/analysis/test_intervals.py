"""Wilson intervals: Newcombe 1998 (Statistics in Medicine 17:857-872) Table I, and statsmodels."""
import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis import wilson_interval

# Newcombe (1998), Table I: method 3 (score) and method 4 (score with continuity correction), 95% intervals.
NEWCOMBE = [
    (81, 263, (0.2553, 0.3662), (0.2535, 0.3682)),
    (15, 148, (0.0624, 0.1605), (0.0598, 0.1644)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.2005)),
    (1, 29, (0.0061, 0.1718), (0.0018, 0.1963)),
]


@pytest.mark.parametrize("k, n, score, corrected", NEWCOMBE)
def test_newcombe_table(k, n, score, corrected):
    assert tuple(round(v, 4) for v in wilson_interval(k, n)) == score
    assert tuple(round(v, 4) for v in wilson_interval(k, n, correction=True)) == corrected


def test_equals_statsmodels_wilson():
    k = np.arange(0, 41)
    low, high = wilson_interval(k, 40, confidence=0.9)
    sm_low, sm_high = proportion_confint(k, 40, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, sm_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, sm_high, rtol=0, atol=1e-12)


def test_vectorised_and_clipped():
    low, high = wilson_interval([0, 5, 10], [10, 10, 10], correction=True)
    assert low[0] == 0 and high[2] == 1 and (low <= high).all() and (low >= 0).all() and (high <= 1).all()
    assert np.isnan(wilson_interval(0, 0)).all()


@pytest.mark.parametrize("k, n, kwargs, message", [
    (5, 4, {}, "between 0 and n"), (-1, 4, {}, "between 0 and n"), (1.5, 4, {}, "whole numbers"),
    (1, 4, {"confidence": 1.0}, "strictly between 0 and 1"),
])
def test_bad_input(k, n, kwargs, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(k, n, **kwargs)
