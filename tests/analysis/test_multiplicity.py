"""Holm and Benjamini-Hochberg across statements, checked against R 4.2.2's stats::p.adjust (R Core Team 2022) and
the worked example of Benjamini & Hochberg (1995), with the group tests against stats::kruskal.test and
stats::wilcox.test per statement."""
import numpy as np
import pytest

from analysis import (
    adjust_pvalues,
    benjamini_hochberg,
    correct_group_tests,
    holm,
    kruskal_wallis,
    pairwise_mann_whitney,
)

# R 4.2.2:
#   p <- c(0.0021, 0.041, 0.3, NA, 0.0007, 0.049, 0.8, 0.041, 1, 0.012)
#   sprintf("%.17g", p.adjust(p, method = "holm")); sprintf("%.17g", p.adjust(p, method = "BH"))
P = [0.0021, 0.041, 0.3, np.nan, 0.0007, 0.049, 0.8, 0.041, 1, 0.012]
R_HOLM = [0.016799999999999999, 0.246, 0.89999999999999991, np.nan, 0.0063, 0.246, 1, 0.246, 1,
          0.084000000000000005]
R_BH = [0.0094500000000000001, 0.07350000000000001, 0.38571428571428573, np.nan, 0.0063, 0.07350000000000001,
        0.90000000000000002, 0.07350000000000001, 1, 0.036000000000000004]

# Benjamini & Hochberg (1995), section 3.2: the 15 p-values of Neuhaus et al.; R 4.2.2 p.adjust(q, "BH"/"holm").
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528,
           0.7590, 1.000]
R_BH_1995 = [0.0015, 0.0030000000000000001, 0.0094999999999999998, 0.035624999999999997, 0.060299999999999999,
             0.063857142857142862, 0.063857142857142862, 0.064500000000000002, 0.076500000000000012,
             0.48599999999999999, 0.58118181818181813, 0.71487499999999993, 0.75323076923076926,
             0.81321428571428567, 1]
R_HOLM_1995 = [0.0015, 0.0055999999999999999, 0.0247, 0.11399999999999999, 0.22109999999999999,
               0.27799999999999997, 0.27799999999999997, 0.27799999999999997, 0.32130000000000003] + [1] * 6


def test_equals_r_p_adjust_with_na():
    np.testing.assert_allclose(adjust_pvalues(P, "holm"), R_HOLM, rtol=0, atol=1e-12)
    np.testing.assert_allclose(adjust_pvalues(P, "BH"), R_BH, rtol=0, atol=1e-12)


def test_benjamini_hochberg_1995_example():
    adjusted = benjamini_hochberg(BH_1995)
    np.testing.assert_allclose(adjusted, R_BH_1995, rtol=0, atol=1e-12)
    # the paper rejects the four smallest at q* = 0.05 (Holm/Bonferroni reject three)
    assert (adjusted <= 0.05).sum() == 4
    np.testing.assert_allclose(adjust_pvalues(BH_1995, "holm"), R_HOLM_1995, rtol=0, atol=1e-12)
    assert (adjust_pvalues(BH_1995, "holm") <= 0.05).sum() == 3


