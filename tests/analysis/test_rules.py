"""The consensus-rule language (protocol.md) and classification by scope."""
import numpy as np
import pytest

from analysis import Scale, check_rule_scope, classify, classify_summaries, parse_rule, summarise, verdicts


def figures(**metrics):
    return {name: np.asarray(values, dtype=float) for name, values in metrics.items()}


def test_and_binds_tighter_than_or():
    rule = parse_rule("n >= 1 or n >= 5 and n < 3")  # = n >= 1 or (n >= 5 and n < 3)
    assert rule.evaluate(figures(n=[2])).tolist() == [True]
    rule = parse_rule("(n >= 1 or n >= 5) and n < 3")
    assert rule.evaluate(figures(n=[4])).tolist() == [False]


@pytest.mark.parametrize("text, values, expected", [
    ("pct_agree >= 70", [70.0, 69.99999999999999, 70.00000000000001, 69.9], [True, True, True, False]),
    ("pct_agree > 70", [70.0, 70.00000000000001, 70.1], [False, False, True]),
    ("pct_agree <= 15", [15.0, 15.000000000000002, 15.1], [True, True, False]),
    ("pct_agree < 15", [15.0, 14.999999999999998, 14.9], [False, False, True]),
    ("pct_agree == 50", [50.0, 49.99999999999999, 50.1], [True, True, False]),
    ("pct_agree >= 70.5", [70.5, 70.4], [True, False]),
    ("pct_agree >= 0", [np.nan], [False]),
    ("pct_agree < 0", [np.nan], [False]),
])
def test_comparisons_with_tolerance_and_nan(text, values, expected):
    assert parse_rule(text).evaluate(figures(pct_agree=values)).tolist() == expected


def test_seventy_percent_computed_in_floating_point_is_not_flipped():
    # 7 of 10 agree: 100 * 7 / 10 is 70.0, but 0.7 * 100 is 70.00000000000001 and 7 / 10 * 100 == 70.0; whatever
    # the route, ">= 70" holds and "> 70" does not.
    for value in (100 * 7 / 10, 0.7 * 100, (1 - 0.3) * 100):
        assert parse_rule("pct_agree >= 70").evaluate(figures(pct_agree=[value]))[0]
        assert not parse_rule("pct_agree > 70").evaluate(figures(pct_agree=[value]))[0]


def test_every_metric_and_text():
    names = "n pct_agree pct_neutral pct_disagree median iqr mean sd".split()
    rule = parse_rule(" and ".join(f"{name} >= 0" for name in names))
    assert rule.metrics == frozenset(names) and rule.text.startswith("n >= 0")
    s = summarise(np.array([[7.0], [8.0]]), Scale())
    assert rule.evaluate(s).tolist() == [True]


@pytest.mark.parametrize("text, message", [
    ("pct_agree >= ", 'rule "pct_agree >= ": expected a number at position 14'),
    ("pct_agree => 70", "expected a comparison .* at position 11"),
    ("pct_agre >= 70", "expected a metric .* at position 1, found 'pct_agre'"),
    ("pct_agree >= 70 and", "expected a metric .* at position 20, found the end of the rule"),
    ("pct_agree >= 70 pct_disagree < 15", 'expected "and", "or" or the end of the rule at position 17'),
    ("(pct_agree >= 70", 'expected "\\)" or "and" / "or" at position 17'),
    ("pct_agree >= 70)", "at position 16"),
    ("pct_agree >= 7O", "at position 15"),
    ("pct_agree >= 70 & n > 3", "expected \"and\", \"or\" or the end of the rule at position 17, found '&'"),
    ("__import__('os') >= 1", "expected a metric .* at position 1, found '__import__'"),
    ("", "the rule is empty"),
    ("   ", "the rule is empty"),
    ("pct_agree >= abc", "expected a number at position 14"),
])
def test_bad_rules_name_the_position(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rule(text)


def test_rule_must_be_text():
    with pytest.raises(ValueError, match="must be text"):
        parse_rule(70)


def test_verdicts_include_wins_over_exclude():
    out = verdicts("n >= 0", "n >= 0", figures(n=[1]))
    assert out.tolist() == ["in"]


RATINGS = np.array([
    # s1: everybody agrees; s2: staff agree, users do not; s3: nobody rated; s4: all disagree; s5: only staff rated
    [9, 9, np.nan, 1, 8],
    [8, 8, np.nan, 2, 9],
    [7, 9, np.nan, 1, np.nan],
    [9, 2, np.nan, 3, np.nan],
    [8, 1, np.nan, 1, np.nan],
])
GROUPS = np.array(["staff", "staff", "staff", "user", "user"])
INCLUDE, EXCLUDE = "pct_agree >= 70 and pct_disagree < 15", "pct_disagree >= 70 and pct_agree < 15"


@pytest.mark.parametrize("scope, expected", [
    ("overall", ["in", "none", "none", "out", "in"]),
    ("each_group", ["in", "none", "none", "out", "in"]),
    ("equal_groups", ["in", "none", "none", "out", "in"]),
])
def test_classify_scopes(scope, expected):
    assert classify(RATINGS, GROUPS, Scale(), INCLUDE, EXCLUDE, scope=scope).tolist() == expected


def test_scopes_differ_where_group_sizes_differ():
    # 6 staff agree, 2 users disagree: overall 75% agree (in); each_group: users do not agree (none);
    # equal_groups: (100 + 0) / 2 = 50% (none).
    x = np.array([[9.0]] * 6 + [[1.0]] * 2)
    g = np.array(["staff"] * 6 + ["user"] * 2)
    rule_in, rule_out = "pct_agree >= 70", "pct_disagree >= 70"
    assert classify(x, g, Scale(), rule_in, rule_out, "overall").tolist() == ["in"]
    assert classify(x, g, Scale(), rule_in, rule_out, "each_group").tolist() == ["none"]
    assert classify(x, g, Scale(), rule_in, rule_out, "equal_groups").tolist() == ["none"]


def test_classify_summaries_reuses_precomputed_figures():
    by_group = {g: summarise(RATINGS[GROUPS == g], Scale()) for g in ("staff", "user")}
    out = classify_summaries(INCLUDE, EXCLUDE, "each_group", by_group=by_group)
    assert out.tolist() == classify(RATINGS, GROUPS, Scale(), INCLUDE, EXCLUDE, scope="each_group").tolist()


@pytest.mark.parametrize("rule", ["median >= 7", "iqr <= 1 and pct_agree >= 70", "sd < 1"])
def test_equal_groups_refuses_order_statistics(rule):
    with pytest.raises(ValueError, match="equal_groups scope does not compute"):
        classify(RATINGS, GROUPS, Scale(), rule, EXCLUDE, scope="equal_groups")
    check_rule_scope(rule, "overall")


def test_unknown_scope():
    with pytest.raises(ValueError, match="scope: 'all' is not one of"):
        classify(RATINGS, GROUPS, Scale(), INCLUDE, EXCLUDE, scope="all")
