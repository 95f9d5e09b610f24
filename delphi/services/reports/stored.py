"""The figures a study stored when each round closed (``RoundResult``, ``RoundStatement.classification``,
``Round.figures``): the one source of every figure that a page, the report and the downloads show.

Reports do no statistics of their own on a study's ratings: :func:`stored_rounds` reads what the close computed
(:mod:`delphi.services.round_figures`) back into :class:`analysis.RoundFigures`, so that the report's tables and
``statistics.csv`` cannot disagree with each other or with what the review screen and panellists' feedback showed.

A withdrawal after a close whose ratings the protocol deletes does not change that round's figures: they stay as
frozen at the close (what panellists were shown and the facilitators decided on), and the report says how many
answers were removed since. The ratings files no longer hold the removed answers, so those rows cannot be reproduced
from them; rows where fewer than the minimum group size were removed are withheld
(:func:`delphi.services.suppression.withheld_in_round`), so that frozen figures minus today's ratings cannot give
away a withdrawn panellist's answers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace

import numpy as np
import sqlalchemy as sa

import analysis
from delphi.extensions import db
from delphi.models import (
    Classification,
    Round,
    RoundKind,
    RoundResult,
    RoundStatement,
    RoundStatus,
    Statement,
    Study,
)
from delphi.services.analyse import stability_withheld, statistics_row, withheld_row
from delphi.services.round_figures import RAND_UCLA_COLUMNS, STABILITY_COLUMNS, SUMMARY_COLUMNS
from delphi.services.suppression import withheld_in_round

SUMMARY_FIELDS = ("n", "n_missing", "median", "q1", "q3", "iqr", "mean", "sd", "cv", "pct_agree", "pct_neutral",
                  "pct_disagree", "agree_ci_low", "agree_ci_high")


@dataclass(frozen=True)
class StoredRound:
    """One closed rating round's stored figures on the statements it asked (those with an answer at the close),
    in the protocol's statement order."""

    number: int
    codes: tuple[str, ...]
    figures: analysis.RoundFigures
    rows: dict[str, list[dict]]  # scope -> per statement: the statistics row's figures (STATISTICS_COLUMNS[3:])
    indices: dict  # Round.figures: Kendall's W, Krippendorff's alpha, rwg(J), Fleiss' kappa, ...
    sizes: dict[str, dict[str, tuple[int, int]]]  # code -> scope -> (n, n_unable) at the close
    # (Holm, BH) across statements of each ``figures.mann_whitney`` row, in its order (None: closed before they were)
    mann_whitney_adjusted: tuple = ()


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _row_figures(result: RoundResult) -> dict:
    """A stored row as the figures of a statistics row; the figures after ``verdict`` are None for a round closed
    before they were stored."""
    extra = result.extra or {}
    ru = extra.get("rand_ucla") or {}
    figures = {"n": result.n, "n_unable": result.n_unable, "n_declined": result.n_declined,
               **{name: getattr(result, name) for name in SUMMARY_COLUMNS},
               "verdict": result.verdict.value if result.verdict is not None else "none",
               **{name: ru.get(name) for name in RAND_UCLA_COLUMNS},
               "rwg": extra.get("rwg"), "ad": extra.get("average_deviation"), "cv": extra.get("cv"),
               "agree_ci_low": extra.get("agree_ci_low"), "agree_ci_high": extra.get("agree_ci_high")}
    boot, st = extra.get("bootstrap") or {}, extra.get("stability") or {}
    figures.update(median_boot_low=boot.get("median_low"), median_boot_high=boot.get("median_high"),
                   agree_boot_low=boot.get("agree_low"), agree_boot_high=boot.get("agree_high"),
                   **{name: st.get(name) for name in STABILITY_COLUMNS})
    kw = extra.get("kruskal_wallis") or {}
    figures.update(kw_h=kw.get("h"), kw_df=kw.get("df"), kw_p=kw.get("pvalue"), kw_p_holm=kw.get("pvalue_holm"),
                   kw_p_bh=kw.get("pvalue_bh"), kw_epsilon_squared=kw.get("epsilon_squared"))
    if figures["appropriateness"] is None and ru:
        figures["appropriateness"] = ""
    return figures


def _summary(rows: list[dict]) -> analysis.Summary:
    values = {name: np.array([_number(r.get(name)) for r in rows], dtype=float) for name in SUMMARY_FIELDS
              if name not in ("n", "n_missing")}
    return analysis.Summary(n=np.array([r["n"] for r in rows], dtype=np.int64),
                            n_missing=np.zeros(len(rows), dtype=np.int64), **values)


