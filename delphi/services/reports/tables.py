"""The plain-text downloads: ``ratings.csv``, ``codebook.csv``, ``statements.csv``, ``statistics.csv``,
``consensus.csv`` and ``protocol.toml``."""
from __future__ import annotations

import tomllib

import numpy as np
import tomli_w
from babel.numbers import get_decimal_symbol
from flask_babel import get_locale, gettext as _

from delphi.protocol import protocol_to_toml
from delphi.services.analyse import analyse, outputs_text
from delphi.services.csv_export import csv_text
from delphi.services.reports import stored
from delphi.services.reports.experiment import has_experiment
from delphi.services.reports.source import ReportSource

CODEBOOK_COLUMNS = ("file", "column", "meaning", "code", "code_meaning")


def unable_code(scale_max: int) -> int:
    """The numeric code of "unable to rate" in ``.sav`` files: the smallest 9, 99, 999, ... above the scale."""
    code = 9
    while code <= scale_max:
        code = code * 10 + 9
    return code


def declined_code(scale_max: int) -> int:
    """The numeric code of "prefer not to answer" in ``.sav`` files: one below :func:`unable_code` (98 on a 1-9
    scale), or that code with an 8 after it when one below would be a point of the scale."""
    code = unable_code(scale_max)
    return code - 1 if code - 1 > scale_max else code * 10 + 8


def results_tables(source: ReportSource) -> dict[str, str]:
    """``statistics.csv`` and ``consensus.csv``, written by the same function as ``delphi analyse``: a study's from
    the figures stored at each close (``stored.py``; no statistics computed here), a ratings file's from
    :func:`delphi.services.analyse.analyse`; small cells withheld (with the sizes frozen at each close, so that a
    withdrawal cannot be subtracted out)."""
    if source.stored is not None:
        p = source.protocol
        return outputs_text(*stored.statistics_rows(source.stored, source.long, [g.key for g in p.groups],
                                                    p.min_group_feedback))
    if not source.long.rounds:
        return outputs_text([], [])
    return outputs_text(*analyse(source.long, source.protocol, source.closed))


ROUNDS_COLUMNS = ("round", "statements", "n_panellists", "kendalls_w_n", "kendalls_w", "kendalls_w_uncorrected",
                  "kendalls_w_chi2", "kendalls_w_df", "kendalls_w_p", "krippendorff_alpha", "fleiss_kappa",
                  "fleiss_kappa_z", "fleiss_kappa_p", "fleiss_kappa_statements", "rwg_j",
                  # issue 20, appended: how the bootstrap was drawn, and the verdicts changed since the round before
                  "bootstrap_resamples", "bootstrap_seed", "bootstrap_confidence", "verdicts_compared",
                  "verdicts_changed", "pct_verdicts_changed")
VERDICT_CHANGES_COLUMNS = ("round_from", "round_to", "statement", "verdict_before", "verdict_after", "changed")
PAIRWISE_COLUMNS = ("round", "statement", "group_a", "group_b", "u", "p", "p_holm_pairs", "p_holm", "p_bh",
                    "rank_biserial")


def rounds_csv(source: ReportSource, views=None) -> str:
    """Whole-panel indices per round, for the workbook and the JSON (a study's as stored at each close): Kendall's W
    with the panellists it used (listwise: those who rated every statement of the round, of ``n_panellists`` who
    rated any), Krippendorff's alpha (ordinal), Fleiss' kappa with the statements it used, rwg(J); the bootstrap's
    resamples, seed and confidence (empty for a round closed before bootstrap intervals were stored); how many
    statements rated in the round before too changed classification."""
    from delphi.services.reports.findings import compute_rounds, verdict_changes

    views = compute_rounds(source) if views is None else views
    changes = {c.round_to: c for c in verdict_changes(source, views)}
    rows = []
    for v in views:
        w, kappa, boot, change = v.figures.kendalls_w, v.fleiss, v.bootstrap or {}, changes.get(v.number)
        rows.append([v.number, len(v.columns), v.n_raters, w.n_panellists, w.w, w.w_uncorrected, w.chi2, w.df,
                     w.pvalue, v.figures.krippendorff_alpha, *((kappa.kappa, kappa.z, kappa.pvalue, kappa.n_subjects)
                                                               if kappa is not None else (None,) * 4),
                     v.figures.rwg_j, boot.get("n_resamples"), boot.get("seed"), boot.get("confidence"),
                     *((change.n_compared, change.n_changed, change.pct_changed) if change else (None,) * 3)])
    return csv_text(ROUNDS_COLUMNS, [[_cell(value) for value in row] for row in rows])


