"""compute_round gives what the individual functions give."""
import numpy as np
import pytest

from analysis import (
    Scale, average_deviation, classify, compute_round, kendalls_w, krippendorff_alpha, kruskal_wallis,
    pairwise_mann_whitney, rand_ucla, rwg, rwg_j, stability, summarise, summarise_equal_groups,
)

KEYS = ["service_user", "family", "staff", "peer"]
INCLUDE, EXCLUDE = "pct_agree >= 70 and pct_disagree < 15", "pct_disagree >= 70 and pct_agree < 15"


@pytest.mark.parametrize("scope", ["overall", "each_group", "equal_groups"])
def test_compute_round_equals_the_functions(make_panel, groups4, scope):
    x, before = make_panel(21), make_panel(22)
    unable = np.isnan(x) & (np.arange(x.shape[0]) % 3 == 0)[:, None]
    f = compute_round(x, groups4, KEYS, Scale(), INCLUDE, EXCLUDE, scope, previous=before, unable=unable)
    assert f.scopes == ("overall", *KEYS, "equal_groups")
    expected = {"overall": summarise(x, Scale()), "equal_groups": summarise_equal_groups(x, groups4, Scale())}
    expected.update({k: summarise(x[groups4 == k], Scale()) for k in KEYS})
    for name, summary in expected.items():
        for field in ("n", "n_missing", "median", "q1", "q3", "iqr", "mean", "sd", "pct_agree", "pct_disagree"):
            np.testing.assert_allclose(getattr(f.summaries[name], field), getattr(summary, field), rtol=0, atol=1e-12)
    assert f.n_unable["overall"].tolist() == unable.sum(axis=0).tolist()
    assert f.n_unable["staff"].tolist() == unable[groups4 == "staff"].sum(axis=0).tolist()
    assert f.classification.tolist() == classify(x, groups4, Scale(), INCLUDE, EXCLUDE, scope).tolist()
    np.testing.assert_array_equal(f.rand_ucla.appropriateness, rand_ucla(x).appropriateness)
    np.testing.assert_allclose(f.rwg, rwg(x, Scale()), atol=1e-12)
    np.testing.assert_allclose(f.average_deviation, average_deviation(x), atol=1e-12)
    assert f.rwg_j == pytest.approx(rwg_j(x, Scale()), abs=1e-12)
    kw = kruskal_wallis(x, groups4, group_keys=KEYS)
    np.testing.assert_allclose(f.kruskal_wallis.h, kw.h, atol=1e-12)
    rows = pairwise_mann_whitney(x, groups4, group_keys=KEYS)
    assert [(r.statement, r.group_a, r.group_b, r.u) for r in f.mann_whitney] == \
        [(r.statement, r.group_a, r.group_b, r.u) for r in rows]
    np.testing.assert_array_equal([r.pvalue_holm for r in f.mann_whitney], [r.pvalue_holm for r in rows])
    assert f.krippendorff_alpha == pytest.approx(krippendorff_alpha(x, "ordinal"), abs=1e-12)
    assert f.kendalls_w == kendalls_w(x) or np.isnan(f.kendalls_w.w)
    st = stability(before, x, Scale())
    np.testing.assert_array_equal(f.stability.wilcoxon_v, st.wilcoxon_v)
    np.testing.assert_array_equal(f.stability.pct_change, st.pct_change)


def test_other_scale_has_no_rand_ucla():
    scale = Scale(min=1, max=5, agree=(4, 5), disagree=(1, 2))
    f = compute_round([[1], [5]], ["a", "b"], ["a", "b"], scale, "pct_agree >= 70", "pct_disagree >= 70", "overall")
    assert f.rand_ucla is None and f.stability is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(groups=["a", "x"]), "unknown group label"),
    (dict(previous=[[1.0]]), "previous: must have the same shape"),
    (dict(scope="equal_groups", include="median >= 7"), "equal_groups scope does not compute"),
    (dict(include="pct_agree >="), "expected a number"),
])
def test_bad_input(kwargs, message):
    args = dict(ratings=[[1], [9]], groups=["a", "b"], group_keys=["a", "b"], scale=Scale(),
                include="pct_agree >= 70", exclude="pct_disagree >= 70", scope="overall")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compute_round(**args)