def _round_figures(rows: dict[str, list[dict]], extras: list[dict], classification: list[str], indices: dict,
                   on_1_9: bool) -> analysis.RoundFigures:
    """:class:`analysis.RoundFigures` rebuilt from the stored rows (``extras``: the panel's ``extra`` per
    statement); what the close did not keep (group sizes behind a test) is NaN."""
    n = len(classification)
    nan = np.full(n, np.nan)
    scopes = tuple(rows)
    kw = [e.get("kruskal_wallis") or {} for e in extras]
    column = lambda items, name: np.array([_number(i.get(name)) for i in items], dtype=float)  # noqa: E731
    rand_ucla = None
    if on_1_9:
        ru = [e.get("rand_ucla") or {} for e in extras]
        rand_ucla = analysis.RandUcla(
            median=column(ru, "median"), p30=column(ru, "p30"), p70=column(ru, "p70"), ipr=column(ru, "ipr"),
            iprcp=column(ru, "iprcp"), asymmetry=np.abs(5 - column(ru, "iprcp")), ipras=column(ru, "ipras"),
            disagreement=np.array([bool(i.get("disagreement")) for i in ru]),
            appropriateness=np.array([i.get("appropriateness") or "" for i in ru], dtype=object))
    stability = None
    if any("stability" in e for e in extras) or indices.get("has_previous"):
        st = [e.get("stability") or {} for e in extras]
        stability = analysis.Stability(
            n_pairs=np.array([int(i.get("n_pairs") or 0) for i in st]), pct_changed=column(st, "pct_changed"),
            pct_change=column(st, "pct_change"), stable=np.array([bool(i.get("stable")) for i in st]),
            delta_pct_agree=column(st, "delta_pct_agree"), wilcoxon_v=column(st, "wilcoxon_v"),
            wilcoxon_p=column(st, "wilcoxon_p"))
    w = indices.get("kendalls_w") or {}
    return analysis.RoundFigures(
        scopes=scopes, summaries=MappingProxyType({s: _summary(r) for s, r in rows.items()}),
        n_unable=MappingProxyType({s: np.array([r["n_unable"] for r in rs], dtype=np.int64) for s, rs in rows.items()}),
        n_declined=MappingProxyType({s: np.array([r.get("n_declined") or 0 for r in rs], dtype=np.int64)
                                     for s, rs in rows.items()}),
        verdicts=MappingProxyType({s: np.array([r["verdict"] for r in rs], dtype=object) for s, rs in rows.items()}),
        classification=np.array(classification, dtype=object),
        rand_ucla=rand_ucla,
        rwg=column(extras, "rwg"), average_deviation=column(extras, "average_deviation"),
        kruskal_wallis=analysis.GroupDifference(
            h=column(kw, "h"), df=column(kw, "df"), pvalue=column(kw, "pvalue"),
            epsilon_squared=column(kw, "epsilon_squared"), eta_squared_h=column(kw, "eta_squared_h"), n=nan, k=nan),
        mann_whitney=tuple(
            analysis.MannWhitneyRow(statement=j, group_a=m["group_a"], group_b=m["group_b"], n_a=0, n_b=0,
                                    u=_number(m.get("u")), pvalue=_number(m.get("pvalue")),
                                    pvalue_holm=_number(m.get("pvalue_holm")),
                                    rank_biserial=_number(m.get("rank_biserial")))
            for j, e in enumerate(extras) for m in e.get("mann_whitney") or []),
        kendalls_w=analysis.KendallW(
            w=_number(w.get("w")), w_uncorrected=_number(w.get("w_uncorrected")), chi2=_number(w.get("chi2")),
            df=w.get("df"), pvalue=_number(w.get("pvalue")), n_panellists=w.get("n_panellists") or 0,
            n_statements=indices.get("n_statements") or n),
        krippendorff_alpha=_number(indices.get("krippendorff_alpha_ordinal")),
        rwg_j=_number(indices.get("rwg_j")),
        stability=stability,
    )


