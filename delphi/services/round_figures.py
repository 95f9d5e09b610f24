"""The figures of a closed round: ratings loaded into numpy with one query, computed with ``analysis``, and stored in
bulk as ``RoundResult`` rows (per statement x scope), so that feedback pages and reports do no statistics."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

import analysis
from delphi.extensions import db
from delphi.models import (
    Classification,
    Panellist,
    Rating,
    Round,
    RoundResult,
    RoundStatement,
    StakeholderGroup,
    Study,
)

SUMMARY_COLUMNS = ("median", "q1", "q3", "iqr", "mean", "sd", "pct_agree", "pct_neutral", "pct_disagree")


@dataclass(frozen=True)
class RoundMatrix:
    """A round's ratings as arrays: rows are panellists (by id), columns the round's statements (in round order)."""

    ratings: np.ndarray  # float, NaN where no rating or "unable to rate"
    unable: np.ndarray  # bool, "unable to rate"
    groups: np.ndarray  # group key per row
    panellist_ids: np.ndarray
    statement_ids: np.ndarray


def load_round_matrix(round_: Round, panellist_ids: np.ndarray | None = None) -> RoundMatrix:
    """Load a round's ratings with one set-based query (no ORM object per rating).

    Rows are the panellists with at least one answer in the round (or ``panellist_ids`` when given, to align two
    rounds); withdrawn panellists whose ratings the protocol deletes are already gone from the table.
    """
    statement_ids = np.array([rs.statement_id for rs in round_.statements], dtype=np.int64)
    rows = db.session.execute(
        sa.select(Rating.panellist_id, Rating.statement_id, Rating.value, Rating.unable_to_rate, StakeholderGroup.key)
        .join(Panellist, Panellist.id == Rating.panellist_id)
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Rating.round_id == round_.id)
    ).all()
    if panellist_ids is None:
        panellist_ids = np.unique(np.array([r[0] for r in rows], dtype=np.int64))
    shape = (len(panellist_ids), len(statement_ids))
    ratings = np.full(shape, np.nan)
    unable = np.zeros(shape, dtype=bool)
    groups = np.empty(len(panellist_ids), dtype=object)
    if rows:
        pid = np.array([r[0] for r in rows], dtype=np.int64)
        sid = np.array([r[1] for r in rows], dtype=np.int64)
        value = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
        cant = np.array([bool(r[3]) for r in rows])
        row = np.searchsorted(panellist_ids, pid)
        row_ok = (row < len(panellist_ids)) & (panellist_ids[np.minimum(row, len(panellist_ids) - 1)] == pid)
        col_order = np.argsort(statement_ids)
        col = col_order[np.searchsorted(statement_ids[col_order], sid)]
        ratings[row[row_ok], col[row_ok]] = value[row_ok]
        unable[row[row_ok], col[row_ok]] = cant[row_ok]
        keys = np.array([r[4] for r in rows], dtype=object)
        groups[row[row_ok]] = keys[row_ok]
    return RoundMatrix(ratings=ratings, unable=unable, groups=groups, panellist_ids=panellist_ids,
                       statement_ids=statement_ids)


def study_scale(study: Study) -> analysis.Scale:
    return analysis.Scale(min=study.scale_min, max=study.scale_max, agree=(study.agree_low, study.agree_high),
                          disagree=(study.disagree_low, study.disagree_high))


@dataclass
class RoundFigures:
    """Everything computed at close: rows for ``round_result``, each statement's classification, whole-round indices."""

    results: list[dict] = field(default_factory=list)
    classification: dict[int, Classification] = field(default_factory=dict)
    indices: dict = field(default_factory=dict)


def _verdicts(include, exclude, summary) -> np.ndarray:
    held_in = np.asarray(include.evaluate(summary), dtype=bool)
    held_out = np.asarray(exclude.evaluate(summary), dtype=bool)
    return np.where(held_in, "in", np.where(held_out, "out", "none"))


