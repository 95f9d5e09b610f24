"""Stability per stakeholder group (R 4.2.2 stats::wilcox.test(after, before, paired = TRUE) on each group's pairs)
and stability of the classification between rounds (which statements changed verdict)."""
import numpy as np
import pytest

from analysis import Scale, classify, stability, stability_by_group, verdict_changes


def test_per_group_wilcoxon_equals_r():
    # R 4.2.2:
    #   before <- c(5,6,7,4,8,3,5,6,2,7, 6,6,5,4,9,8,7,3,5,5)
    #   after  <- c(7,8,7,6,8,5,6,8,4,9, 6,5,5,3,9,7,7,2,4,5)
    #   g <- rep(c("staff", "user"), each = 10)
    #   w <- wilcox.test(after[g == k], before[g == k], paired = TRUE)  # for k in staff, user
    # staff: V = 36, p = 0.0083341445778173737; user: V = 0, p = 0.036888425707049893 (normal approximation: ties
    # and zeros)
    before = [5, 6, 7, 4, 8, 3, 5, 6, 2, 7, 6, 6, 5, 4, 9, 8, 7, 3, 5, 5]
    after = [7, 8, 7, 6, 8, 5, 6, 8, 4, 9, 6, 5, 5, 3, 9, 7, 7, 2, 4, 5]
    groups = ["staff"] * 10 + ["user"] * 10
    by_group = stability_by_group(np.c_[before], np.c_[after], groups, Scale())
    assert list(by_group) == ["staff", "user"]
    assert by_group["staff"].wilcoxon_v[0] == 36 and by_group["user"].wilcoxon_v[0] == 0
    assert by_group["staff"].wilcoxon_p[0] == pytest.approx(0.0083341445778173737, rel=1e-9)
    assert by_group["user"].wilcoxon_p[0] == pytest.approx(0.036888425707049893, rel=1e-9)
    # net person-changes of staff: before 2,3,4,5,5,6,6,7,7,8 / after 4,5,6,6,7,7,8,8,8,9 differ at 2 (1), 3 (1),
    # 5 (1), 8 (2), 9 (1): 1/2 * 6 = 3 of 10 pairs
    assert by_group["staff"].pct_change[0] == pytest.approx(30.0, abs=1e-12)
    assert by_group["staff"].pct_changed[0] == pytest.approx(80.0, abs=1e-12)


def test_exact_and_approximate_groups_in_one_call_equal_r():
    # R 4.2.2, wilcox.test(a[g == k], b[g == k], paired = TRUE) with
    #   b <- c(1,2,3,4,5,6, 9,8,7,6,5,4,3, 1,1,1,1,3,1); a <- c(3,5,4,8,9,7, 9,6,8,3,5,4,3, 2,4,6,9,1,8)
    # a: V = 21, p = 0.035014981019662508 (ties: normal); b: V = 1, p = 0.42267807417063546 (zeros: normal);
    # c: V = 19, p = 0.093750000000000042 (exact: psignrank).
    b = [1, 2, 3, 4, 5, 6, 9, 8, 7, 6, 5, 4, 3, 1, 1, 1, 1, 3, 1]
    a = [3, 5, 4, 8, 9, 7, 9, 6, 8, 3, 5, 4, 3, 2, 4, 6, 9, 1, 8]
    groups = ["a"] * 6 + ["b"] * 7 + ["c"] * 6
    # a second statement that nobody in group c rated in the first round: no pairs there
    before = np.c_[b, b].astype(float)
    after = np.c_[a, a].astype(float)
    before[13:, 1] = np.nan
    by_group = stability_by_group(before, after, groups, Scale(), group_keys=["c", "b", "a"])
    assert list(by_group) == ["c", "b", "a"]
    expected = {"a": (21, 0.035014981019662508), "b": (1, 0.42267807417063546), "c": (19, 0.093750000000000042)}
    for key, (v, p) in expected.items():
        assert by_group[key].wilcoxon_v[0] == v
        assert by_group[key].wilcoxon_p[0] == pytest.approx(p, rel=1e-9)
    assert by_group["c"].n_pairs[1] == 0 and np.isnan(by_group["c"].pct_change[1]) and not by_group["c"].stable[1]
    assert by_group["a"].wilcoxon_p[1] == pytest.approx(0.035014981019662508, rel=1e-9)