def verdict_changes_csv(source: ReportSource, views=None) -> str:
    """Each statement rated in two consecutive rounds, with the study's classification in both and whether it
    changed, for the workbook and the JSON."""
    from delphi.services.reports.findings import compute_rounds, verdict_changes

    views = compute_rounds(source) if views is None else views
    return csv_text(VERDICT_CHANGES_COLUMNS, [[c.round_from, c.round_to, code, before, after,
                                               "true" if changed else "false"]
                                              for c in verdict_changes(source, views)
                                              for code, before, after, changed in c.rows])


def pairwise_csv(source: ReportSource, views=None) -> str:
    """The pairwise Mann-Whitney tests of every round (pairs with a withheld group left out), with Holm's adjustment
    across the pairs of the statement and Holm's and Benjamini-Hochberg's across the round's statements, for the
    workbook and the JSON."""
    from delphi.services.reports.findings import compute_rounds, pairwise

    views = compute_rounds(source) if views is None else views
    return csv_text(PAIRWISE_COLUMNS, [[round_, code, a, b, *(_cell(v) for v in numbers)]
                                       for round_, code, a, b, *numbers in pairwise(source, views)])


def _cell(value):
    """Plain Python numbers for :func:`csv_cell` (which writes floats in full precision, NaN and None empty)."""
    if value is None:
        return None
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def reasons_csv(source: ReportSource) -> str:
    """The reasons panellists gave for changing a rating, for the workbook and the JSON: round, statement and reason,
    by round, statement (protocol order) and pseudonym, without the pseudonym or group (those are in the comments
    files, beside the ratings), and never in the order they were written."""
    order = {s.code: i for i, s in enumerate(source.protocol.statements)}
    rows = sorted(source.reasons, key=lambda r: (r[0], order.get(r[3], len(order)), r[1]))
    return csv_text(["round", "statement", "reason"], [[r[0], r[3], r[4]] for r in rows])


def statements_csv(source: ReportSource) -> str:
    """The statements with their status and their history twice: ``history`` in English in every study (scripts match
    its words, docs/results.md), and last ``history_in_study_language``, the same for people, in the report's
    language."""
    rows = []
    for s in source.protocol.statements:
        events = source.history.get(s.code, [])
        rows.append([s.code, s.domain, s.text, source.statement_status.get(s.code, ""), _history(events, False),
                     _history(events, True)])
    return csv_text(["code", "domain", "text", "status", "history", "history_in_study_language"], rows)


def _history(events: list, translated: bool) -> str:
    def when(event) -> str:
        if translated:
            return _("before round 1") if event.round is None else _("round %(number)s", number=event.round)
        return "before round 1" if event.round is None else f"round {event.round}"

    return "; ".join(
        f"{when(e)}: {e.label if translated else e.event}"
        + (f" - \"{e.text}\"" if e.event in ("reworded", "added by the study team") or e.event.startswith(
            ("added", "written", "merged")) else "") + (f" ({e.reason})" if e.reason else "")
        for e in events)


