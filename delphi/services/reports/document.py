"""``report.html``: a self-contained, printable consensus report (its own stylesheet, charts as inline SVG images),
written from the protocol and the figures, with an ACCORD / CREDES checklist pointing to its sections."""
from __future__ import annotations

import base64
import hashlib
import math
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from delphi import __version__, asset_folder
from delphi.models import Classification
from delphi.protocol import ConsensusScope, RichEnum, StoppingRule
from delphi.services.reports import charts, findings
from delphi.services.reports.source import ReportSource
from delphi.services.round_figures import BOOTSTRAP

# templates/ and static/ sit at the repository root, or inside the package once installed from a wheel.
TEMPLATES = Path(asset_folder("templates")) / "reports"
STYLESHEET = Path(asset_folder("static")) / "css" / "report.css"
QUANTILE_WORDS = {"linear": "linear interpolation (Hyndman-Fan type 7, as R, numpy and Excel PERCENTILE.INC)",
                  "weibull": "the Weibull method (Hyndman-Fan type 6, as SPSS)"}
# (guideline, item, section id): the items this report can support from the data; the rest are the authors'.
CHECKLIST = [
    ("ACCORD", "Define consensus in advance (threshold, scope)", "methods"),
    ("ACCORD", "Describe the rating scale and response options", "methods"),
    ("ACCORD", "Number of rounds and the rule for stopping", "methods"),
    ("ACCORD", "Feedback given to panellists between rounds", "methods"),
    ("ACCORD", "Anonymity of panellists", "methods"),
    ("ACCORD", "Participants: number invited, responding and retained in each round", "flow"),
    ("ACCORD", "Statistical methods, software and version", "methods"),
    ("ACCORD", "Results for every statement, with the round consensus was reached", "consensus"),
    ("ACCORD", "Changes to statements between rounds (added, reworded, merged, dropped)", "history"),
    ("ACCORD", "Attrition and its possible effect on the results", "attrition"),
    ("CREDES", "Definition of consensus and its rationale, set before the study", "methods"),
    ("CREDES", "Informational input and feedback given to the panel", "methods"),
    ("CREDES", "Response rates per round", "flow"),
    ("CREDES", "Results presented clearly, with the agreement reached (figures and charts)", "figures"),
    ("CREDES", "Stability of responses between rounds", "agreement"),
    ("CREDES", "Sensitivity of the results to the consensus definition", "sensitivity"),
    ("CREDES", "Differences between stakeholder groups", "divergence"),
]


# What a ratings file from elsewhere cannot show (``delphi analyse``): these items are the authors' to report.
NOT_IN_A_RATINGS_FILE = {"Define consensus in advance (threshold, scope)",
                         "Feedback given to panellists between rounds", "Anonymity of panellists",
                         "Participants: number invited, responding and retained in each round",
                         "Changes to statements between rounds (added, reworded, merged, dropped)",
                         "Definition of consensus and its rationale, set before the study",
                         "Informational input and feedback given to the panel", "Response rates per round"}


def checklist(source: ReportSource) -> list[tuple[str, str, str | None]]:
    """The checklist with each item's section; None for an item the data cannot support (the authors')."""
    if source.from_study:
        return CHECKLIST
    return [(guideline, item, None if item in NOT_IN_A_RATINGS_FILE else section)
            for guideline, item, section in CHECKLIST]


