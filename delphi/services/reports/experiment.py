"""The report's section on a study within the study (issue 23): the panel randomised between feedback formats.

From a :class:`~delphi.services.reports.source.ReportSource` whose protocol has an ``experiment`` and whose ratings
carry each panellist's arm (``LongRatings.arms``), with ``analysis.experiment`` for every statistic: the flow per arm
and stakeholder group (CONSORT 13a/13b), the rating change between consecutive rounds per arm, the arm effect on that
change (a permutation test stratified by group with a stratified bootstrap interval, CONSORT 17a) and the agreement
of the arms' final verdicts (CONSORT 18; Brookes et al. 2016). Every per-arm, per-group count goes through
:func:`delphi.services.suppression.withheld_cells`; figures made from whole arms are shown only when no arm is a small
cell by the same rule. The first arm of the protocol is the reference: with three or more arms each other arm is
compared with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import analysis
from analysis.verdict_change import VERDICTS
from delphi.protocol import ExperimentSpec
from delphi.services.analyse import analysis_scale
from delphi.services.csv_export import csv_text
from delphi.services.reports.findings import RoundView
from delphi.services.reports.source import ReportSource
from delphi.services.suppression import withheld_cells

# The arm effect's draws, stated in the report so that analysis.arm_effect on the exported rows gives them again.
N_PERMUTATIONS = 10_000
N_RESAMPLES = 10_000
EFFECT_SEED = 23
CONFIDENCE = 0.95
# Stratified by group, as the allocation is (Kahan & Morris 2012); the pooled difference is in results only if asked.
ESTIMATOR = "stratified"
# The outcomes, per panellist over every pair of consecutive rounds: movement towards the panel's median shown after
# the earlier round (primary), towards their own group's median, and the percentage of ratings that changed band.
OUTCOMES = ("panel_median", "own_group_median", "changed_band")


@dataclass(frozen=True)
class FlowCell:
    """One arm x stakeholder group of the CONSORT flow (``group`` None: the arm's whole panel); counts per round
    in ``rounds`` order; ``shown`` False when withheld (small cells)."""

    arm: str
    group: str | None
    shown: bool
    allocated: int = 0
    responded: tuple[int, ...] = ()
    retained: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChangeRow:
    """One arm's rating change between two rounds: the mean over its panellists with at least one statement rated in
    both (``panellists``; ``pairs`` rating pairs) of each panellist's mean movement towards the panel's and their own
    group's previous median (scale points), and of the percentage of their ratings that changed band."""

    arm: str
    round_from: int
    round_to: int
    shown: bool
    panellists: int = 0
    pairs: int = 0
    movement: float = math.nan
    own_movement: float = math.nan
    pct_changed_band: float = math.nan


@dataclass(frozen=True)
class Comparison:
    """One arm (``arm_b``) against the reference arm (``arm_a``): the effect on each outcome (``None`` when an arm is
    a small cell) and the agreement of their final verdicts (``None`` likewise)."""

    arm_a: str
    arm_b: str
    effects: dict  # outcome -> analysis.ArmEffect or None
    verdicts: analysis.VerdictAgreement | None
    discordant: tuple  # (statement code, verdict in arm a, verdict in arm b)
    n_final: tuple  # panellists who answered the final round, per arm


@dataclass(frozen=True)
class ExperimentReport:
    spec: ExperimentSpec
    arms: tuple[str, ...]  # the protocol's order: the first is the reference
    names: dict
    feedback: dict  # arm key -> the arm's feedback format
    groups: tuple[str, ...]
    rounds: tuple[int, ...]
    block_size: int
    not_allocated: int  # panellists in the ratings without an arm of the protocol (left out of everything here)
    flow: list[FlowCell]
    change: list[ChangeRow]
    comparisons: list[Comparison]
    final_round: int | None
    n_permutations: int = N_PERMUTATIONS
    n_resamples: int = N_RESAMPLES
    seed: int = EFFECT_SEED
    confidence: float = CONFIDENCE
    estimator: str = ESTIMATOR

    @property
    def verdict_names(self) -> tuple[str, ...]:
        return VERDICTS


def has_experiment(source: ReportSource) -> bool:
    """Whether the report has a section on a study within the study: an experiment in the protocol and arms in the
    ratings."""
    # getattr: a protocol or ratings read duck-typed (``delphi analyse``'s callers) may predate the experiment
    return getattr(source.protocol, "experiment", None) is not None and getattr(source.long, "arms", None) is not None


def _answered(long, k: int) -> np.ndarray:
    """Who answered round ``k``, as the app counts a response: a rating, "unable to rate" or "prefer not to answer"."""
    return (~np.isnan(long.ratings[k]) | long.unable[k] | long.declined_in(k)).any(axis=1)


def arm_rows(source: ReportSource) -> tuple[np.ndarray, np.ndarray]:
    """Each panellist row's arm (as text) and whether it is one of the protocol's arms."""
    keys = [a.key for a in source.protocol.experiment.arms]
    arm = np.array(["" if v is None else str(v) for v in source.long.arms.tolist()], dtype=object)
    return arm, np.isin(arm, keys)


def flow(source: ReportSource) -> list[FlowCell]:
    """Allocated, answered round r and answered every round to r, per arm and group and per arm, small cells
    withheld: one :func:`withheld_cells` over the groups, each group's cells being its arms' (so that a group's other
    arm goes with a small one: the arms add up to the group's flow shown above), and one over the arms (whose
    totals add up to the panel's)."""
    p, long = source.protocol, source.long
    arms, groups = [a.key for a in p.experiment.arms], [g.key for g in p.groups]
    arm, allocated_rows = arm_rows(source)
    answered = np.column_stack([_answered(long, k) for k in long.rounds]) if long.rounds else \
        np.zeros((len(long.panellists), 0), bool)
    counts = analysis.retention(arm[allocated_rows], long.groups[allocated_rows].astype(str),
                                answered[allocated_rows], arm_keys=arms, group_keys=groups)

    # A study counts its allocated panellists in the database (those who never answered have no ratings); a ratings
    # file can count only those in it.
    allocated = counts.allocated if source.allocated is None else np.array(
        [[source.allocated.get((arm_key, group_key), 0) for group_key in groups] for arm_key in arms], dtype=int)

    def parts(a: int, g: slice | int) -> tuple[int, ...]:
        """Allocated, answered each round, retained to each round: one cell each."""
        by_round = lambda table: np.atleast_2d(table[a, g]).sum(axis=0).tolist()  # noqa: E731
        return (int(allocated[a, g].sum()), *by_round(counts.responded), *by_round(counts.retained))

    minimum = p.min_group_feedback
    by_group = withheld_cells({key: tuple(v for a in range(len(arms)) for v in parts(a, g))
                               for g, key in enumerate(groups)}, minimum)
    by_arm = withheld_cells({key: parts(a, slice(None)) for a, key in enumerate(arms)}, minimum)
    n = len(long.rounds)
    out = []
    for a, key in enumerate(arms):
        for g, group in [(g, group) for g, group in enumerate(groups)] + [(slice(None), None)]:
            hidden = (group in by_group) if group is not None else (key in by_arm or by_group.overall)
            values = parts(a, g)
            out.append(FlowCell(key, group, False) if hidden else FlowCell(
                key, group, True, values[0], values[1:1 + n], values[1 + n:]))
    return out


def _medians(view: RoundView, keys: list[str], groups: np.ndarray, columns: np.ndarray) -> tuple:
    """The panel's and each row's own group's median of round ``view`` at protocol ``columns``, as the round's
    figures hold them (stored at the close for a study; computed with the protocol's quantile method otherwise)."""
    at = np.array([view.at(int(c)) for c in columns], dtype=np.intp)
    panel = np.asarray(view.figures.summaries["overall"].median, dtype=float)[at]
    by_group = np.vstack([np.asarray(view.figures.summaries[k].median, dtype=float)[at] for k in keys])
    code = {k: i for i, k in enumerate(keys)}
    return panel, by_group[np.array([code[g] for g in groups.tolist()], dtype=np.intp)]


def rating_changes(source: ReportSource, views: list[RoundView]) -> list[tuple[int, int, analysis.RatingChange,
                                                                                analysis.RatingChange]]:
    """For each pair of consecutive rating rounds, over the statements both asked and every panellist row: the change
    relative to the panel's median of the earlier round, and relative to the row's own group's median."""
    p, long = source.protocol, source.long
    keys, scale = [g.key for g in p.groups], analysis_scale(p)
    out = []
    for before, after in zip(views, views[1:]):
        columns = np.intersect1d(before.columns, after.columns)
        x = long.ratings[before.number][:, columns]
        y = long.ratings[after.number][:, columns]
        panel, own = _medians(before, keys, long.groups.astype(str), columns)
        out.append((before.number, after.number, analysis.rating_change(x, y, panel, scale),
                    analysis.rating_change(x, y, own, scale)))
    return out


def outcomes(changes) -> dict[str, np.ndarray]:
    """Each outcome per panellist row and statement pair, every pair of consecutive rounds side by side (NaN where
    not compared): what :func:`analysis.arm_effect` averages per panellist."""
    if not changes:
        return {}
    return {"panel_median": np.hstack([c.movement for _, _, c, _ in changes]),
            "own_group_median": np.hstack([c.movement for _, _, _, c in changes]),
            "changed_band": np.hstack([np.where(c.compared, 100.0 * c.changed_band, np.nan)
                                       for _, _, c, _ in changes])}


def _change_rows(source: ReportSource, changes, arm: np.ndarray) -> list[ChangeRow]:
    arms, minimum = [a.key for a in source.protocol.experiment.arms], source.protocol.min_group_feedback
    rows = []
    for start, end, panel, own in changes:
        who = {key: (arm == key) & (panel.n_pairs > 0) for key in arms}
        hidden = withheld_cells({key: int(rows_.sum()) for key, rows_ in who.items()}, minimum)
        for key in arms:
            rows_ = who[key]
            if key in hidden or not rows_.any():
                rows.append(ChangeRow(key, start, end, not rows_.any() and key not in hidden))
                continue
            rows.append(ChangeRow(key, start, end, True, int(rows_.sum()), int(panel.n_pairs[rows_].sum()),
                                  float(panel.mean_movement[rows_].mean()), float(np.nanmean(own.mean_movement[rows_])),
                                  float(panel.pct_changed_band[rows_].mean())))
    return rows


def final_verdicts(source: ReportSource, view: RoundView, rows: np.ndarray) -> np.ndarray:
    """The study's verdict on each statement of the final round from the ratings of ``rows`` alone: the protocol's
    rules and scope, as the round close computes them (:func:`analysis.compute_round`)."""
    p, long = source.protocol, source.long
    c, k, columns = p.consensus, view.number, view.columns
    figures = analysis.compute_round(
        long.ratings[k][rows][:, columns], long.groups[rows].astype(str), [g.key for g in p.groups],
        analysis_scale(p), c.include, c.exclude, c.scope, stable_change=c.stable_change,
        quantile_method=c.quantile_method, unable=long.unable[k][rows][:, columns],
        unable_in_denominator=c.unable_in_denominator, declined=long.declined_in(k)[rows][:, columns])
    return np.array([str(v) for v in figures.classification], dtype=object)


def _compare(source: ReportSource, views, y: dict, arm: np.ndarray, a: str, b: str) -> Comparison:
    long, minimum = source.long, source.protocol.min_group_feedback
    groups = long.groups.astype(str)
    keys = [g.key for g in source.protocol.groups]
    effects = {}
    for outcome in OUTCOMES:
        if outcome not in y:
            effects[outcome] = None
            continue
        effect = analysis.arm_effect(y[outcome], arm, groups, n_permutations=N_PERMUTATIONS, seed=EFFECT_SEED,
                                     confidence=CONFIDENCE, n_resamples=N_RESAMPLES, arm_keys=(a, b),
                                     group_keys=keys, estimator=ESTIMATOR)
        small = withheld_cells({a: effect.n[0], b: effect.n[1]}, minimum)
        effects[outcome] = None if small.groups or min(effect.n) == 0 else effect
    if not views:
        return Comparison(a, b, effects, None, (), (0, 0))
    last = views[-1]
    answered = _answered(long, last.number)
    n_final = (int((answered & (arm == a)).sum()), int((answered & (arm == b)).sum()))
    if withheld_cells(dict(zip((a, b), n_final)), minimum).groups or min(n_final) == 0:
        return Comparison(a, b, effects, None, (), n_final)
    va, vb = (final_verdicts(source, last, answered & (arm == key)) for key in (a, b))
    codes = [source.protocol.statements[int(c)].code for c in last.columns]
    discordant = tuple((code, x, z) for code, x, z in zip(codes, va.tolist(), vb.tolist()) if x != z)
    return Comparison(a, b, effects, analysis.verdict_agreement(va, vb), discordant, n_final)


def experiment_report(source: ReportSource, views: list[RoundView]) -> ExperimentReport | None:
    """The section's figures, or None when the report has no study within the study (:func:`has_experiment`)."""
    if not has_experiment(source):
        return None
    p, long = source.protocol, source.long
    spec = p.experiment
    arms = tuple(a.key for a in spec.arms)
    arm, allocated_rows = arm_rows(source)
    arm = np.where(allocated_rows, arm, "")
    changes = rating_changes(source, views)
    y = outcomes(changes)
    return ExperimentReport(
        spec=spec, arms=arms, names={a.key: a.name for a in spec.arms}, feedback={a.key: a.feedback for a in spec.arms},
        groups=tuple(g.key for g in p.groups), rounds=tuple(long.rounds),
        block_size=spec.block_size or 2 * len(arms), not_allocated=int((~allocated_rows).sum()),
        flow=flow(source), change=_change_rows(source, changes, arm),
        comparisons=[_compare(source, views, y, arm, arms[0], b) for b in arms[1:]],
        final_round=views[-1].number if views else None)


# The "experiment" table of results.xlsx and results.json: the section's comparisons in full precision, one row per
# comparison and outcome, and one for the final verdicts (kappa, % discordant). Withheld rows keep their names only.
EXPERIMENT_COLUMNS = ("arm_a", "arm_b", "outcome", "withheld", "estimator", "n_a", "n_b", "n_excluded", "mean_a",
                      "mean_b", "difference", "ci_low", "ci_high", "confidence", "p", "permutations", "resamples",
                      "seed", "verdicts_compared", "kappa", "pct_discordant")


def _plain(value):
    """Numbers as Python numbers, which :func:`csv_text` writes in full precision (NaN empty)."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def experiment_csv(figures: ExperimentReport) -> str:
    """The comparisons as CSV text (:data:`EXPERIMENT_COLUMNS`); empty cells where withheld or undefined."""
    rows = []
    for c in figures.comparisons:
        for outcome, e in c.effects.items():
            row = dict.fromkeys(EXPERIMENT_COLUMNS) | {"arm_a": c.arm_a, "arm_b": c.arm_b, "outcome": outcome,
                                                       "withheld": e is None}
            if e is not None:
                row |= {"estimator": e.estimator, "n_a": e.n[0], "n_b": e.n[1], "n_excluded": e.n_excluded,
                        "mean_a": e.mean[0], "mean_b": e.mean[1], "difference": e.difference, "ci_low": e.ci_low,
                        "ci_high": e.ci_high, "confidence": e.confidence, "p": e.pvalue,
                        "permutations": e.n_permutations, "resamples": e.n_resamples, "seed": e.seed}
            rows.append(row)
        v = c.verdicts
        row = dict.fromkeys(EXPERIMENT_COLUMNS) | {"arm_a": c.arm_a, "arm_b": c.arm_b, "outcome": "final_verdicts",
                                                   "withheld": v is None}
        if v is not None:
            row |= {"n_a": c.n_final[0], "n_b": c.n_final[1], "verdicts_compared": v.n_compared, "kappa": v.kappa,
                    "pct_discordant": v.pct_discordant}
        rows.append(row)
    return csv_text(EXPERIMENT_COLUMNS, [[_plain(row[name]) for name in EXPERIMENT_COLUMNS] for row in rows])