def codebook_csv(source: ReportSource) -> str:
    """What every column and code of the files means. The file names, column names and codes are the files' own (R,
    SPSS and Stata scripts use them); the meanings and the codes' labels are in the current language."""
    p = source.protocol
    c = p.consensus
    code, declined = unable_code(p.scale.max), declined_code(p.scale.max)
    labels = dict(p.scale.labels)
    minimum = p.min_group_feedback
    unable_label = _("Unable to rate")
    declined_label = _("Prefer not to answer")
    rows = [
        ["ratings.csv", "round", _("Round number (1, 2, ...). Only closed rating rounds are included."), "", ""],
        ["ratings.csv", "panellist", _("Pseudonym of the panellist, stable across rounds of this study and never used "
                                       "in another study. No names, e-mail addresses, link tokens, IP addresses or "
                                       "times are exported."), "", ""],
        ["ratings.csv", "group", _("Stakeholder group key."), "", ""],
        *[["ratings.csv", "group", "", g.key, g.name] for g in p.groups],
        ["ratings.csv", "statement", _("Statement code; the wording is in statements.csv."), "", ""],
        ["ratings.csv", "rating", _("Rating on the %(min)s-%(max)s scale. Empty: the panellist answered \"unable to "
                                    "rate\" (counted in no statistic).", min=p.scale.min, max=p.scale.max), "", ""],
        *[["ratings.csv", "rating", "", point, labels.get(point, "")] for point in range(p.scale.min, p.scale.max + 1)],
        ["ratings.csv", "rating", "", "", unable_label],
        ["ratings.csv", "declined", " ".join((
            _("Whether the panellist chose \"prefer not to answer\" (the rating is then empty). Counted apart from "
              "\"unable to rate\" and in no statistic, not even in a denominator."),
            _("The protocol offered it.") if getattr(p.scale, "prefer_not_to_answer", False)
            else _("The protocol did not offer it."))), "", ""],
        ["ratings.csv", "declined", "", "true", declined_label],
        ["ratings.csv", "declined", "", "false", _("A rating, or \"unable to rate\" where the rating is empty")],
        ["ratings.csv", "comment", _("The panellist's comment on the statement in that round (may be empty). Cells "
                                     "that a spreadsheet would read as a formula start with an apostrophe."), "", ""],
        ["ratings.csv", "mode", _("How the answer was given: on the web by the panellist, or to the study team who "
                                  "typed it in. A way fewer people than the minimum group size used in a round reads "
                                  "\"withheld\" (with the next smallest), so that nobody can be picked out by it."),
         "", ""],
        *[["ratings.csv", "mode", "", value, label] for value, label in (
            ("web", _("On the web, by the panellist")), ("phone", _("By phone, typed in by the study team")),
            ("paper", _("On a paper form, typed in by the study team")),
            ("in_person", _("In person, typed in by the study team")),
            ("withheld", _("Withheld (used by few people)")))],
        ["ratings.csv", "arm", _("The panellist's arm of the study within the study (randomised feedback formats, "
                                 "docs/experiments.md); empty without one, or for a panellist not allocated."), "", ""],
        *[["ratings.csv", "arm", "", a.key, a.name] for a in (p.experiment.arms if p.experiment else ())],
        *[[name, "arm", _("Numeric code with value labels (arm names), in the protocol's order; arm_key keeps the "
                          "key."), "", ""]
          for name in (("ratings.sav", "ratings.dta") if p.experiment else ())],
        ["ratings.sav", "rating", _("As in ratings.csv; \"unable to rate\" is the user-missing value %(code)s, "
                                    "labelled \"Unable to rate\", so SPSS leaves it out of statistics.", code=code),
         code, unable_label],
        ["ratings.sav", "rating", _("\"Prefer not to answer\" is the user-missing value %(code)s, labelled \"Prefer not "
                                    "to answer\" (declined is not in this file).", code=declined),
         declined, declined_label],
        ["ratings.sav", "group", _("Numeric code with value labels (group names); group_key keeps the key."), "", ""],
        ["ratings.dta", "rating", _("As in ratings.csv; \"unable to rate\" is Stata's extended missing value .a, "
                                    "labelled \"Unable to rate\"."), ".a", unable_label],
        ["ratings.dta", "rating", _("\"Prefer not to answer\" is Stata's extended missing value .b, labelled "
                                    "\"Prefer not to answer\"."), ".b", declined_label],
        ["ratings.dta", "group", _("Numeric code with value labels (group names); group_key keeps the key."), "", ""],
        *[[name, "comment", _("Not in this file: the comments are in comments.sav and comments.dta. SPSS and Stata "
                              "make a text column as wide as its longest value in every row, so one long comment "
                              "would make every rating's row that long."), "", ""]
          for name in ("ratings.sav", "ratings.dta")],
        *[[name, "comment", _("One row per rating with a comment or a reason for change: round, panellist, group, "
                              "group_key and statement as in %(ratings)s, to merge on round, panellist and "
                              "statement. Comments are whole (in Stata a long one is a strL) and without the "
                              "apostrophe that guards spreadsheets in ratings.csv.",
                              ratings=name.replace("comments", "ratings")), "", ""]
          for name in ("comments.sav", "comments.dta")],
        *[[name, "reason", _("The reason the panellist gave for changing their rating from the round before (may be "
                             "empty)."), "", ""] for name in ("comments.sav", "comments.dta")],
        ["results.xlsx, results.json", "rounds", _(
            "Whole-panel indices per round, as stored at each close: the statements rated, the panellists who rated "
            "any (n_panellists), Kendall's W (tie-corrected; kendalls_w_n: the panellists it used, only those who "
            "rated every statement of the round, as SPSS does), its chi-squared, df and p, Krippendorff's alpha "
            "(ordinal, every rating), Fleiss' kappa with z and p (each scale point a category; "
            "fleiss_kappa_statements: the statements every panellist rated, the only ones it uses), rwg(J)."), "", ""],
        ["results.xlsx, results.json", "rounds", _(
            "Also per round: bootstrap_resamples, bootstrap_seed and bootstrap_confidence, how the bootstrap "
            "intervals of statistics.csv were drawn (empty for a round closed before they were stored); "
            "verdicts_compared, verdicts_changed and pct_verdicts_changed, the statements rated in this round and the "
            "one before and how many of them changed classification."), "", ""],
        ["results.xlsx, results.json", "verdict_changes", _(
            "Each statement rated in two consecutive rounds: round_from, round_to, statement, its classification in "
            "both (verdict_before, verdict_after: in, out, none) and whether it changed (changed)."), "", ""],
        ["results.xlsx, results.json", "pairwise", _(
            "Pairwise Mann-Whitney tests between groups per round and statement: U of group_a, p, p_holm_pairs (Holm "
            "across the pairs of the statement), p_holm and p_bh (Holm and Benjamini-Hochberg across the round's "
            "statements, each pair of groups a family), rank_biserial. Pairs with a withheld group are left out."),
         "", ""],
        ["results.xlsx, results.json", "reasons", _(
            "Every reason given for changing a rating: round, statement and reason, by round and statement (not in "
            "the order written; no pseudonym: match them in comments.sav or comments.dta)."), "", ""],
        *[[name, "group", "", i + 1, g.name] for name in ("ratings.sav", "ratings.dta", "comments.sav", "comments.dta")
          for i, g in enumerate(p.groups)],
        ["statistics.csv", "round, statement, scope", _(
            "One row per round x statement x scope: scope is overall, equal_groups (each group weighs the same) or a "
            "group key. A statement not asked in a round has no rows for it."), "", ""],
        ["statistics.csv", "n, n_unable", _("Number of ratings, and of \"unable to rate\" answers."), "", ""],
        ["statistics.csv", "n_declined", _(
            "Number of \"prefer not to answer\" answers (the last column). Like \"unable to rate\" they are not "
            "ratings: in no figure and never in a denominator, even when \"unable to rate\" is (not answering is the "
            "panellist's right, not a judgement on the statement). Empty where the row is withheld."), "", ""],
        ["statistics.csv", "median, q1, q3, iqr", _(
            "Quartiles by the %(method)s method (numpy; linear = Hyndman-Fan type 7, as R and Excel PERCENTILE.INC). "
            "Empty for equal_groups and when there are no ratings.", method=c.quantile_method), "", ""],
        ["statistics.csv", "mean, sd", _("Mean and standard deviation (n-1)."), "", ""],
        ["statistics.csv", "pct_agree, pct_neutral, pct_disagree", _(
            "Percentage (0-100) of ratings in the agree band %(agree_low)s-%(agree_high)s, between the bands, and in "
            "the disagree band %(disagree_low)s-%(disagree_high)s.", agree_low=c.agree[0], agree_high=c.agree[1],
            disagree_low=c.disagree[0], disagree_high=c.disagree[1]), "", ""],
        *[["statistics.csv", name, meaning, "", ""] for name, meaning in statistics_meanings(p)],
        ["statistics.csv", "verdict", _("The protocol's rules applied to this row's figures alone: include "
                                        "\"%(include)s\", exclude \"%(exclude)s\".", include=c.include,
                                        exclude=c.exclude), "in", _("consensus in")],
        ["statistics.csv", "verdict", "", "out", _("consensus out")],
        ["statistics.csv", "verdict", "", "none", _("no consensus")],
        ["statistics.csv", "verdict", _(
            "A row whose figures are withheld: a group with fewer than %(minimum)s ratings (or fewer than %(minimum)s "
            "removed by a withdrawal since the round closed), the next smallest group withheld with it, the panel's "
            "row when the panel is that small, and equal_groups whenever any group is withheld. Every figure of the "
            "row is empty.", minimum=minimum), "withheld", _("figures withheld (small group)")],
        ["consensus.csv", "classification", _("The study's verdict for the statement in that round under the "
                                              "protocol's scope (%(scope)s).", scope=c.scope), "in / out / none",
         _("consensus in / out / no consensus")],
        ["statements.csv", "code, domain, text", _("Each statement rated in the study, with its wording at the end "
                                                   "(earlier wordings are in the history)."), "", ""],
        ["statements.csv", "status", _("active, retired, merged or dropped at the time of export."), "", ""],
        ["statements.csv", "history", _("Each event in the statement's history, with its round and reason."), "", ""],
        ["statements.csv", "history_in_study_language", _("The same history in the study's language (the history "
                                                          "column is in English in every study, for scripts)."), "",
         ""],
        ["all files", "", _(
            "Numbers are written in full precision; an empty cell is a figure that cannot be computed or is withheld. "
            "statistics.csv, consensus.csv, results.xlsx, results.json and report.html withhold small groups (fewer "
            "than %(minimum)s). The per-panellist files (ratings.csv, ratings.sav, ratings.dta, comments.sav, "
            "comments.dta) are not suppressed: every published figure must be reproducible from them; they are for "
            "the study team's analysts only.", minimum=minimum), "", ""],
    ]
    if has_experiment(source):  # issue 23: a study within the study
        rows.append(["results.xlsx, results.json", "experiment", _(
            "The randomised comparison of feedback formats (report section \"A study within the study\"): one row "
            "per comparison of an arm (arm_b) with the first arm (arm_a) and outcome (panel_median, own_group_median: "
            "mean movement towards the panel's or the panellist's own group's median shown after the earlier round, "
            "in scale points; changed_band: %% of ratings that changed band; final_verdicts: the arms' verdicts in "
            "the last round). The arm effect is mean_b - mean_a (difference) by analysis.arm_effect with the "
            "estimator, its bootstrap interval (ci_low, ci_high at the confidence level), the permutation p-value, "
            "permutations, resamples and seed; n_a and n_b count the panellists analysed, n_excluded those without "
            "an outcome. final_verdicts: verdicts_compared statements, Cohen's kappa and pct_discordant. withheld: "
            "true when an arm had fewer than %(minimum)s panellists (figures empty).", minimum=minimum), "", ""])
    return csv_text(CODEBOOK_COLUMNS, rows)


