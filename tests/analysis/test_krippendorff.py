"""Krippendorff's alpha: Krippendorff (2011), "Computing Krippendorff's alpha-reliability", and the krippendorff
package (Castro, https://github.com/pln-fing-udelar/fast-krippendorff)."""
import krippendorff
import numpy as np
import pytest

from analysis import krippendorff_alpha

N = np.nan
# Krippendorff (2011), section C: 4 observers x 12 units, with missing values.
RELIABILITY_DATA = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
])


@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797),
])
def test_krippendorff_2011_reliability_data(level, published):
    assert round(krippendorff_alpha(RELIABILITY_DATA, level), 3) == published


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_equals_krippendorff_package(level, make_panel):
    for seed in (1, 2, 3):
        x = make_panel(seed, panellists=30, statements=40, missing=0.2)
        expected = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
        assert krippendorff_alpha(x, level) == pytest.approx(expected, abs=1e-9)


def test_non_integer_values_take_the_sorting_path():
    x = RELIABILITY_DATA * 0.37 + 0.01
    for level in ("nominal", "ordinal", "interval", "ratio"):
        expected = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
        assert krippendorff_alpha(x, level) == pytest.approx(expected, abs=1e-9)


def test_degenerate_panels_are_nan():
    assert np.isnan(krippendorff_alpha([[1, 2, 3], [N, N, N]]))  # no unit has two values
    assert np.isnan(krippendorff_alpha([[4, 4], [4, 4]]))  # one value only
    assert np.isnan(krippendorff_alpha(np.full((3, 2), N)))


def test_unknown_level():
    with pytest.raises(ValueError, match="level: 'metric' is not one of nominal, ordinal, interval, ratio"):
        krippendorff_alpha(RELIABILITY_DATA, "metric")
