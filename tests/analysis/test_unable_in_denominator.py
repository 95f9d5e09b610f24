"""The protocol option consensus.unable_in_denominator: "unable to rate" answers count in the denominator of
pct_agree, pct_neutral, pct_disagree and the Wilson interval, and nowhere else."""
import numpy as np
import pytest

from analysis import Scale, compute_round, summarise, summarise_equal_groups

# Statement 3 of the bootstrap test panel: 12 ratings, 8 of them in 7-9, and two "unable to rate" (rows 2 and 14).
PANEL = np.array([
    [9, 5, 7], [8, 6, np.nan], [9, 4, 6], [7, 5, 8], [3, 5, 2], [4, 6, 3], [2, 4, np.nan], [3, 7, 1],
    [6, 5, 9], [5, 4, 8], [6, 6, 9], [7, 5, 8], [8, 8, 7], [9, 2, np.nan], [7, 7, 7]])
UNABLE = np.zeros(PANEL.shape, dtype=bool)
UNABLE[1, 2] = UNABLE[13, 2] = True  # row 7's hole is a missing answer, not "unable to rate"


def test_percentages_and_wilson_interval_count_unable():
    plain = summarise(PANEL, Scale(), unable=UNABLE)
    counted = summarise(PANEL, Scale(), unable=UNABLE, unable_in_denominator=True)
    assert plain.pct_agree[2] == pytest.approx(100 * 8 / 12, abs=1e-12)
    assert counted.pct_agree[2] == pytest.approx(100 * 8 / 14, abs=1e-12)
    assert counted.pct_disagree[2] == pytest.approx(100 * 3 / 14, abs=1e-12)  # 2, 3, 1
    assert counted.pct_neutral[2] == pytest.approx(100 * 1 / 14, abs=1e-12)  # 6
    assert counted.pct_agree[2] + counted.pct_neutral[2] + counted.pct_disagree[2] == pytest.approx(100 * 12 / 14)
    # R 4.2.2: prop.test(8, 14, correct = FALSE)$conf.int -> 0.32590644579650746 0.78619201095525881
    assert counted.agree_ci_low[2] == pytest.approx(100 * 0.32590644579650746, abs=1e-9)
    assert counted.agree_ci_high[2] == pytest.approx(100 * 0.78619201095525881, abs=1e-9)
    # nothing else moves, n included; columns without "unable to rate" are unchanged
    for name in ("n", "n_missing", "median", "q1", "q3", "iqr", "mean", "sd", "cv"):
        np.testing.assert_array_equal(getattr(counted, name), getattr(plain, name), err_msg=name)
    for name in ("pct_agree", "pct_neutral", "pct_disagree", "agree_ci_low", "agree_ci_high"):
        np.testing.assert_array_equal(getattr(counted, name)[:2], getattr(plain, name)[:2], err_msg=name)
    # the default (flag off) keeps "unable to rate" out of every statistic
    np.testing.assert_array_equal(plain.pct_agree, summarise(PANEL, Scale()).pct_agree)


def test_only_unable_answers_give_zero_not_nan():
    x = np.array([[np.nan], [np.nan]])
    s = summarise(x, Scale(), unable=[[True], [False]], unable_in_denominator=True)
    assert s.n[0] == 0 and s.pct_agree[0] == 0.0 and s.pct_disagree[0] == 0.0
    assert s.agree_ci_low[0] == 0.0 and np.isnan(s.median[0])
    assert np.isnan(summarise(x, Scale(), unable=[[True], [False]]).pct_agree[0])


def test_equal_groups_count_each_groups_unable():
    x = np.array([[9], [9], [np.nan], [1], [np.nan]])
    groups = ["staff", "staff", "staff", "user", "user"]
    unable = np.array([[False], [False], [True], [False], [False]])  # the user's hole is a missing answer
    s = summarise_equal_groups(x, groups, Scale(), unable=unable, unable_in_denominator=True)
    assert s.pct_agree[0] == pytest.approx((100 * 2 / 3 + 0) / 2, abs=1e-12)
    assert s.pct_disagree[0] == pytest.approx((0 + 100) / 2, abs=1e-12)
    assert summarise_equal_groups(x, groups, Scale(), unable=unable).pct_agree[0] == 50.0


def test_compute_round_applies_the_flag_to_every_scope_and_the_rules():
    x = np.array([[9, 9], [8, 8], [7, 7], [np.nan, 9], [9, 9], [np.nan, 8]])
    groups = ["a", "a", "a", "b", "b", "b"]
    unable = np.isnan(x)
    args = (x, groups, ["a", "b"], Scale(), "pct_agree >= 80", "pct_disagree >= 80", "overall")
    plain = compute_round(*args, unable=unable)
    counted = compute_round(*args, unable=unable, unable_in_denominator=True)
    assert plain.summaries["overall"].pct_agree.tolist() == [100.0, 100.0]
    assert counted.summaries["overall"].pct_agree[0] == pytest.approx(100 * 4 / 6)
    assert counted.summaries["b"].pct_agree[0] == pytest.approx(100 * 1 / 3)
    assert counted.summaries["a"].pct_agree[0] == 100.0
    assert counted.summaries["equal_groups"].pct_agree[0] == pytest.approx((100 + 100 / 3) / 2)
    assert plain.classification.tolist() == ["in", "in"]
    assert counted.classification.tolist() == ["none", "in"]  # 4 of 6 is below 80%
    assert counted.n_unable["overall"].tolist() == [2, 0] and counted.n_unable["b"].tolist() == [2, 0]
    assert counted.summaries["overall"].n.tolist() == plain.summaries["overall"].n.tolist() == [4, 6]


def test_unable_must_mark_unrated_cells_of_the_same_shape():
    with pytest.raises(ValueError, match="has a rating"):
        summarise([[9]], Scale(), unable=[[True]], unable_in_denominator=True)
    with pytest.raises(ValueError, match="same shape"):
        summarise([[9]], Scale(), unable=[[False, True]])
    with pytest.raises(ValueError, match="has a rating"):
        compute_round([[9]], ["a"], ["a"], Scale(), "n >= 1", "n < 0", "overall", unable=[[True]])
