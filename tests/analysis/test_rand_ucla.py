"""RAND/UCLA appropriateness (Fitch et al. 2001, The RAND/UCLA Appropriateness Method User's Manual, ch. 7)."""
import numpy as np
import pytest

from analysis import rand_ucla


def column(*ratings):
    return np.array(ratings, dtype=float)[:, None]


def test_figures_equal_numpy_percentiles(make_panel):
    x = make_panel(3)
    r = rand_ucla(x)
    for j, c in enumerate(x.T):
        c = c[~np.isnan(c)]
        if c.size == 0:
            assert r.appropriateness[j] == "" and np.isnan(r.ipr[j]) and not r.disagreement[j]
            continue
        p30, p70 = np.quantile(c, 0.3), np.quantile(c, 0.7)
        assert (r.p30[j], r.p70[j], r.median[j]) == (p30, p70, np.median(c))
        assert r.ipr[j] == p70 - p30
        assert r.ipras[j] == pytest.approx(2.35 + 1.5 * abs(5 - (p30 + p70) / 2), abs=1e-12)


def test_exact_tie_where_float_rounding_would_claim_disagreement():
    # P30 = 3.9, P70 = 6.7: IPR = 2.8 and IPRAS = 2.35 + 1.5 x |5 - 5.3| = 2.8 exactly, but in floating point
    # p70 - p30 exceeds 2.35 + 1.5 * 0.3 by 1.3e-15. A tie is not disagreement (IPR must exceed IPRAS).
    r = rand_ucla(column(1, 2, 3, 3, 6, 6, 6, 6, 7, 7, 9, 9))
    assert r.p30[0] == pytest.approx(3.9) and r.p70[0] == pytest.approx(6.7)
    assert r.ipr[0] - r.ipras[0] > 0  # the float comparison alone would flip it
    assert not r.disagreement[0]


def test_exact_tie_appropriate_median():
    # P30 = 4, P70 = 7.4, IPRAS = 2.35 + 1.5 x 0.7 = 3.4 = IPR; median 6 -> uncertain without disagreement
    r = rand_ucla(column(2, 4, 4, 6, 7, 9, 9))
    assert not r.disagreement[0] and r.appropriateness[0] == "uncertain"


@pytest.mark.parametrize("ratings, median, verdict", [
    ((7, 7, 7, 8, 8, 9), 7.5, "appropriate"),
    ((3, 4, 3, 4), 3.5, "uncertain"),  # half-integer median 3.5 is not <= 3
    ((6, 7, 6, 7), 6.5, "uncertain"),  # half-integer median 6.5 is not >= 7
    ((1, 2, 3, 3), 2.5, "inappropriate"),
    ((5,), 5.0, "uncertain"),  # one rating
    ((9,), 9.0, "appropriate"),
    ((1, 1, 1, 9, 9, 9, 9), 9.0, "uncertain"),  # disagreement
])
def test_appropriateness(ratings, median, verdict):
    r = rand_ucla(column(*ratings))
    assert r.median[0] == median and r.appropriateness[0] == verdict


def test_all_identical_and_all_missing():
    r = rand_ucla(np.array([[8, np.nan], [8, np.nan], [8, np.nan]]))
    assert r.ipr[0] == 0 and r.appropriateness[0] == "appropriate"
    assert r.appropriateness[1] == "" and np.isnan(r.median[1])


@pytest.mark.parametrize("ratings, message", [([[0]], "off the scale 1-9"), ([[10]], "off the scale 1-9"),
                                              ([[2.5]], "not a whole number")])
def test_nine_point_scale_only(ratings, message):
    with pytest.raises(ValueError, match=message):
        rand_ucla(ratings)