def stored_rounds(study: Study, statement_codes: list[str], group_keys: list[str]) -> list[StoredRound]:
    """Every closed rating round's stored figures, in round order; statements in ``statement_codes`` order (the
    protocol's), each round keeping those with an answer at its close, as ``delphi analyse`` keeps those with an
    answer in the file."""
    position = {code: i for i, code in enumerate(statement_codes)}
    scopes = ("overall", *group_keys, "equal_groups")
    rounds = db.session.scalars(
        sa.select(Round).where(Round.study_id == study.id, Round.kind == RoundKind.rating,
                               Round.status == RoundStatus.closed).order_by(Round.number)).all()
    results = db.session.execute(
        sa.select(Round.number, Statement.code, RoundResult)
        .join(Round, Round.id == RoundResult.round_id).join(Statement, Statement.id == RoundResult.statement_id)
        .where(Round.study_id == study.id, Round.kind == RoundKind.rating, Round.status == RoundStatus.closed)
    ).all()
    by_round: dict[int, dict[str, dict[str, RoundResult]]] = {}
    for number, code, result in results:
        by_round.setdefault(number, {}).setdefault(code, {})[result.scope] = result
    classified = {(number, code): rs_class for number, code, rs_class in db.session.execute(
        sa.select(Round.number, Statement.code, RoundStatement.classification)
        .join(Round, Round.id == RoundStatement.round_id).join(Statement, Statement.id == RoundStatement.statement_id)
        .where(Round.study_id == study.id))}
    out = []
    on_1_9 = (study.scale_min, study.scale_max) == (1, 9)
    previous_seen = False
    for round_ in rounds:
        stored = by_round.get(round_.number, {})
        codes = sorted((c for c, r in stored.items()
                        if "overall" in r and (r["overall"].n or r["overall"].n_unable or r["overall"].n_declined)
                        and c in position),
                       key=position.__getitem__)
        rows = {scope: [_row_figures(stored[c][scope]) if scope in stored[c] else {"n": 0, "n_unable": 0,
                                                                                     "n_declined": 0, "verdict": "none"}
                        for c in codes] for scope in scopes}
        extras = [stored[c]["overall"].extra or {} for c in codes]
        classification = [(classified.get((round_.number, c)) or Classification.none).value for c in codes]
        indices = dict(round_.figures or {})
        indices["has_previous"] = previous_seen
        figures = _round_figures(rows, extras, classification, indices, on_1_9)
        sizes = {c: {scope: (r.n, r.n_unable) for scope, r in stored[c].items()} for c in codes}
        adjusted = tuple((_number(m.get("pvalue_holm_statements")), _number(m.get("pvalue_bh_statements")))
                         for e in extras for m in e.get("mann_whitney") or [])
        out.append(StoredRound(round_.number, tuple(codes), figures, rows, indices, sizes, adjusted))
        previous_seen = True
    return out


def current_sizes(long, round_number: int, codes, group_keys) -> SimpleNamespace:
    """Today's numbers of ratings and "unable to rate" answers per scope (as ``figures.summaries[key].n`` and
    ``figures.n_unable[key]``), over ``codes``, for :func:`delphi.services.suppression.withheld_in_round`."""
    columns = [long.statements.index(c) for c in codes]
    x, unable = long.ratings[round_number][:, columns], long.unable[round_number][:, columns]
    summaries, n_unable = {}, {}
    for key in group_keys:
        member = long.groups == key
        summaries[key] = SimpleNamespace(n=(~np.isnan(x[member])).sum(axis=0))
        n_unable[key] = unable[member].sum(axis=0)
    return SimpleNamespace(summaries=summaries, n_unable=n_unable)


def statistics_rows(stored: list[StoredRound], long, group_keys, minimum: int) -> tuple[list[dict], list[dict]]:
    """``statistics.csv`` and ``consensus.csv`` rows from the stored figures, written by the same function as
    ``delphi analyse`` writes them (:func:`delphi.services.analyse.statistics_row`), small cells withheld."""
    statistics, consensus = [], []
    for r in stored:
        now = current_sizes(long, r.number, r.codes, group_keys) if r.number in long.ratings else None
        for j, code in enumerate(r.codes):
            withheld = withheld_in_round(now if now is not None else r.figures, group_keys, j, minimum,
                                         r.sizes[code])
            unstable = stability_withheld({key: r.rows[key][j].get("n_pairs") for key in group_keys}, minimum)
            for scope in r.figures.scopes:
                if scope in withheld.scopes:
                    statistics.append(withheld_row(r.number, code, scope))
                elif scope in unstable:
                    statistics.append(statistics_row(r.number, code, scope,
                                                     {**r.rows[scope][j], **dict.fromkeys(STABILITY_COLUMNS)}))
                else:
                    statistics.append(statistics_row(r.number, code, scope, r.rows[scope][j]))
            consensus.append({"round": r.number, "statement": code, "classification": str(r.figures.classification[j])})
    return statistics, consensus

