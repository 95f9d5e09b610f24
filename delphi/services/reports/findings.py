"""The report's figures, computed with ``analysis`` from the ratings (the same call as the round close and
``delphi analyse``), with the study's minimum group size applied to everything that shows a group."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from babel.numbers import get_decimal_symbol
from flask_babel import get_locale, gettext

import analysis
from delphi.services.analyse import analysis_scale, asked_statements, stability_withheld
from delphi.services.reports.source import ReportSource
from delphi.services.reports.stored import current_sizes
from delphi.services.round_figures import BOOTSTRAP, SCOPE_COLUMNS, scope_figures
from delphi.services.suppression import Withheld, withheld_cells, withheld_in_round


@dataclass(frozen=True)
class RoundView:
    """One rating round computed on the statements it asked (``columns`` index the protocol's statements)."""

    number: int
    columns: np.ndarray
    figures: analysis.RoundFigures
    # scope -> SCOPE_COLUMNS -> per statement: RAND/UCLA, rwg, AD, CV, the interval of % agree (statistics.csv's)
    extras: dict = field(default_factory=dict)
    # Today's numbers of answers (``figures.summaries[key].n``, ``figures.n_unable[key]``) when they may differ from
    # the stored figures' (a withdrawal since the close): what the small-cell rule compares with those at the close.
    now: object = None
    n_raters: int = 0  # panellists with at least one rating in the round (Kendall's W uses those who rated all)
    fleiss: analysis.FleissKappa | None = None  # None: a round closed before it was stored
    # How the bootstrap was drawn (round_figures.BOOTSTRAP); None: a round closed before bootstrap intervals were
    # stored, whose issue-20 figures are empty
    bootstrap: dict | None = None
    # (Holm, BH) across the round's statements for each ``figures.mann_whitney`` row, in its order
    mann_whitney_adjusted: tuple = ()

    def at(self, column: int) -> int | None:
        """The position of protocol statement ``column`` in this round, or None when the round did not ask it."""
        where = np.flatnonzero(self.columns == column)
        return int(where[0]) if where.size else None


@dataclass(frozen=True)
class Cell:
    """A scope's figures for one statement in one round; ``shown`` False when withheld for a small group."""

    scope: str
    shown: bool
    n: int = 0
    n_unable: int = 0
    n_declined: int = 0  # "prefer not to answer"
    median: float = math.nan
    q1: float = math.nan
    q3: float = math.nan
    iqr: float = math.nan
    mean: float = math.nan
    pct_agree: float = math.nan
    pct_neutral: float = math.nan
    pct_disagree: float = math.nan
    more: dict = field(default_factory=dict)  # SCOPE_COLUMNS: RAND/UCLA, rwg, AD, CV, the interval of % agree


@dataclass
class StatementResult:
    code: str
    domain: str
    text: str
    rounds: list[int]  # the rounds that asked it
    classification: str  # in the last round that asked it
    reached_in: int | None  # the first round with consensus in or out
    overall: Cell
    groups: list[Cell]
    history: list = field(default_factory=list)  # (round, Cell overall) across rounds


def compute_rounds(source: ReportSource) -> list[RoundView]:
    """Each rating round's figures: a study's as stored at the close (the same figures as statistics.csv and the
    review screen), a ratings file's computed here as ``delphi analyse`` computes them."""
    if source.stored is not None:
        index = {s.code: i for i, s in enumerate(source.protocol.statements)}
        keys = [g.key for g in source.protocol.groups]
        return [RoundView(number=r.number, columns=np.array([index[c] for c in r.codes], dtype=np.intp),
                          figures=r.figures,
                          extras={scope: {name: [row.get(name) for row in rows] for name in SCOPE_COLUMNS}
                                  for scope, rows in r.rows.items()},
                          now=current_sizes(source.long, r.number, r.codes, keys)
                          if r.number in source.long.ratings else None,
                          n_raters=int(r.indices.get("n_panellists") or 0), fleiss=_stored_kappa(r.indices),
                          bootstrap=r.indices.get("bootstrap"), mann_whitney_adjusted=r.mann_whitney_adjusted)
                for r in source.stored]
    protocol, long = source.protocol, source.long
    c = protocol.consensus
    keys = [g.key for g in protocol.groups]
    views, previous = [], None
    for k in long.rounds:
        columns = np.flatnonzero(asked_statements(long, k))
        ratings = long.ratings[k][:, columns]
        figures = analysis.compute_round(
            ratings, long.groups.astype(str), keys, analysis_scale(protocol), c.include, c.exclude, c.scope,
            previous=None if previous is None else previous[:, columns], stable_change=c.stable_change,
            quantile_method=c.quantile_method, unable=long.unable[k][:, columns],
            unable_in_denominator=c.unable_in_denominator, declined=long.declined_in(k)[:, columns])
        extras = scope_figures(figures, ratings, long.groups.astype(str), analysis_scale(protocol),
                               c.quantile_method, unable=long.unable[k][:, columns],
                               unable_in_denominator=c.unable_in_denominator,
                               previous=None if previous is None else previous[:, columns],
                               stable_change=c.stable_change)
        corrected = analysis.correct_group_tests(figures.kruskal_wallis, figures.mann_whitney)
        views.append(RoundView(number=k, columns=columns, figures=figures, extras=extras,
                               n_raters=int((~np.isnan(ratings)).any(axis=1).sum()),
                               fleiss=analysis.fleiss_kappa(ratings[(~np.isnan(ratings)).any(axis=1)]),
                               bootstrap=dict(BOOTSTRAP),
                               mann_whitney_adjusted=tuple(zip(corrected.mann_whitney_holm.tolist(),
                                                               corrected.mann_whitney_bh.tolist()))))
        previous = long.ratings[k]
    return views


def _stored_kappa(indices: dict) -> analysis.FleissKappa | None:
    kappa = indices.get("fleiss_kappa")
    if not kappa:
        return None
    value = lambda name: math.nan if kappa.get(name) is None else kappa[name]  # noqa: E731
    return analysis.FleissKappa(kappa=value("kappa"), z=value("z"), pvalue=value("pvalue"), p_bar=math.nan,
                                p_e=math.nan, n_subjects=kappa.get("n_subjects") or 0,
                                n_raters=kappa.get("n_raters") or 0)


def removed_since_close(source: ReportSource, views: list[RoundView]) -> list[tuple[int, int]]:
    """(round, answers) for each round whose stored figures count answers that withdrawals have removed since it
    closed (the ratings today hold fewer than the figures frozen at the close)."""
    out = []
    keys = [g.key for g in source.protocol.groups]
    for view in views:
        if view.now is None or source.closed is None:
            continue
        removed = 0
        for j, column in enumerate(view.columns):
            code = source.protocol.statements[int(column)].code
            was = source.closed.get((view.number, code), {})
            for key in keys:
                n, unable = was.get(key, (0, 0))
                removed += max(0, n + unable - int(view.now.summaries[key].n[j]) - int(view.now.n_unable[key][j]))
        if removed:
            out.append((view.number, removed))
    return out


def _value(value):
    """A figure as the template shows it: None where it cannot be computed (NaN), plain Python otherwise."""
    if value is None or isinstance(value, (str, bool, np.str_, np.bool_)):
        return value if not isinstance(value, (np.str_, np.bool_)) else value.item()
    value = float(value)
    return None if math.isnan(value) else value


def closed_at(source: ReportSource, round_number: int, code: str) -> dict[str, tuple[int, int]] | None:
    """The sizes frozen when the round closed, for :func:`delphi.services.suppression.withheld_in_round`."""
    return None if source.closed is None else source.closed.get((round_number, code), {})


def cells(view: RoundView, j: int, keys: list[str], minimum: int,
          closed: dict[str, tuple[int, int]] | None = None) -> tuple[Cell, list[Cell]]:
    """The overall cell and each group's for statement ``j`` of a round, small cells withheld
    (:func:`delphi.services.suppression.withheld_in_round`)."""
    def cell(scope: str, shown: bool = True) -> Cell:
        s = view.figures.summaries[scope]
        if not shown:
            return Cell(scope=scope, shown=False)
        return Cell(scope=scope, shown=True, n=int(s.n[j]), n_unable=int(view.figures.n_unable[scope][j]),
                    n_declined=int(view.figures.n_declined[scope][j]) if view.figures.n_declined else 0,
                    more={name: _value(values[j]) for name, values in view.extras.get(scope, {}).items()},
                    median=float(s.median[j]), q1=float(s.q1[j]),
                    q3=float(s.q3[j]), iqr=float(s.iqr[j]), mean=float(s.mean[j]), pct_agree=float(s.pct_agree[j]),
                    pct_neutral=float(s.pct_neutral[j]), pct_disagree=float(s.pct_disagree[j]))

    withheld = withheld_in_round(view.now if view.now is not None else view.figures, keys, j, minimum, closed)
    return cell("overall", not withheld.overall), [cell(key, key not in withheld) for key in keys]


def statement_results(source: ReportSource, views: list[RoundView]) -> list[StatementResult]:
    protocol = source.protocol
    keys = [g.key for g in protocol.groups]
    results = []
    for column, spec in enumerate(protocol.statements):
        asked = [(v, v.at(column)) for v in views if v.at(column) is not None]
        if not asked:
            continue
        last, j = asked[-1]
        minimum = protocol.min_group_feedback
        overall, groups = cells(last, j, keys, minimum, closed_at(source, last.number, spec.code))
        verdicts = [(v.number, str(v.figures.classification[i])) for v, i in asked]
        reached = next((k for k, verdict in verdicts if verdict in ("in", "out")), None)
        results.append(StatementResult(
            code=spec.code, domain=spec.domain, text=spec.text, rounds=[v.number for v, _ in asked],
            classification=verdicts[-1][1], reached_in=reached, overall=overall, groups=groups,
            history=[(v.number, cells(v, i, keys, minimum, closed_at(source, v.number, spec.code))[0])
                     for v, i in asked]))
    return results


@dataclass(frozen=True)
class GroupStability:
    """A group's stability for one statement; ``shown`` False when withheld (small cells, as statistics.csv)."""

    scope: str
    shown: bool
    n_pairs: int = 0
    pct_change: float = math.nan
    stable: bool = False


@dataclass(frozen=True)
class StabilityRow:
    """A statement's stability against the round before; ``shown`` False when its pairs are a small cell or either
    round's panel figures are withheld. ``groups``: each group's, as stored at the close (empty for a round closed
    before group stability was stored)."""

    code: str
    round: int
    shown: bool
    n_pairs: int = 0
    pct_change: float = math.nan
    stable: bool = False
    delta_pct_agree: float = math.nan
    wilcoxon_p: float = math.nan
    groups: tuple = ()


def stability(source: ReportSource, views: list[RoundView]) -> list[StabilityRow]:
    """Each statement's stability in each round after the first, for statements with at least one pair."""
    protocol = source.protocol
    keys, minimum = [g.key for g in protocol.groups], protocol.min_group_feedback
    rows = []
    for before, view in zip(views, views[1:]):
        st = view.figures.stability
        for i, column in enumerate(view.columns):
            n_pairs = int(st.n_pairs[i])
            if n_pairs == 0:
                continue
            code = protocol.statements[column].code
            j = before.at(int(column))
            shown = not withheld_cells({"panel": n_pairs}, minimum).overall and all(
                cells(v, k, keys, minimum, closed_at(source, v.number, code))[0].shown
                for v, k in ((view, i), (before, j)) if k is not None)
            rows.append(StabilityRow(code, view.number, False) if not shown else StabilityRow(
                code, view.number, True, n_pairs, float(st.pct_change[i]), bool(st.stable[i]),
                float(st.delta_pct_agree[i]), float(st.wilcoxon_p[i]), _group_stability(view, i, keys, minimum, code,
                                                                                         source)))
    return rows


def _group_stability(view: RoundView, i: int, keys: list[str], minimum: int, code: str,
                     source: ReportSource) -> tuple:
    """Each group's stability of statement ``i``, withheld as statistics.csv withholds it: the group's row in this
    round, or its pairs a small cell (:func:`delphi.services.analyse.stability_withheld`)."""
    pairs = {key: view.extras.get(key, {}).get("n_pairs", [None] * (i + 1))[i] for key in keys}
    if all(n is None for n in pairs.values()):
        return ()
    unstable = stability_withheld(pairs, minimum)
    _, groups = cells(view, i, keys, minimum, closed_at(source, view.number, code))
    out = []
    for key, cell in zip(keys, groups):
        n = int(pairs[key] or 0)
        if not cell.shown or key in unstable or n == 0:
            out.append(GroupStability(key, False))
            continue
        extra = view.extras[key]
        out.append(GroupStability(key, True, n, _number(extra["pct_change"][i]), bool(extra["stable"][i])))
    return tuple(out)


def _number(value) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Divergence:
    code: str
    round: int
    h: float
    df: float
    pvalue: float
    epsilon_squared: float
    # (group a name, group b name, U, p, Holm p within the statement, rank-biserial, Holm p across statements,
    # BH p across statements) for shown groups only
    pairs: list
    groups: list[Cell]
    pvalue_holm: float = math.nan  # across the round's statements
    pvalue_bh: float = math.nan


def divergence(source: ReportSource, views: list[RoundView]) -> list[Divergence]:
    """Kruskal-Wallis and Holm-adjusted pairwise Mann-Whitney per statement in the last round that asked it,
    largest effect first; pairs with a withheld group are left out."""
    protocol = source.protocol
    keys = [g.key for g in protocol.groups]
    names = {g.key: g.name for g in protocol.groups}
    rows = []
    for column, spec in enumerate(protocol.statements):
        asked = [(v, v.at(column)) for v in views if v.at(column) is not None]
        if not asked:
            continue
        view, j = asked[-1]
        kw = view.figures.kruskal_wallis
        _, groups = cells(view, j, keys, protocol.min_group_feedback, closed_at(source, view.number, spec.code))
        shown = {c.scope for c in groups if c.shown}
        adjusted = view.mann_whitney_adjusted or [(math.nan, math.nan)] * len(view.figures.mann_whitney)
        pairs = [(names[m.group_a], names[m.group_b], m.u, m.pvalue, m.pvalue_holm, m.rank_biserial, *across)
                 for m, across in zip(view.figures.mann_whitney, adjusted)
                 if m.statement == j and m.group_a in shown and m.group_b in shown]
        overall = view.extras.get("overall", {})
        rows.append(Divergence(spec.code, view.number, float(kw.h[j]), float(kw.df[j]), float(kw.pvalue[j]),
                               float(kw.epsilon_squared[j]), pairs, groups,
                               _number(overall.get("kw_p_holm", [None] * (j + 1))[j]),
                               _number(overall.get("kw_p_bh", [None] * (j + 1))[j])))
    return sorted(rows, key=lambda d: (math.isnan(d.epsilon_squared), -np.nan_to_num(d.epsilon_squared)))


@dataclass(frozen=True)
class VerdictChanges:
    """The study's classification of each statement rated in two consecutive rating rounds, and how many changed
    (:func:`analysis.verdict_changes`)."""

    round_from: int
    round_to: int
    n_compared: int
    n_changed: int
    pct_changed: float
    rows: list  # (code, verdict before, verdict after, changed) for every compared statement, protocol order


def verdict_changes(source: ReportSource, views: list[RoundView]) -> list[VerdictChanges]:
    """Stability of the classification between consecutive rating rounds, from each round's classification as
    stored at its close (computed the same way for a ratings file)."""
    codes = [s.code for s in source.protocol.statements]
    out = []
    for before, after in zip(views, views[1:]):
        verdicts = []
        for view in (before, after):
            v = np.full(len(codes), "", dtype=object)
            v[view.columns] = [str(c) for c in view.figures.classification]
            verdicts.append(v)
        change = analysis.verdict_changes(*verdicts)
        rows = [(codes[j], str(change.before[j]), str(change.after[j]), bool(change.changed[j]))
                for j in np.flatnonzero(change.compared)]
        out.append(VerdictChanges(before.number, after.number, change.n_compared, change.n_changed,
                                  change.pct_changed, rows))
    return out


def pairwise(source: ReportSource, views: list[RoundView]) -> list[tuple]:
    """Every round's pairwise Mann-Whitney tests with their adjustments (within the statement; across statements by
    Holm and BH), pairs with a group withheld left out: (round, code, group a, group b, U, p, Holm p within the
    statement, Holm p across statements, BH p across statements, rank-biserial)."""
    keys = [g.key for g in source.protocol.groups]
    minimum = source.protocol.min_group_feedback
    rows = []
    for view in views:
        adjusted = view.mann_whitney_adjusted or [(math.nan, math.nan)] * len(view.figures.mann_whitney)
        shown = {}
        for m, (holm, bh) in zip(view.figures.mann_whitney, adjusted):
            code = source.protocol.statements[int(view.columns[m.statement])].code
            if m.statement not in shown:
                _, groups = cells(view, m.statement, keys, minimum, closed_at(source, view.number, code))
                shown[m.statement] = {c.scope for c in groups if c.shown}
            if m.group_a in shown[m.statement] and m.group_b in shown[m.statement]:
                rows.append((view.number, code, m.group_a, m.group_b, m.u, m.pvalue, m.pvalue_holm, holm, bh,
                             m.rank_biserial))
    return rows


def _decimal_symbol() -> str:
    locale = get_locale()
    return "." if locale is None else get_decimal_symbol(locale)


def sensitivity_definitions(protocol) -> list[tuple[str, str, str]]:
    """(label, include rule, scope): the protocol's definition and common alternatives."""
    c, scale = protocol.consensus, protocol.scale
    iqr_limit = (scale.max - scale.min) / 4
    iqr_text = f"{iqr_limit:g}"
    definitions = [(gettext("The protocol's definition"), c.include, c.scope)]
    for scope in ("overall", "each_group", "equal_groups"):
        for pct in (70, 75, 80):
            definitions.append((gettext("%(pct)s%% agreement", pct=pct), f"pct_agree >= {pct}", scope))
        if scope != "equal_groups":
            definitions.append((gettext("Median %(median)s or more and IQR %(iqr)s or less", median=c.agree[0],
                                  iqr=iqr_text.replace(".", _decimal_symbol())),
                                f"median >= {c.agree[0]} and iqr <= {iqr_text}", scope))
    return definitions


def sensitivity(source: ReportSource, views: list[RoundView]) -> list[tuple[str, str, str, list[int], int]]:
    """For each definition: (label, rule, scope, statements in per round, statements in at any round)."""
    protocol = source.protocol
    keys = [g.key for g in protocol.groups]
    never = analysis.parse_rule("n < 0")
    rows = []
    for label, rule, scope in sensitivity_definitions(protocol):
        include = analysis.parse_rule(rule)
        ever: set[int] = set()
        per_round = []
        for view in views:
            s = view.figures.summaries
            verdict = analysis.classify_summaries(include, never, scope, overall=s["overall"],
                                                  by_group={k: s[k] for k in keys}, equal_groups=s["equal_groups"])
            hits = np.flatnonzero(verdict == "in")
            per_round.append(int(hits.size))
            ever.update(int(view.columns[h]) for h in hits)
        rows.append((label, rule, scope, per_round, len(ever)))
    return rows


@dataclass(frozen=True)
class AttritionRow:
    group: str
    shown: bool
    stayed: int = 0
    left: int = 0
    mean_stayed: float = math.nan
    mean_left: float = math.nan
    agree_stayed: float = math.nan
    agree_left: float = math.nan
    pvalue: float = math.nan


def _removed_since_close(source: ReportSource, round_number: int, key: str) -> int:
    """How many of group ``key``'s panellists have had their answers to round ``round_number`` removed since it
    closed, at least: the largest drop in any statement's count of answers (0 for a ratings file)."""
    if source.closed is None:
        return 0
    long = source.long
    member = long.groups == key
    now_n = (~np.isnan(long.ratings[round_number][member])).sum(axis=0)
    now_unable = long.unable[round_number][member].sum(axis=0)
    removed = 0
    for j, code in enumerate(long.statements):
        was_n, was_unable = source.closed.get((round_number, code), {}).get(key, (now_n[j], now_unable[j]))
        removed = max(removed, int(was_n + was_unable - now_n[j] - now_unable[j]))
    return removed


def attrition(source: ReportSource) -> list[AttritionRow]:
    """Round-1 ratings of panellists who answered the last round ("stayed") against those who did not ("left"),
    per group and overall. Each panellist's mean round-1 rating is compared with a Mann-Whitney test.

    A group's row is made of two cells, its stayers and its leavers, and the two add up to the group's round-1
    panel shown elsewhere: a row is withheld whole when either is small, and the "All groups" row when the panel's
    stayers or leavers are (:func:`delphi.services.suppression.withheld_cells`)."""
    long, protocol = source.long, source.protocol
    if len(long.rounds) < 2:
        return []
    first, last = long.rounds[0], long.rounds[-1]
    x = long.ratings[first]
    answered = lambda k: (~np.isnan(long.ratings[k]) | long.unable[k]).any(axis=1)  # noqa: E731
    began, stayed = answered(first), answered(first) & answered(last)
    left = began & ~stayed
    low, high = protocol.consensus.agree
    valid = ~np.isnan(x)
    counts = valid.sum(axis=1)
    person_mean = np.where(counts > 0, np.where(valid, x, 0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    rated = ~np.isnan(person_mean)
    # The cells: who is counted (stayed, left), whose ratings the figures are made of (those with a rating), and
    # who has been removed from round 1 since it closed (a withdrawal whose ratings are deleted).
    sizes = {g.key: tuple(int((part & (long.groups == g.key)).sum())
                          for part in (stayed, left, stayed & rated, left & rated))
                    + (_removed_since_close(source, first, g.key),) for g in protocol.groups}
    # What was withheld before a removal stays withheld: those removed stayed, or left.
    minimum = protocol.min_group_feedback
    withheld = [withheld_cells({key: (s + r, l, s + r, l, r) if as_stayer else (s, l + r, s, l + r, r)
                                for key, (s, l, _, _, r) in sizes.items()}, minimum) for as_stayer in (True, False)]
    withheld.append(withheld_cells(sizes, minimum))
    withheld = Withheld(frozenset().union(*(w.groups for w in withheld)), any(w.overall for w in withheld))
    rows = []
    for key, name in [(g.key, g.name) for g in protocol.groups] + [(None, "All groups")]:
        if (key in withheld) if key is not None else withheld.overall:
            rows.append(AttritionRow(name, False))
            continue
        member = np.ones(len(long.groups), bool) if key is None else long.groups == key
        a, b = stayed & member & rated, left & member & rated
        pooled = lambda rows_: x[rows_][~np.isnan(x[rows_])]  # noqa: E731
        agree = lambda v: 100 * float(((v >= low) & (v <= high)).mean()) if v.size else math.nan  # noqa: E731
        p = math.nan
        if a.sum() and b.sum():
            test = analysis.pairwise_mann_whitney(
                np.concatenate([person_mean[a], person_mean[b]])[:, None],
                np.array(["stayed"] * int(a.sum()) + ["left"] * int(b.sum())), ["stayed", "left"])
            p = float(test[0].pvalue) if test else math.nan
        rows.append(AttritionRow(name, True, int((stayed & member).sum()), int((left & member).sum()),
                                 float(person_mean[a].mean()) if a.any() else math.nan,
                                 float(person_mean[b].mean()) if b.any() else math.nan,
                                 agree(pooled(stayed & member)), agree(pooled(left & member)), p))
    return rows