def number(value, digits: int = 1) -> str:
    """A figure for a table: rounded for reading (the CSV files hold full precision), a dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def pvalue(value) -> str:
    if value is None or math.isnan(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _phrase(kind: type[RichEnum], value, otherwise: str) -> str:
    """How the methods describe a setting's value (the enum's phrase), or ``otherwise`` for a value it lacks."""
    try:
        return kind(value).phrase
    except ValueError:
        return otherwise


def methods(source: ReportSource) -> list[tuple[str, str]]:
    """The methods as (topic, sentence) pairs written from the protocol; also the "Methods" sheet of results.xlsx."""
    p = source.protocol
    s, c = p.scale, p.consensus
    labels = "; ".join(f"{point} = {label}" for point, label in sorted(s.labels.items())) or "no labels"
    if not s.unable_to_rate:
        unable = "There was no \"unable to rate\" option."
    elif c.unable_in_denominator:
        unable = ("Panellists could answer \"unable to rate\"; such answers are reported separately (n_unable) and "
                  "count in the denominator of the percentages agreeing, neutral and disagreeing (and their "
                  "intervals), as the protocol chose (unable_in_denominator); in no other statistic.")
    else:
        unable = ("Panellists could answer \"unable to rate\"; such answers count in no statistic and are reported "
                  "separately (n_unable).")
    if getattr(s, "prefer_not_to_answer", False):
        unable += (" Panellists could also answer \"prefer not to answer\"; such answers are reported separately "
                   "(n_declined) and count in no statistic, not even in a denominator: not answering is a "
                   "panellist's right, not a judgement on the statement.")
    told = [
        ("Rating scale", f"Statements were rated on a {s.min}-{s.max} scale ({labels}). {unable}"),
        ("Consensus definition", f"Defined before round 1 and locked when it opened. Agreement is a rating of "
         f"{c.agree[0]}-{c.agree[1]}, disagreement {c.disagree[0]}-{c.disagree[1]}. A statement reached consensus "
         f"in when \"{c.include}\", consensus out when \"{c.exclude}\" (otherwise no consensus), "
         f"{_phrase(ConsensusScope, c.scope, c.scope)}."),
        ("Stopping rule", f"At most {p.max_rounds} rating rounds; "
         f"{_phrase(StoppingRule, getattr(p, 'stopping', None), 'the stopping rule is not stated in the protocol')}. "
         f"A statement counts as stable when fewer than {c.stable_change:g}% of panellists' ratings changed, net, "
         "between rounds."),
        ("Quartiles", f"Medians and quartiles by {QUANTILE_WORDS.get(c.quantile_method, c.quantile_method)}."),
        ("Feedback to panellists", "From round 2, each panellist saw their own previous rating, the panel's median, "
         "agreement and distribution of ratings, each stakeholder group's figures where at least "
         f"{p.min_group_feedback} of its members rated (smaller groups withheld, with complementary suppression), "
         "and comments approved by the facilitator, without names."),
        ("Small groups", f"A stakeholder group's figures and counts were withheld from panellists' feedback, this "
         f"report and the statistics tables when fewer than {p.min_group_feedback} of its members rated a statement "
         "or responded in a round (for attrition: stayed or left), together with the next smallest groups until the "
         f"withheld ones reached {p.min_group_feedback}, and the whole panel's figures when the panel was that small; "
         "figures with equal group weights were withheld whenever a group was. Where a withdrawal removed ratings "
         f"from a closed round, a group's figures were withheld when fewer than {p.min_group_feedback} had been "
         "removed, so that figures seen at the close minus those reported cannot give a person's rating. The "
         f"minimum was fixed when round 1 opened."),
        ("Anonymity", "Panellists were anonymous to each other; the study team's exports carry pseudonyms only. "
         "Contact details are kept apart from answers and are not exported."),
        ("Statistics", "Per statement: n and the number unable to rate, median, quartiles, mean, SD, coefficient of "
         "variation, percentage agreement with its 95% Wilson interval, "
         + ("RAND/UCLA (30th and 70th percentiles, IPR, IPRAS, disagreement, appropriateness), "
            if (s.min, s.max) == (1, 9) else "")
         + "rwg and average deviation; " + _bootstrap_sentence(source)
         + "between groups Kruskal-Wallis with epsilon squared and pairwise Mann-Whitney tests with Holm's "
         "adjustment across the pairs of a statement, and each test's p-value adjusted across the round's statements "
         "by Holm's method (family-wise error) and by Benjamini-Hochberg's (false discovery rate), each pair of "
         "groups a family of its own; per round Kendall's W (tie-corrected, listwise: only panellists who rated "
         "every statement), Krippendorff's alpha (ordinal), Fleiss' kappa and rwg(J); stability against the round "
         "before, for the whole panel and for each group, as net change and the Wilcoxon signed-rank test; and the "
         "stability of the classification, the statements whose verdict changed between consecutive rounds."
         + (" Every figure was computed when its round closed and stored; this report and the statistics tables "
            "show those stored figures." if source.from_study else "")),
        ("Software", f"Delphi consensus platform version {__version__}; statistics by its analysis package "
         "(numpy, scipy), the same code for the live study and for re-analysis with `delphi analyse`."),
    ]
    return told if source.from_study else _from_elsewhere(source, dict(told))


def _bootstrap_sentence(source: ReportSource) -> str:
    """How the bootstrap intervals were drawn, from the settings stored on each round at its close (a ratings file's
    are computed with the defaults); rounds closed before the intervals were stored are named."""
    if source.stored is None:
        drawn = {1: dict(BOOTSTRAP)}
    else:
        drawn = {r.number: r.indices.get("bootstrap") for r in source.stored}
    settings = {(b["method"], b["n_resamples"], b["seed"], b["confidence"]) for b in drawn.values() if b}
    if not settings:
        return ""
    described = "; ".join(f"{method} bootstrap, {n:,} resamples, seed {seed}, {confidence:.0%} level"
                          for method, n, seed, confidence in sorted(settings))
    without = [str(k) for k, b in drawn.items() if not b]
    return (f"bootstrap intervals for the median and % agreement ({described}; panellists resampled with "
            "replacement, the same resamples for every statement, within each group its own members, in pseudonym "
            "order so that analysis.bootstrap_intervals on ratings.csv gives them again)"
            + (f", not stored for round(s) {', '.join(without)}, closed before they were" if without else "") + "; ")


def _from_elsewhere(source: ReportSource, told: dict[str, str]) -> list[tuple[str, str]]:
    """The methods for ratings collected elsewhere: what the analysis was given, and, for what a ratings file cannot
    show (when the definition was set, what panellists saw, how anonymity was kept), that the authors must say."""
    p, long = source.protocol, source.long
    c = p.consensus
    rounds = ", ".join(map(str, long.rounds)) or "none"
    authors = "This report cannot know it from a ratings file; the authors should report it."
    return [
        ("Data", f"Ratings collected elsewhere, analysed with `delphi analyse` from a ratings file and a protocol "
         f"file: {len(long.panellists)} panellists, rating round(s) {rounds}. Who was invited or consented, what "
         "panellists were shown and how statements changed between rounds are not in such a file."),
        ("Rating scale", told["Rating scale"]),
        ("Consensus definition", f"As given in the protocol file: agreement is a rating of {c.agree[0]}-{c.agree[1]}, "
         f"disagreement {c.disagree[0]}-{c.disagree[1]}. A statement reached consensus in when \"{c.include}\", "
         f"consensus out when \"{c.exclude}\" (otherwise no consensus), "
         f"{_phrase(ConsensusScope, c.scope, c.scope)}. Whether this definition was set before round 1 is not "
         f"known: {authors}"),
        ("Stopping rule", told["Stopping rule"]),
        ("Quartiles", told["Quartiles"]),
        ("Feedback to panellists", f"What panellists saw between rounds is not known. {authors}"),
        ("Small groups", f"In this report and the statistics tables, a stakeholder group's figures were withheld when "
         f"fewer than {p.min_group_feedback} of its members rated a statement, together with the next smallest "
         "groups until the withheld ones reached that number, and the whole panel's figures when the panel was that "
         "small; figures with equal group weights were withheld whenever a group was."),
        ("Anonymity", f"How panellists' anonymity was kept is not known. {authors}"),
        ("Statistics", told["Statistics"]),
        ("Software", told["Software"]),
    ]


def _image(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["number"] = number
    environment.filters["pvalue"] = pvalue
    return environment


def report_html(source: ReportSource) -> str:
    """The whole report as one HTML document (no external resources)."""
    p = source.protocol
    views = findings.compute_rounds(source)
    results = findings.statement_results(source, views)
    names = {g.key: g.name for g in p.groups}
    rounds = [v.number for v in views]
    bars = []
    for r in results:
        bars.append((r.code, "All panellists", r.overall))
        bars.extend((r.code, names[c.scope], c) for c in r.groups)
    charts_ = {}
    if results:
        charts_["bars"] = _image(charts.diverging_bars(bars))
        charts_["rounds"] = _image(charts.across_rounds([(r.code, r.history) for r in results], rounds,
                                                        p.scale.min, p.scale.max))
    return _environment().get_template("report_document.html").render(
        p=p, source=source, version=__version__, methods=methods(source), views=views, rounds=rounds,
        results=results, names=names, divergence=findings.divergence(source, views),
        sensitivity=findings.sensitivity(source, views), attrition=findings.attrition(source),
        stability=findings.stability(source, views), removed=findings.removed_since_close(source, views),
        verdict_changes=findings.verdict_changes(source, views),
        not_stored=[v.number for v in views if v.bootstrap is None],
        rand_ucla=(p.scale.min, p.scale.max) == (1, 9),
        charts=charts_, bars=bars, checklist=checklist(source), flow=source.flow, embedded_stylesheet=_stylesheet(),
        verdicts={c.value: c.title for c in Classification},
    )


def _stylesheet() -> Markup:
    """The report's stylesheet inside the file, so that a downloaded report stands alone. Templates never hold a
    <style> (the app's CSP forbids inline styles); the app serves this document with a CSP that allows exactly this
    block by its hash (:func:`style_hashes`)."""
    return Markup("<style>\n" + STYLESHEET.read_text(encoding="utf-8") + "</style>")


def style_hashes(html: str) -> list[str]:
    """CSP hashes of the report's own <style> blocks, so the app can show it without allowing any other style."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
            for block in re.findall(r"<style>(.*?)</style>", html, flags=re.S)]
