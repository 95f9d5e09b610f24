"""Benchmark: a round of a large study (2,000 panellists x 200 statements x 4 groups, 5% missing), computed by
``analysis.compute_round`` and by a straightforward per-statement loop over numpy / scipy calls, in the same run;
both must agree. Also ``krippendorff_alpha`` beside the ``krippendorff`` package, and ``bootstrap_intervals``
(2,000 resamples) beside ``scipy.stats.bootstrap(method="percentile")`` drawing from the same seed.

Run from the repository root: ``python benchmarks/bench_analysis.py``.
Targets (issue 3): compute_round < 1 s and >= 20x faster than the loop; Krippendorff no slower than the package and
equal to 1e-9. Issue 20: bootstrap intervals for 2,000 panellists x 200 statements < 1 s, equal to scipy to 1e-9.
"""
from __future__ import annotations

import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis  # noqa: E402
import analysis.bootstrap  # noqa: E402

PANELLISTS, STATEMENTS, KEYS, MISSING, SEED = 2000, 200, ["service_user", "family", "staff", "peer"], 0.05, 2024
INCLUDE, EXCLUDE = "pct_agree >= 70 and pct_disagree < 15", "pct_disagree >= 70 and pct_agree < 15"


def synthetic_round(seed=SEED):
    rng = np.random.default_rng(seed)
    groups = rng.choice(np.array(KEYS), size=PANELLISTS, p=[0.2, 0.15, 0.45, 0.2])
    centre = rng.integers(2, 9, size=STATEMENTS) + (groups == "staff")[:, None]
    before = np.clip(centre + rng.integers(-3, 4, size=(PANELLISTS, STATEMENTS)), 1, 9).astype(float)
    after = np.clip(before + rng.integers(-1, 2, size=before.shape) * (rng.random(before.shape) < 0.3), 1, 9)
    before[rng.random(before.shape) < MISSING] = np.nan
    after[rng.random(after.shape) < MISSING] = np.nan
    return after, before, groups


def r_wilcoxon_p(after, before):
    d = after - before
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return 0.0, np.nan
    v = stats.rankdata(np.abs(nonzero))[nonzero > 0].sum()
    exact = nonzero.size < 50 and np.unique(np.abs(nonzero)).size == nonzero.size and nonzero.size == d.size
    return v, stats.wilcoxon(after, before, method="exact" if exact else "approx", correction=True).pvalue