def _clean(value):
    """A JSON- and SQL-safe scalar: NaN becomes None, numpy types become Python ones."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def compute_round_figures(round_: Round) -> RoundFigures:
    study = round_.study
    matrix = load_round_matrix(round_)
    scale = study_scale(study)
    method = study.quantile_method
    include = analysis.parse_rule(study.include_rule)
    exclude = analysis.parse_rule(study.exclude_rule)
    ratings, groups = matrix.ratings, matrix.groups
    group_keys = [g.key for g in study.groups]
    points = np.arange(study.scale_min, study.scale_max + 1)
    figures = RoundFigures()

    scopes: list[tuple[str, np.ndarray, object]] = [("overall", np.ones(len(groups), dtype=bool), None)]
    for key in group_keys:
        scopes.append((key, groups == key, None))

    per_scope: dict[str, tuple[object, np.ndarray]] = {}
    for scope, rows, _ in scopes:
        summary = analysis.summarise(ratings[rows], scale, quantile_method=method)
        per_scope[scope] = (summary, rows)
    present = np.isin(groups, group_keys)
    equal = analysis.summarise_equal_groups(ratings[present], groups[present].astype(str), scale)

    verdict = {scope: _verdicts(include, exclude, summary) for scope, (summary, _) in per_scope.items()}
    verdict["equal_groups"] = _verdicts(include, exclude, equal)
    scope_rule = study.consensus_scope.value
    if scope_rule == "each_group":
        classified = _each_group(verdict, per_scope, group_keys)
    else:
        classified = verdict[scope_rule]
    for j, statement_id in enumerate(matrix.statement_ids):
        figures.classification[int(statement_id)] = Classification(str(classified[j]))

    extra = _extra_figures(round_, matrix, scale, method)
    for scope, (summary, rows) in per_scope.items():
        counts = {int(v): (ratings[rows] == v).sum(axis=0) for v in points}
        n_unable = matrix.unable[rows].sum(axis=0)
        for j, statement_id in enumerate(matrix.statement_ids):
            figures.results.append({
                "round_id": round_.id, "statement_id": int(statement_id), "scope": scope,
                "n": int(summary.n[j]), "n_unable": int(n_unable[j]),
                **{name: _clean(getattr(summary, name)[j]) for name in SUMMARY_COLUMNS},
                "verdict": Classification(str(verdict[scope][j])),
                "distribution": {str(v): int(c[j]) for v, c in counts.items()},
                "extra": extra[j] if scope == "overall" else {},
            })
    n_unable_all = matrix.unable[present].sum(axis=0)
    for j, statement_id in enumerate(matrix.statement_ids):
        figures.results.append({
            "round_id": round_.id, "statement_id": int(statement_id), "scope": "equal_groups",
            "n": int(equal.n[j]), "n_unable": int(n_unable_all[j]),
            **{name: _clean(getattr(equal, name)[j]) for name in SUMMARY_COLUMNS},
            "verdict": Classification(str(verdict["equal_groups"][j])), "distribution": {}, "extra": {},
        })
    figures.indices = _round_indices(matrix, scale)
    return figures


def _each_group(verdict: dict, per_scope: dict, group_keys: list[str]) -> np.ndarray:
    """In (out) when the rule holds in every group with at least one rating; none when no group rated."""
    rated = np.array([per_scope[key][0].n > 0 for key in group_keys])  # (groups, statements)
    ins = np.array([verdict[key] == "in" for key in group_keys])
    outs = np.array([verdict[key] == "out" for key in group_keys])
    any_rated = rated.any(axis=0)
    all_in = np.where(rated, ins, True).all(axis=0) & any_rated
    all_out = np.where(rated, outs, True).all(axis=0) & any_rated
    return np.where(all_in, "in", np.where(all_out, "out", "none"))


def _extra_figures(round_: Round, matrix: RoundMatrix, scale, method: str) -> list[dict]:
    """Per-statement figures beyond the summary: RAND/UCLA, rwg, average deviation, group differences, stability."""
    ratings = matrix.ratings
    n_statements = ratings.shape[1]
    extra: list[dict] = [{} for _ in range(n_statements)]
    if scale.min == 1 and scale.max == 9:
        ru = analysis.rand_ucla(ratings, quantile_method=method)
        for j in range(n_statements):
            extra[j]["rand_ucla"] = {
                "p30": _clean(ru.p30[j]), "p70": _clean(ru.p70[j]), "ipr": _clean(ru.ipr[j]),
                "ipras": _clean(ru.ipras[j]), "disagreement": bool(ru.disagreement[j]),
                "appropriateness": str(ru.appropriateness[j]),
            }
    rwg = analysis.rwg(ratings, scale)
    ad = analysis.average_deviation(ratings)
    rated = np.array([g is not None for g in matrix.groups])
    kw = analysis.kruskal_wallis(ratings[rated], matrix.groups[rated].astype(str))
    for j in range(n_statements):
        extra[j]["rwg"] = _clean(rwg[j])
        extra[j]["ad_mean"] = _clean(ad[j])
        extra[j]["kruskal_wallis"] = {
            "h": _clean(kw.h[j]), "df": _clean(np.asarray(kw.df)[j] if np.ndim(kw.df) else kw.df),
            "pvalue": _clean(kw.pvalue[j]), "epsilon_squared": _clean(kw.epsilon_squared[j]),
        }
    previous = _previous_round(round_)
    if previous is not None:
        before_round, statement_ids = previous
        before = load_round_matrix(before_round, panellist_ids=matrix.panellist_ids)
        cols_now = {int(s): j for j, s in enumerate(matrix.statement_ids)}
        shared = [(cols_now[int(s)], k) for k, s in enumerate(before.statement_ids) if int(s) in cols_now]
        if shared:
            now_idx = np.array([a for a, _ in shared])
            before_idx = np.array([b for _, b in shared])
            st = analysis.stability(before.ratings[:, before_idx], ratings[:, now_idx], scale,
                                    stable_change=round_.study.stable_change)
            for k, j in enumerate(now_idx):
                extra[j]["stability"] = {
                    "previous_round": before_round.number, "n_pairs": _clean(st.n_pairs[k]),
                    "pct_changed": _clean(st.pct_changed[k]), "pct_change": _clean(st.pct_change[k]),
                    "stable": bool(st.stable[k]), "delta_pct_agree": _clean(st.delta_pct_agree[k]),
                    "wilcoxon_v": _clean(st.wilcoxon_v[k]), "wilcoxon_p": _clean(st.wilcoxon_p[k]),
                }
    return extra


def _previous_round(round_: Round):
    earlier = [r for r in round_.study.rounds if r.kind.value == "rating" and r.number < round_.number]
    if not earlier:
        return None
    return earlier[-1], [rs.statement_id for rs in earlier[-1].statements]


def _round_indices(matrix: RoundMatrix, scale) -> dict:
    ratings = matrix.ratings
    answered = ~np.isnan(ratings).all(axis=1)
    indices: dict = {"n_panellists": int(answered.sum()), "n_statements": int(ratings.shape[1])}
    if ratings.shape[1] >= 2 and answered.sum() >= 2:
        w = analysis.kendalls_w(ratings[answered])
        indices["kendalls_w"] = {"w": _clean(w.w), "chi2": _clean(w.chi2), "df": _clean(w.df),
                                 "pvalue": _clean(w.pvalue), "n_panellists": _clean(w.n_panellists)}
        # Krippendorff's units are the statements and the coders the panellists.
        indices["krippendorff_alpha_ordinal"] = _clean(analysis.krippendorff_alpha(ratings[answered], level="ordinal"))
        indices["rwg_j"] = _clean(analysis.rwg_j(ratings[answered], scale))
    return indices


def store_round_figures(round_: Round, figures: RoundFigures) -> None:
    """Insert the result rows in bulk and record each statement's classification and default decision."""
    if figures.results:
        db.session.execute(sa.insert(RoundResult), figures.results)
    for rs in round_.statements:
        classification = figures.classification.get(rs.statement_id, Classification.none)
        rs.classification = classification
        # By default statements without consensus go on to the next round and the others are retired.
        rs.carry_forward = classification is Classification.none
    round_.figures = figures.indices