def test_each_group_equals_stability_of_its_rows(make_panel, groups4):
    before, after = make_panel(1), make_panel(2)
    by_group = stability_by_group(before, after, groups4, Scale(), stable_change=20)
    for key, figures in by_group.items():
        rows = groups4 == key
        alone = stability(before[rows], after[rows], Scale(), stable_change=20)
        for name in ("n_pairs", "pct_changed", "pct_change", "stable", "delta_pct_agree", "wilcoxon_v",
                     "wilcoxon_p"):
            np.testing.assert_array_equal(getattr(figures, name), getattr(alone, name), err_msg=f"{key} {name}")


def test_group_without_panellists_and_bad_input():
    by_group = stability_by_group([[5], [6]], [[6], [6]], ["a", "a"], Scale(), group_keys=["a", "b"])
    assert by_group["b"].n_pairs.tolist() == [0] and np.isnan(by_group["b"].pct_change[0])
    with pytest.raises(ValueError, match="unknown group"):
        stability_by_group([[5]], [[6]], ["z"], Scale(), group_keys=["a"])
    with pytest.raises(ValueError, match="same shape"):
        stability_by_group([[5]], [[6, 7]], ["a"], Scale())
    with pytest.raises(ValueError, match="one label per panellist"):
        stability_by_group([[5], [6]], [[6], [6]], ["a"], Scale())
    with pytest.raises(TypeError):
        by_group["a"] = None  # read-only mapping


def test_verdict_changes_between_rounds():
    c = verdict_changes(["in", "none", "out", "none", "", "in"], ["in", "in", "none", "none", "in", ""])
    assert c.compared.tolist() == [True, True, True, True, False, False]
    assert c.changed.tolist() == [False, True, True, False, False, False]
    assert (c.n_compared, c.n_changed, c.pct_changed) == (4, 2, 50.0)
    assert c.transitions[("none", "in")] == 1 and c.transitions[("out", "none")] == 1
    assert c.transitions[("in", "in")] == 1 and c.transitions[("none", "none")] == 1
    assert sum(c.transitions.values()) == 4 and len(c.transitions) == 9


def test_verdict_changes_of_classified_rounds():
    # Round 1 -> round 2 of a 4-statement study: statement 1 reaches consensus in, statement 2 drifts from out to none.
    r1 = [[9, 1, 5, 8], [8, 2, 5, 8], [5, 1, 5, 9], [4, 3, 9, 9]]
    r2 = [[9, 1, 5, 8], [8, 4, 5, 8], [7, 5, 5, 9], [8, 3, 9, 9]]
    rule_in, rule_out = "pct_agree >= 70", "pct_disagree >= 70"
    before = classify(np.array(r1, float), ["a"] * 4, Scale(), rule_in, rule_out)
    after = classify(np.array(r2, float), ["a"] * 4, Scale(), rule_in, rule_out)
    c = verdict_changes(before, after)
    assert before.tolist() == ["none", "out", "none", "in"] and after.tolist() == ["in", "none", "none", "in"]
    assert c.changed.tolist() == [True, True, False, False] and c.pct_changed == 50.0


def test_verdict_changes_empty_and_bad_input():
    c = verdict_changes([], [])
    assert c.n_compared == 0 and np.isnan(c.pct_changed)
    c = verdict_changes(["", None], ["in", "out"])
    assert c.n_compared == 0 and not c.changed.any()
    with pytest.raises(ValueError, match="unknown verdict"):
        verdict_changes(["in"], ["maybe"])
    with pytest.raises(ValueError, match="one verdict per statement"):
        verdict_changes(["in"], ["in", "out"])
    with pytest.raises(ValueError, match="1-D"):
        verdict_changes([["in"]], [["in"]])