def test_columns_are_families():
    table = np.column_stack([P, P[::-1]])
    np.testing.assert_allclose(adjust_pvalues(table, "BH")[:, 1], R_BH[::-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(adjust_pvalues(table, "holm")[:, 0], R_HOLM, rtol=0, atol=1e-12)


def test_all_nan_and_empty():
    assert np.isnan(adjust_pvalues([np.nan, np.nan], "BH")).all()
    assert adjust_pvalues(np.array([]), "holm").shape == (0,)


@pytest.mark.parametrize("pvalues, method, message", [
    ([0.1, 1.2], "holm", "between 0 and 1"), ([-0.1], "BH", "between 0 and 1"), ([0.1], "bonferroni", "method"),
    ([0.1], "bh", "method"), ([[[0.1]]], "holm", "1-D or 2-D"), (["x"], "holm", "numbers"),
])
def test_bad_input(pvalues, method, message):
    with pytest.raises(ValueError, match=message):
        adjust_pvalues(pvalues, method)


# 12 panellists (groups a, a, a, a, b, b, b, b, c, c, c, c) x 4 statements.
X = np.array([[9, 5, 7, 2], [8, 6, 7, 3], [9, 4, 6, 2], [7, 5, 8, 1],
              [3, 5, 2, 4], [4, 6, 3, 5], [2, 4, 2, 6], [3, 7, 1, 4],
              [6, 5, 9, 8], [5, 4, 8, 9], [6, 6, 9, 7], [7, 5, 8, 8]], dtype=float)
G = np.repeat(["a", "b", "c"], 4)


def test_group_tests_across_statements_equal_r():
    # R 4.2.2:
    #   kp <- apply(x, 2, function(col) kruskal.test(col, factor(g))$p.value)
    #   p.adjust(kp, "holm"); p.adjust(kp, "BH")
    #   for each pair: mp <- apply(x, 2, function(col) wilcox.test(col[g == A], col[g == B])$p.value)
    #                  p.adjust(mp, "holm"); p.adjust(mp, "BH")
    kw = kruskal_wallis(X, G)
    rows = pairwise_mann_whitney(X, G)
    c = correct_group_tests(kw, rows)
    np.testing.assert_allclose(kw.pvalue, [0.0078931868224720106, 0.77428600860368435, 0.0086439462603311295,
                                           0.0069066883024632179], rtol=1e-9)
    np.testing.assert_allclose(c.kruskal_wallis_holm, [0.027626753209852872, 0.77428600860368435,
                                                       0.027626753209852872, 0.027626753209852872], rtol=1e-9)
    np.testing.assert_allclose(c.kruskal_wallis_bh, [0.011525261680441505, 0.77428600860368435,
                                                     0.011525261680441505, 0.011525261680441505], rtol=1e-9)
    r = {
        ("a", "b"): ([0.028429535998796548, 0.65317305104768542, 0.028429535998796548, 0.028429535998796548],
                     [0.11371814399518619, 0.65317305104768542, 0.11371814399518619, 0.11371814399518619],
                     [0.037906047998395392, 0.65317305104768542, 0.037906047998395392, 0.037906047998395392]),
        ("a", "c"): ([0.039608704639759816, 1, 0.051508336048806863, 0.028429535998796548],
                     [0.11882611391927944, 1, 0.11882611391927944, 0.11371814399518619],
                     [0.068677781398409146, 1, 0.068677781398409146, 0.068677781398409146]),
        ("b", "c"): ([0.028429535998796548, 0.65317305104768542, 0.02746864038568135, 0.028429535998796548],
                     [0.1098745615427254, 0.65317305104768542, 0.1098745615427254, 0.1098745615427254],
                     [0.037906047998395392, 0.65317305104768542, 0.037906047998395392, 0.037906047998395392]),
    }
    assert len(rows) == 12
    for i, row in enumerate(rows):
        raw, expected_holm, expected_bh = r[(row.group_a, row.group_b)]
        assert row.pvalue == pytest.approx(raw[row.statement], rel=1e-9)
        assert c.mann_whitney_holm[i] == pytest.approx(expected_holm[row.statement], rel=1e-9)
        assert c.mann_whitney_bh[i] == pytest.approx(expected_bh[row.statement], rel=1e-9)


def test_statement_without_a_test_is_left_out_of_the_family():
    x = X.copy()
    x[:, 1] = 5.0  # all tied: no Kruskal-Wallis p, so m = 3 for the others
    kw = kruskal_wallis(x, G)
    c = correct_group_tests(kw)
    assert np.isnan(c.kruskal_wallis_holm[1]) and np.isnan(c.kruskal_wallis_bh[1])
    defined = kw.pvalue[[0, 2, 3]]
    np.testing.assert_allclose(c.kruskal_wallis_holm[[0, 2, 3]], holm(defined), rtol=0, atol=1e-15)
    assert c.mann_whitney_holm.shape == (0,)


def test_rejects_what_is_not_a_group_test():
    with pytest.raises(ValueError, match="GroupDifference"):
        correct_group_tests(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="MannWhitneyRow"):
        correct_group_tests(kruskal_wallis(X, G), [0.1])