def loop_round(x, before, groups):
    """The same figures, one statement at a time, with numpy / scipy."""
    out = {k: [] for k in ("median", "q1", "q3", "mean", "sd", "pct_agree", "group_pct_agree", "equal_pct_agree",
                           "p30", "p70", "rwg", "h", "kw_p", "v", "wilcoxon_p", "pct_change", "mw_u", "mw_p")}
    for j in range(x.shape[1]):
        c = x[:, j]
        valid = c[~np.isnan(c)]
        out["median"].append(np.median(valid))
        out["q1"].append(np.quantile(valid, 0.25))
        out["q3"].append(np.quantile(valid, 0.75))
        out["mean"].append(valid.mean())
        out["sd"].append(valid.std(ddof=1))
        out["pct_agree"].append(100 * np.mean(valid >= 7))
        out["p30"].append(np.quantile(valid, 0.3))
        out["p70"].append(np.quantile(valid, 0.7))
        out["rwg"].append(max(0.0, 1 - valid.var(ddof=1) / ((81 - 1) / 12)))
        samples = [c[(groups == k) & ~np.isnan(c)] for k in KEYS]
        group_pct = [100 * np.mean(s >= 7) for s in samples]
        for s in samples:
            np.median(s), np.quantile(s, [0.25, 0.75]), s.mean(), s.std(ddof=1)  # the group summaries
        out["group_pct_agree"].append(group_pct)
        out["equal_pct_agree"].append(np.mean(group_pct))
        kw = stats.kruskal(*samples)
        out["h"].append(kw.statistic)
        out["kw_p"].append(kw.pvalue)
        for a, b in combinations(range(len(KEYS)), 2):
            mw = stats.mannwhitneyu(samples[a], samples[b], method="asymptotic")
            out["mw_u"].append(mw.statistic)
            out["mw_p"].append(mw.pvalue)
        pair = ~np.isnan(c) & ~np.isnan(before[:, j])
        v, p = r_wilcoxon_p(c[pair], before[pair, j])
        out["v"].append(v)
        out["wilcoxon_p"].append(p)
        f_after = np.bincount(c[pair].astype(int), minlength=10)
        f_before = np.bincount(before[pair, j].astype(int), minlength=10)
        out["pct_change"].append(100 * np.abs(f_after - f_before).sum() / 2 / pair.sum())
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def timed(function, *args, repeat=3, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_bootstrap(x):
    """Ours on the whole round; scipy on its first statements (all at once it would hold 800 M resampled values)."""
    scale, subset = analysis.Scale(), 20
    ours_time, ours = timed(analysis.bootstrap_intervals, x, scale)
    start = time.perf_counter()
    columns = x[:, :subset].T
    reference = [stats.bootstrap((columns,), statistic, vectorized=True, axis=-1, n_resamples=2000, batch=2000,
                                 method="percentile", rng=np.random.default_rng(analysis.bootstrap.DEFAULT_SEED))
                 for statistic in (np.nanmedian,
                                   lambda a, axis: 100 * np.sum(a >= 7, axis=axis) / np.sum(~np.isnan(a), axis=axis))]
    scipy_time = time.perf_counter() - start
    check = np.testing.assert_allclose
    check(ours.median_low[:subset], reference[0].confidence_interval.low, rtol=0, atol=1e-9)
    check(ours.median_high[:subset], reference[0].confidence_interval.high, rtol=0, atol=1e-9)
    check(ours.pct_agree_low[:subset], reference[1].confidence_interval.low, rtol=0, atol=1e-9)
    check(ours.pct_agree_high[:subset], reference[1].confidence_interval.high, rtol=0, atol=1e-9)
    per_statement_ours, per_statement_scipy = ours_time / x.shape[1], scipy_time / subset
    print(f"bootstrap_intervals, 2,000 resamples, {x.shape[0]} x {x.shape[1]}: {ours_time * 1000:8.1f} ms "
          f"(target < 1000 ms); equal to scipy.stats.bootstrap on {subset} statements")
    print(f"  per statement: ours {per_statement_ours * 1000:6.2f} ms, scipy {per_statement_scipy * 1000:7.1f} ms "
          f"({per_statement_scipy / per_statement_ours:.0f}x)")


def main():
    x, before, groups = synthetic_round()
    scale = analysis.Scale()
    print(f"synthetic round: {PANELLISTS} panellists x {STATEMENTS} statements x {len(KEYS)} groups, "
          f"{np.isnan(x).mean():.1%} missing")

    fast_time, figures = timed(analysis.compute_round, x, groups, KEYS, scale, INCLUDE, EXCLUDE, "each_group",
                               previous=before)
    loop_time, loop = timed(loop_round, x, before, groups, repeat=1)

    s = figures.summaries["overall"]
    check = np.testing.assert_allclose
    for name in ("median", "q1", "q3", "mean", "sd", "pct_agree"):
        check(getattr(s, name), loop[name], rtol=0, atol=1e-9, err_msg=name)
    check(np.stack([figures.summaries[k].pct_agree for k in KEYS], axis=1), loop["group_pct_agree"], atol=1e-9)
    check(figures.summaries["equal_groups"].pct_agree, loop["equal_pct_agree"], rtol=0, atol=1e-9)
    check(figures.rand_ucla.p30, loop["p30"], rtol=0, atol=1e-9)
    check(figures.rand_ucla.p70, loop["p70"], rtol=0, atol=1e-9)
    check(figures.rwg, loop["rwg"], rtol=0, atol=1e-9)
    check(figures.kruskal_wallis.h, loop["h"], rtol=1e-9)
    check(figures.kruskal_wallis.pvalue, loop["kw_p"], rtol=1e-9, atol=1e-300)
    check([r.u for r in figures.mann_whitney], loop["mw_u"], rtol=0, atol=1e-9)
    check([r.pvalue for r in figures.mann_whitney], loop["mw_p"], rtol=1e-9, atol=1e-300)
    check(figures.stability.wilcoxon_v, loop["v"], rtol=0, atol=1e-9)
    check(figures.stability.wilcoxon_p, loop["wilcoxon_p"], rtol=1e-9, atol=1e-300)
    check(figures.stability.pct_change, loop["pct_change"], rtol=0, atol=1e-9)
    print("compute_round and the per-statement loop agree (summaries overall / per group / equal groups, RAND/UCLA "
          "percentiles, rwg, Kruskal-Wallis, pairwise Mann-Whitney, Wilcoxon, net change)")
    print(f"compute_round (with previous round): {fast_time * 1000:8.1f} ms")
    print(f"per-statement scipy/numpy loop:      {loop_time * 1000:8.1f} ms")
    print(f"speed-up: {loop_time / fast_time:.1f}x  (targets: < 1000 ms, >= 20x)")
    bench_bootstrap(x)

    try:
        import krippendorff
    except ImportError:
        print("krippendorff package not installed: skipping the comparison")
        return
    for level in ("ordinal", "interval"):
        ours_time, ours = timed(analysis.krippendorff_alpha, x, level)
        theirs_time, theirs = timed(krippendorff.alpha, reliability_data=x, level_of_measurement=level)
        print(f"krippendorff_alpha {level:8s}: ours {ours_time * 1000:7.1f} ms, package {theirs_time * 1000:7.1f} ms "
              f"({theirs_time / ours_time:.1f}x); alpha {ours:.12f} vs {theirs:.12f}, |diff| = {abs(ours - theirs):.1e}")
        assert abs(ours - theirs) < 1e-9


if __name__ == "__main__":
    main()
