"""The figures of a closed round: ratings loaded into numpy with one query, computed with ``analysis``, and stored in
bulk as ``RoundResult`` rows (per statement x scope), so that feedback pages and reports do no statistics."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

import analysis
from analysis.rand_ucla import rand_ucla_from_counts
from delphi.extensions import db
from delphi.models import (
    Classification,
    Panellist,
    Round,
    RoundResult,
    StakeholderGroup,
    Study,
)

SUMMARY_COLUMNS = ("median", "q1", "q3", "iqr", "mean", "sd", "pct_agree", "pct_neutral", "pct_disagree")
# The figures of every scope beyond SUMMARY_COLUMNS, in the order of statistics.csv's columns after ``verdict``
# (spec/cli.md): RAND/UCLA (1-9 scale only), rwg, average deviation, CV and the Wilson interval of % agreement.
RAND_UCLA_COLUMNS = ("p30", "p70", "ipr", "iprcp", "ipras", "disagreement", "appropriateness")
# Issue 20's figures, appended after those: the percentile bootstrap intervals of the median and % agreement (each
# scope's own panellists resampled), stability against the round before (the panel's and each group's), and the
# Kruskal-Wallis test between groups with its p-value adjusted across the round's statements (the panel's row only).
BOOTSTRAP_COLUMNS = ("median_boot_low", "median_boot_high", "agree_boot_low", "agree_boot_high")
STABILITY_COLUMNS = ("n_pairs", "pct_changed", "pct_change", "stable", "delta_pct_agree", "wilcoxon_v", "wilcoxon_p")
GROUP_TEST_COLUMNS = ("kw_h", "kw_df", "kw_p", "kw_p_holm", "kw_p_bh", "kw_epsilon_squared")
SCOPE_COLUMNS = (*RAND_UCLA_COLUMNS, "rwg", "ad", "cv", "agree_ci_low", "agree_ci_high", *BOOTSTRAP_COLUMNS,
                 *STABILITY_COLUMNS, *GROUP_TEST_COLUMNS)
# How the bootstrap is drawn: stored on each round at its close (``Round.figures["bootstrap"]``) for the report.
BOOTSTRAP = {"method": "percentile", "n_resamples": analysis.bootstrap.DEFAULT_RESAMPLES,
             "seed": analysis.bootstrap.DEFAULT_SEED, "confidence": 0.95}


@dataclass(frozen=True)
class RoundMatrix:
    """A round's ratings as arrays: rows are panellists (by id), columns the round's statements (in round order)."""

    ratings: np.ndarray  # float, NaN where no rating or "unable to rate"
    unable: np.ndarray  # bool, "unable to rate"
    declined: np.ndarray  # bool, "prefer not to answer"
    groups: np.ndarray  # group key per row
    panellist_ids: np.ndarray
    statement_ids: np.ndarray


def load_round_matrix(round_: Round, panellist_ids: np.ndarray | None = None) -> RoundMatrix:
    """Load a round's ratings with one set-based query straight into numpy (no ORM object, no Python object per
    rating beyond the driver's row).

    Rows are the panellists with at least one answer in the round (or ``panellist_ids`` when given, to align two
    rounds); withdrawn panellists whose ratings the protocol deletes are already gone from the table.
    """
    statement_ids = np.array([rs.statement_id for rs in round_.statements], dtype=np.int64)
    connection = db.session.connection()
    rows = connection.execute(
        sa.text("SELECT panellist_id, statement_id, COALESCE(value, -1), "
                "CASE WHEN unable_to_rate THEN 1 ELSE 0 END, CASE WHEN declined THEN 1 ELSE 0 END "
                "FROM rating WHERE round_id = :round_id"),
        {"round_id": round_.id},
    ).fetchall()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=5 * len(rows)).reshape(-1, 5)
    del rows
    pid, sid, value, cant = flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3].astype(bool)
    chose_not = flat[:, 4].astype(bool)
    if panellist_ids is None:
        panellist_ids = np.unique(pid)
    shape = (len(panellist_ids), len(statement_ids))
    ratings = np.full(shape, np.nan)
    unable = np.zeros(shape, dtype=bool)
    declined = np.zeros(shape, dtype=bool)
    if len(flat) and len(panellist_ids) and len(statement_ids):
        row = np.minimum(np.searchsorted(panellist_ids, pid), len(panellist_ids) - 1)
        col_order = np.argsort(statement_ids)
        col_pos = np.minimum(np.searchsorted(statement_ids[col_order], sid), len(statement_ids) - 1)
        col = col_order[col_pos]
        ok = (panellist_ids[row] == pid) & (statement_ids[col] == sid)
        ratings[row[ok], col[ok]] = np.where(value[ok] >= 0, value[ok], np.nan)
        unable[row[ok], col[ok]] = cant[ok]
        declined[row[ok], col[ok]] = chose_not[ok]
    membership = dict(connection.execute(
        sa.select(Panellist.id, StakeholderGroup.key)
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Panellist.study_id == round_.study_id)
    ).all())
    groups = np.array([membership.get(int(p)) for p in panellist_ids], dtype=object)
    return RoundMatrix(ratings=ratings, unable=unable, declined=declined, groups=groups, panellist_ids=panellist_ids,
                       statement_ids=statement_ids)


def study_scale(study: Study) -> analysis.Scale:
    return analysis.Scale(min=study.scale_min, max=study.scale_max, agree=(study.agree_low, study.agree_high),
                          disagree=(study.disagree_low, study.disagree_high))


@dataclass
class ClosedRoundFigures:
    """What closing a round stores (not :class:`analysis.RoundFigures`, the statistics it is made from): rows for
    ``round_result``, each statement's classification, whole-round indices."""

    results: list[dict] = field(default_factory=list)
    classification: dict[int, Classification] = field(default_factory=dict)
    indices: dict = field(default_factory=dict)