def _prose(value: float) -> str:
    """A setting's number in a sentence, as short as it is, with the current language's decimal sign."""
    locale = get_locale()
    return f"{value:g}".replace(".", "." if locale is None else get_decimal_symbol(locale))


def statistics_meanings(p) -> list[tuple[str, str]]:
    """The codebook's lines for statistics.csv's columns after ``verdict`` (cli.md), in the current language."""
    rand = _("RAND/UCLA (Fitch et al. 2001), on a 1-9 scale only (otherwise empty); empty for equal_groups.") + " "
    return [
        ("p30, p70", rand + _("30th and 70th percentiles, by the same quantile method as the quartiles.")),
        ("ipr, iprcp", rand + _("Interpercentile range P70 - P30, and its central point (P30 + P70) / 2.")),
        ("ipras", rand + _("IPR adjusted for symmetry: 2.35 + 1.5 x abs(5 - IPRCP).")),
        ("disagreement", rand + _("true when IPR > IPRAS, else false; empty with no ratings.")),
        ("appropriateness", rand + _("appropriate (median 7 or more without disagreement), inappropriate (median 3 "
                                     "or less without disagreement) or uncertain.")),
        ("rwg", _("Within-group agreement 1 - s^2 / ((A^2 - 1) / 12), A the number of scale points, truncated at 0 "
                  "(James, Demaree & Wolf 1984); empty with fewer than 2 ratings and for equal_groups.")),
        ("ad", _("Average deviation from the mean (Burke et al. 1999); empty with fewer than 2 ratings and for "
                 "equal_groups.")),
        ("cv", _("Coefficient of variation sd / mean.")),
        ("agree_ci_low, agree_ci_high", _("95% Wilson interval of pct_agree, in percent.")),
        ("median_boot_low, median_boot_high, agree_boot_low, agree_boot_high", _(
            "95% percentile bootstrap intervals of the median and of pct_agree (Efron & Tibshirani 1993): 2,000 "
            "resamples with seed 20 (the rounds table of results.xlsx and results.json gives each round's), the "
            "scope's panellists who answered the round resampled with replacement in pseudonym order, the same "
            "resamples for every statement; analysis.bootstrap_intervals on those rows of ratings.csv gives them "
            "again. Empty for equal_groups.")),
        ("n_pairs", _(
            "Stability against the round before: panellists of the scope who rated the statement in both rounds. "
            "Empty in a statement's first round, for equal_groups, and, like the stability figures, where a group's "
            "pairs are fewer than %(minimum)s (with the next smallest group, and the panel's when the withheld pairs "
            "add up to fewer).", minimum=p.min_group_feedback)),
        ("pct_changed, pct_change, stable", _(
            "Percentage of those panellists whose rating changed; net change (half the sum over scale points of the "
            "absolute change in counts, over n_pairs, in percent; Scheibe et al. 1975); stable when pct_change is "
            "below %(change)s.", change=_prose(p.consensus.stable_change))),
        ("delta_pct_agree", _("Change in pct_agree among the pairs, in percentage points.")),
        ("wilcoxon_v, wilcoxon_p", _("Wilcoxon signed-rank test of the paired ratings, as R's wilcox.test(after, "
                                     "before, paired = TRUE).")),
        ("kw_h, kw_df, kw_p, kw_epsilon_squared", _("Kruskal-Wallis test between the groups (tie-corrected), with "
                                                    "epsilon squared; on the overall row only.")),
        ("kw_p_holm, kw_p_bh", _("kw_p adjusted across the round's statements by Holm (family-wise error) and by "
                                 "Benjamini-Hochberg (false discovery rate), as R's p.adjust; on the overall row "
                                 "only.")),
        ("all figures", _("As computed and stored when the round closed (a study's own export). A round closed "
                          "before these figures were stored has them empty: the columns after verdict, or the "
                          "bootstrap, stability and adjusted columns only, for rounds closed before those were "
                          "added.")),
    ]


def protocol_toml(source: ReportSource, live_settings_toml: str | None = None) -> str:
    """The protocol as locked at round 1, byte for byte, with any statement added since appended (so that
    ``delphi analyse ratings.csv --protocol protocol.toml`` reads the exported ratings); before round 1, the current
    settings with a note saying so."""
    if source.locked_protocol is None:
        return ("# This study has not started: these are its current settings, not yet locked.\n"
                + (live_settings_toml or protocol_to_toml(source.protocol)))
    text = source.locked_protocol
    locked_codes = {s.get("code") for s in tomllib.loads(text).get("statements", [])}
    added = [s for s in source.protocol.statements if s.code not in locked_codes]
    if not added:
        return text
    tables = "\n".join("[[statements]]\n" + tomli_w.dumps(
        {"code": s.code, **({"domain": s.domain} if s.domain else {}), "text": s.text}) for s in added)
    return (text.rstrip("\n") + "\n\n# Statements added after the protocol was locked (see statements.csv for when "
            "and why). The consensus definition above is unchanged.\n" + tables)