def _clean(value):
    """A JSON- and SQL-safe scalar: NaN becomes None, numpy types become Python ones."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, str):
        return value
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def scope_figures(figures: analysis.RoundFigures, ratings: np.ndarray, groups: np.ndarray, scale: analysis.Scale,
                  quantile_method: str, *, unable: np.ndarray | None, unable_in_denominator: bool,
                  previous: np.ndarray | None, stable_change: float) -> dict[str, dict[str, np.ndarray]]:
    """:data:`SCOPE_COLUMNS` per scope of a round's figures, as arrays over its statements: the panel's are
    ``compute_round``'s own, a group's the same ``analysis`` functions on the group's rows; ``equal_groups`` has no
    order statistics or spread (NaN), only CV and the interval its summary gives. The round close stores these and
    ``delphi analyse`` writes them, so both come from this one function.

    ``ratings`` rows must be in pseudonym order (as ``ratings.csv`` and ``delphi analyse`` have them): the bootstrap
    draws rows by position. ``previous`` is the round before, aligned to the same rows and columns (None in round
    1); ``unable`` and ``unable_in_denominator`` as for :func:`analysis.compute_round`."""
    x = np.asarray(ratings, dtype=float)
    n_statements = x.shape[1]
    nan = np.full(n_statements, np.nan)
    on_1_9 = figures.rand_ucla is not None
    out: dict[str, dict[str, np.ndarray]] = {}
    for scope in figures.scopes:
        summary = figures.summaries[scope]
        row: dict[str, np.ndarray] = {"cv": summary.cv, "agree_ci_low": summary.agree_ci_low,
                                      "agree_ci_high": summary.agree_ci_high}
        if scope == "overall":
            ru, row["rwg"], row["ad"] = figures.rand_ucla, figures.rwg, figures.average_deviation
        elif scope == "equal_groups":
            ru, row["rwg"], row["ad"] = None, nan, nan
        else:
            # From the group's tally, as compute_round does for the panel: integer counts do not depend on which
            # empty rows the matrix holds, so the close and ``delphi analyse`` agree to the last bit.
            part = x[groups == scope]
            t = np.stack([(part == v).sum(axis=0) for v in scale.points]).astype(float)
            ru = rand_ucla_from_counts(t, quantile_method) if on_1_9 else None
            n = summary.n
            uniform = (scale.n_points ** 2 - 1) / 12
            row["rwg"] = np.where(n > 1, np.maximum(1 - summary.sd ** 2 / np.where(n > 1, uniform, 1), 0.0), np.nan)
            spread = np.abs(scale.points[:, None] - np.where(np.isnan(summary.mean), 0, summary.mean)[None, :])
            row["ad"] = np.where(n > 1, (t * spread).sum(axis=0) / np.maximum(n, 1), np.nan)
        for name in RAND_UCLA_COLUMNS:
            row[name] = getattr(ru, name) if ru is not None else np.full(n_statements, None, dtype=object)
        if ru is not None:  # no ratings: neither disagreement nor its absence
            row["disagreement"] = np.where(summary.n > 0, ru.disagreement.astype(object), None)
        out[scope] = row
    _add_uncertainty(out, figures, x, groups, scale, unable, unable_in_denominator, previous, stable_change)
    return out


def _add_uncertainty(out: dict, figures: analysis.RoundFigures, x: np.ndarray, groups: np.ndarray,
                     scale: analysis.Scale, unable, unable_in_denominator: bool, previous, stable_change: float
                     ) -> None:
    """Issue 20's columns of every scope (:data:`BOOTSTRAP_COLUMNS`, :data:`STABILITY_COLUMNS`,
    :data:`GROUP_TEST_COLUMNS`), added to ``out``.

    Each scope's bootstrap resamples that scope's panellists who answered the round (a rating or "unable to rate"
    on any statement), in row order, with :data:`BOOTSTRAP`'s seed and resamples: exactly
    ``analysis.bootstrap_intervals(those rows, ...)``, so a researcher reproduces it from ``ratings.csv``.
    ``equal_groups`` has no bootstrap (its weighting is not a resample of panellists) and no stability."""
    n_statements = x.shape[1]
    nan = np.full(n_statements, np.nan)
    none = np.full(n_statements, None, dtype=object)
    unable_ = np.zeros(x.shape, dtype=bool) if unable is None else np.asarray(unable, dtype=bool)
    answered = (~np.isnan(x) | unable_).any(axis=1)
    by_group = None
    if previous is not None:
        keys = [scope for scope in figures.scopes if scope not in ("overall", "equal_groups")]
        by_group = analysis.stability_by_group(previous, x, groups, scale, stable_change, group_keys=keys)
    corrections = analysis.correct_group_tests(figures.kruskal_wallis, figures.mann_whitney)
    kw = figures.kruskal_wallis
    for scope, row in out.items():
        if scope == "equal_groups":
            row.update({name: nan for name in BOOTSTRAP_COLUMNS})
        else:
            rows = answered if scope == "overall" else answered & (groups == scope)
            boot = analysis.bootstrap_intervals(
                x[rows], scale, n_resamples=BOOTSTRAP["n_resamples"], confidence=BOOTSTRAP["confidence"],
                seed=BOOTSTRAP["seed"], unable=unable_[rows], unable_in_denominator=unable_in_denominator)
            row.update(median_boot_low=boot.median_low, median_boot_high=boot.median_high,
                       agree_boot_low=boot.pct_agree_low, agree_boot_high=boot.pct_agree_high)
        st = None
        if previous is not None:
            st = figures.stability if scope == "overall" else by_group.get(scope)
        if st is None:
            row.update({name: none for name in STABILITY_COLUMNS})
        else:
            paired = st.n_pairs > 0  # no pair: no stability (not "unstable")
            row.update(n_pairs=np.where(paired, st.n_pairs, None),
                       pct_changed=st.pct_changed, pct_change=st.pct_change,
                       stable=np.where(paired, st.stable.astype(object), None),
                       delta_pct_agree=st.delta_pct_agree, wilcoxon_v=np.where(paired, st.wilcoxon_v, np.nan),
                       wilcoxon_p=st.wilcoxon_p)
        if scope == "overall":
            row.update(kw_h=kw.h, kw_df=kw.df, kw_p=kw.pvalue,
                       kw_p_holm=corrections.kruskal_wallis_holm, kw_p_bh=corrections.kruskal_wallis_bh,
                       kw_epsilon_squared=kw.epsilon_squared)
        else:
            row.update({name: nan for name in GROUP_TEST_COLUMNS})


def _scope_extra(values: dict[str, np.ndarray], j: int, previous_round: Round | None) -> dict:
    """One row's :data:`SCOPE_COLUMNS` as stored in ``RoundResult.extra``: RAND/UCLA as its own dict (absent off a
    1-9 scale), the bootstrap bounds as ``bootstrap``, stability as ``stability`` (absent without pairs), the rest
    flat. The Kruskal-Wallis test is the panel's (``_extra_figures``)."""
    item = {"cv": _clean(values["cv"][j]), "agree_ci_low": _clean(values["agree_ci_low"][j]),
            "agree_ci_high": _clean(values["agree_ci_high"][j]), "rwg": _clean(values["rwg"][j]),
            "average_deviation": _clean(values["ad"][j]),
            "bootstrap": {"median_low": _clean(values["median_boot_low"][j]),
                          "median_high": _clean(values["median_boot_high"][j]),
                          "agree_low": _clean(values["agree_boot_low"][j]),
                          "agree_high": _clean(values["agree_boot_high"][j])}}
    if previous_round is not None and values["n_pairs"][j] is not None:
        item["stability"] = {"previous_round": previous_round.number,
                             **{name: _clean(values[name][j]) for name in STABILITY_COLUMNS}}
    if values["appropriateness"][j] is not None:
        item["rand_ucla"] = {name: _clean(values[name][j]) for name in ("p30", "p70", "ipr", "iprcp", "ipras")}
        item["rand_ucla"].update(disagreement=_clean(values["disagreement"][j]),
                                 appropriateness=str(values["appropriateness"][j]))
    return item


def compute_round_figures(round_: Round) -> ClosedRoundFigures:
    """Compute a round's figures with :func:`analysis.compute_round`, the same call ``delphi analyse`` makes, so the
    app's figures and a re-analysis of the exported ratings agree exactly."""
    study = round_.study
    matrix = load_round_matrix(round_)
    rated = np.array([g is not None for g in matrix.groups], dtype=bool)
    ratings, groups, unable = matrix.ratings[rated], matrix.groups[rated].astype(str), matrix.unable[rated]
    declined = matrix.declined[rated]
    panellist_ids = matrix.panellist_ids[rated]
    statement_ids = matrix.statement_ids
    previous_round = round_.previous_rating_round
    previous = None
    if previous_round is not None:
        before = load_round_matrix(previous_round, panellist_ids=panellist_ids)
        previous = np.full(ratings.shape, np.nan)
        where = {int(sid): k for k, sid in enumerate(before.statement_ids)}
        for j, sid in enumerate(statement_ids):  # a loop over columns to align them, not a statistic
            if int(sid) in where:
                previous[:, j] = before.ratings[:, where[int(sid)]]
    # Rows in pseudonym order, as ratings.csv and ``delphi analyse`` have them: the bootstrap draws rows by position,
    # so that order makes its intervals reproducible from the exported file (no other figure depends on row order).
    pseudonym = dict(db.session.execute(
        sa.select(Panellist.id, Panellist.pseudonym).where(Panellist.study_id == round_.study_id)).all())
    order = np.array(sorted(range(len(panellist_ids)), key=lambda i: pseudonym[int(panellist_ids[i])]),
                     dtype=np.intp)
    ratings, groups, unable, declined = ratings[order], groups[order], unable[order], declined[order]
    if previous is not None:
        previous = previous[order]
    scale = study_scale(study)
    computed = analysis.compute_round(
        ratings, groups, [g.key for g in study.groups], scale, study.include_rule, study.exclude_rule,
        study.consensus_scope.value, previous=previous, stable_change=study.stable_change,
        quantile_method=study.quantile_method, unable=unable,
        unable_in_denominator=study.unable_in_denominator, declined=declined,
    )
    figures = ClosedRoundFigures()
    for j, statement_id in enumerate(statement_ids):
        figures.classification[int(statement_id)] = Classification(str(computed.classification[j]))

    extra = _extra_figures(computed, len(statement_ids), previous_round)
    per_scope = scope_figures(computed, ratings, groups, scale, study.quantile_method, unable=unable,
                              unable_in_denominator=study.unable_in_denominator, previous=previous,
                              stable_change=study.stable_change)
    points = np.arange(study.scale_min, study.scale_max + 1)
    for scope in computed.scopes:
        summary = computed.summaries[scope]
        rows = None if scope == "equal_groups" else (np.ones(len(groups), bool) if scope == "overall" else groups == scope)
        counts = {} if rows is None else {int(v): (ratings[rows] == v).sum(axis=0) for v in points}
        for j, statement_id in enumerate(statement_ids):
            figures.results.append({
                "round_id": round_.id, "statement_id": int(statement_id), "scope": scope,
                "n": int(summary.n[j]), "n_unable": int(computed.n_unable[scope][j]),
                "n_declined": int(computed.n_declined[scope][j]),
                **{name: _clean(getattr(summary, name)[j]) for name in SUMMARY_COLUMNS},
                "verdict": Classification(str(computed.verdicts[scope][j])),
                "distribution": {str(v): int(c[j]) for v, c in counts.items()},
                "extra": {**(extra[j] if scope == "overall" else {}),
                          **_scope_extra(per_scope[scope], j, previous_round)},
            })
    w = computed.kendalls_w
    # Fleiss' kappa on the panellists who rated (one who only answered "unable to rate" would leave no statement
    # complete), as the report computes it for a ratings file.
    raters = ratings[(~np.isnan(ratings)).any(axis=1)] if ratings.size else ratings
    kappa = analysis.fleiss_kappa(raters) if raters.size else None
    figures.indices = {
        "n_panellists": int((~np.isnan(ratings)).any(axis=1).sum()),
        # Kendall's W is listwise: only panellists who rated every statement of the round count.
        "n_complete": int((~np.isnan(ratings)).all(axis=1).sum()) if ratings.size else 0,
        "n_statements": int(len(statement_ids)),
        "kendalls_w": {"w": _clean(w.w), "w_uncorrected": _clean(w.w_uncorrected), "chi2": _clean(w.chi2),
                       "df": _clean(w.df), "pvalue": _clean(w.pvalue), "n_panellists": _clean(w.n_panellists)},
        "krippendorff_alpha_ordinal": _clean(computed.krippendorff_alpha),
        "rwg_j": _clean(computed.rwg_j),
        "fleiss_kappa": None if kappa is None else {
            "kappa": _clean(kappa.kappa), "z": _clean(kappa.z), "pvalue": _clean(kappa.pvalue),
            "n_subjects": _clean(kappa.n_subjects), "n_raters": _clean(kappa.n_raters)},
        "quantile_method": study.quantile_method,
        "bootstrap": dict(BOOTSTRAP),
    }
    return figures


def _extra_figures(computed, n_statements: int, previous_round: Round | None) -> list[dict]:
    """Per-statement figures beyond the summary, for the review screen and reports: RAND/UCLA, rwg, average
    deviation, Kruskal-Wallis with effect sizes, pairwise Mann-Whitney (Holm-adjusted across the pairs of a statement,
    and Holm and BH across statements), stability."""
    extra: list[dict] = [{} for _ in range(n_statements)]
    ru, kw, st = computed.rand_ucla, computed.kruskal_wallis, computed.stability
    # Holm and Benjamini-Hochberg across the round's statements (each pair of groups a family of its own)
    corrected = analysis.correct_group_tests(kw, computed.mann_whitney)
    for j in range(n_statements):
        item = extra[j]
        item["rwg"] = _clean(computed.rwg[j])
        item["average_deviation"] = _clean(computed.average_deviation[j])
        item["kruskal_wallis"] = {"h": _clean(kw.h[j]), "df": _clean(kw.df[j]), "pvalue": _clean(kw.pvalue[j]),
                                  "epsilon_squared": _clean(kw.epsilon_squared[j]),
                                  "eta_squared_h": _clean(kw.eta_squared_h[j]),
                                  "pvalue_holm": _clean(corrected.kruskal_wallis_holm[j]),
                                  "pvalue_bh": _clean(corrected.kruskal_wallis_bh[j])}
        if ru is not None:
            item["rand_ucla"] = {"median": _clean(ru.median[j]), "p30": _clean(ru.p30[j]), "p70": _clean(ru.p70[j]),
                                 "ipr": _clean(ru.ipr[j]), "iprcp": _clean(ru.iprcp[j]),
                                 "ipras": _clean(ru.ipras[j]), "disagreement": bool(ru.disagreement[j]),
                                 "appropriateness": str(ru.appropriateness[j])}
        if st is not None and previous_round is not None and st.n_pairs[j] > 0:
            item["stability"] = {"previous_round": previous_round.number, "n_pairs": _clean(st.n_pairs[j]),
                                 "pct_changed": _clean(st.pct_changed[j]), "pct_change": _clean(st.pct_change[j]),
                                 "stable": bool(st.stable[j]), "delta_pct_agree": _clean(st.delta_pct_agree[j]),
                                 "wilcoxon_v": _clean(st.wilcoxon_v[j]), "wilcoxon_p": _clean(st.wilcoxon_p[j])}
        item["mann_whitney"] = []
    for i, row in enumerate(computed.mann_whitney):
        extra[row.statement]["mann_whitney"].append({
            "group_a": str(row.group_a), "group_b": str(row.group_b), "u": _clean(row.u),
            "pvalue": _clean(row.pvalue), "pvalue_holm": _clean(row.pvalue_holm),
            "pvalue_holm_statements": _clean(corrected.mann_whitney_holm[i]),
            "pvalue_bh_statements": _clean(corrected.mann_whitney_bh[i]),
            "rank_biserial": _clean(row.rank_biserial)})
    return extra


def store_round_figures(round_: Round, figures: ClosedRoundFigures) -> None:
    """Insert the result rows in bulk and record each statement's classification and default decision."""
    if figures.results:
        db.session.execute(sa.insert(RoundResult), figures.results)
    for rs in round_.statements:
        classification = figures.classification.get(rs.statement_id, Classification.none)
        rs.classification = classification
        # By default statements without consensus go on to the next round and the others are retired.
        rs.carry_forward = classification is Classification.none
    round_.figures = figures.indices
